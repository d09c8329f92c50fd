/**
 * One shape for every wellwatch health alarm: "the metric went above its threshold in one period", missing data
 * is not a breach, and the alarm notifies an action (Control Tower control CT.CLOUDWATCH.PR.1: every alarm has
 * one). The dashboard, the query API and the rollup fan-out all create their alarms here.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';

/** Properties of {@link healthAlarm}. */
export interface HealthAlarmProps {
  /** What the alarm means, for the operator reading the notification (prefixed with `wellwatch: `). */
  readonly description: string;
  /** The metric watched. */
  readonly metric: cloudwatch.IMetric;
  /** The alarm fires when the metric is strictly above this value in one evaluation period. */
  readonly threshold: number;
  /** Where the alarm (and, with `notifyRecovery`, its recovery) is sent. */
  readonly action: cloudwatch.IAlarmAction;
  /**
   * Also send the return to OK. Off where "OK" would only mean "nothing happened in the last period" and could be
   * read as a recovery (pump alerts).
   * @default true
   */
  readonly notifyRecovery?: boolean;
}

/**
 * Create a health alarm under `scope` with the id `id`.
 *
 * @example
 * healthAlarm(this, 'WorkerErrorsAlarm', { description: 'the rollup worker failed', metric: fn.metricErrors(), threshold: 0, action });
 */
export function healthAlarm(scope: Construct, id: string, props: HealthAlarmProps): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: `wellwatch: ${props.description}`,
    metric: props.metric,
    threshold: props.threshold,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(props.action);
  if (props.notifyRecovery ?? true) alarm.addOkAction(props.action);
  return alarm;
}
