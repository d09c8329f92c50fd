import { BatchWriteItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { writeItems, writeOptionsFrom } from '../../../lambdas/store/batch-writer';
import type { Item } from '../../../lambdas/core/keys';
import { scanTable, startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept } from '../../helpers/intercept';

function items(n: number, partitions = 4): Item[] {
  return Array.from({ length: n }, (_, i) => ({
    pk: { S: `P${i % partitions}` },
    sk: { S: String(i).padStart(5, '0') },
    v: { N: String(i) },
  }));
}

const noSleep = { sleep: async () => undefined };

describe('writeItems', () => {
  let db: DynaliteHandle;
  const table = 'wellwatch-catalog';

  beforeEach(async () => {
    db = await startDynalite();
  });
  afterEach(async () => {
    await db.close();
  });

  it('writes every item exactly once in chunks of at most 25', async () => {
    const sizes: number[] = [];
    intercept(db.client, (command, next) => {
      if (command instanceof BatchWriteItemCommand) sizes.push(command.input.RequestItems![table]!.length);
      return next(command);
    });
    const input = items(260);
    const result = await writeItems(db.client, table, input, { concurrency: 4 });
    expect(result.failed).toEqual([]);
    expect(result.retries).toBe(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(260);
    const stored = await scanTable(db.client, table);
    expect(stored).toHaveLength(260);
    expect(new Set(stored.map((i) => i.v!.N)).size).toBe(260);
  });

  it('sends a repeated key once, keeping the last item, instead of failing the request', async () => {
    const input: Item[] = [
      { pk: { S: 'A' }, sk: { S: '1' }, v: { N: '1' } },
      { pk: { S: 'A' }, sk: { S: '2' }, v: { N: '2' } },
      { pk: { S: 'A' }, sk: { S: '1' }, v: { N: '3' } },
    ];
    const result = await writeItems(db.client, table, input);
    expect(result.failed).toEqual([]);
    const stored = await scanTable(db.client, table);
    expect(stored.map((i) => [i.sk!.S, i.v!.N]).sort()).toEqual([
      ['1', '3'],
      ['2', '2'],
    ]);
  });

  it('retries UnprocessedItems until everything is written, exactly once', async () => {
    let calls = 0;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      const requests = command.input.RequestItems![table]!;
      if (requests.length < 3) return next(command);
      // Accept only the first third; hand the rest back as DynamoDB does under throttling.
      const cut = Math.floor(requests.length / 3);
      const out = await next(new BatchWriteItemCommand({ RequestItems: { [table]: requests.slice(0, cut) } }));
      expect(out.UnprocessedItems?.[table] ?? []).toEqual([]);
      return { UnprocessedItems: { [table]: requests.slice(cut) } };
    });
    const delays: number[] = [];
    const input = items(100);
    const result = await writeItems(db.client, table, input, {
      concurrency: 2,
      maxAttempts: 10,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    expect(result.failed).toEqual([]);
    expect(result.retries).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(4);
    expect(delays).toHaveLength(result.retries);
    const stored = await scanTable(db.client, table);
    expect(stored.map((i) => Number(i.v!.N)).sort((a, b) => a - b)).toEqual(input.map((_, i) => i));
  });

  it('retries throttling and 5xx errors with backoff', async () => {
    let failures = 0;
    intercept(db.client, async (command, next) => {
      if (command instanceof BatchWriteItemCommand && failures < 4) {
        failures++;
        const error =
          failures % 2 === 1
            ? Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } })
            : Object.assign(new Error('We encountered an internal error'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
        throw error;
      }
      return next(command);
    });
    const result = await writeItems(db.client, table, items(30), { concurrency: 1, ...noSleep });
    expect(result.failed).toEqual([]);
    expect(result.retries).toBe(4);
    expect(await scanTable(db.client, table)).toHaveLength(30);
  });

  it('fails a chunk at once on a non-retryable error and reports its indexes', async () => {
    let calls = 0;
    intercept(db.client, (command, next) => {
      calls++;
      return next(command);
    });
    const result = await writeItems(db.client, 'no-such-table', items(30), { maxAttempts: 5, ...noSleep });
    expect(result.failed).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(result.stopped).toBeUndefined();
    expect(calls).toBe(2);
    expect(result.lastError).toMatch(/ResourceNotFoundException/);
  });

  it('reports exactly the items still unprocessed when attempts run out, and writes the rest', async () => {
    const attemptsOfStubborn: number[] = [];
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      const requests: WriteRequest[] = command.input.RequestItems![table]!;
      // Items whose number is a multiple of 7 are never accepted.
      const stubborn = requests.filter((r) => Number(r.PutRequest!.Item!.v!.N) % 7 === 0);
      const rest = requests.filter((r) => !stubborn.includes(r));
      if (stubborn.length) attemptsOfStubborn.push(stubborn.length);
      if (rest.length) await next(new BatchWriteItemCommand({ RequestItems: { [table]: rest } }));
      return stubborn.length ? { UnprocessedItems: { [table]: stubborn } } : {};
    });
    const input = items(60);
    const result = await writeItems(db.client, table, input, { maxAttempts: 3, ...noSleep });
    const expected = input.map((_, i) => i).filter((i) => i % 7 === 0);
    expect(result.failed).toEqual(expected);
    // 60 items = 3 chunks, each with stubborn items, each tried exactly maxAttempts times.
    expect(attemptsOfStubborn).toHaveLength(9);
    const stored = await scanTable(db.client, table);
    expect(stored.map((i) => Number(i.v!.N)).sort((a, b) => a - b)).toEqual(input.map((_, i) => i).filter((i) => i % 7 !== 0));
  });

  it('reports every index of a repeated key that could not be written', async () => {
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      return { UnprocessedItems: command.input.RequestItems };
    });
    const input: Item[] = [
      { pk: { S: 'A' }, sk: { S: '1' } },
      { pk: { S: 'A' }, sk: { S: '2' } },
      { pk: { S: 'A' }, sk: { S: '1' } },
    ];
    const result = await writeItems(db.client, table, input, { maxAttempts: 2, ...noSleep });
    expect(result.failed).toEqual([0, 1, 2]);
  });

  it('starts no request once stopWhen answers true and reports exactly the unwritten items', async () => {
    let calls = 0;
    intercept(db.client, (command, next) => {
      if (command instanceof BatchWriteItemCommand) calls++;
      return next(command);
    });
    const input = items(200);
    // Sequential chunks of 25, one check before each: the third and later answer true, so 2 chunks (50 items) land.
    let checks = 0;
    const result = await writeItems(db.client, table, input, { concurrency: 1, stopWhen: () => ++checks > 2 });
    expect(calls).toBe(2);
    expect(result.failed).toEqual(input.map((_, i) => i).slice(50));
    expect(result.lastError).toBe('stopped: stopWhen answered true');
    expect(result).toMatchObject({ stopped: true, failedByError: 0 });
    const stored = await scanTable(db.client, table);
    expect(stored.map((i) => Number(i.v!.N)).sort((a, b) => a - b)).toEqual(input.map((_, i) => i).slice(0, 50));
  });

  it('does not retry after stopWhen turns true, and names both the error and the stop', async () => {
    let stop = false;
    let calls = 0;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      stop = true; // the deadline passes while this request is in flight
      throw Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    });
    const result = await writeItems(db.client, table, items(10), { maxAttempts: 5, stopWhen: () => stop, ...noSleep });
    expect(calls).toBe(1);
    expect(result.failed).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(result.lastError).toBe('ProvisionedThroughputExceededException: Rate exceeded after 1 attempt; then stopped: stopWhen answered true');
    expect(result.retries).toBe(0);
    // Interrupted while it would still have been retried: stopped, not given up on an error.
    expect(result).toMatchObject({ stopped: true, failedByError: 0 });
  });

  it('takes concurrency and retry settings from the configuration', () => {
    expect(writeOptionsFrom(db.cfg)).toEqual({
      concurrency: db.cfg.writeConcurrency,
      maxAttempts: db.cfg.writeMaxAttempts,
      baseDelayMs: db.cfg.writeBaseDelayMs,
    });
  });

  it('names the reason and the attempts of a chunk that gave up, and tells retries about unprocessed items', async () => {
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      return { UnprocessedItems: command.input.RequestItems };
    });
    const reasons: string[] = [];
    const result = await writeItems(db.client, table, items(3), { maxAttempts: 3, onRetry: (r) => reasons.push(r.reason), ...noSleep });
    expect(result.failed).toEqual([0, 1, 2]);
    expect(result.lastError).toBe('unprocessed after 3 attempts');
    expect(reasons).toEqual(['unprocessed', 'unprocessed']);
  });

  it('counts the items that gave up on an error apart from those the stop left unwritten', async () => {
    // Concurrency 1: the first chunk (25 items) fails for good, then the stop keeps the second from starting.
    let calls = 0;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      throw Object.assign(new Error('no such table'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    });
    const result = await writeItems(db.client, table, items(30), { concurrency: 1, stopWhen: () => calls > 0, ...noSleep });
    expect(calls).toBe(1);
    expect(result.failed).toHaveLength(30);
    expect(result).toMatchObject({ stopped: true, failedByError: 25 });
  });

  it('adds up the items of every chunk that gave up on an error before a stop', async () => {
    let calls = 0;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      throw Object.assign(new Error('no such table'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });
    });
    const result = await writeItems(db.client, table, items(60), { concurrency: 1, stopWhen: () => calls >= 2, ...noSleep });
    expect(calls).toBe(2);
    expect(result).toMatchObject({ stopped: true, failedByError: 50 });
    expect(result.failed).toHaveLength(60);
  });

  it('reports a clean write as just no failures and no retries, with no error or stop', async () => {
    expect(await writeItems(db.client, table, items(3), noSleep)).toStrictEqual({ failed: [], retries: 0 });
  });

  it('asks stopWhen once for exactly 25 items (one request) and reports no stop when all were written', async () => {
    let asked = 0;
    const result = await writeItems(db.client, table, items(25), { stopWhen: () => ++asked > 1, ...noSleep });
    expect(result).toStrictEqual({ failed: [], retries: 0 });
    expect(asked).toBe(1);
    expect(await scanTable(db.client, table)).toHaveLength(25);
  });

  it('reports an item without its partition or sort key as failed instead of throwing', async () => {
    const bad: Item[] = [{ sk: { S: 'x' }, v: { N: '1' } }, { pk: { S: 'P' }, v: { N: '2' } }, ...items(1)];
    const result = await writeItems(db.client, table, bad, { maxAttempts: 1, ...noSleep });
    expect(result.failed).toEqual([0, 1, 2]);
    expect(result.lastError).toMatch(/ValidationException/);
  });

  it('starts no retry when the stop comes during the backoff sleep', async () => {
    let calls = 0;
    let stop = false;
    intercept(db.client, async (command, next) => {
      if (!(command instanceof BatchWriteItemCommand)) return next(command);
      calls++;
      return { UnprocessedItems: command.input.RequestItems };
    });
    const result = await writeItems(db.client, table, items(5), {
      maxAttempts: 5,
      stopWhen: () => stop,
      sleep: async () => {
        stop = true;
      },
    });
    expect(calls).toBe(1);
    expect(result).toMatchObject({ stopped: true, failedByError: 0, lastError: 'unprocessed after 1 attempt; then stopped: stopWhen answered true' });
  });
});

