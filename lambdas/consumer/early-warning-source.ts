/**
 * The early-warning detectors as a condition source of the consumer's alarm step (kind `early-warning`).
 *
 * Per shard, one {@link PumpDetectors} holds the state of the shard's pumps while the step's lease on the shard stays
 * this container's. A pump not in memory is loaded before its first batch here ({@link prepare}): its checkpoint
 * (alarms table, `P#<pump>` / `D#detectors`) is restored and the stored readings after the checkpoint's `lastTs`
 * and before the batch's oldest reading of the pump are replayed, oldest first, with their conditions discarded
 * (a container that processed those readings already evaluated them). The batch's readings then go through the
 * detectors in arrival order; readings not newer than the pump's last accepted one are ignored (duplicates from
 * at-least-once delivery, late readings), so the same readings give the same warnings in one batch or many, once
 * or twice, warm or after a cold start. A pump without a checkpoint starts fresh and is checkpointed at the end of
 * its first batch, so a later cold start always has one to start from (history from before the detectors first saw
 * the pump is not used).
 *
 * After the batch's alarms are written ({@link settle}): pumps that failed anywhere are forgotten (their records are
 * retried and rebuilt from the checkpoint), and the checkpoints due are written — amortised, every
 * `EARLY_WARNING.checkpointReadings` accepted readings of a pump, or at once after an ignored late reading newer than
 * the last checkpoint (see pump-detectors.ts). A checkpoint write is conditional on the stored one being older, so
 * two containers cannot regress it; losing that race means another container is ahead, so the pump is forgotten.
 *
 * Known limit: a late reading of a pump (older than one already processed) that arrives in the very batch in which
 * the pump is cold-started is accepted rather than ignored, since the table does not say in which order stored
 * readings arrived. Producers send each pump's readings in order, so this needs a late reading and a cold start at once.
 */
import type { WellwatchConfig } from '../config';
import { EARLY_WARNING } from '../config';
import type { ConditionSample, ConditionSource, SourceContext } from '../core/alarm-rules';
import { PumpDetectors, readingMillis, type PumpCheckpoint } from '../core/detectors/pump-detectors';
import { conditionSample, earlyWarningPolicies } from '../core/early-warning';
import type { Reading } from '../core/types';
import type { DetectorStore } from '../store/detector-store';
import { runPool } from '../store/retry';

/** Options of {@link createEarlyWarningSource}. */
export interface EarlyWarningOptions {
  /** @default EARLY_WARNING.checkpointReadings */
  readonly checkpointReadings?: number;
}

/** The early-warning source; its hooks are always present. */
export type EarlyWarningSource = ConditionSource & Required<Pick<ConditionSource, 'prepare' | 'settle'>>;

interface ShardDetectors {
  readonly detectors: PumpDetectors;
  /** Pumps whose state is in `detectors` (loaded or started fresh). */
  readonly known: Set<string>;
  /** Pumps started fresh (no stored checkpoint): checkpointed at the end of the batch. */
  readonly unsaved: Set<string>;
}

/** What `prepare` decided for a batch, found again by `samples` through the batch's array. */
interface BatchPlan {
  readonly shard: ShardDetectors;
  readonly skip: ReadonlySet<string>;
}

/**
 * Builds the early-warning source for the configured detectors.
 *
 * @example
 * const ew = createEarlyWarningSource(cfg, createDetectorStore(ddb, cfg));
 * const step = createAlarmStep(cfg, alarms, notifier, [thresholdSource(rules), ew]);
 */
export function createEarlyWarningSource(cfg: WellwatchConfig, store: DetectorStore, options: EarlyWarningOptions = {}): EarlyWarningSource {
  const checkpointReadings = options.checkpointReadings ?? EARLY_WARNING.checkpointReadings;
  const shards = new Map<string, ShardDetectors>();
  const plans = new WeakMap<readonly Reading[], BatchPlan>();
  const freshShard = (): ShardDetectors => ({ detectors: new PumpDetectors(cfg.detectors, { checkpointReadings }), known: new Set(), unsaved: new Set() });

  const shardOf = (ctx: SourceContext): ShardDetectors => {
    let s = shards.get(ctx.shard);
    if (s === undefined || ctx.fresh) {
      s = freshShard();
      shards.set(ctx.shard, s);
    }
    return s;
  };

  return {
    policies: earlyWarningPolicies(cfg.detectors),

    async prepare(readings, ctx) {
      const shard = shardOf(ctx);
      // The oldest reading of each pump not in memory: the replay stops before it.
      const oldest = new Map<string, number>();
      for (const r of readings) {
        if (shard.known.has(r.pump)) continue;
        const t = readingMillis(r.day, r.time);
        const o = oldest.get(r.pump);
        if (o === undefined || t < o) oldest.set(r.pump, t);
      }
      const failed = new Set<string>();
      if (oldest.size > 0) {
        const pumps = [...oldest.keys()];
        let checkpoints: Map<string, PumpCheckpoint>;
        try {
          checkpoints = await store.getCheckpoints(pumps);
        } catch {
          for (const p of pumps) failed.add(p);
          checkpoints = new Map();
        }
        const toLoad = pumps.filter((p) => !failed.has(p));
        await runPool(toLoad, cfg.writeConcurrency, async (pump) => {
          const cp = checkpoints.get(pump);
          try {
            if (cp === undefined) {
              shard.detectors.forget(pump);
              shard.unsaved.add(pump);
            } else {
              shard.detectors.restore(pump, cp);
              for await (const r of store.readingsBetween(pump, cp.lastTs, oldest.get(pump)!)) shard.detectors.observe(r);
            }
            shard.known.add(pump);
          } catch {
            shard.detectors.forget(pump);
            shard.unsaved.delete(pump);
            failed.add(pump);
          }
        });
      }
      plans.set(readings, { shard, skip: failed });
      return { failedPumps: [...failed] };
    },

    samples(readings) {
      const plan = plans.get(readings);
      if (plan === undefined) return []; // not prepared: nothing is known about these pumps' state
      const out: ConditionSample[] = [];
      const { detectors } = plan.shard;
      for (const r of readings) {
        if (plan.skip.has(r.pump)) continue;
        for (const c of detectors.observe(r)) out.push(conditionSample(c));
      }
      return out;
    },

    async settle(ctx) {
      const shard = shards.get(ctx.shard);
      if (shard === undefined) return { failedPumps: [] };
      for (const pump of ctx.failedPumps) {
        shard.detectors.forget(pump);
        shard.known.delete(pump);
        shard.unsaved.delete(pump);
      }
      const due = new Set(shard.detectors.takeDue());
      for (const pump of shard.unsaved) due.add(pump);
      const failed: string[] = [];
      let lastError: string | undefined;
      await runPool([...due], cfg.writeConcurrency, async (pump) => {
        const cp = shard.detectors.checkpoint(pump);
        if (cp === undefined) return;
        try {
          const written = await store.putCheckpoint(pump, cp);
          shard.unsaved.delete(pump);
          if (!written) {
            // Another container stored a newer state: ours is stale; rebuild from its checkpoint next time.
            shard.detectors.forget(pump);
            shard.known.delete(pump);
          }
        } catch (e) {
          // Not persisted: retry the pump's records, rebuilding its state from the last stored checkpoint.
          shard.detectors.forget(pump);
          shard.known.delete(pump);
          shard.unsaved.delete(pump);
          failed.push(pump);
          lastError = (e as Error)?.message ?? String(e);
        }
      });
      return lastError === undefined ? { failedPumps: failed } : { failedPumps: failed, lastError };
    },
  };
}
