import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CONSUMER_FUNCTION, DEFAULT_ALERT_RULES, DEFAULT_EVENT_SOURCE, ENV, NAMES, type EventSourceSettings } from '../../lambdas/config';
import { ReadingConsumer, type ReadingConsumerProps } from '../../lib/reading-consumer';
import { ReadingStorage } from '../../lib/reading-storage';
import { SensorStream } from '../../lib/sensor-stream';

function fixture(app: App, id: string) {
  const stack = new Stack(app, id);
  const storage = new ReadingStorage(stack, 'Storage');
  const { stream } = new SensorStream(stack, 'Sensors');
  const base = {
    stream,
    readingsTable: storage.readingsTable,
    statsTable: storage.statsTable,
    catalogTable: storage.catalogTable,
  };
  return { stack, storage, stream, base };
}

// One app, two stacks: the defaults and every override. The consumer handler is bundled once (asset cache).
const app = new App();
const d = fixture(app, 'Defaults');
const consumer = new ReadingConsumer(d.stack, 'Consumer', d.base);
const o = fixture(app, 'Overrides');
const overrides: Partial<EventSourceSettings> = {
  batchSize: 500,
  maxBatchingWindowSeconds: 5,
  parallelizationFactor: 4,
  retryAttempts: 3,
  maxRecordAgeSeconds: 3600,
  startingPosition: 'LATEST',
};
const rules = [{ name: 'no-flow', field: 'flo', op: '<=', threshold: 0 }] as const;
const tuned = new ReadingConsumer(o.stack, 'Consumer', {
  ...o.base,
  eventSource: overrides,
  alertRules: rules,
  sourceUtcOffset: '-05:00',
  retentionDays: 90,
  memorySize: 1024,
  timeout: Duration.seconds(120),
});
const template = Template.fromStack(d.stack);
const tunedTemplate = Template.fromStack(o.stack);
const ref = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('ReadingConsumer function', () => {
  it('runs the consumer handler on nodejs22.x / arm64 with 512 MB and the timeout of CONSUMER_FUNCTION (the one local mode enforces)', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: CONSUMER_FUNCTION.timeoutSeconds,
    });
  });

  it('passes table names, the dead-letter URL, the rules, the offset and the retention per ENV', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          [ENV.streamName]: { Ref: ref(d.stack, d.stream) },
          [ENV.readingsTable]: { Ref: ref(d.stack, d.storage.readingsTable) },
          [ENV.statsTable]: { Ref: ref(d.stack, d.storage.statsTable) },
          [ENV.catalogTable]: { Ref: ref(d.stack, d.storage.catalogTable) },
          [ENV.deadLetterUrl]: { Ref: ref(d.stack, consumer.deadLetterQueue) },
          [ENV.alertRules]: JSON.stringify(DEFAULT_ALERT_RULES),
          [ENV.sourceUtcOffset]: '+00:00',
          [ENV.retentionDays]: '0',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('takes rules, offset, retention, memory and timeout from props', () => {
    tunedTemplate.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 120,
      Environment: {
        Variables: Match.objectLike({
          [ENV.alertRules]: JSON.stringify(rules),
          [ENV.sourceUtcOffset]: '-05:00',
          [ENV.retentionDays]: '90',
        }),
      },
    });
  });

  it('logs to its own encrypted log group /wellwatch/consumer, kept a year', () => {
    const logGroups = template.findResources('AWS::Logs::LogGroup');
    expect(Object.keys(logGroups)).toHaveLength(1);
    const [logGroupId] = Object.keys(logGroups);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/wellwatch/consumer',
      RetentionInDays: 365,
      KmsKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroupId } } });
  });

  it('uses a role without managed policies (no AWSLambdaBasicExecutionRole)', () => {
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('ReadingConsumer event source', () => {
  it('applies DEFAULT_EVENT_SOURCE, partial batch responses and the failed-batch queue as on-failure destination', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ref(d.stack, d.stream), 'Arn'] },
      StartingPosition: DEFAULT_EVENT_SOURCE.startingPosition,
      BatchSize: DEFAULT_EVENT_SOURCE.batchSize,
      MaximumBatchingWindowInSeconds: DEFAULT_EVENT_SOURCE.maxBatchingWindowSeconds,
      ParallelizationFactor: DEFAULT_EVENT_SOURCE.parallelizationFactor,
      BisectBatchOnFunctionError: DEFAULT_EVENT_SOURCE.bisectBatchOnError,
      MaximumRetryAttempts: DEFAULT_EVENT_SOURCE.retryAttempts,
      MaximumRecordAgeInSeconds: DEFAULT_EVENT_SOURCE.maxRecordAgeSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [ref(d.stack, consumer.failedBatchQueue), 'Arn'] } } },
    });
    expect(consumer.eventSourceSettings).toEqual(DEFAULT_EVENT_SOURCE);
  });

  it('applies overrides field by field', () => {
    tunedTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'LATEST',
      BatchSize: 500,
      MaximumBatchingWindowInSeconds: 5,
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(tuned.eventSourceSettings).toEqual({ ...DEFAULT_EVENT_SOURCE, ...overrides });
  });
});

