/**
 * The customer-managed KMS keys of wellwatch (alarm topic, function logs), with the key-policy hardening the
 * Control Tower proactive controls ask for.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** Properties of {@link encryptionKey}. */
export interface EncryptionKeyProps {
  /** What the key encrypts, shown in the KMS console. */
  readonly description: string;
  /**
   * What happens to the key when it is removed from the stack. A deleted key makes what it encrypted unreadable, so
   * it is kept by default (KMS then still waits 7–30 days before deleting a key that is scheduled for deletion).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A symmetric customer-managed key with yearly rotation and grants limited to AWS services.
 *
 * - Rotation on: Control Tower control CT.KMS.PR.1.
 * - A deny statement on `kms:CreateGrant` unless the grant is for an AWS resource or the caller is an AWS service
 *   (`kms:GrantIsForAWSResource` and `aws:PrincipalIsAWSService` both false, `BoolIfExists`): CT.KMS.PR.3. No
 *   wellwatch consumer of these keys (SNS, CloudWatch, CloudWatch Logs) uses grants, so the statement costs nothing.
 *
 * The services that use the key are added by the caller (`key.addToResourcePolicy`, `key.grant`).
 *
 * @example
 * const key = encryptionKey(this, 'LogsKey', { description: 'wellwatch: encrypts the function logs' });
 */
export function encryptionKey(scope: Construct, id: string, props: EncryptionKeyProps): kms.Key {
  const key = new kms.Key(scope, id, {
    description: props.description,
    enableKeyRotation: true,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsExceptForAwsServices',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }),
  );
  return key;
}

/** Properties of {@link logsEncryptionKey}. */
export interface LogsEncryptionKeyProps extends EncryptionKeyProps {
  /** Log groups the key may encrypt: those whose name starts with this prefix and a slash, e.g. `/wellwatch`. */
  readonly logGroupNamePrefix: string;
}

/**
 * A key for CloudWatch Logs log groups (Control Tower control CT.CLOUDWATCH.PR.3), usable only for the named ones.
 *
 * CloudWatch Logs encrypts with the key itself, as the regional service principal, so the key policy must allow it.
 * The CloudWatch Logs user guide ("Encrypt log data in CloudWatch Logs using AWS KMS", step 2): the key policy
 * allows `logs.<region>.amazonaws.com` `kms:Encrypt*`, `kms:Decrypt*`, `kms:ReEncrypt*`, `kms:GenerateDataKey*` and
 * `kms:Describe*`, with the condition `kms:EncryptionContext:aws:logs:arn` naming the log groups (CloudWatch Logs
 * passes the log group's ARN as encryption context). Here that ARN is limited to this account, this region and the
 * prefix, so the key cannot encrypt any other log group. The functions need no KMS permission to write logs.
 *
 * @example
 * const key = logsEncryptionKey(this, 'LogsKey', { description: 'wellwatch logs', logGroupNamePrefix: '/wellwatch' });
 * new logs.LogGroup(this, 'Logs', { logGroupName: '/wellwatch/consumer', encryptionKey: key });
 */
export function logsEncryptionKey(scope: Construct, id: string, props: LogsEncryptionKeyProps): kms.Key {
  const key = encryptionKey(scope, id, props);
  const stack = Stack.of(key);
  const logGroups = `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:${props.logGroupNamePrefix}/*`;
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsForTheseLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': logGroups } },
    }),
  );
  return key;
}
