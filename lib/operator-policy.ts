/**
 * The operators' managed policy: exactly what `wellwatch replay`, `wellwatch redrive` and `wellwatch rollup` need,
 * nothing more.
 */
import { CfnOutput } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Properties of {@link OperatorPolicy}. */
export interface OperatorPolicyProps {
  /** The sensor stream: read back for a replay, written to by a redrive. */
  readonly stream: kinesis.IStream;
  /** The readings table: a redrive reads back the reading a re-sent line describes (GetItem). */
  readonly readingsTable: dynamodb.ITable;
  /** The catalog table: `replay stream --rollup` marks the pump-days it touched (BatchWriteItem). */
  readonly catalogTable: dynamodb.ITable;
  /**
   * The rollup planner: `wellwatch rollup` invokes it, then follows the day's run records in the catalog
   * (GetItem and Query, consistent reads) until every work item is done.
   */
  readonly rollupPlanner: lambda.IFunction;
  /** The consumer function, invoked with the replayed records. */
  readonly consumer: lambda.IFunction;
  /** Bad lines: received, deleted once redriven, their visibility reset when left alone. */
  readonly deadLetterQueue: sqs.IQueue;
  /** On-failure records of the event source: received, deleted once replayed. */
  readonly failedBatchQueue: sqs.IQueue;
  /**
   * Description shown in IAM.
   *
   * @default - names the commands it is for
   */
  readonly description?: string;
}

/**
 * A customer managed policy for the people who run `wellwatch replay`, `redrive` and `rollup`: attach it to their
 * role or group. Least privilege, every statement on this deployment's resources only:
 *
 * | need | actions | resource |
 * |---|---|---|
 * | read a range back | `kinesis:DescribeStreamSummary`, `ListShards`, `GetShardIterator`, `GetRecords` | the stream |
 * | re-send bad lines | `kinesis:PutRecords` | the stream |
 * | hand records to the consumer | `lambda:InvokeFunction`, `lambda:GetFunctionConfiguration` | the consumer |
 * | work through the queues | `sqs:GetQueueUrl`, `ReceiveMessage`, `DeleteMessage`, `ChangeMessageVisibility` | the two queues |
 * | see that a redriven line was stored | `dynamodb:GetItem` | the readings table (no index) |
 * | `replay stream --rollup` | `dynamodb:BatchWriteItem` | the catalog table |
 * | `rollup`: start a run | `lambda:InvokeFunction` | the rollup planner |
 * | `rollup`: follow its progress | `dynamodb:GetItem`, `dynamodb:Query` | the catalog table (no index) |
 *
 * The stream is encrypted with the AWS managed key `alias/aws/kinesis` and the queues with SQS-managed keys, so no
 * KMS permission is needed. The policy's ARN is a stack output (`OperatorPolicyArn`).
 *
 * @example
 * new OperatorPolicy(this, 'Operators', { stream, readingsTable, catalogTable, rollupPlanner: rollup.fn, consumer: consumer.fn, deadLetterQueue, failedBatchQueue });
 */
export class OperatorPolicy extends Construct {
  /** The managed policy. */
  public readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const queues = [props.deadLetterQueue.queueArn, props.failedBatchQueue.queueArn];
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: props.description ?? 'wellwatch operators: replay failed batches and the stream, redrive dead letters, run rollups (wellwatch replay / redrive / rollup)',
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadStreamRanges',
          actions: ['kinesis:DescribeStreamSummary', 'kinesis:ListShards', 'kinesis:GetShardIterator', 'kinesis:GetRecords'],
          resources: [props.stream.streamArn],
        }),
        new iam.PolicyStatement({ sid: 'ResendLines', actions: ['kinesis:PutRecords'], resources: [props.stream.streamArn] }),
        new iam.PolicyStatement({
          sid: 'InvokeConsumer',
          actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
          resources: [props.consumer.functionArn],
        }),
        new iam.PolicyStatement({
          sid: 'WorkThroughQueues',
          actions: ['sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
          resources: queues,
        }),
        new iam.PolicyStatement({ sid: 'CheckRedrivenReadings', actions: ['dynamodb:GetItem'], resources: [props.readingsTable.tableArn] }),
        new iam.PolicyStatement({ sid: 'MarkForRollup', actions: ['dynamodb:BatchWriteItem'], resources: [props.catalogTable.tableArn] }),
        new iam.PolicyStatement({ sid: 'StartRollup', actions: ['lambda:InvokeFunction'], resources: [props.rollupPlanner.functionArn] }),
        new iam.PolicyStatement({ sid: 'FollowRollup', actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [props.catalogTable.tableArn] }),
      ],
    });
    new CfnOutput(this, 'Arn', { value: this.policy.managedPolicyArn, description: 'Managed policy for operators running wellwatch replay / redrive / rollup' }).overrideLogicalId(
      'OperatorPolicyArn',
    );
  }
}
