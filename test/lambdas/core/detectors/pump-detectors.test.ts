import { DEFAULT_DETECTORS, DETECTOR_DEFAULTS } from '../../../../lambdas/config';
import { isoSeconds, PumpDetectors, readingMillis, type PumpCheckpoint } from '../../../../lambdas/core/detectors/pump-detectors';
import { compileSpec, judge, newSeriesState, stepScore, VERDICT } from '../../../../lambdas/core/detectors/series-detector';
import type { DetectorCondition } from '../../../../lambdas/core/detectors/types';
import { degradationEpisodes, generateReadings, mulberry32 } from '../../../../lambdas/core/generator';
import { parseLine } from '../../../../lambdas/core/parse-reading';
import { MEASURES, type MeasureValues, type Reading } from '../../../../lambdas/core/types';

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
  // Built by the first test that needs it, inside that test: Stryker's per-test coverage credits only code run in a
  // test, so a fixture built in the describe body would hide what it runs from the report.
  let built: ReturnType<typeof straight> | undefined;
  const reference = (): ReturnType<typeof straight> => (built ??= straight());

  it('raises early warnings on the generated degradations, each naming the rule, kind, severity and explanation', () => {
    const raised = reference().conditions.filter((c) => c.includes(' raise '));
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
    expect(conditions).toEqual(reference().conditions);
    expect(detectors.ignored).toBe(READINGS.length);
    for (const pump of pumpsOf(READINGS)) expect(detectors.checkpoint(pump)).toEqual(reference().detectors.checkpoint(pump));
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
    expect(conditions).toEqual(reference().conditions);
    for (const pump of pumpsOf(READINGS)) expect(detectors.checkpoint(pump)).toEqual(reference().detectors.checkpoint(pump));
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
    const cp = reference().detectors.checkpoint(READINGS[0]!.pump)!;
    expect(Object.keys(cp.series).sort()).toEqual(['disp', 'hz', 'psi']);
    expect(JSON.stringify(cp).length).toBeLessThan(3000);
  });
});

