/**
 * Bounded retry helpers shared by the DynamoDB batch writer and the SQS dead-letter sink.
 *
 * Backoff is exponential with full jitter (the delay before attempt n+1 is uniform in
 * `[0, min(cap, base · 2^(n-1)))`), which spreads retries of many concurrent writers instead of synchronising them.
 */

/** Tuning of a bounded retry loop; every field is optional. */
export interface RetryOptions {
  /** Attempts including the first one. @default 8 */
  readonly maxAttempts?: number;
  /** Base delay in milliseconds. @default 50 */
  readonly baseDelayMs?: number;
  /** Upper bound of one delay in milliseconds. @default 2000 */
  readonly maxDelayMs?: number;
  /** Source of randomness in [0, 1) for the jitter. @default - `Math.random` */
  readonly random?: () => number;
  /** Waits `ms` milliseconds. @default - a `setTimeout` promise */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Retry settings with every default applied. */
export interface ResolvedRetry {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/**
 * Resolves {@link RetryOptions} against the defaults.
 *
 * @example
 * const retry = resolveRetry({ maxAttempts: cfg.writeMaxAttempts, baseDelayMs: cfg.writeBaseDelayMs });
 */
export function resolveRetry(options: RetryOptions = {}): ResolvedRetry {
  return {
    maxAttempts: Math.max(1, Math.floor(options.maxAttempts ?? 8)),
    baseDelayMs: Math.max(0, options.baseDelayMs ?? 50),
    maxDelayMs: Math.max(0, options.maxDelayMs ?? 2_000),
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}

/**
 * Delay before retrying after `attempt` failed attempts (1-based), with full jitter.
 *
 * @example
 * backoffDelay(3, resolveRetry({ baseDelayMs: 50 })); // uniform in [0, 200)
 */
export function backoffDelay(attempt: number, retry: ResolvedRetry): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(retry.random() * ceiling);
}

const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'KMSThrottlingException',
  'AWS.SimpleQueueService.InternalError',
]);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

/**
 * Tells whether an SDK error is worth retrying: throttling, a 5xx answer, a timeout or a network failure.
 *
 * Validation errors, missing tables and access errors are not retryable: repeating them changes nothing.
 *
 * @example
 * isRetryableError(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })); // → true
 */
export function isRetryableError(error: unknown): boolean {
  // Walks the cause chain; `seen` stops on a cycle (an error that is, directly or through others, its own cause).
  const seen = new Set<object>();
  for (let e: unknown = error; typeof e === 'object' && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (retryableItself(e)) return true;
  }
  return false;
}

/** Whether one error, leaving its cause aside, says a retry can succeed. */
function retryableItself(error: object): boolean {
  const e = error as {
    name?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (typeof e.name === 'string' && RETRYABLE_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

// The one error describer lives in lambdas/core/errors.ts; re-exported here for the handlers that import it from this module.
export { describeError } from '../core/errors';

/**
 * Runs `fn` with at most `concurrency` calls in flight over the items of `source`, in order of arrival.
 *
 * `fn` must not throw for the pool to keep going; a throw rejects the pool after the calls in flight finish.
 *
 * @example
 * await runPool(chunks, 8, async (chunk) => write(chunk));
 */
export async function runPool<T>(
  source: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const iterator: Iterator<T> | AsyncIterator<T> =
    Symbol.asyncIterator in source ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
  let index = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined) {
      const next = await iterator.next();
      if (next.done) return;
      const i = index++;
      try {
        await fn(next.value, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.max(1, Math.floor(concurrency)); i++) workers.push(worker());
  const settled = await Promise.allSettled(workers);
  if (failure !== undefined) throw failure.error;
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
}
