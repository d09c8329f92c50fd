/**
 * Hands records read back from the stream to the consumer, exactly as the event source would: in AWS by invoking
 * the deployed consumer function (Lambda Invoke, RequestResponse) with a Kinesis event, locally through local
 * mode's event-source runner (`POST /api/invoke`, which builds the event with the same code as normal delivery).
 *
 * Either way the answer is read with Lambda's rules for a partial batch response: "If the batchItemFailures array
 * contains multiple items, Lambda uses the record with the lowest sequence number as the checkpoint"; "an empty
 * string itemIdentifier", "a null itemIdentifier" or "an itemIdentifier with a bad key name" make the whole batch a
 * failure (Lambda developer guide, "Configuring partial batch response with Kinesis Data Streams and Lambda"), and
 * a function error fails the whole batch.
 */
import { GetFunctionConfigurationCommand, InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { KinesisStreamEvent } from 'aws-lambda';
import { WellwatchError } from '../lambdas/core/errors';
import { kinesisEventRecord, type ReplayRecord } from '../local/event-source-runner';
import { readBatchResponse } from '../local/event-source/failure-policy';

/** How one invocation went. */
export interface InvokeOutcome {
  /** Index of the first record that still has to be processed; absent when the whole batch succeeded. */
  readonly failedAt?: number;
  /** Why it failed. */
  readonly error?: string;
}

/** Something that runs the consumer on a batch of one shard's records. */
export interface ConsumerInvoker {
  /** What is invoked, for messages: `lambda:wellwatch-consumer` or `local:http://127.0.0.1:4680`. */
  readonly description: string;
  invoke(shardId: string, records: readonly ReplayRecord[]): Promise<InvokeOutcome>;
}

/**
 * Reads a Kinesis partial batch response the way Lambda does: the lowest reported record, or the whole batch when an
 * identifier is empty, null or not in the batch.
 *
 * The rules are the local event source's own (`readBatchResponse` in local/event-source/failure-policy.ts, with
 * ReportBatchItemFailures on, as the stack deploys it), so a replay reads an answer exactly as delivery does.
 *
 * @example
 * firstFailedIndex({ batchItemFailures: [{ itemIdentifier: '7' }] }, ['5', '6', '7']); // → { failedAt: 2, … }
 */
export function firstFailedIndex(response: unknown, sequenceNumbers: readonly string[]): InvokeOutcome {
  const outcome = readBatchResponse(response, sequenceNumbers, true);
  switch (outcome.kind) {
    case 'success':
      return {};
    case 'partial':
      return { failedAt: outcome.failedAt, error: outcome.error };
    case 'error':
      return { failedAt: 0, error: outcome.error };
  }
}

/**
 * Invokes local mode's consumer through its runner.
 *
 * @example
 * const invoker = localInvoker(target.local!.apiUrl);
 */
export function localInvoker(apiUrl: string): ConsumerInvoker {
  return {
    description: `local:${apiUrl}`,
    async invoke(shardId, records) {
      const res = await fetch(`${apiUrl}/api/invoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ shardId, records }),
      });
      const body = (await res.json().catch(() => ({}))) as { failedAt?: number; error?: string };
      if (!res.ok) throw new WellwatchError(`local mode refused the invocation (HTTP ${res.status}): ${body.error ?? 'no detail'}`);
      return body.failedAt === undefined ? {} : { failedAt: body.failedAt, ...(body.error !== undefined ? { error: body.error } : {}) };
    },
  };
}

/** Where the events of {@link lambdaInvoker} say they come from. */
export interface LambdaEventSource {
  readonly region: string;
  /** ARN of the stream (DescribeStreamSummary). */
  readonly streamArn: string;
}

/**
 * Invokes the deployed consumer function with Lambda-shaped Kinesis events.
 *
 * `invokeIdentityArn` is the function's execution role, as in the events the event-source mapping sends (read once
 * with GetFunctionConfiguration).
 *
 * @example
 * const invoker = lambdaInvoker(new LambdaClient({}), cfg.names.consumerFunction, { region, streamArn });
 */
export function lambdaInvoker(lambda: LambdaClient, functionName: string, source: LambdaEventSource): ConsumerInvoker {
  let role: Promise<string> | undefined;
  return {
    description: `lambda:${functionName}`,
    async invoke(shardId, records) {
      role ??= lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName })).then((c) => c.Role ?? '');
      const invokeIdentityArn = await role;
      const event: KinesisStreamEvent = {
        Records: records.map((r) =>
          kinesisEventRecord({ shardId, sequenceNumber: r.sequenceNumber, partitionKey: r.partitionKey, data64: r.data64, arrivalMs: r.arrivalMs, region: source.region, streamArn: source.streamArn, invokeIdentityArn }),
        ),
      };
      const out = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }));
      const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
      let payload: unknown;
      try {
        payload = text ? JSON.parse(text) : undefined;
      } catch {
        payload = undefined;
      }
      if (out.FunctionError) {
        const message = (payload as { errorMessage?: string } | undefined)?.errorMessage ?? out.FunctionError;
        return { failedAt: 0, error: `the consumer failed: ${message}` };
      }
      return firstFailedIndex(payload, records.map((r) => r.sequenceNumber));
    },
  };
}
