import { backoffDelay, isRetryableError, resolveRetry, runPool } from '../../../lambdas/store/retry';

describe('resolveRetry', () => {
  it('defaults to 8 attempts, keeps a given count (floored) and always attempts at least once', () => {
    expect(resolveRetry().maxAttempts).toBe(8);
    expect(resolveRetry({ maxAttempts: 3 }).maxAttempts).toBe(3);
    expect(resolveRetry({ maxAttempts: 2.7 }).maxAttempts).toBe(2);
    expect(resolveRetry({ maxAttempts: 0 }).maxAttempts).toBe(1);
    expect(resolveRetry({ maxAttempts: -4 }).maxAttempts).toBe(1);
  });

  it('sleeps for real by default: the default sleep is a promise that settles after the delay', async () => {
    const { sleep } = resolveRetry();
    const started = Date.now();
    const pending = sleep(30);
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    // setTimeout may fire up to a millisecond early by rounding.
    expect(Date.now() - started).toBeGreaterThanOrEqual(28);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially from the base delay up to the cap, with full jitter below it', () => {
    const top = resolveRetry({ baseDelayMs: 50, maxDelayMs: 1000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a, top))).toEqual([49, 99, 199, 399, 799, 999, 999]);
    const bottom = resolveRetry({ baseDelayMs: 50, maxDelayMs: 1000, random: () => 0 });
    expect([1, 5, 9].map((a) => backoffDelay(a, bottom))).toEqual([0, 0, 0]);
  });
});

describe('isRetryableError', () => {
  const err = (name: string, status?: number, extra: object = {}) =>
    Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });

  it.each([
    ['ProvisionedThroughputExceededException', 400],
    ['ThrottlingException', 400],
    ['RequestLimitExceeded', 400],
    ['InternalServerError', 500],
    ['SomethingNew', 503],
    ['TimeoutError', undefined],
  ])('retries %s', (name, status) => {
    expect(isRetryableError(err(name, status))).toBe(true);
  });

  it('retries network failures by errno code', () => {
    expect(isRetryableError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it.each([
    ['ValidationException', 400],
    ['ResourceNotFoundException', 400],
    ['AccessDeniedException', 403],
  ])('does not retry %s', (name, status) => {
    expect(isRetryableError(err(name, status))).toBe(false);
  });

  it('does not retry non-errors', () => {
    expect(isRetryableError(undefined)).toBe(false);
    expect(isRetryableError(null)).toBe(false);
    expect(isRetryableError('boom')).toBe(false);
  });

  it('retries any error the SDK marked $retryable, and only when the mark is set', () => {
    expect(isRetryableError(err('SomethingNew', 400, { $retryable: {} }))).toBe(true);
    expect(isRetryableError(err('SomethingNew', 400, { $retryable: { throttling: true } }))).toBe(true);
    expect(isRetryableError(err('SomethingNew', 400, { $retryable: null }))).toBe(false);
    expect(isRetryableError(err('SomethingNew', 400, { $retryable: undefined }))).toBe(false);
  });

  it('retries every HTTP status from 500 up and 429, whatever the error name, and no other 4xx', () => {
    expect(isRetryableError(err('SomethingNew', 500))).toBe(true);
    expect(isRetryableError(err('SomethingNew', 429))).toBe(true);
    expect(isRetryableError(err('SomethingNew', 499))).toBe(false);
    expect(isRetryableError(err('SomethingNew', 428))).toBe(false);
    expect(isRetryableError(err('SomethingNew', 430))).toBe(false);
  });

  it('follows the cause chain: a wrapper of a retryable error is retryable, a wrapper of another is not', () => {
    const throttled = err('ThrottlingException', 400);
    expect(isRetryableError(new Error('write failed', { cause: throttled }))).toBe(true);
    expect(isRetryableError(new Error('outer', { cause: new Error('middle', { cause: throttled }) }))).toBe(true);
    expect(isRetryableError(new Error('write failed', { cause: err('ValidationException', 400) }))).toBe(false);
    expect(isRetryableError(new Error('write failed', { cause: 'a string cause' }))).toBe(false);
  });

  it('does not loop on an error that is its own cause', () => {
    const selfish = err('ValidationException', 400);
    (selfish as { cause?: unknown }).cause = selfish;
    expect(isRetryableError(selfish)).toBe(false);
  });

  it('does not loop on errors that are each other\'s cause, and still finds a retryable one in the cycle', () => {
    const a = err('ValidationException', 400);
    const b = err('AccessDeniedException', 403);
    (a as { cause?: unknown }).cause = b;
    (b as { cause?: unknown }).cause = a;
    expect(isRetryableError(a)).toBe(false);
    const c = err('ThrottlingException', 400);
    (b as { cause?: unknown }).cause = c;
    (c as { cause?: unknown }).cause = a;
    expect(isRetryableError(a)).toBe(true);
  });
});

describe('runPool', () => {
  it('never runs more than the given number of calls at once and visits every item', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await runPool(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (item) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        seen.push(item);
        running--;
      },
    );
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('pulls from an async generator lazily', async () => {
    const pulled: number[] = [];
    async function* source() {
      for (let i = 0; i < 5; i++) {
        pulled.push(i);
        yield i;
      }
    }
    const done: number[] = [];
    await runPool(source(), 2, async (i) => {
      done.push(i);
    });
    expect(pulled).toEqual([0, 1, 2, 3, 4]);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('passes each item its position in the source, 0, 1, 2, …', async () => {
    const seen: [string, number][] = [];
    await runPool(['a', 'b', 'c', 'd'], 2, async (item, index) => {
      seen.push([item, index]);
    });
    expect(seen.sort()).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
      ['d', 3],
    ]);
  });

  it('rejects with the first error after the calls in flight finish', async () => {
    const finished: number[] = [];
    await expect(
      runPool([1, 2, 3, 4], 2, async (i) => {
        if (i === 1) throw new Error('first');
        await new Promise((r) => setImmediate(r));
        finished.push(i);
      }),
    ).rejects.toThrow('first');
    expect(finished).toContain(2);
  });
});
