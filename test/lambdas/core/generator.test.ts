import { createHash } from 'node:crypto';
import { DEFAULT_START, MAX_DAYS, MAX_PUMPS, degradationEpisodes, generateReadings, mulberry32, pumpName, type GeneratorOptions } from '../../../lambdas/core/generator';
import { parseLine } from '../../../lambdas/core/parse-reading';
import { WellwatchError } from '../../../lambdas/core/errors';
import type { Reading } from '../../../lambdas/core/types';

const take = (options: GeneratorOptions, n = Infinity): string[] => {
  const out: string[] = [];
  for (const line of generateReadings(options)) {
    if (out.length >= n) break;
    out.push(line);
  }
  return out;
};

function parseAll(lines: string[]): Reading[] {
  return lines.map((line) => {
    const o = parseLine(line);
    if (o.kind !== 'reading') throw new Error(`generated line rejected: ${line} (${JSON.stringify(o)})`);
    return o.reading;
  });
}

const epoch = (r: Reading): number => Date.parse(r.ts) / 1000;

function byPump(readings: Reading[]): Map<string, Reading[]> {
  const map = new Map<string, Reading[]>();
  for (const r of readings) {
    const list = map.get(r.pump) ?? [];
    list.push(r);
    map.set(r.pump, list);
  }
  return map;
}

const isFailed = (r: Reading): boolean => r.values.hz === 0 && r.values.disp === 0 && r.values.flo === 0 && r.values.psi === 0;

