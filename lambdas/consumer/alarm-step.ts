/**
 * The consumer's alarm step: evaluates the alarms of the readings a batch stored, after they are written.
 *
 * Stateful sources (the early-warning detectors, early-warning-source.ts) first load what the batch's pumps need
 * (`prepare`) and, after the states are written, forget the failed pumps and persist their own state (`settle`).
 *
 * Per pump, in reading order: the sources' samples go through each (pump, rule)'s state machine; a state
 * that changed is written conditionally on its version (lost races re-read and re-evaluate); transitions are then
 * archived and notified from the state's outbox. The pump's newest reading time is persisted only when it advanced
 * by a share of the no-data interval (one small write per pump every 15 minutes by default, not one per reading);
 * that same write returns the pump's open no-data alarm, which the reading then clears.
 *
 * Cost: a state is read once per container and then cached, so a quiet reading costs no request at all. The cache
 * is trusted only while this container was the last one to process the shard (a lease item per shard, one write
 * per batch): when Lambda hands the shard to another execution environment and back, the cache is dropped. After
 * a reshard, Lambda finishes a parent shard before its children ("Lambda processes records from the parent shard
 * before the child shards", AWS Lambda developer guide, Kinesis event source mapping), so one pump's readings are
 * never evaluated on two shards at once; and a stale cache can only cause a conditional write to fail and re-read,
 * never a second alarm.
 */
import { randomBytes } from 'node:crypto';
import type { WellwatchConfig } from '../config';
import { alarmRuleOf, NO_DATA_RULE, noDataPolicy, thresholdSource, type AlarmPolicy, type ConditionSample, type ConditionSource } from '../core/alarm-rules';
import { inForce, type PumpInfo } from '../core/alarm-keys';
import { evaluateAlarm, type AlarmState } from '../core/alarm-state';
import type { Reading } from '../core/types';
import type { AlarmStore } from '../store/alarm-store';
import type { Notifier } from '../store/notifier';
import { WellwatchError } from '../core/errors';

/** Outcome of one batch's alarm step. */
export interface AlarmStepResult {
  /** Pumps whose alarm state could not be written (their first record is reported for retry). */
  readonly failedPumps: string[];
  readonly transitions: number;
  readonly notified: number;
  readonly lastError?: string;
}

/** The alarm step of one consumer (keeps its cache across the invocations of a warm container). */
export interface AlarmStep {
  run(readings: readonly Reading[], ctx: { shardId?: string; now: Date }): Promise<AlarmStepResult>;
}

/** Per-shard cache of states and pump items, valid while the shard's lease stays ours. */
interface ShardCache {
  readonly states: Map<string, AlarmState>;
  readonly pumps: Map<string, PumpInfo>;
}

