import { DEFAULT_DETECTORS } from '../../../../lambdas/config';
import { PumpDetectors, type PumpCheckpoint } from '../../../../lambdas/core/detectors/pump-detectors';
import type { DetectorCondition } from '../../../../lambdas/core/detectors/types';
import { degradationEpisodes, generateReadings, mulberry32 } from '../../../../lambdas/core/generator';
import { parseLine } from '../../../../lambdas/core/parse-reading';
import type { Reading } from '../../../../lambdas/core/types';

// 6 pumps × 4 days, every pump degrading: ~23,000 readings with warnings raised and cleared.
const OPTIONS = { pumps: 6, days: 4, seed: 5, degradingShare: 1 };
const READINGS: Reading[] = [];
for (const line of generateReadings(OPTIONS)) {
  const o = parseLine(line);
  if (o.kind === 'reading') READINGS.push(o.reading);
}

const key = (c: DetectorCondition): string => `${c.pump} ${c.rule} ${c.ts} ${c.raise ? 'raise' : 'clear'} ${JSON.stringify(c.detail)}`;

/** The straight run: one PumpDetectors, every reading once. */
function straight(): { conditions: string[]; detectors: PumpDetectors } {
  const detectors = new PumpDetectors(DEFAULT_DETECTORS);
  const conditions: string[] = [];
  for (const r of READINGS) for (const c of detectors.observe(r)) conditions.push(key(c));
  return { conditions, detectors };
}

const pumpsOf = (readings: readonly Reading[]): string[] => [...new Set(readings.map((r) => r.pump))].sort();