describe('generateReadings', () => {
  // 10 pumps × 3 days ≈ 29,000 lines: enough for several failures, small enough for a shared CI box. No degrading
  // pumps here (their failures last 6–24 h, see the degradation tests below), so every failure is a sudden one.
  const options = { pumps: 10, days: 3, seed: 42, degradingShare: 0 };
  const lines = take(options);
  const readings = parseAll(lines);
  const pumps = byPump(readings);

  it('is deterministic: the same seed gives the same lines', () => {
    expect(take(options)).toEqual(lines);
  });

  it('gives different lines for a different seed', () => {
    const other = take({ ...options, seed: 43 }, 2000);
    expect(other).not.toEqual(lines.slice(0, 2000));
    expect(other.filter((l, i) => l === lines[i]).length).toBeLessThan(100);
  });

  it('writes the seed format: M/D/YY, H:MM without a leading zero, fixed decimals', () => {
    const re = /^[A-Z][A-Z0-9]*,([1-9]|1[0-2])\/([1-9]|[12]\d|3[01])\/\d\d,([0-9]|1\d|2[0-3]):[0-5]\d,\d+\.\d\d,\d+\.\d\d,\d+,\d+\.\d\d,\d+,\d+\.\d\d$/;
    const offenders = lines.filter((l) => !re.test(l));
    expect(offenders).toEqual([]);
    expect(lines[0]).toMatch(/^[A-Z]+,3\/10\/14,0:0[01],/);
  });

  it('produces only lines the parser accepts, every measure inside its seed range', () => {
    expect(readings).toHaveLength(lines.length);
    const ranges = { hz: [0, 10.5], disp: [0, 6.2], flo: [0, 2042], sedPPM: [0, 7], psi: [0, 100], chlPPM: [0.5, 2] } as const;
    for (const [measure, [lo, hi]] of Object.entries(ranges)) {
      const values = readings.map((r) => r.values[measure as keyof typeof ranges]);
      expect([measure, Math.min(...values) >= lo, Math.max(...values) <= hi]).toEqual([measure, true, true]);
    }
    expect(readings.every((r) => Number.isInteger(r.values.flo) && Number.isInteger(r.values.psi))).toBe(true);
  });

  it('holds sedPPM at 0, never below, when its noise pushes it under the bottom of the range', () => {
    // Seed 397248 gives the one pump a sediment level of 0.50 ppm, and its noise reaches 0 at 18:29 on the first day.
    const sed = take({ pumps: 1, days: 1, seed: 397248, degradingShare: 0 }).map((l) => l.split(',')[6]!);
    expect(sed.filter((v) => v === '0.00').length).toBeGreaterThan(0);
    expect(sed.filter((v) => !/^\d\.\d\d$/.test(v) || Number(v) > 7)).toEqual([]);
  });

  it('uses the first day of the seed data by default and covers the requested days', () => {
    expect(DEFAULT_START).toBe('2014-03-10');
    expect([...new Set(readings.map((r) => r.day))]).toEqual(['2014-03-10', '2014-03-11', '2014-03-12']);
  });

  it('reports every pump every 1 or 2 minutes', () => {
    expect([...pumps.keys()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => pumpName(i)).sort());
    for (const [pump, list] of pumps) {
      const gaps = new Set<number>();
      for (let i = 1; i < list.length; i++) gaps.add(epoch(list[i]!) - epoch(list[i - 1]!));
      expect([pump, [...gaps].sort((a, b) => a - b)]).toEqual([pump, [60, 120]]);
      // ~960 readings a day at a mean step of 1.5 minutes.
      expect(list.length / 3).toBeGreaterThan(860);
      expect(list.length / 3).toBeLessThan(1060);
    }
  });

  it('interleaves pumps in time order, like a live feed', () => {
    for (let i = 1; i < readings.length; i++) {
      if (readings[i]!.ts < readings[i - 1]!.ts) throw new Error(`out of order at line ${i + 1}: ${lines[i - 1]} then ${lines[i]}`);
    }
    const firstMinute = readings.filter((r) => r.ts === readings[0]!.ts).map((r) => r.pump);
    expect(firstMinute.length).toBeGreaterThan(1);
  });

  it('includes pump failures: runs of 30–180 minutes with hz, disp, flo and psi all 0', () => {
    const runs: number[] = []; // span in minutes between the first and last failed reading of each run
    for (const list of pumps.values()) {
      let start = -1;
      list.forEach((r, i) => {
        if (isFailed(r) && start < 0) start = i;
        const endOfRun = start >= 0 && (!isFailed(r) || i === list.length - 1);
        if (endOfRun) {
          const last = isFailed(r) ? r : list[i - 1]!;
          if (i !== list.length - 1) runs.push((epoch(last) - epoch(list[start]!)) / 60);
          start = -1;
        }
      });
    }
    // 10 pumps × 3 days at ~3 failures per pump-week ≈ 13 expected.
    expect(runs.length).toBeGreaterThanOrEqual(5);
    expect(runs.length).toBeLessThanOrEqual(30);
    // The last reading of a run is within 2 minutes of its end, so a 30-minute failure spans at least 28.
    expect(Math.min(...runs)).toBeGreaterThanOrEqual(28);
    expect(Math.max(...runs)).toBeLessThanOrEqual(180);
    // Slow sensors keep reporting during failures.
    expect(readings.filter(isFailed).every((r) => r.values.chlPPM >= 0.5)).toBe(true);
  });

  it('includes occasional low-pressure blips on running pumps', () => {
    const blips = readings.filter((r) => r.values.hz > 0 && r.values.psi < 5);
    expect(blips.length).toBeGreaterThan(0);
    expect(blips.length).toBeLessThan(readings.length / 200);
    expect(blips.every((r) => r.values.psi >= 1)).toBe(true);
    // A blip reads 1, 2, 3 or 4 psi.
    expect([...new Set(blips.map((r) => r.values.psi))].sort()).toEqual([1, 2, 3, 4]);
  });

  it('writes M/D/YY dates across month and year ends from a given start', () => {
    const days = new Set(take({ pumps: 2, days: 2, seed: 1, start: '2015-12-31' }).map((l) => l.split(',')[1]));
    expect([...days]).toEqual(['12/31/15', '1/1/16']);
  });

  it('writes a one-digit year with a leading zero (YY)', () => {
    expect(take({ pumps: 1, days: 1, seed: 1, start: '2005-01-09' }, 1)[0]!.split(',')[1]).toBe('1/9/05');
  });

  it('is lazy: the first line of a huge run comes without generating the rest', () => {
    const it = generateReadings({ pumps: MAX_PUMPS, days: 3660, seed: 5 });
    const first = it.next();
    expect(first.done).toBe(false);
    expect(parseLine(first.value as string).kind).toBe('reading');
    it.return(undefined);
  });
});

