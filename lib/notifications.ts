/**
 * The ops notification topic: the SNS topic every wellwatch alarm notifies, with an optional e-mail subscription.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { deploymentNames } from '../lambdas/config';
import { encryptionKey } from './encryption-key';
import { checkPattern, EMAIL_RE } from './validate';

/** Properties of {@link Notifications}. */
export interface NotificationsProps {
  /**
   * Deployment name; the topic is `deploymentNames(deployment).alarmTopic` (`wellwatch[-NAME]-alarms`).
   *
   * @default - the default deployment (`wellwatch-alarms`)
   */
  readonly deployment?: string;
  /**
   * E-mail address subscribed to the topic (context key `wellwatch:alarmEmail`; AWS first sends it a confirmation).
   *
   * @default - no subscription; subscribe a pager, chat or ticketing integration to `topic` yourself
   */
  readonly alarmEmail?: string;
  /**
   * What happens to the topic's key when it is removed from the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An encrypted, TLS-only SNS topic for ops notifications, created in every deployment.
 *
 * It always exists so that every CloudWatch alarm has an action (Control Tower control CT.CLOUDWATCH.PR.1), whether
 * or not anyone has subscribed yet: subscribing later needs no change to the alarms.
 *
 * Encryption uses a customer-managed key, not the AWS managed `alias/aws/sns`: CloudWatch alarms can only publish to
 * an encrypted topic whose key policy lets the CloudWatch service use the key, and the policy of an AWS managed key
 * cannot be changed. The SNS developer guide ("Enable compatibility between event sources from AWS services and
 * encrypted topics"): use a customer managed key and allow the service principal `kms:GenerateDataKey*` and
 * `kms:Decrypt` in its key policy. The topic policy denies every request not sent over TLS (`enforceSSL`) and allows
 * CloudWatch to publish for alarms of this account only (`aws:SourceAccount`, confused-deputy protection).
 *
 * @example
 * const notifications = new Notifications(this, 'Notifications', { alarmEmail: 'oncall@example.com' });
 * alarm.addAlarmAction(new actions.SnsAction(notifications.topic));
 */
export class Notifications extends Construct {
  /** The topic the alarms publish to. */
  public readonly topic: sns.Topic;
  /** The key encrypting the topic (`topic.grantPublish(fn)` also grants the publisher its use). */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    checkPattern('alarmEmail', props.alarmEmail, EMAIL_RE, 'an e-mail address');
    const stack = Stack.of(this);

    this.key = encryptionKey(this, 'Key', {
      description: 'wellwatch: encrypts the ops notification topic',
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudwatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        // No source condition here: the key encrypts only this topic, and who may publish to it is the topic
        // policy's business (below); a condition key the KMS request does not carry would drop every notification.
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      topicName: deploymentNames(props.deployment).alarmTopic,
      displayName: 'wellwatch alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudwatchService],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }
}
