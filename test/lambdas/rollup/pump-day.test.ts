/**
 * Recomputing one pump-day (pump-day.ts, aggregates.ts) against dynalite: the hours and the daily row, an empty
 * pump-day, a superseded write, and what a failed write becomes (retried when retryable, else an error naming the
 * pump-day). Failures are injected into the real client's `send` (test/helpers/intercept.ts).
 */
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_ALERT_RULES, KEYS } from '../../../lambdas/config';
import { WellwatchError } from '../../../lambdas/core/errors';
import { hourlyPk } from '../../../lambdas/core/keys';
import { compileRules } from '../../../lambdas/core/rules';
import { createPumpDayRollup, withRetry } from '../../../lambdas/rollup/pump-day';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { resolveRetry, type ResolvedRetry } from '../../../lambdas/store/retry';
import { createSeriesStore } from '../../../lambdas/store/series-store';
import { createStatsStore } from '../../../lambdas/store/stats-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept } from '../../helpers/intercept';

const evaluate = compileRules(DEFAULT_ALERT_RULES);

/** An error the SDK would raise for a throttled call (retryable) or a rejected one (not retryable). */
const throttled = () => Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
const rejected = () => Object.assign(new Error('item too large'), { name: 'ValidationException' });

/** A retry policy that records its pauses instead of sleeping. */
function recordingRetry(maxAttempts: number): { retry: ResolvedRetry; pauses: number[] } {
  const pauses: number[] = [];
  return { retry: resolveRetry({ maxAttempts, baseDelayMs: 100, random: () => 0.5, sleep: async (ms) => void pauses.push(ms) }), pauses };
}