describe('generateReadings with badLineRate', () => {
  const good = take({ pumps: 5, days: 1, seed: 9 });
  const mixed = take({ pumps: 5, days: 1, seed: 9, badLineRate: 0.05 });
  const outcomes = mixed.map((l) => parseLine(l));

  it('inserts malformed lines without changing the good ones', () => {
    expect(mixed.filter((_, i) => outcomes[i]!.kind === 'reading')).toEqual(good);
    expect(outcomes.every((o) => o.kind !== 'skip')).toBe(true);
  });

  it('inserts a malformed line only when its draw is strictly below badLineRate (a rate equal to the draw inserts none)', () => {
    // The malformed-line stream is mulberry32(seed ^ 0x5bd1e995); a rate equal to its first draw must not fire for
    // the first line, a rate just above it must (so the chance per line is exactly badLineRate).
    const seed = 77;
    const draw = mulberry32(seed ^ 0x5bd1e995)();
    const first = (badLineRate: number): string => take({ pumps: 1, days: 1, seed, badLineRate }, 1)[0]!;
    expect(parseLine(first(draw)).kind).toBe('reading');
    expect(parseLine(first(draw + 2 ** -40)).kind).toBe('error');
  });

  it('inserts about badLineRate malformed lines of several kinds', () => {
    const errors = outcomes.flatMap((o) => (o.kind === 'error' ? [o.code] : []));
    expect(errors.length).toBe(mixed.length - good.length);
    expect(errors.length / good.length).toBeGreaterThan(0.03);
    expect(errors.length / good.length).toBeLessThan(0.07);
    expect([...new Set(errors)].sort()).toEqual(['date', 'field-count', 'number', 'time']);
  });
});

describe('generateReadings malformed lines', () => {
  it('makes each malformed line from the good line after it, in five kinds with fixed bad values', () => {
    // badLineRate 1: every good line comes right after a malformed copy of itself.
    const lines = take({ pumps: 3, days: 1, seed: 21, badLineRate: 1 });
    const kinds = new Map<string, Set<string>>();
    const seen = (kind: string, what: string): void => void kinds.set(kind, (kinds.get(kind) ?? new Set()).add(what));
    const extras: number[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const [bad, good] = [lines[i]!, lines[i + 1]!];
      expect(parseLine(good).kind).toBe('reading');
      const [f, g] = [bad.split(','), good.split(',')];
      const differing = f.flatMap((x, j) => (j < 9 && x !== g[j] ? [j] : []));
      if (bad === g.slice(0, 8).join(',')) seen('one field too few', '');
      else if (f.length === 10 && f.slice(0, 9).join(',') === good && /^\d+\.\d\d$/.test(f[9]!)) {
        seen('one field too many', '');
        extras.push(Number(f[9]));
      } else if (f.length === 9 && differing.length === 1 && differing[0]! >= 3) seen('measure', `${differing[0]} ${f[differing[0]!]}`);
      else if (f.length === 9 && differing.length === 1 && differing[0] === 1) seen('date', f[1]!);
      else if (f.length === 9 && differing.length === 1 && differing[0] === 2) seen('time', f[2]!);
      else throw new Error(`unexpected malformed line ${bad} before ${good}`);
    }
    expect([...kinds.keys()].sort()).toEqual(['date', 'measure', 'one field too few', 'one field too many', 'time']);
    expect([...kinds.get('date')!].sort()).toEqual(['0/12/14', '13/1/14', '2/30/14', '4/31/14']);
    expect([...kinds.get('time')!].sort()).toEqual(['12:5x', '24:00', '25:15', '7:60']);
    // Any of the six measures, replaced by any of the four non-numbers.
    const measures = [...kinds.get('measure')!];
    expect([...new Set(measures.map((m) => m.split(' ')[0]))].sort()).toEqual(['3', '4', '5', '6', '7', '8']);
    expect([...new Set(measures.map((m) => m.split(' ')[1]))].sort()).toEqual(['--', '1.2.3', 'abc', 'n/a']);
    // The extra field is a number 0–10 with two decimals, spread over that range.
    expect(Math.min(...extras)).toBeGreaterThanOrEqual(0);
    expect(Math.min(...extras)).toBeLessThan(2);
    expect(Math.max(...extras)).toBeGreaterThan(8);
    expect(Math.max(...extras)).toBeLessThanOrEqual(10);
  });
});

