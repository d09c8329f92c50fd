import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ENV, ROLLUP_FANOUT, SCHEDULE } from '../../lambdas/config';
import { ReadingStorage } from '../../lib/reading-storage';
import { ROLLUP_INPUTS, RollupSchedule, type RollupScheduleProps } from '../../lib/rollup-schedule';

function fixture(app: App, id: string) {
  const stack = new Stack(app, id);
  const storage = new ReadingStorage(stack, 'Storage');
  const queue = new sqs.Queue(stack, 'Work', { enforceSSL: true });
  const base = { catalogTable: storage.catalogTable, workQueue: queue };
  return { stack, storage, queue, base };
}

const app = new App();
const f = fixture(app, 'Rollup');
const rollup = new RollupSchedule(f.stack, 'Rollup', f.base);
const template = Template.fromStack(f.stack);
const ref = (construct: { node: { defaultChild?: unknown } }) => f.stack.getLogicalId(construct.node.defaultChild as never);
const fnId = ref(rollup.fn);

describe('RollupSchedule function', () => {
  it('runs the planner on nodejs22.x / arm64 with 512 MB and 5 minutes, named for the CLI, told the work queue', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'wellwatch-rollup-planner',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
      Environment: {
        Variables: {
          [ENV.catalogTable]: { Ref: ref(f.storage.catalogTable) },
          [ROLLUP_FANOUT.queueUrlEnv]: { Ref: ref(f.queue) },
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('may send to the work queue and use the catalog, and nothing on the readings or stats tables', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const text = JSON.stringify(statements);
    expect(text).toContain('sqs:SendMessage');
    expect(text).toContain(ref(f.storage.catalogTable));
    expect(text).not.toContain(ref(f.storage.readingsTable));
    expect(text).not.toContain(ref(f.storage.statsTable));
  });

  it('logs to its own encrypted log group /wellwatch/rollup, kept a year', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/wellwatch/rollup', RetentionInDays: 365 });
    expect(Object.values(template.findResources('AWS::Logs::LogGroup'))[0]!.Properties.KmsKeyId).toBeDefined();
  });
});

describe('RollupSchedule rules', () => {
  const cron = (s: { minute: string; hour: string }) => `cron(${s.minute} ${s.hour} * * ? *)`;

  it('runs daily at SCHEDULE.daily with {mode: "daily"} and the scheduled event\'s time', () => {
    expect(cron(SCHEDULE.daily)).toBe('cron(15 0 * * ? *)');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: cron(SCHEDULE.daily),
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
          InputTransformer: { InputPathsMap: { time: '$.time' }, InputTemplate: '{"mode":"daily","time":<time>}' },
        }),
      ],
    });
    expect(JSON.parse(JSON.stringify(ROLLUP_INPUTS.daily))).toEqual({ mode: 'daily' });
  });

  it('runs hourly at SCHEDULE.pending with {mode: "pending"}', () => {
    expect(cron(SCHEDULE.pending)).toBe('cron(30 * * * ? *)');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: cron(SCHEDULE.pending),
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, Input: JSON.stringify({ mode: 'pending' }) })],
    });
  });

  it('has exactly two rules, each allowed to invoke the function', () => {
    template.resourceCountIs('AWS::Events::Rule', 2);
    const permissions = template.findResources('AWS::Lambda::Permission', {
      Properties: { Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com', FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] } },
    });
    expect(Object.keys(permissions)).toHaveLength(2);
  });
});

describe('RollupSchedule validation', () => {
  const build = (extra: Partial<RollupScheduleProps>) => {
    const s = fixture(new App(), 'Scratch');
    return new RollupSchedule(s.stack, 'Rollup', { ...s.base, ...extra });
  };

  it.each<[string, Partial<RollupScheduleProps>, string]>([
    ['memory 20000 MB', { memorySize: 20_000 }, 'memorySize must be 128–10240, got 20000'],
    ['timeout 0 s', { timeout: Duration.seconds(0) }, 'timeout must be 1–900 seconds, got 0'],
  ])('rejects %s', (_, props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