/** States that a quiet reading cannot change: no open alarm, no streak, nothing pending. */
function isQuiet(s: AlarmState): boolean {
  return s.alarm === undefined && s.streak === 0 && s.clearStreak === 0 && s.outbox.length === 0;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Builds the alarm step for a configuration. `sources` default to the configured threshold rules; the early-warning
 * detectors join as further {@link ConditionSource}s (their rule names must not clash with the threshold rules').
 *
 * @throws WellwatchError when two sources emit the same rule name.
 * @example
 * const step = createAlarmStep(cfg, createAlarmStore(ddb, cfg), createNotifier(cfg));
 * await step.run(storedReadings, { shardId, now: new Date() });
 */
export function createAlarmStep(
  cfg: WellwatchConfig,
  store: AlarmStore,
  notifier: Notifier,
  sources: readonly ConditionSource[] = [thresholdSource(cfg.alertRules.map(alarmRuleOf))],
): AlarmStep {
  const policyOf = new Map<string, AlarmPolicy>();
  for (const source of sources) {
    for (const [rule, policy] of source.policies) {
      if (policyOf.has(rule) || rule === NO_DATA_RULE) throw new WellwatchError(`alarm rule name ${JSON.stringify(rule)} is used twice`);
      policyOf.set(rule, policy);
    }
  }
  const owner = randomBytes(8).toString('hex');
  const caches = new Map<string, ShardCache>();
  const refreshMs = (info: PumpInfo | undefined) => (info?.noDataMinutes ?? cfg.alarms.noDataMinutes) * 60_000 * cfg.alarms.lastSeenRefreshShare;

  const runOnce = async (readings: readonly Reading[], { shardId, now }: { shardId?: string; now: Date }): Promise<AlarmStepResult> => {
    if (readings.length === 0 || !cfg.alarms.enabled) return { failedPumps: [], transitions: 0, notified: 0 };
    const shard = shardId ?? '-';
    let cache = caches.get(shard);
    const stillOurs = await store.takeLease(shard, owner);
    const fresh = !cache || !stillOurs;
    if (fresh) {
      cache = { states: new Map(), pumps: new Map() };
      caches.set(shard, cache);
    }
    const c = cache!;
    const nowIso = now.toISOString();
    const failed = new Set<string>();
    let lastError: string | undefined;

    // Stateful sources (the early-warning detectors) load what this batch's pumps need first.
    for (const source of sources) {
      if (!source.prepare) continue;
      const prepared = await source.prepare(readings, { shard, fresh });
      for (const p of prepared.failedPumps) failed.add(p);
    }

    // Samples per (pump, rule), and each pump's newest reading.
    const byState = new Map<string, ConditionSample[]>();
    const newest = new Map<string, string>();
    for (const source of sources) {
      for (const s of source.samples(readings)) {
        if (!source.policies.has(s.rule)) throw new WellwatchError(`a condition source emitted rule ${JSON.stringify(s.rule)} without a policy for it`);
        const key = `${s.pump}\u0000${s.rule}`;
        const list = byState.get(key);
        if (list) list.push(s);
        else byState.set(key, [s]);
      }
    }
    for (const r of readings) {
      const n = newest.get(r.pump);
      if (n === undefined || r.ts > n) newest.set(r.pump, r.ts);
    }

    // Read what the cache does not hold (once per container and shard).
    const missing = [...byState.entries()].filter(([key]) => !c.states.has(key)).map(([, s]) => ({ pump: s[0]!.pump, rule: s[0]!.rule, kind: s[0]!.kind }));
    const missingPumps = [...newest.keys()].filter((p) => !c.pumps.has(p));
    const [states, pumps] = await Promise.all([
      missing.length ? store.getStates(missing) : Promise.resolve(new Map<string, AlarmState>()),
      missingPumps.length ? store.getPumps(missingPumps) : Promise.resolve(new Map<string, PumpInfo>()),
    ]);
    for (const [key, s] of states) c.states.set(key, s);
    for (const p of missingPumps) c.pumps.set(p, pumps.get(p) ?? { pump: p });

    let transitions = 0;
    let notified = 0;

    const work = [...byState.entries()];
    await pool(work, cfg.writeConcurrency, async ([key, samples]) => {
      const first = samples[0]!;
      const policy = policyOf.get(first.rule)!;
      const cached = c.states.get(key)!;
      if (isQuiet(cached) && samples.every((s) => !s.raise)) return; // quiet reading over a quiet state: nothing to do
      const pump = c.pumps.get(first.pump);
      try {
        let oos = inForce(pump?.outOfService, nowIso);
        const evaluated = evaluateAlarm(cached, samples, policy, { outOfService: oos, now: nowIso });
        if (!oos && evaluated.transitions.some((t) => t.type === 'raised')) {
          // Raising is rare: confirm the pump is not out of service now (the mark may be newer than the cache).
          const fresh = (await store.getPump(first.pump)) ?? { pump: first.pump };
          c.pumps.set(first.pump, fresh);
          oos = inForce(fresh.outOfService, nowIso);
        }
        const outcome = await store.update(first, (s) => evaluateAlarm(s, samples, policy, { outOfService: oos, now: nowIso }), { state: cached });
        c.states.set(key, outcome.state);
        transitions += outcome.transitions.length;
        if (outcome.state.outbox.length > 0) {
          const d = await store.deliver(outcome.state, notifier);
          notified += d.published;
          if (d.lastError) lastError = d.lastError;
          // The outbox was cleaned in the table with a version bump; forget the copy rather than track it.
          if (d.done > 0) c.states.delete(key);
        }
      } catch (e) {
        c.states.delete(key);
        failed.add(first.pump);
        lastError = (e as Error)?.message ?? String(e);
      }
    });

    // No-data bookkeeping: persist last-seen when it advanced enough; clear an open no-data alarm.
    const due = [...newest.entries()].filter(([pump, ts]) => {
      const info = c.pumps.get(pump);
      return info?.lastSeen === undefined || Date.parse(ts) - Date.parse(info.lastSeen) >= refreshMs(info);
    });
    await pool(due, cfg.writeConcurrency, async ([pump, ts]) => {
      try {
        const info = await store.refreshLastSeen(pump, ts);
        c.pumps.set(pump, info);
        if (info.noDataAlarm === undefined) return;
        const ref = { pump, rule: NO_DATA_RULE, kind: noDataPolicy().kind };
        const sample: ConditionSample = { ...ref, severity: noDataPolicy().severity, ts: nowIso, value: 0, raise: false, clear: true };
        // Always written (force): the advanced `seen` tells a no-data check racing with this reading that it is stale.
        const outcome = await store.update(ref, (s) => evaluateAlarm(s, [sample], noDataPolicy(), { now: nowIso }), { force: true });
        transitions += outcome.transitions.length;
        if (outcome.state.outbox.length > 0) notified += (await store.deliver(outcome.state, notifier)).published;
        if (outcome.state.alarm === undefined) await store.setNoDataAlarm(pump, undefined, info.noDataAlarm);
      } catch (e) {
        c.pumps.delete(pump);
        failed.add(pump);
        lastError = (e as Error)?.message ?? String(e);
      }
    });

    // Stateful sources forget the failed pumps (they are retried) and persist what is due.
    for (const source of sources) {
      if (!source.settle) continue;
      try {
        const settled = await source.settle({ shard, fresh: false, failedPumps: failed });
        for (const p of settled.failedPumps) failed.add(p);
        if (settled.lastError) lastError = settled.lastError;
      } catch (e) {
        // Unexpected (settle reports per-pump failures as values): retry every pump of the batch.
        for (const p of newest.keys()) failed.add(p);
        lastError = (e as Error)?.message ?? String(e);
      }
    }

    const result = { failedPumps: [...failed], transitions, notified };
    return lastError === undefined ? result : { ...result, lastError };
  };

  return {
    async run(readings, ctx) {
      try {
        return await runOnce(readings, ctx);
      } catch (e) {
        // The batch is retried whole (the handler throws): stateful sources may have moved past these readings, so
        // they forget the batch's pumps and rebuild them from their stored state on the retry.
        const pumps = new Set(readings.map((r) => r.pump));
        for (const source of sources) await source.settle?.({ shard: ctx.shardId ?? '-', fresh: false, failedPumps: pumps }).catch(() => undefined);
        throw e;
      }
    },
  };
}
