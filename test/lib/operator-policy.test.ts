/**
 * The operators' managed policy in the stack: exactly the actions `wellwatch replay`, `redrive` and `rollup` call, each on
 * this deployment's resources only, and nothing cdk-nag objects to.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { deploymentNames, NAMES } from '../../lambdas/config';
import { nagFindings } from '../../lib/nag';
import { WellwatchStack } from '../../lib/wellwatch-stack';

const cdkContext: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8')).context;
const app = new App({ context: cdkContext });
const stack = new WellwatchStack(app, NAMES.stackName);
const staging = new WellwatchStack(app, deploymentNames('staging').stackName, { deployment: 'staging' });
const template = Template.fromStack(stack);
const id = (construct: { node: { defaultChild?: unknown } }): string => stack.getLogicalId(construct.node.defaultChild as never);

/** `<LogicalId>.Arn` for Fn::GetAtt, the logical id for Ref, the raw value otherwise. */
function render(r: unknown): string {
  const o = r as Record<string, any>;
  if (typeof r === 'string') return r;
  if (o['Fn::GetAtt']) return `${o['Fn::GetAtt'][0]}.${o['Fn::GetAtt'][1]}`;
  if (o.Ref) return o.Ref;
  return JSON.stringify(r);
}

function operatorStatements(t: Template): { Sid: string; Effect: string; actions: string[]; resources: string[] }[] {
  const policies = Object.values(t.findResources('AWS::IAM::ManagedPolicy'));
  expect(policies).toHaveLength(1);
  return policies[0].Properties.PolicyDocument.Statement.map((s: any) => ({
    Sid: s.Sid,
    Effect: s.Effect,
    actions: [s.Action].flat().sort(),
    resources: [s.Resource].flat().map(render).sort(),
  }));
}

describe('OperatorPolicy', () => {
  const statements = operatorStatements(template);
  const ids = {
    stream: `${id(stack.sensors.stream)}.Arn`,
    consumer: `${id(stack.consumer.fn)}.Arn`,
    deadLetters: `${id(stack.consumer.deadLetterQueue)}.Arn`,
    failedBatches: `${id(stack.consumer.failedBatchQueue)}.Arn`,
    readings: `${id(stack.storage.readingsTable)}.Arn`,
    catalog: `${id(stack.storage.catalogTable)}.Arn`,
    planner: `${id(stack.rollup.fn)}.Arn`,
  };

  it('grants exactly the replay and redrive calls, each on one resource of this deployment', () => {
    expect(statements).toEqual([
      { Sid: 'ReadStreamRanges', Effect: 'Allow', actions: ['kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'], resources: [ids.stream] },
      { Sid: 'ResendLines', Effect: 'Allow', actions: ['kinesis:PutRecords'], resources: [ids.stream] },
      { Sid: 'InvokeConsumer', Effect: 'Allow', actions: ['lambda:GetFunctionConfiguration', 'lambda:InvokeFunction'], resources: [ids.consumer] },
      {
        Sid: 'WorkThroughQueues',
        Effect: 'Allow',
        actions: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
        resources: [ids.deadLetters, ids.failedBatches].sort(),
      },
      { Sid: 'CheckRedrivenReadings', Effect: 'Allow', actions: ['dynamodb:GetItem'], resources: [ids.readings] },
      { Sid: 'MarkForRollup', Effect: 'Allow', actions: ['dynamodb:BatchWriteItem'], resources: [ids.catalog] },
      { Sid: 'StartRollup', Effect: 'Allow', actions: ['lambda:InvokeFunction'], resources: [ids.planner] },
      { Sid: 'FollowRollup', Effect: 'Allow', actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [ids.catalog] },
    ]);
  });

  it('has no wildcard action or resource and no access to the stats table, the rollup workers or any write on readings', () => {
    for (const s of statements) {
      for (const a of s.actions) expect(a).not.toContain('*');
      for (const r of s.resources) expect(r).not.toContain('*');
    }
    const resources = statements.flatMap((s) => s.resources);
    expect(resources).not.toContain(`${id(stack.storage.statsTable)}.Arn`);
    expect(resources).not.toContain(`${id(stack.rollupFanout.fn)}.Arn`);
    expect(resources).not.toContain(`${id(stack.rollupFanout.queue)}.Arn`);
    const onReadings = statements.filter((s) => s.resources.includes(ids.readings)).flatMap((s) => s.actions);
    expect(onReadings).toEqual(['dynamodb:GetItem']);
  });

  it('is attached to no one (operators attach it to their role or group) and published as the output OperatorPolicyArn', () => {
    const policy = Object.values(template.findResources('AWS::IAM::ManagedPolicy'))[0];
    expect(policy.Properties.Roles).toBeUndefined();
    expect(policy.Properties.Users).toBeUndefined();
    expect(policy.Properties.Groups).toBeUndefined();
    template.hasOutput('OperatorPolicyArn', {});
  });

  it('names the consumer function after the deployment, so replay finds it by name, and keeps its log group under the deployment prefix', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: NAMES.consumerFunction, LoggingConfig: { LogGroup: { Ref: id(stack.consumer.function.logGroup) } } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch/consumer' });
    const stagingTemplate = Template.fromStack(staging);
    const stagingId = staging.getLogicalId(staging.consumer.function.logGroup.node.defaultChild as never);
    stagingTemplate.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'wellwatch-staging-consumer', LoggingConfig: { LogGroup: { Ref: stagingId } } });
    stagingTemplate.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch-staging/consumer' });
  });

  it('passes cdk-nag without an acknowledgement', () => {
    expect(nagFindings(stack).filter((f) => f.path.includes('Operators'))).toEqual([]);
  });
});
