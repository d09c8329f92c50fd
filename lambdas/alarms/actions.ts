/**
 * What operators do with alarms — list, find, acknowledge, shelve, unshelve, take a pump out of service — as
 * functions over the alarm store, shared by the CLI (and the API routes that build on it).
 *
 * Every change goes through the same versioned read-modify-write as the consumer's evaluation, so an operator
 * acknowledging while a batch clears the alarm ends in one consistent state; its transition is archived and
 * notified from the outbox like any other (here right away when a notifier is given, else by the scheduled sweep).
 */
import { inForce, type OutOfService, type PumpInfo } from '../core/alarm-keys';
import { SEVERITIES, type AlarmKind, type Severity } from '../core/alarm-rules';
import { applyAlarmAction, listedState, parseAlarmId, type AlarmAction, type AlarmEpisode, type AlarmStateName, type Transition } from '../core/alarm-state';
import { WellwatchError } from '../core/errors';
import { csvField } from '../core/format';
import type { AlarmStore } from '../store/alarm-store';
import type { Notifier } from '../store/notifier';

/** Columns of `wellwatch alarms --format csv`, exactly as the issue specifies. */
export const ALARM_CSV_COLUMNS = [
  'id',
  'pump',
  'rule',
  'kind',
  'severity',
  'state',
  'acknowledged',
  'shelved_until',
  'first_time',
  'raised_time',
  'last_time',
  'count',
  'worst_value',
  'cleared_time',
] as const;

/** The alarm an id names does not exist (neither open, archived, nor pending archiving). */
export class NoSuchAlarmError extends WellwatchError {
  constructor(readonly id: string) {
    super(`no such alarm: ${id}`);
    this.name = 'NoSuchAlarmError';
  }
}

/** An operator action on an alarm that is already closed (cleared and acknowledged): nothing to act on. */
export class AlarmClosedError extends WellwatchError {
  constructor(message: string) {
    super(message);
    this.name = 'AlarmClosedError';
  }
}

/** A listing would read more than its read budget of alarm items. */
export class AlarmReadBudgetError extends WellwatchError {
  constructor(readonly maxItems: number) {
    super(`listing would read more than ${maxItems} alarm items; narrow it (open, pump, from, to)`);
    this.name = 'AlarmReadBudgetError';
  }
}

/** One listed alarm: the episode with its listed state. */
export interface AlarmRow {
  readonly alarm: AlarmEpisode;
  readonly state: AlarmStateName;
}

/** One alarm as a CSV row (columns {@link ALARM_CSV_COLUMNS}; the CLI's and the API's CSV). */
export function alarmCsvRow(row: AlarmRow): string {
  const a = row.alarm;
  return [
    a.id,
    a.pump,
    a.rule,
    a.kind,
    a.severity,
    row.state,
    String(a.acknowledged),
    a.shelvedUntil ?? '',
    a.firstTime,
    a.raisedTime,
    a.lastTime,
    String(a.count),
    String(a.worstValue),
    a.clearedTime ?? '',
  ]
    .map(csvField)
    .join(',');
}

/** One alarm as a JSON object whose keys are the CSV columns (the CLI's and the API's JSON). */
export function alarmJson(row: AlarmRow): Record<string, unknown> {
  const a = row.alarm;
  return {
    id: a.id,
    pump: a.pump,
    rule: a.rule,
    kind: a.kind,
    severity: a.severity,
    state: row.state,
    acknowledged: a.acknowledged,
    shelved_until: a.shelvedUntil ?? null,
    first_time: a.firstTime,
    raised_time: a.raisedTime,
    last_time: a.lastTime,
    count: a.count,
    worst_value: a.worstValue,
    cleared_time: a.clearedTime ?? null,
    detail: a.detail ?? null,
  };
}

/** Filters of {@link listAlarms}. */
export interface AlarmFilter {
  readonly open?: boolean;
  readonly pump?: string;
  readonly rule?: string;
  readonly severity?: Severity;
  /** Where the condition came from (`threshold`, `no-data`, `early-warning`). */
  readonly kind?: AlarmKind;
  /** Inclusive bounds on the raised time (ISO-8601 UTC prefixes: `2014-03-10` or `2014-03-10T05:00:00Z`). */
  readonly from?: string;
  readonly to?: string;
}

function withinRange(a: AlarmEpisode, f: AlarmFilter): boolean {
  if (f.from !== undefined && a.raisedTime < f.from) return false;
  if (f.to !== undefined && a.raisedTime.slice(0, f.to.length) > f.to) return false;
  return true;
}

/**
 * Alarms matching a filter, ordered by raised time then id: open ones from the state items, closed ones from the
 * archive. With `pump` one partition is read; without, every bucket is queried (fan-out, never a Scan).
 *
 * @example
 * for (const row of await listAlarms(store, { open: true }, new Date())) console.log(row.alarm.id, row.state);
 */
