/**
 * The local rollup scheduler: cron next-fire computation and timer-driven runs on a fake clock.
 */
import { SCHEDULE } from '../../lambdas/config';
import { ConfigError } from '../../lambdas/core/errors';
import { nextFireTime, parseCronField, ROLLUP_SCHEDULE, Scheduler, type Clock } from '../../local/scheduler';

/** A manual clock: timers fire only when `advance` moves time past them. */
function fakeClock(startIso: string) {
  let now = Date.parse(startIso);
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const clock: Clock = {
    now: () => now,
    setTimer: (fn, ms) => {
      const id = ++nextId;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (handle) => {
      timers.delete(handle as number);
    },
  };
  const advance = async (ms: number): Promise<void> => {
    const end = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = Math.max(now, due[1].at);
      due[1].fn();
      await new Promise((r) => setImmediate(r)); // let the run's promise chain settle
    }
    now = end;
    await new Promise((r) => setImmediate(r));
  };
  return { clock, advance, pending: () => timers.size, iso: () => new Date(now).toISOString() };
}

const at = (iso: string) => Date.parse(iso);

describe('parseCronField', () => {
  it('expands numbers, stars, ranges, steps and lists', () => {
    expect(parseCronField('15', 0, 59)).toEqual([15]);
    expect(parseCronField('*', 0, 5)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(parseCronField('?', 0, 2)).toEqual([0, 1, 2]);
    expect(parseCronField('0-10/5', 0, 59)).toEqual([0, 5, 10]);
    expect(parseCronField('*/20', 0, 59)).toEqual([0, 20, 40]);
    expect(parseCronField('50,5,20-21', 0, 59)).toEqual([5, 20, 21, 50]);
    expect(parseCronField('45/5', 0, 59)).toEqual([45, 50, 55]);
  });

  it('rejects values out of range and malformed parts, naming the field', () => {
    expect(() => parseCronField('60', 0, 59, 'minute')).toThrow(/cron minute "60"/);
    expect(() => parseCronField('5-1', 0, 59)).toThrow(ConfigError);
    expect(() => parseCronField('*/0', 0, 59)).toThrow(ConfigError);
    expect(() => parseCronField('a', 0, 23, 'hour')).toThrow(/cron hour "a": "a" is not valid/);
  });
});

describe('nextFireTime', () => {
  it('fires the daily rule at 00:15 UTC, strictly after the given time', () => {
    expect(nextFireTime(SCHEDULE.daily, at('2024-03-10T00:14:59Z')).toISOString()).toBe('2024-03-10T00:15:00.000Z');
    expect(nextFireTime(SCHEDULE.daily, at('2024-03-10T00:15:00Z')).toISOString()).toBe('2024-03-11T00:15:00.000Z');
    expect(nextFireTime(SCHEDULE.daily, at('2024-03-10T13:00:00Z')).toISOString()).toBe('2024-03-11T00:15:00.000Z');
  });

  it('crosses month and year ends', () => {
    expect(nextFireTime(SCHEDULE.daily, at('2024-02-29T23:59:30Z')).toISOString()).toBe('2024-03-01T00:15:00.000Z');
    expect(nextFireTime(SCHEDULE.daily, at('2023-12-31T20:00:00Z')).toISOString()).toBe('2024-01-01T00:15:00.000Z');
  });

  it('fires the pending rule every hour at minute 30', () => {
    expect(nextFireTime(SCHEDULE.pending, at('2024-03-10T05:29:00Z')).toISOString()).toBe('2024-03-10T05:30:00.000Z');
    expect(nextFireTime(SCHEDULE.pending, at('2024-03-10T05:30:00.001Z')).toISOString()).toBe('2024-03-10T06:30:00.000Z');
    expect(nextFireTime(SCHEDULE.pending, at('2024-03-10T23:45:00Z')).toISOString()).toBe('2024-03-11T00:30:00.000Z');
  });

  it('handles lists and steps in both fields', () => {
    const cron = { minute: '0,30', hour: '*/6' };
    expect(nextFireTime(cron, at('2024-03-10T06:10:00Z')).toISOString()).toBe('2024-03-10T06:30:00.000Z');
    expect(nextFireTime(cron, at('2024-03-10T06:30:00Z')).toISOString()).toBe('2024-03-10T12:00:00.000Z');
  });
});

describe('Scheduler', () => {
  it('uses the stack schedule: daily and pending rollup events', () => {
    expect(ROLLUP_SCHEDULE).toEqual([
      { name: 'daily', cron: SCHEDULE.daily, event: { mode: 'daily' } },
      { name: 'pending', cron: SCHEDULE.pending, event: { mode: 'pending' } },
    ]);
  });

  it('invokes the handler with each rule’s event and its scheduled time at its cron times', async () => {
    const fake = fakeClock('2024-03-10T00:00:00Z');
    const runs: { event: unknown; at: string }[] = [];
    const scheduler = new Scheduler({
      handler: async (event) => {
        runs.push({ event, at: fake.iso() });
        return { ok: true };
      },
      clock: fake.clock,
    });
    scheduler.start();
    expect(scheduler.next()).toEqual([
      { rule: 'daily', at: '2024-03-10T00:15:00.000Z' },
      { rule: 'pending', at: '2024-03-10T00:30:00.000Z' },
    ]);
    await fake.advance(2 * 3_600_000); // until 02:00
    expect(runs).toEqual([
      { event: { mode: 'daily', time: '2024-03-10T00:15:00.000Z' }, at: '2024-03-10T00:15:00.000Z' },
      { event: { mode: 'pending', time: '2024-03-10T00:30:00.000Z' }, at: '2024-03-10T00:30:00.000Z' },
      { event: { mode: 'pending', time: '2024-03-10T01:30:00.000Z' }, at: '2024-03-10T01:30:00.000Z' },
    ]);
    expect(scheduler.next()).toEqual([
      { rule: 'daily', at: '2024-03-11T00:15:00.000Z' },
      { rule: 'pending', at: '2024-03-10T02:30:00.000Z' },
    ]);
    expect(scheduler.history().map((r) => [r.rule, r.result])).toEqual([
      ['daily', { ok: true }],
      ['pending', { ok: true }],
      ['pending', { ok: true }],
    ]);
    await scheduler.stop();
    expect(fake.pending()).toBe(0);
    await fake.advance(24 * 3_600_000);
    expect(runs).toHaveLength(3);
  });

  it('keeps firing after a failed run and records the error', async () => {
    const fake = fakeClock('2024-03-10T00:20:00Z');
    let calls = 0;
    const lines: string[] = [];
    const scheduler = new Scheduler({
      handler: async () => {
        calls++;
        if (calls === 1) throw new Error('dynamo down');
        return 'fine';
      },
      rules: [{ name: 'pending', cron: SCHEDULE.pending, event: { mode: 'pending' as const } }],
      clock: fake.clock,
      log: (l) => lines.push(l),
    });
    scheduler.start();
    await fake.advance(2 * 3_600_000);
    expect(calls).toBe(2);
    expect(scheduler.history().map((r) => r.error ?? r.result)).toEqual(['dynamo down', 'fine']);
    expect(lines.some((l) => l.includes('pending run failed: dynamo down'))).toBe(true);
    await scheduler.stop();
  });

  it('runs on demand one at a time, queued behind a run in progress', async () => {
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const scheduler = new Scheduler<{ date: string }, string>({
      handler: async (event) => {
        order.push(`start ${event.date}`);
        if (event.date === 'a') await gate;
        order.push(`end ${event.date}`);
        return event.date.toUpperCase();
      },
      rules: [],
    });
    const first = scheduler.runNow({ date: 'a' });
    const second = scheduler.runNow({ date: 'b' });
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['start a']);
    release();
    await expect(first).resolves.toBe('A');
    await expect(second).resolves.toBe('B');
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  it('waits for the remainder when a timer fires early', async () => {
    const fake = fakeClock('2024-03-10T00:00:00Z');
    const runs: string[] = [];
    let first = true;
    const early: Clock = {
      ...fake.clock,
      // The first timer fires after half its delay (a clock adjustment, a clamped long timer).
      setTimer: (fn, ms) => {
        const delay = first ? Math.floor(ms / 2) : ms;
        first = false;
        return fake.clock.setTimer(fn, delay);
      },
    };
    const scheduler = new Scheduler({
      handler: async () => {
        runs.push(new Date(early.now()).toISOString());
      },
      rules: [{ name: 'daily', cron: SCHEDULE.daily, event: { mode: 'daily' as const } }],
      clock: early,
    });
    scheduler.start();
    await fake.advance(10 * 60_000);
    expect(runs).toEqual([]);
    await fake.advance(10 * 60_000);
    expect(runs).toEqual(['2024-03-10T00:15:00.000Z']);
    await scheduler.stop();
  });
});
