/**
 * The scheduled alarm check (EventBridge every 5 minutes; the local scheduler runs the same handler).
 *
 * For every bucket of the alarms table (one Query each, never a Scan):
 * 1. no data — a pump whose persisted last-seen is older than its interval (`WELLWATCH_NO_DATA_MINUTES`, default 30,
 *    or the pump's override) is a candidate; the check marks the pump's item with the alarm id it is about to raise
 *    (so a reading arriving meanwhile clears it), confirms the silence against the readings table (the persisted
 *    last-seen lags by design), and raises `no-data` through the same state machine as every other alarm. Silence
 *    never clears anything: only the pump's next reading does (the consumer's alarm step). A raised no-data alarm is
 *    not raised again while it is open.
 * 2. sweep — open alarms whose shelf has expired are unshelved (notifying again if still active); transitions
 *    left in an outbox by a crash between a state write and its notification are delivered.
 * 3. metrics — open alarms by severity (`OpenAlarmsCritical` …), transitions made.
 *
 * Detection time: a pump silent since R is a candidate once its last-seen (≥ R − half the interval) is older than
 * the interval, and is confirmed at the first check after R + interval: within interval + 5 minutes, so within
 * 2× the interval for intervals of 5 minutes or more.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { METRIC_NAMES, OPEN_ALARM_METRICS, loadConfig, type WellwatchConfig } from '../config';
import { inForce, type PumpInfo } from '../core/alarm-keys';
import { NO_DATA_RULE, noDataPolicy, SEVERITIES, type ConditionSample, type Severity } from '../core/alarm-rules';
import { alarmId, evaluateAlarm, expireShelf, type AlarmState } from '../core/alarm-state';
import { count, handlerMetrics } from '../runtime/telemetry';
import { createAlarmStore, type AlarmStore } from '../store/alarm-store';
import { dynamoClient } from '../store/clients';
import { addDays, utcDay } from '../store/days';
import { createNotifier, type Notifier } from '../store/notifier';
import { newestReadingTime } from '../store/queries';
import { describeError, runPool } from '../store/retry';
import { tuneV8 } from '../runtime/v8-tuning';

tuneV8();

/** Days back the no-data check looks for a pump's newest reading before it trusts the persisted last-seen. */
const CONFIRM_DAYS = 7;

/** What one check did. */
export interface AlarmCheckResult {
  readonly pumps: number;
  readonly noDataRaised: number;
  readonly unshelved: number;
  readonly delivered: number;
  readonly open: Record<Severity, number>;
  readonly errors: number;
}

/** Replaceable collaborators of the check. */
export interface AlarmCheckDeps {
  readonly dynamo?: DynamoDBClient;
  readonly store?: AlarmStore;
  readonly notifier?: Notifier;
  /** @default - `new Date()` */
  readonly clock?: () => Date;
  readonly metricsSink?: (line: string) => void;
  readonly log?: (line: string) => void;
}

/** The check's handler type (the EventBridge event is ignored: the check always looks at now). */
export type AlarmCheckHandler = (event?: unknown) => Promise<AlarmCheckResult>;

/**
 * Builds the scheduled alarm check.
 *
 * @example
 * const check = createAlarmCheckHandler(cfg, { clock: () => new Date('2026-11-30T12:00:00Z') });
 * const { noDataRaised } = await check();
 */