describe('ReadingConsumer queues', () => {
  it.each([
    ['dead-letter', NAMES.deadLetterQueue],
    ['failed-batch', NAMES.failedBatchQueue],
  ])('makes the %s queue SQS-encrypted, kept 14 days and retained', (_, queueName) => {
    template.hasResource('AWS::SQS::Queue', {
      Properties: { QueueName: queueName, SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 },
      DeletionPolicy: 'Retain',
    });
  });

  it('denies every request to either queue without TLS', () => {
    for (const queue of [consumer.deadLetterQueue, consumer.failedBatchQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: ref(d.stack, queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });
});

describe('ReadingConsumer validation', () => {
  const build = (extra: Partial<ReadingConsumerProps>) => {
    const f = fixture(new App(), 'Scratch');
    return new ReadingConsumer(f.stack, 'Consumer', { ...f.base, ...extra });
  };

  it.each<[string, Partial<ReadingConsumerProps>, string]>([
    ['batch size 0', { eventSource: { batchSize: 0 } }, 'batchSize must be 1–10000, got 0'],
    ['batch size 10001', { eventSource: { batchSize: 10_001 } }, 'batchSize must be 1–10000, got 10001'],
    ['window 301 s', { eventSource: { maxBatchingWindowSeconds: 301 } }, 'maxBatchingWindowSeconds must be 0–300, got 301'],
    ['parallelization 11', { eventSource: { parallelizationFactor: 11 } }, 'parallelizationFactor must be 1–10, got 11'],
    ['retries -1', { eventSource: { retryAttempts: -1 } }, 'retryAttempts must be 0–10000, got -1'],
    ['record age 59 s', { eventSource: { maxRecordAgeSeconds: 59 } }, 'maxRecordAgeSeconds must be 60–604800, got 59'],
    ['starting position', { eventSource: { startingPosition: 'EARLIEST' as never } }, 'startingPosition must be TRIM_HORIZON, LATEST or AT_TIMESTAMP'],
    ['AT_TIMESTAMP without a time', { eventSource: { startingPosition: 'AT_TIMESTAMP' } }, 'startingPositionTimestamp (epoch seconds) is required'],
    ['partial batch responses off', { eventSource: { reportBatchItemFailures: false } }, 'reportBatchItemFailures must stay true'],
    ['retention -1', { retentionDays: -1 }, 'retentionDays must be 0–36500, got -1'],
    ['offset 5', { sourceUtcOffset: '5' }, 'sourceUtcOffset must look like +HH:MM or -HH:MM, got "5"'],
    ['rule op', { alertRules: [{ name: 'x', field: 'psi', op: '!=' as never, threshold: 1 }] }, 'alert rule x: op must be one of'],
    ['memory 64 MB', { memorySize: 64 }, 'memorySize must be 128–10240, got 64'],
    ['timeout 16 min', { timeout: Duration.minutes(16) }, 'timeout must be 1–900 seconds, got 960'],
  ])('rejects %s', (_, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  it('starts AT_TIMESTAMP from the configured epoch seconds', () => {
    const built = build({ eventSource: { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 1_700_000_000 } });
    Template.fromStack(built.node.scope as Stack).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'AT_TIMESTAMP',
      StartingPositionTimestamp: 1_700_000_000,
    });
  });
});