describe('withRetry', () => {
  it('returns the first success, pausing with growing backoff after each retryable failure', async () => {
    const { retry, pauses } = recordingRetry(5);
    let calls = 0;
    const value = await withRetry(async () => {
      calls++;
      if (calls < 4) throw throttled();
      return 'done';
    }, retry);
    expect(value).toBe('done');
    expect(calls).toBe(4);
    expect(pauses).toEqual([50, 100, 200]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { retry, pauses } = recordingRetry(3);
    let calls = 0;
    const error = await withRetry(async () => {
      calls++;
      throw Object.assign(throttled(), { message: `slow down ${calls}` });
    }, retry).catch((e: Error) => e);
    expect((error as Error).message).toBe('slow down 3');
    expect(calls).toBe(3);
    expect(pauses).toHaveLength(2);
  });

  it('throws a failure that is not retryable at once, without pausing', async () => {
    const { retry, pauses } = recordingRetry(5);
    let calls = 0;
    await expect(
      withRetry(async () => {
        calls++;
        throw rejected();
      }, retry),
    ).rejects.toThrow('item too large');
    expect(calls).toBe(1);
    expect(pauses).toEqual([]);
  });
});

describe('createPumpDayRollup (dynalite)', () => {
  let db: DynaliteHandle;
  const DAY = '2014-03-10';

  beforeAll(async () => {
    db = await startDynalite();
    const readings = [1, 2, 13].map((h) => {
      const values = { hz: 50, disp: 2, flo: 10 * h, sedPPM: 1, psi: 40 + h, chlPPM: 1 };
      const time = `${String(h).padStart(2, '0')}:30:00`;
      return { pump: 'ALPHA', day: DAY, time, ts: `${DAY}T${time}Z`, values, alerts: evaluate(values) };
    });
    expect((await createReadingStore(db.client, db.cfg).put(readings)).failed).toEqual([]);
  });
  afterAll(async () => {
    await db?.close();
  });

  const stores = () => ({
    readings: createReadingStore(db.client, db.cfg),
    stats: createStatsStore(db.client, db.cfg),
    series: createSeriesStore(db.client, db.cfg),
  });

  /** The sort keys under a partition of the stats table. */
  async function sortKeys(pk: string): Promise<string[]> {
    const out = await db.client.send(new QueryCommand({ TableName: db.cfg.statsTable, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: pk } } }));
    return (out.Items ?? []).map((i) => i.sk!.S!);
  }

  /** A daily row's PutItem (sort key `YYYY-MM-DD`), or an hourly row's (`YYYY-MM-DDTHH`). */
  const isPut = (kind: 'daily' | 'hourly') => (cmd: unknown): boolean =>
    cmd instanceof PutItemCommand && String(cmd.input.Item?.sk?.S).includes('T') === (kind === 'hourly');

  /** Rolls up ALPHA's day while `fail` rejects the writes `matches` picks (each call decides); resolves to the error or outcome. */
  async function rollupFailing(retry: ResolvedRetry, matches: (cmd: unknown) => boolean, fail: () => Error | undefined): Promise<unknown> {
    const restore = intercept(db.client, (cmd, next) => {
      const error = matches(cmd) ? fail() : undefined;
      return error ? Promise.reject(error) : next(cmd);
    });
    try {
      return await createPumpDayRollup(stores(), retry)({ pump: 'ALPHA', day: DAY }).catch((e: unknown) => e);
    } finally {
      restore();
    }
  }

  it('writes the hours and the daily row of a pump-day, counting its readings', async () => {
    const { retry } = recordingRetry(3);
    expect(await createPumpDayRollup(stores(), retry)({ pump: 'ALPHA', day: DAY })).toEqual({ readings: 3, put: 'written' });
    expect(await sortKeys('ALPHA')).toEqual([DAY]);
    expect(await sortKeys(hourlyPk('ALPHA'))).toEqual([`${DAY}T01`, `${DAY}T02`, `${DAY}T13`]);
  });

  it('reports a daily row superseded when a rollup that started reading later already wrote it', async () => {
    const { retry } = recordingRetry(3);
    await db.client.send(
      new PutItemCommand({ TableName: db.cfg.statsTable, Item: { pk: { S: 'ALPHA' }, sk: { S: DAY }, count: { N: '3' }, [KEYS.stats.inputWatermark]: { S: '2999-01-01T00:00:00.000Z' } } }),
    );
    expect(await createPumpDayRollup(stores(), retry)({ pump: 'ALPHA', day: DAY })).toEqual({ readings: 3, put: 'superseded' });
    await db.client.send(new PutItemCommand({ TableName: db.cfg.statsTable, Item: { pk: { S: 'ALPHA' }, sk: { S: DAY }, count: { N: '3' } } }));
  });

  it('writes nothing for a pump-day without readings', async () => {
    const { retry } = recordingRetry(3);
    const sent: string[] = [];
    const restore = intercept(db.client, (cmd, next) => (sent.push(cmd.constructor.name), next(cmd)));
    try {
      expect(await createPumpDayRollup(stores(), retry)({ pump: 'ALPHA', day: '2014-03-11' })).toEqual({ readings: 0, put: 'none' });
    } finally {
      restore();
    }
    expect(sent.filter((n) => n !== 'QueryCommand')).toEqual([]);
  });

  it('reruns the whole pump-day after a throttled daily write and succeeds', async () => {
    const { retry, pauses } = recordingRetry(3);
    let puts = 0;
    expect(await rollupFailing(retry, isPut('daily'), () => (++puts === 1 ? throttled() : undefined))).toEqual({ readings: 3, put: 'written' });
    expect(puts).toBe(2);
    expect(pauses).toHaveLength(1);
  });

  it('throws the store\'s own error when the daily write stays throttled through every attempt', async () => {
    const { retry, pauses } = recordingRetry(2);
    const error = await rollupFailing(retry, isPut('daily'), throttled);
    expect(error).not.toBeInstanceOf(WellwatchError);
    expect(error).toMatchObject({ name: 'ProvisionedThroughputExceededException', message: 'slow down' });
    expect(pauses).toHaveLength(1);
  });

  it('names the pump-day and the stats table when the daily write is rejected, keeping the cause', async () => {
    const { retry, pauses } = recordingRetry(3);
    const error = await rollupFailing(retry, isPut('daily'), rejected);
    expect(error).toBeInstanceOf(WellwatchError);
    expect((error as Error).message).toBe(`stats of ALPHA on ${DAY} not written to ${db.cfg.statsTable}: ValidationException: item too large`);
    expect((error as Error).cause).toMatchObject({ name: 'ValidationException' });
    expect(pauses).toEqual([]);
  });

  it('names the pump-day and the table when an hourly write is rejected, keeping the cause, and rethrows a throttled one as it is', async () => {
    const { retry } = recordingRetry(1);
    for (const [fail, check] of [
      [
        rejected,
        (e: Error) => {
          expect(e.message).toBe(`hourly series of ALPHA on ${DAY} not written to ${db.cfg.statsTable}: ValidationException: item too large`);
          expect(e.cause).toMatchObject({ name: 'ValidationException' });
        },
      ],
      [throttled, (e: Error) => expect(e).toMatchObject({ name: 'ProvisionedThroughputExceededException', message: 'slow down' })],
    ] as const) {
      check((await rollupFailing(retry, isPut('hourly'), fail)) as Error);
    }
  });
});
