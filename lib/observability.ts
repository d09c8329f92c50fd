/**
 * Dashboard and alarms: is data flowing, is the consumer keeping up, is anything being dropped, is a pump failing.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NAMES, OPEN_ALARM_METRICS, SERVICE_DIMENSION } from '../lambdas/config';
import { SEVERITIES } from '../lambdas/core/alarm-rules';
import { ALARM_DEFAULTS, METRIC_NAMES } from './defaults';
import { healthAlarm } from './health-alarm';
import { Notifications } from './notifications';
import { checkDurationSeconds } from './validate';

/** DynamoDB operations whose throttling the dashboard shows (the ones the handlers and the CLI call). */
const THROTTLE_OPERATIONS = [
  dynamodb.Operation.BATCH_WRITE_ITEM,
  dynamodb.Operation.PUT_ITEM,
  dynamodb.Operation.DELETE_ITEM,
  dynamodb.Operation.GET_ITEM,
  dynamodb.Operation.QUERY,
];

/** Properties of {@link Observability}. */
export interface ObservabilityProps {
  /** The sensor stream. */
  readonly stream: kinesis.IStream;
  /** The consumer function. */
  readonly consumer: lambda.IFunction;
  /** The rollup function. */
  readonly rollup: lambda.IFunction;
  /** Tables to watch for throttling, by a short label for the widget legends (`readings`, `stats`, …). */
  readonly tables: Readonly<Record<string, dynamodb.ITable>>;
  /** Queue of bad lines. */
  readonly deadLetterQueue: sqs.IQueue;
  /** On-failure destination of the event source. */
  readonly failedBatchQueue: sqs.IQueue;
  /**
   * Name of the CloudWatch dashboard.
   *
   * @default NAMES.serviceName (`wellwatch`)
   */
  readonly dashboardName?: string;
  /**
   * `service` dimension of the handlers' custom metrics (their deployment's `serviceName`).
   *
   * @default NAMES.serviceName (`wellwatch`)
   */
  readonly serviceName?: string;
  /**
   * Create the alarms. Turn off only for throw-away stacks.
   *
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Topic every alarm notifies (alarm state, and recovery where it means something): the stack's ops topic, see
   * {@link Notifications}. If it is encrypted, its key must let `cloudwatch.amazonaws.com` use it.
   *
   * @default - the topic of a {@link Notifications} of its own, without subscription
   */
  readonly topic?: sns.ITopic;
  /**
   * Show the pump alarms (open alarms by severity, transitions per hour) published by the alarm check and the consumer.
   *
   * @default true
   */
  readonly pumpAlarms?: boolean;
  /**
   * Iterator age above which the consumer counts as falling behind, 1 minute–7 days.
   *
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeThreshold?: Duration;
}

/**
 * CloudWatch dashboard and alarms for the whole pipeline.
 *
 * The dashboard shows the stream (incoming records, iterator age), the consumer (invocations, errors, duration,
 * throttles), the handlers' Embedded Metric Format metrics (namespace `NAMES.metricNamespace`, dimension
 * `service = NAMES.serviceName`: readings stored, alerts, bad lines, pressure and flow), DynamoDB throttling per
 * table, the rollup, and the two queues. Alarms, on by default, fire on consumer errors, rollup errors, an iterator
 * age above the threshold, any message in the dead-letter or failed-batch queue, and any pump alert; each notifies the
 * ops topic ({@link Notifications}).
 *
 * @example
 * new Observability(this, 'Observability', {
 *   stream, consumer: consumer.fn, rollup: rollup.fn, tables: { readings, stats, catalog },
 *   deadLetterQueue, failedBatchQueue, topic: notifications.topic,
 * });
 */
export class Observability extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** All alarms, by purpose; empty when `alarms` is false. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The topic the alarms notify; undefined when `alarms` is false. */
  public readonly topic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const alarmsOn = props.alarms ?? true;
    checkDurationSeconds('iteratorAgeThreshold', props.iteratorAgeThreshold, 60, 7 * 24 * 3600);
    const period = ALARM_DEFAULTS.period;

