import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NAMES, OPEN_ALARM_METRICS } from '../../lambdas/config';
import { METRIC_NAMES } from '../../lib/defaults';
import { Notifications } from '../../lib/notifications';
import { Observability, type ObservabilityProps } from '../../lib/observability';
import { ReadingStorage } from '../../lib/reading-storage';
import { SensorStream } from '../../lib/sensor-stream';

/** A stack with everything Observability watches; plain inline functions keep this file free of bundling. */
function fixture(app: App, id: string): { stack: Stack; props: ObservabilityProps } {
  const stack = new Stack(app, id);
  const fn = (name: string) =>
    new lambda.Function(stack, name, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({});'),
    });
  const storage = new ReadingStorage(stack, 'Storage');
  return {
    stack,
    props: {
      stream: new SensorStream(stack, 'Sensors').stream,
      consumer: fn('Consumer'),
      rollup: fn('Rollup'),
      tables: { readings: storage.readingsTable, stats: storage.statsTable, catalog: storage.catalogTable },
      deadLetterQueue: new sqs.Queue(stack, 'DeadLetters'),
      failedBatchQueue: new sqs.Queue(stack, 'FailedBatches'),
    },
  };
}

/**
 * The dashboard body with every CloudFormation reference replaced by `<LogicalId>`, parsed.
 *
 * The body is an `Fn::Join` of JSON fragments and references; references only occur inside JSON strings.
 */
function dashboardBody(template: Template): { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] } {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0].Properties.DashboardBody;
  const parts: unknown[] = body['Fn::Join'][1];
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const ref = p as { Ref?: string; 'Fn::GetAtt'?: string[] };
      return `<${ref.Ref ?? ref['Fn::GetAtt']?.join('.') ?? JSON.stringify(p)}>`;
    })
    .join('');
  return JSON.parse(text);
}

const app = new App();
const main = fixture(app, 'Main');
const observability = new Observability(main.stack, 'Observability', main.props);
const quiet = fixture(app, 'Quiet');
const quietObservability = new Observability(quiet.stack, 'Observability', {
  ...quiet.props,
  alarms: false,
  dashboardName: 'wellwatch-test',
});
const template = Template.fromStack(main.stack);
const quietTemplate = Template.fromStack(quiet.stack);
const body = dashboardBody(template);
/** Every metric row of every widget: `[namespace, metricName, ...dimensions, options]` or `[{expression}]`. */
const metricRows = body.widgets.flatMap((w) => w.properties.metrics ?? []);
const metricNames = new Set(metricRows.map((row) => row[1]).filter((n) => typeof n === 'string'));

describe('Observability dashboard', () => {
  it('is named after the service by default', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: NAMES.serviceName });
    quietTemplate.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'wellwatch-test' });
  });

  it.each([
    'IncomingRecords',
    'GetRecords.IteratorAgeMilliseconds',
    'Invocations',
    'Errors',
    'Duration',
    'Throttles',
    'ThrottledRequests',
    'WriteThrottleEvents',
    'ApproximateNumberOfMessagesVisible',
    ...Object.values(METRIC_NAMES),
  ])('shows the metric %s', (name) => {
    expect(metricNames).toContain(name);
  });

  it('reads the custom metrics from the wellwatch namespace with the service dimension', () => {
    for (const name of Object.values(METRIC_NAMES)) {
      const row = metricRows.find((r) => r[1] === name);
      expect(row?.slice(0, 4)).toEqual([NAMES.metricNamespace, name, 'service', NAMES.serviceName]);
    }
  });

  it('shows only metrics a handler actually emits (no dashboard line that stays empty forever)', () => {
    const sources = ['lambdas/consumer/handler.ts', 'lambdas/consumer/batch-report.ts', 'lambdas/rollup/planner.ts', 'lambdas/alarms/handler.ts']
      .map((file) => fs.readFileSync(path.join(__dirname, '../..', file), 'utf8'))
      .join('\n');
    for (const key of Object.keys(METRIC_NAMES)) {
      expect(sources).toMatch(new RegExp(`\\b(count|gauge)\\(metrics, METRIC_NAMES\\.${key}\\b`));
    }
  });

  it('shows open pump alarms by severity, the metrics the alarm check gauges', () => {
    for (const name of Object.values(OPEN_ALARM_METRICS)) {
      expect(metricRows.find((r) => r[1] === name)?.slice(0, 4)).toEqual([NAMES.metricNamespace, name, 'service', NAMES.serviceName]);
    }
    const check = fs.readFileSync(path.join(__dirname, '../../lambdas/alarms/handler.ts'), 'utf8');
    expect(check).toMatch(/count\(metrics, OPEN_ALARM_METRICS\[s\]/);
  });

  it('shows DynamoDB throttling of every table', () => {
    for (const logicalId of Object.keys(template.findResources('AWS::DynamoDB::Table'))) {
      const rows = metricRows.filter((r) => r.includes(`<${logicalId}>`));
      expect(rows.map((r) => r[1])).toEqual(expect.arrayContaining(['ThrottledRequests', 'WriteThrottleEvents']));
    }
  });

  it('shows the stream, both functions and both queues by their references', () => {
    const refs = JSON.stringify(metricRows);
    for (const type of ['AWS::Kinesis::Stream', 'AWS::Lambda::Function', 'AWS::SQS::Queue']) {
      for (const logicalId of Object.keys(template.findResources(type))) expect(refs).toContain(logicalId);
    }
  });
});

