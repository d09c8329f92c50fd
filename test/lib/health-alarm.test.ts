import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { healthAlarm } from '../../lib/health-alarm';

function alarmsOf(notifyRecovery?: boolean): Record<string, { Properties: Record<string, unknown> }> {
  const stack = new Stack(new App(), 'S');
  const action = new actions.SnsAction(new sns.Topic(stack, 'Topic'));
  const metric = new cloudwatch.Metric({ namespace: 'wellwatch', metricName: 'Errors' });
  healthAlarm(stack, 'A', { description: 'it broke', metric, threshold: 3, action, notifyRecovery });
  return Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: Record<string, unknown> }>;
}

describe('healthAlarm', () => {
  test('fires above the threshold in one period, treats missing data as fine and notifies alarm and recovery', () => {
    const [alarm] = Object.values(alarmsOf());
    expect(alarm.Properties).toMatchObject({
      AlarmDescription: 'wellwatch: it broke',
      Threshold: 3,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
  });

  test('sends no recovery when notifyRecovery is false', () => {
    const [alarm] = Object.values(alarmsOf(false));
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.OKActions).toBeUndefined();
  });
});