export function createAlarmCheckHandler(cfg: WellwatchConfig, deps: AlarmCheckDeps = {}): AlarmCheckHandler {
  const dynamo = deps.dynamo ?? dynamoClient(cfg);
  const clock = deps.clock ?? (() => new Date());
  const store = deps.store ?? createAlarmStore(dynamo, cfg, { clock });
  const notifier = deps.notifier ?? createNotifier(cfg);
  const log = deps.log ?? ((line: string) => console.error(line));
  const policy = noDataPolicy();

  /** The pump's newest reading time, looked up in the readings table (bounded to CONFIRM_DAYS days). */
  const newestReading = async (pump: string, lastSeen: string, now: Date): Promise<string> => {
    const today = utcDay(now);
    const since = lastSeen.slice(0, 10);
    for (let day = today, n = 0; day >= since && n < CONFIRM_DAYS; day = addDays(day, -1), n++) {
      const newest = await newestReadingTime(dynamo, cfg, pump, day);
      if (newest !== undefined) return newest > lastSeen ? newest : lastSeen;
    }
    return lastSeen;
  };

  const checkPump = async (info: PumpInfo, now: Date): Promise<boolean> => {
    const intervalMs = (info.noDataMinutes ?? cfg.alarms.noDataMinutes) * 60_000;
    if (info.lastSeen === undefined) return false;
    if (info.noDataAlarm !== undefined) {
      // Marked: normally its no-data alarm is open, and silence must not raise it again. A mark without that open
      // alarm was left by a check that died between marking and raising: look at the pump afresh.
      const state = await store.getState({ pump: info.pump, rule: NO_DATA_RULE, kind: policy.kind });
      if (state.alarm?.id === info.noDataAlarm || state.outbox.some((t) => t.alarm.id === info.noDataAlarm)) return false;
    }
    if (inForce(info.outOfService, now.toISOString())) return false;
    if (now.getTime() - Date.parse(info.lastSeen) <= intervalMs) return false;
    const detectedAt = now.toISOString();
    const id = alarmId(info.pump, NO_DATA_RULE, detectedAt.replace(/\.\d+Z$/, 'Z'));
    // The persisted last-seen lags by design: most candidates are alive, and one read tells (cheaper than writes).
    if (now.getTime() - Date.parse(await newestReading(info.pump, info.lastSeen, now)) <= intervalMs) return false;
    // Silent: mark the pump, then look again. A reading stored after this second look sees the mark and clears
    // whatever this check raises; one stored before it is found by the second look.
    await store.setNoDataAlarm(info.pump, id);
    const newest = await newestReading(info.pump, info.lastSeen, now);
    if (now.getTime() - Date.parse(newest) <= intervalMs) {
      await store.refreshLastSeen(info.pump, newest);
      await store.setNoDataAlarm(info.pump, undefined, id);
      return false;
    }
    const silentMinutes = Math.floor((now.getTime() - Date.parse(newest)) / 60_000);
    const sample: ConditionSample = {
      pump: info.pump,
      rule: NO_DATA_RULE,
      kind: policy.kind,
      severity: policy.severity,
      ts: detectedAt,
      value: silentMinutes,
      raise: true,
      clear: false,
      detail: `no reading for ${silentMinutes} min (interval ${intervalMs / 60_000} min)`,
      firstTime: newest,
    };
    const outcome = await store.update({ pump: info.pump, rule: NO_DATA_RULE, kind: policy.kind }, (s) => evaluateAlarm(s, [sample], policy, { now: detectedAt }));
    const open = outcome.state.alarm;
    if (open === undefined) await store.setNoDataAlarm(info.pump, undefined, id);
    else if (open.id !== id) await store.setNoDataAlarm(info.pump, open.id);
    if (outcome.state.outbox.length > 0) await store.deliver(outcome.state, notifier);
    return outcome.transitions.some((t) => t.type === 'raised');
  };

  return async () => {
    const now = clock();
    const nowIso = now.toISOString();
    const metrics = handlerMetrics(cfg.names.serviceName, deps.metricsSink);
    const open = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    let pumps = 0;
    let noDataRaised = 0;
    let unshelved = 0;
    let delivered = 0;
    let errors = 0;
    const buckets = Array.from({ length: store.buckets }, (_, b) => b);
    await runPool(buckets, Math.min(4, buckets.length), async (bucket) => {
      const candidates: PumpInfo[] = [];
      for await (const info of store.listPumps(bucket)) {
        pumps++;
        candidates.push(info);
      }
      for (const info of candidates) {
        try {
          if (await checkPump(info, now)) noDataRaised++;
        } catch (e) {
          errors++;
          log(JSON.stringify({ level: 'ERROR', message: 'no-data check failed', pump: info.pump, error: describeError(e) }));
        }
      }
      const states: AlarmState[] = [];
      for await (const s of store.listOpenStates(bucket)) states.push(s);
      for (const s of states) {
        try {
          let state = s;
          if (s.alarm?.shelvedUntil !== undefined && s.alarm.shelvedUntil <= nowIso) {
            const ref = { pump: s.pump, rule: s.rule, kind: s.kind };
            const outcome = await store.update(ref, (cur) => expireShelf(cur, nowIso, { notify: true }), { state: s });
            if (outcome.transitions.length > 0) unshelved++;
            state = outcome.state;
          }
          if (state.outbox.length > 0) delivered += (await store.deliver(state, notifier)).done;
          if (state.alarm !== undefined) open[state.alarm.severity]++;
        } catch (e) {
          errors++;
          log(JSON.stringify({ level: 'ERROR', message: 'alarm sweep failed', pump: s.pump, rule: s.rule, error: describeError(e) }));
        }
      }
    });
    for (const s of SEVERITIES) count(metrics, OPEN_ALARM_METRICS[s], open[s]);
    if (noDataRaised + unshelved > 0) count(metrics, METRIC_NAMES.alarmTransitions, noDataRaised + unshelved);
    metrics.publishStoredMetrics();
    return { pumps, noDataRaised, unshelved, delivered, open, errors };
  };
}

let lazy: AlarmCheckHandler | undefined;

/**
 * The Lambda entry point (EventBridge schedule).
 *
 * @example
 * // CDK: new NodejsFunction(this, 'AlarmCheck', { entry: 'lambdas/alarms/handler.ts', handler: 'handler' })
 */
export const handler = (event?: unknown): Promise<AlarmCheckResult> => {
  lazy ??= createAlarmCheckHandler(loadConfig());
  return lazy(event);
};
