/**
 * One invocation under the function timeout, as Lambda runs it.
 *
 * Lambda ends an invocation that runs past its timeout with an error ("Task timed out after N seconds"); for the
 * event source mapping that is a function error like any other, so bisect and retry apply. A promise cannot be
 * killed: the handler keeps running in the background (its writes so far stay, as in Lambda, where work done
 * before the timeout is not rolled back), and its late result or error is logged, never left unhandled.
 */
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { describeError } from '../../lambdas/core/errors';
import type { KinesisBatchHandler } from './types';

/** What an invocation came back with: the handler's response, or its error (thrown or timed out). */
export type Invoked = { readonly response: unknown } | { readonly error: string; readonly timedOut: boolean };

/**
 * Calls `handler` and races it against `timeoutMs`.
 *
 * @example
 * const invoked = await invokeWithTimeout(handler, event, context, 120_000, log);
 * if ('error' in invoked && invoked.timedOut) counters.timeouts++;
 */
export async function invokeWithTimeout(
  handler: KinesisBatchHandler,
  event: KinesisStreamEvent,
  context: Context,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<Invoked> {
  const call = (async () => handler(event, context))();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([call, timedOut]);
    if (result === 'timeout') {
      call.then(
        () => log(`event source: an invocation that timed out finished later (request ${context.awsRequestId})`),
        (e) => log(`event source: an invocation that timed out failed later (request ${context.awsRequestId}): ${describeError(e)}`),
      );
      return { error: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`, timedOut: true };
    }
    return { response: result };
  } catch (e) {
    return { error: describeError(e), timedOut: false };
  } finally {
    clearTimeout(timer);
  }
}
