/**
 * lib/log-group.ts: the one way wellwatch makes a log group (function logs, API access logs).
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { wellwatchLogGroup, type WellwatchLogGroupProps } from '../../lib/log-group';
import { GUARD_RULES } from '../../lib/nag';

function build(props: Partial<WellwatchLogGroupProps> = {}) {
  const stack = new Stack(new App(), 'Test');
  const logGroup = wellwatchLogGroup(stack, 'AccessLogs', { name: 'api-access', ...props });
  return { stack, logGroup, template: Template.fromStack(stack) };
}

/** The rule ids acknowledged on exactly this construct. */
function acknowledged(c: IConstruct): string[] {
  return c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.keys(m.data as Record<string, string>));
}

describe('wellwatchLogGroup', () => {
  it('names the group under the deployment’s log prefix and keeps events a year', () => {
    build().template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch/api-access', RetentionInDays: 365 });
    build({ deployment: 'staging' }).template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch-staging/api-access' });
  });

  it('encrypts with a rotated key of its own, limited to the deployment’s log groups, when given none', () => {
    const { stack, logGroup, template } = build({ deployment: 'staging' });
    template.resourceCountIs('AWS::KMS::Key', 1);
    const keyId: string = template.toJSON().Resources[stack.getLogicalId(logGroup.node.defaultChild as never)].Properties.KmsKeyId['Fn::GetAtt'][0];
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudWatchLogsForTheseLogGroups',
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':log-group:/wellwatch-staging/\\*$')])] } } },
          }),
        ]),
      },
    });
    expect(template.toJSON().Resources[keyId].Type).toBe('AWS::KMS::Key');
  });

  it('uses a given key and creates none', () => {
    const stack = new Stack(new App(), 'Shared');
    const key = new kms.Key(stack, 'Given', { enableKeyRotation: true });
    wellwatchLogGroup(stack, 'Logs', { name: 'api', encryptionKey: key });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as never), 'Arn'] } });
  });

  it('acknowledges CT.CLOUDWATCH.PR.2 only for a retention shorter than a year', () => {
    const short = build({ retention: logs.RetentionDays.ONE_WEEK });
    short.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    expect(acknowledged(short.logGroup)).toEqual([GUARD_RULES.logRetention]);
    expect(acknowledged(build().logGroup)).toEqual([]);
    expect(acknowledged(build({ retention: logs.RetentionDays.INFINITE }).logGroup)).toEqual([]);
  });

  it('rejects a retention CloudWatch Logs does not accept, and a malformed deployment name', () => {
    expect(() => build({ retention: 100 as logs.RetentionDays })).toThrow(/^logRetention must be one of 1, 3, .* got 100$/);
    expect(() => build({ deployment: 'Bad_Name' })).toThrow(/deployment name must be/);
  });
});
