/**
 * lib/wellwatch-function.ts: the log group (name, retention, KMS key CloudWatch Logs may use) and the opt-in VPC.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { FunctionNetwork } from '../../lib/function-network';
import { GUARD_RULES } from '../../lib/nag';
import { WellwatchFunction, type WellwatchFunctionProps } from '../../lib/wellwatch-function';

const base: WellwatchFunctionProps = {
  name: 'rollup',
  entry: 'lambdas/rollup/handler.ts',
  description: 'test function',
  environment: {},
  timeout: Duration.seconds(30),
};

function build(extra: Partial<WellwatchFunctionProps> = {}): { stack: Stack; fn: WellwatchFunction; template: Template } {
  const stack = new Stack(new App(), 'Test');
  const fn = new WellwatchFunction(stack, 'Fn', { ...base, ...extra });
  return { stack, fn, template: Template.fromStack(stack) };
}

/** The rule ids acknowledged on exactly this construct. */
function acknowledged(c: IConstruct): string[] {
  return c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.keys(m.data as Record<string, string>));
}

const plain = build();

describe('WellwatchFunction log group', () => {
  it('is named <deployment log prefix>/<name> and keeps events a year by default', () => {
    plain.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch/rollup', RetentionInDays: 365 });
    build({ deployment: 'staging' }).template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch-staging/rollup' });
    build({ name: undefined }).template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch/fn' }); // construct id 'Fn'
  });

  it('is encrypted with a rotated KMS key that CloudWatch Logs may use for this deployment’s log groups only', () => {
    const logGroupId = plain.stack.getLogicalId(plain.fn.logGroup.node.defaultChild as never);
    const logGroup = plain.template.toJSON().Resources[logGroupId];
    const keyLogicalId: string = logGroup.Properties.KmsKeyId['Fn::GetAtt'][0];
    const key = plain.template.toJSON().Resources[keyLogicalId];
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toEqual(
      expect.arrayContaining([
        {
          Sid: 'AllowCloudWatchLogsForTheseLogGroups',
          Effect: 'Allow',
          Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          // The actions of the CloudWatch Logs user guide's key policy (their order depends on feature flags).
          Action: expect.arrayContaining(['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*']),
          Resource: '*',
          Condition: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': {
                'Fn::Join': [
                  '',
                  ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:/wellwatch/*'],
                ],
              },
            },
          },
        },
        expect.objectContaining({ Sid: 'DenyGrantsExceptForAwsServices', Effect: 'Deny', Action: 'kms:CreateGrant' }),
      ]),
    );
  });

  it('uses a given key instead of creating its own', () => {
    const stack = new Stack(new App(), 'Shared');
    const key = new kms.Key(stack, 'Given', { enableKeyRotation: true });
    new WellwatchFunction(stack, 'Fn', { ...base, logEncryptionKey: key });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as never), 'Arn'] } });
  });

  it('takes a shorter retention for test deployments and acknowledges CT.CLOUDWATCH.PR.2 only then', () => {
    const short = build({ logRetention: logs.RetentionDays.ONE_MONTH });
    short.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    expect(acknowledged(short.fn.logGroup)).toEqual([GUARD_RULES.logRetention]);
    expect(acknowledged(plain.fn.logGroup)).toEqual([]);
    expect(acknowledged(build({ logRetention: logs.RetentionDays.TWO_YEARS }).fn.logGroup)).toEqual([]);
  });

  it('rejects a retention CloudWatch Logs does not accept, naming the allowed values', () => {
    expect(() => build({ logRetention: 100 as logs.RetentionDays })).toThrow(
      'logRetention must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, 9999, got 100',
    );
  });

  it('accepts logs that never expire (no retention, which the control accepts too)', () => {
    const forever = build({ logRetention: logs.RetentionDays.INFINITE });
    forever.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.absent() });
    expect(acknowledged(forever.fn.logGroup)).toEqual([]);
  });
});

describe('WellwatchFunction VPC placement', () => {
  it('runs outside a VPC by default and acknowledges CT.LAMBDA.PR.3 on the function, with the reason', () => {
    plain.template.hasResourceProperties('AWS::Lambda::Function', { VpcConfig: Match.absent() });
    expect(acknowledged(plain.fn.fn)).toContain(GUARD_RULES.lambdaInVpc);
  });

  it('runs in the given subnets with the network’s security group, and may manage its network interfaces', () => {
    const stack = new Stack(new App(), 'Vpc');
    const network = new FunctionNetwork(stack, 'Network', { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-11aa22bb', 'subnet-33cc44dd'] });
    const fn = new WellwatchFunction(stack, 'Fn', { ...base, network });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: ['subnet-11aa22bb', 'subnet-33cc44dd'],
        SecurityGroupIds: [{ 'Fn::GetAtt': [stack.getLogicalId(network.securityGroup.node.defaultChild as never), 'GroupId'] }],
      },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(fn.role.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'LambdaVpcNetworkInterfaces',
            Effect: 'Allow',
            Action: [
              'ec2:CreateNetworkInterface',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DescribeSubnets',
              'ec2:DeleteNetworkInterface',
              'ec2:AssignPrivateIpAddresses',
              'ec2:UnassignPrivateIpAddresses',
            ],
            Resource: '*',
          },
        ]),
      },
    });
    expect(acknowledged(fn.fn)).not.toContain(GUARD_RULES.lambdaInVpc);
    expect(acknowledged(fn.role)).toEqual(['AwsSolutions-IAM5[Resource::*]'].map((id) => expect.stringContaining(id)));
  });
});
