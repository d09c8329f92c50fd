import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ENV, ROLLUP_FANOUT } from '../../lambdas/config';
import { ReadingStorage } from '../../lib/reading-storage';
import { RollupFanout, type RollupFanoutProps } from '../../lib/rollup-fanout';

function fixture(app: App, id: string) {
  const stack = new Stack(app, id);
  const storage = new ReadingStorage(stack, 'Storage');
  const base = { readingsTable: storage.readingsTable, statsTable: storage.statsTable, catalogTable: storage.catalogTable };
  return { stack, storage, base };
}

const app = new App();
const f = fixture(app, 'Fanout');
const fanout = new RollupFanout(f.stack, 'RollupFanout', { ...f.base, retentionDays: 400 });
const template = Template.fromStack(f.stack);
const ref = (construct: { node: { defaultChild?: unknown } }) => f.stack.getLogicalId(construct.node.defaultChild as never);

describe('RollupFanout queues', () => {
  it('makes the visibility timeout six times the worker timeout and dead-letters after maxReceiveCount receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'wellwatch-rollup-work',
      VisibilityTimeout: ROLLUP_FANOUT.workerTimeoutSeconds * 6,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [ref(fanout.deadLetterQueue), 'Arn'] }, maxReceiveCount: ROLLUP_FANOUT.maxReceiveCount },
    });
  });

  it('lets only the work queue use its dead-letter queue, kept 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'wellwatch-rollup-work-dlq',
      MessageRetentionPeriod: 14 * 86_400,
      SqsManagedSseEnabled: true,
      RedriveAllowPolicy: {
        redrivePermission: 'byQueue',
        sourceQueueArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':wellwatch-rollup-work']] }],
      },
    });
  });

  it('refuses anything but TLS on both queues', () => {
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      );
    }
  });
});

describe('RollupFanout worker', () => {
  it('runs the worker handler with the worker timeout and the stats retention', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: ROLLUP_FANOUT.workerTimeoutSeconds,
      Environment: { Variables: Match.objectLike({ [ENV.retentionDays]: '400', [ENV.readingsTable]: { Ref: ref(f.storage.readingsTable) } }) },
    });
  });

  it('is driven by the work queue with partial batch responses and bounded concurrency from the config', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ref(fanout.queue), 'Arn'] },
      BatchSize: ROLLUP_FANOUT.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: ROLLUP_FANOUT.maxConcurrency },
    });
  });

  it('may read readings, write stats and use the catalog, and cannot send to its own queue', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'dynamodb:Query', 'dynamodb:PutItem']));
    expect(actions).not.toContain('sqs:SendMessage');
  });
});

describe('RollupFanout alarms', () => {
  it('alarms on worker errors and dead-lettered work items, notifying the given action, only when given one', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    const s = fixture(new App(), 'Alarmed');
    const topic = new sns.Topic(s.stack, 'Topic');
    new RollupFanout(s.stack, 'RollupFanout', { ...s.base, alarmAction: new actions.SnsAction(topic) });
    const t = Template.fromStack(s.stack);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS', Threshold: 0 });
    const topicRef = { Ref: s.stack.getLogicalId(topic.node.defaultChild as never) };
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmActions).toEqual([topicRef]);
      expect(a.Properties.OKActions).toEqual([topicRef]);
    }
  });
});

describe('RollupFanout validation', () => {
  const build = (extra: Partial<RollupFanoutProps>) => {
    const s = fixture(new App(), 'Scratch');
    return new RollupFanout(s.stack, 'RollupFanout', { ...s.base, ...extra });
  };

  it.each<[string, Partial<RollupFanoutProps>, string]>([
    ['maxConcurrency 1', { maxConcurrency: 1 }, 'maxConcurrency must be 2–1000, got 1'],
    ['batchSize 11', { batchSize: 11 }, 'batchSize must be 1–10, got 11'],
    ['timeout 901 s', { timeoutSeconds: 901 }, 'timeoutSeconds must be 1–900, got 901'],
    ['retention -1', { retentionDays: -1 }, 'retentionDays must be 0–36500, got -1'],
  ])('rejects %s', (_, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