describe('PumpDetectors on small hand-made feeds', () => {
  const DAY0 = Date.parse('2014-03-10T00:00:00Z');
  const HEALTHY: MeasureValues = { hz: 60, disp: 3, flo: 100, sedPPM: 0.2, psi: 50, chlPPM: 1.5 };
  /** A reading of `pump` at `minute` minutes after 2014-03-10 00:00 UTC. */
  const reading = (pump: string, minute: number, values: Partial<MeasureValues> = {}): Reading => {
    const ts = new Date(DAY0 + minute * 60_000).toISOString().slice(0, 19) + 'Z';
    return { pump, day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values: { ...HEALTHY, ...values } };
  };

  it('reads the time of a reading to the second, and prints instants back in the readings\' own form', () => {
    expect(readingMillis('2014-03-10', '01:02:03')).toBe(Date.parse('2014-03-10T01:02:03Z'));
    expect(readingMillis('2014-03-10', '23:59:59')).toBe(Date.parse('2014-03-10T23:59:59Z'));
    expect(readingMillis('2014-03-11', '00:00:07')).toBe(Date.parse('2014-03-11T00:00:07Z'));
    expect(isoSeconds(Date.parse('2014-03-10T01:02:03.456Z'))).toBe('2014-03-10T01:02:03Z');
  });

  it('feeds each configured measure its own value and shows its series by measure', () => {
    const detectors = new PumpDetectors(MEASURES.map((m) => DETECTOR_DEFAULTS[m]));
    const values: MeasureValues = { hz: 58, disp: 2.5, flo: 120, sedPPM: 0.4, psi: 55, chlPPM: 1.25 };
    for (let i = 0; i < 3; i++) detectors.observe(reading('P', i, values));
    for (const m of MEASURES) expect([m, detectors.seriesOf('P', m)?.mean]).toEqual([m, values[m]]);
    expect(detectors.seriesOf('Q', 'psi')).toBeUndefined();
    // A measure without a configured detector has no series.
    const psiOnly = new PumpDetectors([DETECTOR_DEFAULTS.psi]);
    psiOnly.observe(reading('P', 0, values));
    expect(psiOnly.seriesOf('P', 'psi')?.n).toBe(1);
    expect(psiOnly.seriesOf('P', 'hz')).toBeUndefined();
  });

  it('starts a new pump\'s series fresh: the state a new series has after the same reading', () => {
    for (const first of [50, 0]) {
      // 0 psi: a stopped pump, not judged (its stop is remembered).
      const detectors = new PumpDetectors([DETECTOR_DEFAULTS.psi]);
      detectors.observe(reading('P', 0, { psi: first }));
      const expected = newSeriesState('flat');
      judge(expected, compileSpec(DETECTOR_DEFAULTS.psi), first, DAY0);
      expect(detectors.checkpoint('P')!.series.psi).toEqual(expected);
    }
  });

  it('reports a step and a drift once when raised and once when cleared, each named by its detector and scored by it', () => {
    // Healthy, then a 10 psi step down for 30 minutes, healthy again, then a 1.5 psi sag for 200 minutes, healthy.
    const wobble = (i: number): number => 0.3 * Math.sin(i);
    const psi = [
      ...Array.from({ length: 300 }, (_, i) => 50 + wobble(i)),
      ...Array.from({ length: 30 }, () => 40),
      ...Array.from({ length: 100 }, (_, i) => 50 + wobble(i)),
      ...Array.from({ length: 200 }, (_, i) => 48.5 + wobble(i)),
      ...Array.from({ length: 200 }, (_, i) => 50 + wobble(i)),
    ];
    const detectors = new PumpDetectors([DETECTOR_DEFAULTS.psi]);
    // The oracle: the same series in its JSON form.
    const spec = compileSpec(DETECTOR_DEFAULTS.psi);
    const series = newSeriesState('flat');
    const seen: { i: number; rule: string; raise: boolean; clear: boolean; score: number; expectedScore: number }[] = [];
    const changes: number[] = [];
    psi.forEach((x, i) => {
      const active = series.active;
      const verdict = judge(series, spec, x, DAY0 + i * 60_000);
      if (verdict === VERDICT.raise || verdict === VERDICT.clear) changes.push(i);
      for (const c of detectors.observe(reading('P', i, { psi: x }))) {
        const detector = verdict === VERDICT.raise ? series.active : active;
        seen.push({ i, rule: c.rule, raise: c.raise, clear: c.clear, score: c.detail.score, expectedScore: detector === 'step' ? stepScore(series) : Math.max(series.up, series.down) });
      }
    });
    expect(seen.map(({ rule, raise, clear }) => [rule, raise, clear])).toEqual([
      ['psi-step', true, false],
      ['psi-step', false, true],
      ['psi-drift', true, false],
      ['psi-drift', false, true],
    ]);
    // Nothing on any other reading (warm-up, healthy, or a warning still active).
    expect(seen.map((s) => s.i)).toEqual(changes);
    const [stepRaised, stepCleared, driftRaised, driftCleared] = changes;
    expect(stepRaised).toBeGreaterThanOrEqual(300);
    expect(stepRaised).toBeLessThan(330);
    expect(stepCleared).toBeGreaterThanOrEqual(330);
    expect(driftRaised).toBeGreaterThanOrEqual(430);
    expect(driftRaised).toBeLessThan(630);
    expect(driftCleared).toBeGreaterThanOrEqual(630);
    // A step is scored by its size in spreads, a drift by its CUSUM sum (past the threshold when raised).
    for (const s of seen) expect([s.rule, s.score]).toEqual([s.rule, s.expectedScore]);
    expect(Math.abs(seen[0]!.score)).toBeGreaterThan(DETECTOR_DEFAULTS.psi.stepSpreads);
    expect(seen[2]!.score).toBeGreaterThan(DETECTOR_DEFAULTS.psi.driftThreshold);
  });

  it('asks for no checkpoint before checkpointReadings accepted readings, and for one at exactly that many', () => {
    const detectors = new PumpDetectors([DETECTOR_DEFAULTS.psi], { checkpointReadings: 3 });
    detectors.observe(reading('P', 0));
    detectors.observe(reading('P', 1));
    expect(detectors.takeDue()).toEqual([]);
    detectors.observe(reading('P', 2));
    expect(detectors.takeDue()).toEqual(['P']);
    detectors.checkpoint('P');
    expect(detectors.takeDue()).toEqual([]);
  });

  it('asks for a checkpoint at once when it ignores a late reading of a pump never checkpointed', () => {
    const detectors = new PumpDetectors([DETECTOR_DEFAULTS.psi]);
    for (let i = 0; i < 5; i++) detectors.observe(reading('P', i));
    expect(detectors.takeDue()).toEqual([]);
    detectors.observe(reading('P', 2));
    expect(detectors.ignored).toBe(1);
    expect(detectors.takeDue()).toEqual(['P']);
  });

  it('needs no new checkpoint for a second copy of the checkpointed reading itself', () => {
    const detectors = new PumpDetectors([DETECTOR_DEFAULTS.psi]);
    for (let i = 0; i < 5; i++) detectors.observe(reading('P', i));
    detectors.checkpoint('P');
    // A replay starts after the checkpoint's lastTs: it would not see this copy either.
    detectors.observe(reading('P', 4));
    expect(detectors.ignored).toBe(1);
    expect(detectors.takeDue()).toEqual([]);
  });

  it('does not ask for a checkpoint of a pump just restored from one', () => {
    const detectors = new PumpDetectors([DETECTOR_DEFAULTS.psi]);
    for (let i = 0; i < 5; i++) detectors.observe(reading('P', i));
    const cp = detectors.checkpoint('P')!;
    const cold = new PumpDetectors([DETECTOR_DEFAULTS.psi], { checkpointReadings: 3 });
    cold.restore('P', cp);
    expect(cold.takeDue()).toEqual([]);
    expect(cold.checkpoint('P')).toEqual(cp);
  });

  it('forgets a pump: no state, and its next reading starts it afresh even when older than the forgotten ones', () => {
    const detectors = new PumpDetectors([DETECTOR_DEFAULTS.psi]);
    for (let i = 0; i < 5; i++) detectors.observe(reading('P', i));
    detectors.forget('P');
    expect(detectors.checkpoint('P')).toBeUndefined();
    detectors.observe(reading('P', 1));
    expect(detectors.ignored).toBe(0);
    expect(detectors.checkpoint('P')!.series.psi!.n).toBe(1);
  });

  it('starts a measure afresh when its checkpoint was taken with the other baseline kind (configuration changed)', () => {
    const flatPsi = DETECTOR_DEFAULTS.psi;
    const dailyPsi = { ...DETECTOR_DEFAULTS.psi, baseline: 'daily' } as const;
    for (const [from, to] of [
      [flatPsi, dailyPsi],
      [dailyPsi, flatPsi],
    ] as const) {
      const detectors = new PumpDetectors([from]);
      for (let i = 0; i < 10; i++) detectors.observe(reading('P', i));
      const cp = detectors.checkpoint('P')!;
      expect(cp.series.psi!.n).toBe(10);
      const changed = new PumpDetectors([to]);
      changed.restore('P', cp);
      expect([from.baseline, changed.seriesOf('P', 'psi')]).toEqual([from.baseline, newSeriesState(to.baseline)]);
      // The same kind restores the state as it was.
      const same = new PumpDetectors([from]);
      same.restore('P', cp);
      expect(same.seriesOf('P', 'psi')).toEqual(cp.series.psi);
    }
  });
});