describe('PumpDetectors', () => {
  const reference = straight();

  it('raises early warnings on the generated degradations, each naming the rule, kind, severity and explanation', () => {
    const raised = reference.conditions.filter((c) => c.includes(' raise '));
    const episodes = degradationEpisodes(OPTIONS);
    expect(episodes.length).toBeGreaterThan(0);
    const warned = episodes.filter((e) => raised.some((c) => c.startsWith(`${e.pump} `) && c.split(' ')[2]! >= e.start && c.split(' ')[2]! < e.failure));
    expect(warned.length).toBe(episodes.length);
    const detectors = new PumpDetectors(DEFAULT_DETECTORS);
    let first: DetectorCondition | undefined;
    for (const r of READINGS) {
      first ??= detectors.observe(r).find((c) => c.raise);
      if (first) break;
    }
    expect(first).toMatchObject({ kind: 'early-warning', severity: 'advisory', raise: true, clear: false });
    expect(first!.rule).toBe(`${first!.detail.measure}-${first!.detail.detector}`);
    expect(first!.detail.since <= first!.ts).toBe(true);
    expect(Math.abs(first!.detail.deviation)).toBeGreaterThan(1);
    expect(first!.detail.level).toBeCloseTo(first!.detail.baseline + first!.detail.deviation * first!.detail.spread, 9);
  });

  it('gives the same conditions and states when every batch is delivered twice (duplicates are ignored)', () => {
    const detectors = new PumpDetectors(DEFAULT_DETECTORS);
    const seen = new Set<string>();
    const conditions: string[] = [];
    const r = mulberry32(1);
    for (let i = 0; i < READINGS.length; ) {
      const batch = READINGS.slice(i, (i += 1 + Math.floor(r() * 500)));
      for (let pass = 0; pass < 2; pass++) {
        for (const x of batch) {
          for (const c of detectors.observe(x)) {
            const k = key(c);
            if (!seen.has(k)) conditions.push(k);
            seen.add(k);
          }
        }
      }
    }
    expect(conditions).toEqual(reference.conditions);
    expect(detectors.ignored).toBe(READINGS.length);
    for (const pump of pumpsOf(READINGS)) expect(detectors.checkpoint(pump)).toEqual(reference.detectors.checkpoint(pump));
  });

  it('ignores a reading older than the pump\'s last one: it changes no state', () => {
    const a = new PumpDetectors(DEFAULT_DETECTORS);
    const b = new PumpDetectors(DEFAULT_DETECTORS);
    const one = READINGS.filter((r) => r.pump === READINGS[0]!.pump).slice(0, 400);
    for (const r of one) a.observe(r);
    one.forEach((r, i) => {
      b.observe(r);
      // A late copy of an older reading with wild values, after every 50th reading.
      if (i % 50 === 49) b.observe({ ...one[i - 10]!, values: { ...r.values, psi: 99, hz: 10.5, disp: 6 } });
    });
    expect(b.ignored).toBe(8);
    expect(b.checkpoint(one[0]!.pump)).toEqual(a.checkpoint(one[0]!.pump));
  });

  it('is exact after cold starts: checkpoint (through JSON) + replay of the stored readings after it = straight run', () => {
    const r = mulberry32(2);
    let detectors = new PumpDetectors(DEFAULT_DETECTORS);
    const stored: Reading[] = [];
    const checkpoints = new Map<string, PumpCheckpoint>();
    const seen = new Set<string>();
    const conditions: string[] = [];
    const emit = (cs: DetectorCondition[]): void => {
      for (const c of cs) {
        const k = key(c);
        if (!seen.has(k)) conditions.push(k);
        seen.add(k);
      }
    };
    let coldStarts = 0;
    for (let i = 0; i < READINGS.length; ) {
      const batch = READINGS.slice(i, (i += 1 + Math.floor(r() * 800)));
      for (const x of batch) {
        stored.push(x);
        emit(detectors.observe(x));
      }
      // Amortised checkpoints, through JSON as they would be stored.
      for (const pump of detectors.takeDue()) checkpoints.set(pump, JSON.parse(JSON.stringify(detectors.checkpoint(pump))));
      if (r() < 0.3) {
        // Container churn: a new container restores every pump's checkpoint and replays the stored readings after it.
        coldStarts++;
        detectors = new PumpDetectors(DEFAULT_DETECTORS);
        for (const [pump, cp] of checkpoints) detectors.restore(pump, cp);
        const replay = stored.filter((x) => !checkpoints.has(x.pump) || Date.parse(x.ts) > checkpoints.get(x.pump)!.lastTs);
        replay.sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0));
        for (const x of replay) emit(detectors.observe(x));
      }
    }
    expect(coldStarts).toBeGreaterThan(3);
    expect(conditions).toEqual(reference.conditions);
    for (const pump of pumpsOf(READINGS)) expect(detectors.checkpoint(pump)).toEqual(reference.detectors.checkpoint(pump));
  });

  it('stays exact through cold starts when late readings arrive (the urgent checkpoint keeps replays from seeing them)', () => {
    // The feed with late readings: now and then a reading 30 s after one already sent, with wild values, arrives
    // after the next few. Live, the detectors ignore it; it is stored all the same.
    const r = mulberry32(3);
    const feed: Reading[] = [];
    const late: Reading[] = [];
    for (const x of READINGS) {
      feed.push(x);
      if (late.length > 0 && r() < 0.05) feed.push(late.shift()!);
      if (r() < 0.002) late.push({ ...x, time: x.time.slice(0, 6) + '30', ts: x.ts.slice(0, 17) + '30Z', values: { ...x.values, psi: 99, hz: 10.4, disp: 6.1 } });
    }
    const lateCount = feed.length - READINGS.length;
    expect(lateCount).toBeGreaterThan(10);

    const run = (churn: boolean): { conditions: string[]; finals: (PumpCheckpoint | undefined)[]; ignored: number } => {
      let detectors = new PumpDetectors(DEFAULT_DETECTORS);
      const stored: Reading[] = [];
      const checkpoints = new Map<string, PumpCheckpoint>();
      const seen = new Set<string>();
      const conditions: string[] = [];
      let ignored = 0;
      const emit = (cs: DetectorCondition[]): void => {
        for (const c of cs) {
          const k = key(c);
          if (!seen.has(k)) conditions.push(k);
          seen.add(k);
        }
      };
      const rr = mulberry32(4);
      for (let i = 0; i < feed.length; ) {
        const batch = feed.slice(i, (i += 1 + Math.floor(rr() * 800)));
        for (const x of batch) {
          stored.push(x);
          emit(detectors.observe(x));
        }
        for (const pump of detectors.takeDue()) checkpoints.set(pump, JSON.parse(JSON.stringify(detectors.checkpoint(pump))));
        if (churn && rr() < 0.3) {
          ignored += detectors.ignored;
          detectors = new PumpDetectors(DEFAULT_DETECTORS);
          for (const [pump, cp] of checkpoints) detectors.restore(pump, cp);
          const replay = stored.filter((x) => !checkpoints.has(x.pump) || Date.parse(x.ts) > checkpoints.get(x.pump)!.lastTs);
          replay.sort((x, y) => (x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0));
          for (const x of replay) emit(detectors.observe(x));
        }
      }
      return { conditions, finals: pumpsOf(READINGS).map((p) => detectors.checkpoint(p)), ignored: ignored + detectors.ignored };
    };
    const straightRun = run(false);
    // Most arrive after a newer reading of their pump (ignored); a few come soon enough to be in order.
    expect(straightRun.ignored).toBeGreaterThan(lateCount / 2);
    expect(straightRun.ignored).toBeLessThanOrEqual(lateCount);
    const churned = run(true);
    expect(churned.conditions).toEqual(straightRun.conditions);
    expect(churned.finals).toEqual(straightRun.finals);
  });

  it('asks for a checkpoint at once when it ignores a late reading newer than the last checkpoint', () => {
    const detectors = new PumpDetectors(DEFAULT_DETECTORS, { checkpointReadings: 1000 });
    const one = READINGS.filter((r) => r.pump === READINGS[0]!.pump).slice(0, 20);
    for (const r of one.slice(0, 10)) detectors.observe(r);
    detectors.checkpoint(one[0]!.pump);
    expect(detectors.takeDue()).toEqual([]);
    // Older than the checkpoint: a replay would not see it either, nothing to do.
    detectors.observe(one[5]!);
    expect(detectors.takeDue()).toEqual([]);
    for (const r of one.slice(10, 15)) detectors.observe(r);
    // Newer than the checkpoint but older than the last reading: a replay would accept it, so checkpoint now.
    detectors.observe(one[12]!);
    expect(detectors.takeDue()).toEqual([one[0]!.pump]);
  });

  it('keeps a checkpoint small: a few hundred bytes of JSON per measure', () => {
    const cp = reference.detectors.checkpoint(READINGS[0]!.pump)!;
    expect(Object.keys(cp.series).sort()).toEqual(['disp', 'hz', 'psi']);
    expect(JSON.stringify(cp).length).toBeLessThan(3000);
  });
});
