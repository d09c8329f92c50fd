/**
 * The alarm topic: where pump alarm transitions and the stack's CloudWatch alarms are announced.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { deploymentNames } from '../lambdas/config';
import { checkPattern } from './validate';

/** Properties of {@link Notifications}. */
export interface NotificationsProps {
  /**
   * Deployment name; the topic is `deploymentNames(deployment).alarmTopic` (`wellwatch[-NAME]-alarms`).
   *
   * @default - the default deployment (`wellwatch-alarms`)
   */
  readonly deployment?: string;
  /**
   * E-mail address subscribed to the topic (context key `wellwatch:alarmEmail`).
   *
   * @default - no subscription; subscribe later (SMS, chat, a ticketing system)
   */
  readonly alarmEmail?: string;
}

/**
 * An SNS topic encrypted with its own KMS key (rotated) and refusing plain HTTP (`enforceSSL`), always created: the
 * consumer and the alarm check publish alarm transitions to it, and every CloudWatch alarm of the stack uses it as
 * its action, so no alarm in the stack notifies nobody.
 *
 * CloudWatch cannot publish to a topic encrypted with the AWS managed key `alias/aws/sns` (its key policy cannot be
 * changed), hence the topic's own key, which the CloudWatch service principal may use.
 *
 * @example
 * const notifications = new Notifications(this, 'Notifications', { alarmEmail: 'oncall@example.com' });
 * notifications.topic.grantPublish(fn);
 */
export class Notifications extends Construct {
  /** The alarm topic. */
  public readonly topic: sns.Topic;
  /** The topic's KMS key. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    checkPattern('alarmEmail', props.alarmEmail, /^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an e-mail address');
    this.key = new kms.Key(this, 'TopicKey', {
      description: 'wellwatch: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: deploymentNames(props.deployment).alarmTopic,
      displayName: 'wellwatch alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }
}