describe('pumpName', () => {
  it('starts with the seed pump and gives unique upper-case ids for 100,000 pumps', () => {
    expect(pumpName(0)).toBe('COHUTTA');
    const names = Array.from({ length: MAX_PUMPS }, (_, i) => pumpName(i));
    expect(new Set(names).size).toBe(MAX_PUMPS);
    expect(names.filter((n) => !/^[A-Z][A-Z0-9]{0,63}$/.test(n))).toEqual([]);
    expect(names.filter((n) => /\d/.test(n)).length).toBeGreaterThan(0);
  });

  it('numbers the words again past the word list: COHUTTA2, …, then COHUTTA3, …', () => {
    let n = 1;
    while (!/\d/.test(pumpName(n))) n++; // n = the number of words
    expect([pumpName(n - 1), pumpName(n), pumpName(n + 1)]).toEqual([pumpName(n - 1), 'COHUTTA2', `${pumpName(1)}2`]);
    expect([pumpName(2 * n - 1), pumpName(2 * n), pumpName(2 * n + 1)]).toEqual([`${pumpName(n - 1)}2`, 'COHUTTA3', `${pumpName(1)}3`]);
    expect(pumpName(10 * n + 2)).toBe(`${pumpName(2)}11`);
  });
});

describe('option validation', () => {
  it.each([
    [{ pumps: 0, days: 1, seed: 1 }, 'pumps must be an integer 1–100000, got 0'],
    [{ pumps: 1, days: 1.5, seed: 1 }, 'days must be an integer 1–3660, got 1.5'],
    [{ pumps: 1, days: 1, seed: 0.5 }, 'seed must be an integer, got 0.5'],
    [{ pumps: 1, days: 1, seed: 1, badLineRate: 2 }, 'badLineRate must be a number 0–1, got 2'],
    [{ pumps: 1, days: 1, seed: 1, start: '2014-02-30' }, 'start must be a date YYYY-MM-DD, got "2014-02-30"'],
    [{ pumps: 1, days: 2, seed: 1, start: '2099-12-31' }, /must lie in 2000–2099/],
    [{ pumps: MAX_PUMPS + 1, days: 1, seed: 1 }, 'pumps must be an integer 1–100000, got 100001'],
    [{ pumps: 1, days: MAX_DAYS + 1, seed: 1 }, 'days must be an integer 1–3660, got 3661'],
    [{ pumps: 1, days: 0, seed: 1 }, 'days must be an integer 1–3660, got 0'],
    [{ pumps: 1, days: 1, seed: 1, badLineRate: -0.1 }, 'badLineRate must be a number 0–1, got -0.1'],
    [{ pumps: 1, days: 1, seed: 1, badLineRate: NaN }, 'badLineRate must be a number 0–1, got NaN'],
    [{ pumps: 1, days: 1, seed: 1, degradingShare: -0.5 }, 'degradingShare must be a number 0–1, got -0.5'],
    [{ pumps: 1, days: 1, seed: 1, degradingShare: NaN }, 'degradingShare must be a number 0–1, got NaN'],
    [{ pumps: 1, days: 1, seed: 1, start: '1999-12-31' }, 'generated days must lie in 2000–2099 (dates are written M/D/YY), got start 1999-12-31 and 1 days'],
  ])('rejects %j', (opts, message) => {
    expect(() => take(opts as GeneratorOptions, 1)).toThrow(WellwatchError);
    expect(() => take(opts as GeneratorOptions, 1)).toThrow(message);
  });

  it.each([
    [{ pumps: 1, days: 1, seed: 1, badLineRate: 1 }, '3/10/14'],
    [{ pumps: 1, days: 1, seed: 1, degradingShare: 1 }, '3/10/14'],
    [{ pumps: 1, days: 1, seed: 1, start: '2000-01-01' }, '1/1/00'],
    [{ pumps: 1, days: 1, seed: 1, start: '2099-12-31' }, '12/31/99'],
    [{ pumps: 1, days: 2, seed: 1, start: '2099-12-30' }, '12/30/99'],
  ])('accepts the edges of the documented ranges: %j', (opts, firstDate) => {
    // (With badLineRate 1 the first line is a malformed one, the second a good one.)
    expect(take(opts, 2)[1]!.split(',')[1]).toBe(firstDate);
  });
});