export async function listAlarms(store: AlarmStore, filter: AlarmFilter, now: Date, options: { maxItems?: number } = {}): Promise<AlarmRow[]> {
  const found: AlarmEpisode[] = [];
  // Items read, matching or not: the API bounds a request's reads (the CLI reads everything it is asked for).
  let read = 0;
  const count = () => {
    if (options.maxItems !== undefined && ++read > options.maxItems) throw new AlarmReadBudgetError(options.maxItems);
  };
  const keep = (a: AlarmEpisode): boolean => {
    count();
    return matches(a);
  };
  const matches = (a: AlarmEpisode) =>
    (filter.pump === undefined || a.pump === filter.pump) &&
    (filter.rule === undefined || a.rule === filter.rule) &&
    (filter.kind === undefined || a.kind === filter.kind) &&
    (filter.severity === undefined || a.severity === filter.severity) &&
    withinRange(a, filter);
  if (filter.pump !== undefined) {
    for await (const s of store.listPumpStates(filter.pump)) if (s.alarm && keep(s.alarm)) found.push(s.alarm);
    if (!filter.open) for await (const a of store.listPumpArchive(filter.pump)) if (keep(a)) found.push(a);
  } else {
    for (let b = 0; b < store.buckets; b++) {
      for await (const s of store.listOpenStates(b)) if (s.alarm && keep(s.alarm)) found.push(s.alarm);
      if (!filter.open) {
        for await (const a of store.listArchive(b, { from: filter.from, to: filter.to })) if (keep(a)) found.push(a);
      }
    }
  }
  const pumps = found.length > 0 ? await store.getPumps(found.map((a) => a.pump)) : new Map<string, PumpInfo>();
  const nowIso = now.toISOString();
  return found
    .map((alarm) => ({ alarm, state: listedState(alarm, { now: nowIso, outOfService: inForce(pumps.get(alarm.pump)?.outOfService, nowIso) }) }))
    .sort((x, y) => (x.alarm.raisedTime < y.alarm.raisedTime ? -1 : x.alarm.raisedTime > y.alarm.raisedTime ? 1 : x.alarm.id < y.alarm.id ? -1 : 1));
}

/**
 * The alarm with this id, open or archived.
 *
 * @throws NoSuchAlarmError when there is none (a malformed id is a plain WellwatchError from parseAlarmId).
 * @example
 * const row = await findAlarm(store, 'COHUTTA.low-psi.20140310T010100Z', new Date());
 */
export async function findAlarm(store: AlarmStore, id: string, now: Date): Promise<AlarmRow> {
  const { pump, rule, raisedTime } = parseAlarmId(id);
  const state = await store.getState({ pump, rule, kind: 'threshold' });
  const nowIso = now.toISOString();
  if (state.alarm?.id === id) {
    const info = await store.getPump(pump);
    return { alarm: state.alarm, state: listedState(state.alarm, { now: nowIso, outOfService: inForce(info?.outOfService, nowIso) }) };
  }
  const archived = await store.getArchived(pump, rule, raisedTime);
  if (archived?.id === id) return { alarm: archived, state: 'CLEARED' };
  // Closed but not archived yet (its side effects are still in the outbox).
  const pending = state.outbox.find((t) => t.alarm.id === id);
  if (pending) return { alarm: pending.alarm, state: 'CLEARED' };
  throw new NoSuchAlarmError(id);
}

/** What an operator action did. */
export interface ActionResult {
  readonly alarm: AlarmEpisode;
  readonly transitions: readonly Transition[];
  /** Notifications published right away (0 when left to the scheduled sweep). */
  readonly published: number;
}

/**
 * Applies an operator action to an open alarm and delivers its transition.
 *
 * @throws NoSuchAlarmError when the alarm does not exist; AlarmClosedError when it is closed (also when it closes
 *   between the read and the conditional write).
 * @example
 * await actOnAlarm(store, notifier, id, { type: 'acknowledge', at: new Date().toISOString(), by: 'ana' });
 */
export async function actOnAlarm(store: AlarmStore, notifier: Notifier | undefined, id: string, action: AlarmAction): Promise<ActionResult> {
  const { pump, rule } = parseAlarmId(id);
  const found = await findAlarm(store, id, new Date(action.at));
  if (found.alarm.closed) throw new AlarmClosedError(`alarm ${id} is closed (cleared${found.alarm.acknowledged ? ' and acknowledged' : ''}); nothing to ${action.type}`);
  const info = await store.getPump(pump);
  const outOfService = inForce(info?.outOfService, action.at);
  const outcome = await store.update({ pump, rule, kind: found.alarm.kind }, (s) => {
    if (s.alarm?.id !== id) throw new AlarmClosedError(`alarm ${id} closed meanwhile; nothing to ${action.type}`);
    return applyAlarmAction(s, id, action, { notify: true }, { outOfService, now: action.at });
  });
  const published = notifier && outcome.state.outbox.length > 0 ? (await store.deliver(outcome.state, notifier)).published : 0;
  const alarm = outcome.state.alarm ?? outcome.transitions[outcome.transitions.length - 1]?.alarm ?? found.alarm;
  return { alarm, transitions: outcome.transitions, published };
}

/**
 * Takes a pump out of service (`oos` given) or back into service (`undefined`): marks its item, and notes it in the
 * audit trail of each of its open alarms.
 *
 * @example
 * await setPumpService(store, 'COHUTTA', { by: 'ana', at: new Date().toISOString(), until: '2026-12-01T00:00:00Z' });
 */
export async function setPumpService(store: AlarmStore, pump: string, oos: OutOfService | undefined, by: string, at: string): Promise<{ info: PumpInfo; noted: number }> {
  const info = await store.setOutOfService(pump, oos);
  let noted = 0;
  const states = [];
  for await (const s of store.listPumpStates(pump)) if (s.alarm) states.push(s);
  for (const s of states) {
    const action: AlarmAction = {
      type: 'note',
      at,
      by,
      action: oos ? 'out-of-service' : 'in-service',
      ...(oos?.note !== undefined ? { note: oos.note } : {}),
      ...(oos?.until !== undefined ? { until: oos.until } : {}),
    };
    const id = s.alarm!.id;
    await store.update({ pump, rule: s.rule, kind: s.kind }, (cur) => (cur.alarm?.id === id ? applyAlarmAction(cur, id, action, { notify: false }) : { state: cur, transitions: [], changed: false }), { state: s });
    noted++;
  }
  return { info, noted };
}

/** Severity names, for validating CLI and API input. */
export const ALARM_SEVERITIES: readonly string[] = SEVERITIES;
