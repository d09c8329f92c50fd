/**
 * A wellwatch log group: named under the deployment's log prefix, kept a year, encrypted with a KMS key.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { deploymentNames } from '../lambdas/config';
import { FUNCTION_DEFAULTS, LOG_DEFAULTS } from './defaults';
import { logsEncryptionKey } from './encryption-key';
import { GUARD_RULES } from './nag';
import { checkOneOf } from './validate';

/** Properties of {@link wellwatchLogGroup}. */
export interface WellwatchLogGroupProps {
  /** Name within the deployment: the log group is `<deployment log prefix>/<name>`, e.g. `/wellwatch/consumer`. */
  readonly name: string;
  /**
   * Deployment name (see `deploymentNames` in `lambdas/config.ts`); gives the log prefix.
   *
   * @default - the default deployment (`/wellwatch/…`)
   */
  readonly deployment?: string;
  /**
   * How long events are kept, one of the periods CloudWatch Logs accepts (or `INFINITE`). Shorter than a year fails
   * Control Tower control CT.CLOUDWATCH.PR.2 and is therefore acknowledged on the log group, as asked for on purpose.
   *
   * @default RetentionDays.ONE_YEAR
   */
  readonly retention?: logs.RetentionDays;
  /**
   * KMS key encrypting the log group; its policy must let CloudWatch Logs use it for this log group (see
   * `logsEncryptionKey`), as the stack's `logEncryptionKey` does for every log group under its prefix.
   *
   * @default - a key of its own (`<id>Key`), limited to the deployment's log groups
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the log group (and a key of its own) when it is removed from the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Creates a log group the way every wellwatch log group is made, function logs and API access logs alike.
 *
 * - Named `<deployment log prefix>/<name>`, because the deployment's logs key lets CloudWatch Logs use it for log
 *   groups under that prefix only (Control Tower control CT.CLOUDWATCH.PR.3 wants the KMS encryption).
 * - A retention of a year by default (CT.CLOUDWATCH.PR.2); a shorter one asked for is acknowledged with the reason.
 *
 * @example
 * const accessLogs = wellwatchLogGroup(this, 'AccessLogs', { name: 'api-access', encryptionKey: stack.logEncryptionKey });
 */
export function wellwatchLogGroup(scope: Construct, id: string, props: WellwatchLogGroupProps): logs.LogGroup {
  // RetentionDays.INFINITE omits the retention (logs never expire), which CloudWatch Logs and CT.CLOUDWATCH.PR.2 accept.
  checkOneOf('logRetention', props.retention, [...LOG_DEFAULTS.retentionDays, logs.RetentionDays.INFINITE]);
  const names = deploymentNames(props.deployment); // throws a ConfigError naming a malformed deployment name
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  const retention = props.retention ?? FUNCTION_DEFAULTS.logRetention;
  const logGroupName = `${names.logGroupPrefix}/${props.name}`;

  const logGroup = new logs.LogGroup(scope, id, {
    logGroupName,
    retention,
    encryptionKey:
      props.encryptionKey ??
      logsEncryptionKey(scope, `${id}Key`, {
        description: `wellwatch: encrypts the logs of ${logGroupName}`,
        logGroupNamePrefix: names.logGroupPrefix,
        removalPolicy,
      }),
    removalPolicy,
  });
  if (retention < LOG_DEFAULTS.minCompliantDays) {
    Validations.of(logGroup).acknowledge({
      id: GUARD_RULES.logRetention,
      reason:
        `Retention set to ${retention} days on purpose (wellwatch:logRetentionDays / logRetention), e.g. for a ` +
        'test deployment; production keeps the default of a year.',
    });
  }
  return logGroup;
}