describe('daily demand cycle and degradation episodes', () => {
  // 40 pumps × 4 days, half of them degrading: ~150,000 lines.
  const options = { pumps: 40, days: 4, seed: 3, degradingShare: 0.5 };
  const episodes = degradationEpisodes(options);
  const pumps = byPump(parseAll(take(options)));
  const hours = (a: string, b: string): number => (Date.parse(b) - Date.parse(a)) / 3_600_000;
  const running = (list: Reading[], from: string, to: string): Reading[] => list.filter((r) => r.ts >= from && r.ts < to && r.values.hz > 0 && r.values.psi >= 5);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('draws episodes deterministically, of every kind, with the documented durations and depths', () => {
    expect(degradationEpisodes(options)).toEqual(episodes);
    expect(episodes.length).toBeGreaterThan(10);
    expect(episodes.length).toBeLessThan(30);
    expect(new Set(episodes.map((e) => e.kind))).toEqual(new Set(['psi-sag', 'psi-step', 'disp-drift']));
    for (const e of episodes) {
      const [lo, hi] = e.kind === 'psi-step' ? [2, 12] : [12, 48];
      expect([e.pump, hours(e.start, e.failure) >= lo && hours(e.start, e.failure) <= hi]).toEqual([e.pump, true]);
      expect([e.pump, hours(e.failure, e.repaired) >= 6 && hours(e.failure, e.repaired) <= 24]).toEqual([e.pump, true]);
      expect(e.depth).toBeGreaterThanOrEqual(0.2);
      expect(e.depth).toBeLessThanOrEqual(e.kind === 'psi-step' ? 0.7 : 0.5);
      // 36 h of history before the start, and the failure inside the run.
      expect(hours('2014-03-10T00:00:00Z', e.start)).toBeGreaterThanOrEqual(36);
      expect(e.failure < '2014-03-14T00:00:00Z').toBe(true);
    }
  });

  it('has no degrading pump when degradingShare is 0, even for a seed whose first draw is exactly 0', () => {
    // The episode stream is mulberry32(seed ^ 0x2545f491); this seed makes pump 0's "is it chosen" draw exactly 0.
    const seed = (2 ** 32 - 0x6d2b79f5) ^ 0x2545f491;
    expect(mulberry32(seed ^ 0x2545f491)()).toBe(0);
    expect(degradationEpisodes({ pumps: 1, days: 10, seed, degradingShare: 2 ** -32 }).map((e) => e.pump)).toEqual(['COHUTTA']);
    expect(degradationEpisodes({ pumps: 1, days: 10, seed, degradingShare: 0 })).toEqual([]);
  });

  it('has no episodes when degradingShare is 0 or the run is too short for one', () => {
    expect(degradationEpisodes({ ...options, degradingShare: 0 })).toEqual([]);
    expect(degradationEpisodes({ ...options, days: 1 })).toEqual([]);
  });

  it('rejects a degradingShare outside 0–1', () => {
    expect(() => degradationEpisodes({ ...options, degradingShare: 1.5 })).toThrow('degradingShare must be a number 0–1, got 1.5');
  });

  it('puts the degradation into the readings: the measure falls by about its depth, then the pump is down until repaired', () => {
    for (const e of episodes) {
      const list = pumps.get(e.pump)!;
      const measure = e.kind === 'disp-drift' ? 'disp' : 'psi';
      // The same time of day on the last day before the episode is the healthy reference (disp follows the cycle).
      const lastHour = new Date(Date.parse(e.failure) - 3_600_000).toISOString().slice(0, 19) + 'Z';
      const back = Math.ceil(hours(e.start, e.failure) / 24) * 86_400_000;
      const dayBefore = (ts: string): string => new Date(Date.parse(ts) - back).toISOString().slice(0, 19) + 'Z';
      const before = mean(running(list, dayBefore(lastHour), dayBefore(e.failure)).map((r) => r.values[measure]));
      const end = mean(running(list, lastHour, e.failure).map((r) => r.values[measure]));
      const lost = 1 - end / before;
      const expected = e.kind === 'psi-step' ? e.depth : e.depth * (1 - 0.5 / hours(e.start, e.failure));
      expect([e.pump, e.kind, e.depth, Math.round(lost * 1000) / 1000, Math.abs(lost - expected) < 0.12]).toEqual([e.pump, e.kind, e.depth, Math.round(lost * 1000) / 1000, true]);
      const down = list.filter((r) => r.ts >= e.failure && r.ts < e.repaired);
      expect(down.length).toBeGreaterThan(100);
      expect(down.every(isFailed)).toBe(true);
    }
  });

  it('gives every pump a daily cycle in flow and displacement, with pressure flat', () => {
    const healthy = [...pumps.keys()].filter((p) => !episodes.some((e) => e.pump === p));
    expect(healthy.length).toBeGreaterThan(10);
    for (const pump of healthy) {
      const list = pumps.get(pump)!.filter((r) => r.values.hz > 0 && r.values.psi >= 5);
      const at = (hour: number) => list.filter((r) => Number(r.time.slice(0, 2)) === hour);
      const [day, night] = [at(15), at(3)];
      const ratio = (m: 'flo' | 'disp' | 'psi') => mean(night.map((r) => r.values[m])) / mean(day.map((r) => r.values[m]));
      expect([pump, ratio('flo') < 0.97 && ratio('disp') < 0.97, Math.abs(ratio('psi') - 1) < 0.05]).toEqual([pump, true, true]);
    }
  });
});