describe('Observability alarms', () => {
  const alarm = (name: string, metric: string, threshold: number) =>
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp(name),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: metric }) }) })]),
    });

  it('creates six alarms by default', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    expect(Object.keys(observability.alarms).sort()).toEqual(
      ['consumerErrors', 'deadLetters', 'failedBatches', 'iteratorAge', 'pumpAlerts', 'rollupErrors'].sort(),
    );
  });

  it('alarms on consumer and rollup errors', () => {
    alarm('consumer function failed', 'Errors', 0);
    alarm('rollup function failed', 'Errors', 0);
  });

  it('alarms when the iterator age exceeds 5 minutes', () => {
    alarm('behind the stream', 'GetRecords.IteratorAgeMilliseconds', 5 * 60 * 1000);
  });

  it('alarms on any message in the dead-letter or the failed-batch queue', () => {
    alarm('dead-letter queue', 'ApproximateNumberOfMessagesVisible', 0);
    alarm('failed-batch queue', 'ApproximateNumberOfMessagesVisible', 0);
  });

  it('alarms on any pump alert', () => {
    alarm('alert rule', METRIC_NAMES.alerts, 0);
  });

  it('creates no alarm, topic or key when alarms are off', () => {
    quietTemplate.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    quietTemplate.resourceCountIs('AWS::SNS::Topic', 0);
    quietTemplate.resourceCountIs('AWS::KMS::Key', 0);
    expect(quietObservability.alarms).toEqual({});
    expect(quietObservability.topic).toBeUndefined();
  });

  it('makes the ops topic the action of every alarm (Control Tower CT.CLOUDWATCH.PR.1)', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const topic = main.stack.resolve(observability.topic!.topicArn);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(6);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([topic]);
      expect(a.Properties.ActionsEnabled).not.toBe(false);
    }
  });

  it('notifies recovery of the pipeline alarms, but not of pump alerts ("OK" there only means "no alert lately")', () => {
    const topic = main.stack.resolve(observability.topic!.topicArn);
    const okActions = (purpose: string) =>
      template.toJSON().Resources[main.stack.getLogicalId(observability.alarms[purpose]!.node.defaultChild as never)].Properties.OKActions;
    for (const purpose of ['consumerErrors', 'iteratorAge', 'deadLetters', 'failedBatches', 'rollupErrors']) {
      expect(okActions(purpose)).toEqual([topic]);
    }
    expect(okActions('pumpAlerts')).toBeUndefined();
  });

  it('notifies a given topic instead of creating its own', () => {
    const f = fixture(new App(), 'Shared');
    const notifications = new Notifications(f.stack, 'Ops');
    const o = new Observability(f.stack, 'Observability', { ...f.props, topic: notifications.topic });
    const t = Template.fromStack(f.stack);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    expect(o.topic).toBe(notifications.topic);
    const topic = { Ref: f.stack.getLogicalId(notifications.topic.node.defaultChild as never) };
    for (const a of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) expect(a.Properties.AlarmActions).toEqual([topic]);
  });
});

describe('Observability validation', () => {
  const build = (extra: Partial<ObservabilityProps>) => {
    const f = fixture(new App(), 'Scratch');
    return new Observability(f.stack, 'Observability', { ...f.props, ...extra });
  };

  it.each<[string, Partial<ObservabilityProps>, string]>([
    ['an iterator-age threshold of 30 s', { iteratorAgeThreshold: Duration.seconds(30) }, 'iteratorAgeThreshold must be 60–604800 seconds, got 30'],
  ])('rejects %s', (_, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  it('uses a custom iterator-age threshold', () => {
    const o = build({ iteratorAgeThreshold: Duration.minutes(2) });
    Template.fromStack(Stack.of(o)).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'GetRecords.IteratorAgeMilliseconds' }) }) })]),
      Threshold: 120_000,
    });
  });
});