    const custom = (metricName: string, statistic: string, label: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: NAMES.metricNamespace,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION]: props.serviceName ?? NAMES.serviceName },
        statistic,
        period,
        label,
      });
    const m = {
      incoming: props.stream.metricIncomingRecords({ statistic: 'Sum', period, label: 'incoming records' }),
      iteratorAge: props.stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: 'Maximum', period, label: 'iterator age (ms)' }),
      invocations: props.consumer.metricInvocations({ period, label: 'invocations' }),
      errors: props.consumer.metricErrors({ period, label: 'errors' }),
      throttles: props.consumer.metricThrottles({ period, label: 'throttles' }),
      durationAvg: props.consumer.metricDuration({ statistic: 'Average', period, label: 'avg' }),
      durationMax: props.consumer.metricDuration({ statistic: 'Maximum', period, label: 'max' }),
      readingsStored: custom(METRIC_NAMES.readingsStored, 'Sum', 'readings stored'),
      alerts: custom(METRIC_NAMES.alerts, 'Sum', 'alerts'),
      badLines: custom(METRIC_NAMES.badLines, 'Sum', 'bad lines'),
      psiMin: custom(METRIC_NAMES.psiMin, 'Minimum', 'psi min'),
      psiAvg: custom(METRIC_NAMES.psiAvg, 'Average', 'psi avg'),
      floAvg: custom(METRIC_NAMES.floAvg, 'Average', 'flo avg'),
      rollupInvocations: props.rollup.metricInvocations({ period, label: 'invocations' }),
      rollupErrors: props.rollup.metricErrors({ period, label: 'errors' }),
      rollupRuns: custom(METRIC_NAMES.rollupRuns, 'Sum', 'rollup runs'),
      batchFailures: custom(METRIC_NAMES.batchFailures, 'Sum', 'batches failed'),
      batchCutShort: custom(METRIC_NAMES.batchCutShort, 'Sum', 'batches cut short'),
      deadLetters: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period, label: 'dead letters' }),
      failedBatches: props.failedBatchQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period, label: 'failed batches' }),
    };
    const tables = Object.entries(props.tables);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? NAMES.serviceName,
      defaultInterval: Duration.hours(6),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    this.dashboard.addWidgets(
      graph('Stream: incoming records', [m.incoming]),
      graph('Stream: iterator age', [m.iteratorAge]),
      graph('Consumer: invocations, errors, throttles', [m.invocations, m.errors, m.throttles]),
    );
    this.dashboard.addWidgets(
      graph('Consumer: duration (ms)', [m.durationAvg, m.durationMax]),
      graph('Readings stored, alerts, bad lines', [m.readingsStored], [m.alerts, m.badLines]),
      graph('Pressure (psi) and flow', [m.psiMin, m.psiAvg], [m.floAvg]),
    );
    // One widget per table: the per-operation metric ids of ThrottledRequests may appear once per graph.
    this.dashboard.addWidgets(
      ...tables.map(([label, t]) =>
        graph(
          `DynamoDB ${label}: throttled requests (left), write throttle events (right)`,
          [t.metricThrottledRequestsForOperations({ operations: THROTTLE_OPERATIONS, period, label: 'throttled requests' })],
          [t.metric('WriteThrottleEvents', { statistic: 'Sum', period, label: 'write throttle events' })],
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph('Rollup: invocations, errors, runs', [m.rollupInvocations, m.rollupErrors, m.rollupRuns]),
      graph('Queues: messages visible', [m.deadLetters, m.failedBatches]),
      graph('Consumer: batches failed, cut short near the deadline', [m.batchFailures, m.batchCutShort]),
    );
    if (props.pumpAlarms ?? true) {
      // Pump alarms (issue 9): the alarm check gauges the open alarms per severity every 5 minutes; the consumer and the
      // check count the transitions they make.
      const open = SEVERITIES.map((s) => custom(OPEN_ALARM_METRICS[s], 'Maximum', s));
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({ title: 'Pump alarms: open, by severity', left: open, stacked: true, width: 12, height: 6 }),
        new cloudwatch.GraphWidget({
          title: 'Pump alarms: transitions per hour',
          left: [
            new cloudwatch.Metric({
              namespace: NAMES.metricNamespace,
              metricName: METRIC_NAMES.alarmTransitions,
              dimensionsMap: { [SERVICE_DIMENSION]: props.serviceName ?? NAMES.serviceName },
              statistic: 'Sum',
              period: Duration.hours(1),
              label: 'transitions',
            }),
          ],
          width: 12,
          height: 6,
        }),
      );
    }

    if (!alarmsOn) {
      this.alarms = {};
      return;
    }
    // Every alarm has an action (Control Tower control CT.CLOUDWATCH.PR.1). Recovery (OK) is sent for the
    // pipeline's health alarms; not for pump alerts, whose "OK" would only mean "no alert in the last period" and
    // could be read as "the pump recovered" (issue 9 builds per-pump alert notifications on the same topic).
    this.topic = props.topic ?? new Notifications(this, 'Notifications').topic;
    const action = new actions.SnsAction(this.topic);
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold: number, notifyRecovery = true) =>
      healthAlarm(this, id, { description, metric, threshold, action, notifyRecovery });
    const thresholdMs = props.iteratorAgeThreshold?.toMilliseconds() ?? ALARM_DEFAULTS.iteratorAgeMs;
    this.alarms = {
      consumerErrors: alarm('ConsumerErrors', 'the consumer function failed', m.errors, 0),
      iteratorAge: alarm('IteratorAge', `the consumer is more than ${thresholdMs / 1000} s behind the stream`, m.iteratorAge, thresholdMs),
      deadLetters: alarm('DeadLetters', 'bad sensor lines were sent to the dead-letter queue', m.deadLetters, 0),
      failedBatches: alarm('FailedBatches', 'the consumer gave up on Kinesis records (see the failed-batch queue)', m.failedBatches, 0),
      pumpAlerts: alarm('PumpAlerts', 'a pump reading triggered an alert rule', m.alerts, 0, false),
      rollupErrors: alarm('RollupErrors', 'the rollup function failed', m.rollupErrors, 0),
    };
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 }),
    );
  }
}