describe('degradationEpisodes over many pumps (no readings generated)', () => {
  const hours = (a: string, b: string): number => (Date.parse(b) - Date.parse(a)) / 3_600_000;

  it('spans the documented ranges: psi-step 2–12 h and 20–70 %, sag and drift 12–48 h and 20–50 %, repair 6–24 h', () => {
    const episodes = degradationEpisodes({ pumps: 3000, days: 10, seed: 8, degradingShare: 1 });
    const span = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
    const step = episodes.filter((e) => e.kind === 'psi-step');
    const slow = episodes.filter((e) => e.kind !== 'psi-step');
    const [stepLo, stepHi] = span(step.map((e) => hours(e.start, e.failure)));
    const [slowLo, slowHi] = span(slow.map((e) => hours(e.start, e.failure)));
    const [depthStepLo, depthStepHi] = span(step.map((e) => e.depth));
    const [depthSlowLo, depthSlowHi] = span(slow.map((e) => e.depth));
    const [repairLo, repairHi] = span(episodes.map((e) => hours(e.failure, e.repaired)));
    expect([stepLo >= 2 && stepLo < 2.1, stepHi <= 12 && stepHi > 11.9]).toEqual([true, true]);
    expect([slowLo >= 12 && slowLo < 12.2, slowHi <= 48 && slowHi > 47.8]).toEqual([true, true]);
    expect([depthStepLo >= 0.2 && depthStepLo < 0.21, depthStepHi <= 0.7 && depthStepHi > 0.69]).toEqual([true, true]);
    expect([depthSlowLo >= 0.2 && depthSlowLo < 0.21, depthSlowHi <= 0.5 && depthSlowHi > 0.49]).toEqual([true, true]);
    expect([repairLo >= 6 && repairLo < 6.1, repairHi <= 24 && repairHi > 23.9]).toEqual([true, true]);
    // Times are whole-second UTC ISO strings.
    expect(episodes.every((e) => [e.start, e.failure, e.repaired].every((t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/.test(t)))).toBe(true);
  });

  it('lets the failure fall anywhere in its window, from 36 h + duration up to an hour before the end, both included', () => {
    // 2 days: the window of a psi-step (2–12 h) is 0–9 h wide; a sag or drift (≥ 12 h) does not fit.
    const episodes = degradationEpisodes({ pumps: 20000, days: 2, seed: 1, degradingShare: 1 });
    expect(new Set(episodes.map((e) => e.kind))).toEqual(new Set(['psi-step']));
    const earliestStart = '2014-03-11T12:00:00Z';
    const lastFailure = '2014-03-11T23:00:00Z';
    expect(episodes.every((e) => e.start >= earliestStart && e.failure <= lastFailure)).toBe(true);
    // Failing at the last minute after a later start, and an episode that fills its whole window (11 h).
    expect(episodes.filter((e) => e.failure === lastFailure && e.start > earliestStart).length).toBeGreaterThan(20);
    expect(episodes.filter((e) => e.failure === lastFailure && e.start === earliestStart).length).toBeGreaterThan(0);
    expect(episodes.filter((e) => e.failure < lastFailure && e.start > earliestStart).length).toBeGreaterThan(1000);
  });
});

describe('generateReadings is deterministic for a seed across releases', () => {
  // sample-data/, demos and tests rely on a seed giving the same data in every release: any change to the model
  // (levels, noise, daily cycle, failures, blips, degradation, malformed lines) changes this hash. A deliberate
  // model change must update it (and regenerate sample-data/) in the same commit.
  it('gives exactly the recorded lines and episodes for 4 pumps × 4 days, seed 4, every pump degrading, 1 % bad lines', () => {
    const options = { pumps: 4, days: 4, seed: 4, degradingShare: 1, badLineRate: 0.01 };
    const lines = take(options);
    expect(lines.slice(0, 4)).toEqual([
      'COHUTTA,3/10/14,0:00,10.15,2.27,771,1.16,48,1.31',
      'ETOWAH,3/10/14,0:00,9.33,2.49,1342,2.76,59,1.35',
      'CONASAUGA,3/10/14,0:01,10.23,3.58,1407,1.63,79,1.54',
      'COOSAWATTEE,3/10/14,0:01,9.52,3.86,951,2.72,67,1.75',
    ]);
    expect([lines.length, createHash('sha256').update(lines.join('\n')).digest('hex')]).toEqual([
      15515,
      'd28509de1a7219ad7d94ef0f589f091a3bab50432b2d2c041e9c941bf7ba325d',
    ]);
    expect(degradationEpisodes(options)).toEqual([
      { pump: 'COHUTTA', kind: 'disp-drift', start: '2014-03-12T08:35:00Z', failure: '2014-03-13T20:13:00Z', repaired: '2014-03-14T04:34:00Z', depth: 0.327 },
      { pump: 'CONASAUGA', kind: 'psi-sag', start: '2014-03-11T23:50:00Z', failure: '2014-03-13T01:19:00Z', repaired: '2014-03-13T19:30:00Z', depth: 0.391 },
      { pump: 'COOSAWATTEE', kind: 'psi-step', start: '2014-03-12T15:07:00Z', failure: '2014-03-12T18:33:00Z', repaired: '2014-03-13T13:31:00Z', depth: 0.462 },
      { pump: 'ETOWAH', kind: 'psi-step', start: '2014-03-13T07:51:00Z', failure: '2014-03-13T18:16:00Z', repaired: '2014-03-14T17:37:00Z', depth: 0.558 },
    ]);
  });
});
