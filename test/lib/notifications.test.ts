/**
 * lib/notifications.ts: the ops topic every alarm notifies — encryption CloudWatch can use, TLS only, optional e-mail.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { deploymentNames, NAMES } from '../../lambdas/config';
import { Notifications } from '../../lib/notifications';

const stack = new Stack(new App(), 'Main');
const notifications = new Notifications(stack, 'Notifications', { alarmEmail: 'oncall@example.com' });
const template = Template.fromStack(stack);
const keyId = stack.getLogicalId(notifications.key.node.defaultChild as never);
const topicId = stack.getLogicalId(notifications.topic.node.defaultChild as never);

describe('Notifications topic', () => {
  it('is named from NAMES.alarmTopic, per deployment', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: NAMES.alarmTopic });
    const s = new Stack(new App(), 'Staging');
    new Notifications(s, 'N', { deployment: 'staging' });
    Template.fromStack(s).hasResourceProperties('AWS::SNS::Topic', { TopicName: deploymentNames('staging').alarmTopic });
  });

  it('is encrypted with its own customer-managed key, rotated yearly', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('lets CloudWatch use the key (the AWS managed SNS key would not allow it)', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
  });

  it('denies KMS grants except for AWS services (Control Tower CT.KMS.PR.3)', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'DenyGrantsExceptForAwsServices',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          },
        ]),
      },
    });
  });

  it('refuses every request not sent over TLS, and lets CloudWatch publish for this account only', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('subscribes the e-mail address when one is given, and nobody otherwise', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: topicId } });
    const bare = new Stack(new App(), 'Bare');
    new Notifications(bare, 'Notifications');
    const t = Template.fromStack(bare);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('keeps its key when removed from the stack by default (what it encrypted stays readable)', () => {
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('rejects a malformed e-mail address with a clear error', () => {
    expect(() => new Notifications(new Stack(new App(), 'Bad'), 'N', { alarmEmail: 'not-an-address' })).toThrow(
      'alarmEmail must be an e-mail address, got "not-an-address"',
    );
  });
});
