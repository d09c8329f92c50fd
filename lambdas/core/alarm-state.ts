/**
 * The alarm state machine of one (pump, rule), in ISA-18.2 terms, evaluated in event time.
 *
 * The state holds the evaluation bookkeeping (newest event time seen, the streak of offending readings before an
 * alarm becomes active, the streak of clearing readings while active) and the open alarm, if any: its condition
 * (ACTIVE or CLEARED), whether it is acknowledged, shelved until a time, and its figures and audit trail. Every
 * change it makes is listed as a {@link Transition} with a deterministic id (`<alarm id>/<n>`) in the state's outbox,
 * so whoever performs the side effects (archive, notification) after the state is durably written can do each
 * exactly once, by id, even when the evaluation runs twice.
 *
 * Pure: no I/O, no clock (operator actions take their time as an argument). The same samples applied to the same
 * state give a byte-identical state (deterministic ids, no random values), which is what makes replays harmless.
 *
 * Lifecycle (AWS IoT Events alarm model with ISA-18.2's shelving and out-of-service):
 * - NORMAL --offending for forReadings/forSeconds--> ACTIVE (transition `raised`);
 * - ACTIVE --acknowledged--> ACTIVE, acknowledged (`acknowledged`);
 * - ACTIVE --clearing for clearForReadings--> closed (`cleared`), or LATCHED when `latch` is set and it is not
 *   acknowledged (`latched`); LATCHED --acknowledged--> closed; LATCHED --offending--> ACTIVE again (same alarm);
 * - shelving suppresses the alarm's notifications until a time; unshelving (by hand or at expiry) notifies again
 *   when the condition is still active;
 * - a closed alarm keeps its history (archived); the next episode is a new alarm with a new id.
 */
import { WellwatchError } from './errors';
import type { AlarmKind, AlarmPolicy, ConditionSample, Severity } from './alarm-rules';

/** What happened to an alarm. */
export const TRANSITION_TYPES = ['raised', 'cleared', 'latched', 'acknowledged', 'shelved', 'unshelved'] as const;
/** One transition type. */
export type TransitionType = (typeof TRANSITION_TYPES)[number];

/** The states an alarm is listed in. */
export const ALARM_STATES = ['ACTIVE', 'LATCHED', 'CLEARED', 'SHELVED', 'OUT_OF_SERVICE'] as const;
/** One listed state. */
export type AlarmStateName = (typeof ALARM_STATES)[number];

/** One line of an alarm's audit trail. */
export interface AuditEntry {
  /** Event time for condition changes, wall-clock time for operator actions (ISO-8601 UTC). */
  readonly at: string;
  readonly action: string;
  readonly by?: string;
  readonly note?: string;
  readonly until?: string;
}

/** One alarm (episode): from the reading that made it active until it is closed. */
export interface AlarmEpisode {
  readonly id: string;
  readonly pump: string;
  readonly rule: string;
  readonly kind: AlarmKind;
  readonly severity: Severity;
  /** The condition: still offending, or back to normal. */
  readonly condition: 'ACTIVE' | 'CLEARED';
  readonly acknowledged: boolean;
  readonly latch: boolean;
  /** First offending reading of the streak that raised it. */
  readonly firstTime: string;
  /** The reading that made it active (no-data: when the silence was detected). */
  readonly raisedTime: string;
  /** Newest offending reading. */
  readonly lastTime: string;
  /** Offending readings counted. */
  readonly count: number;
  readonly worstValue: number;
  readonly lastValue: number;
  readonly clearedTime?: string;
  readonly shelvedUntil?: string;
  readonly closed: boolean;
  readonly detail?: string;
  readonly trail: readonly AuditEntry[];
}

/** A change of an alarm, to be archived and notified once. */
export interface Transition {
  /** `<alarm id>/<n>`: the n-th transition of that alarm. Deterministic, so a retried evaluation yields the same id. */
  readonly id: string;
  readonly type: TransitionType;
  readonly at: string;
  /** Send a notification for it (false when the rule does not notify, or the alarm is shelved / out of service). */
  readonly notify: boolean;
  /** The alarm right after the transition. */
  readonly alarm: AlarmEpisode;
}

/** The persisted state of one (pump, rule). */
export interface AlarmState {
  readonly pump: string;
  readonly rule: string;
  readonly kind: AlarmKind;
  /** Optimistic-concurrency version of the stored item; 0 = not stored yet. */
  readonly version: number;
  /** Newest event time evaluated; samples at or before it are stale and ignored. */
  readonly seen?: string;
  /** Offending readings in a row while no alarm is open, with the first one's time and the worst value. */
  readonly streak: number;
  readonly streakFirst?: string;
  readonly streakWorst?: number;
  /** Clearing readings in a row while the alarm is active. */
  readonly clearStreak: number;
  readonly alarm?: AlarmEpisode;
  /** Transitions of the current alarm so far (numbers the transition ids). */
  readonly transitions: number;
  /** Transitions whose side effects (archive, notification) are not confirmed done yet. */
  readonly outbox: readonly Transition[];
}

/** Context of an evaluation. */
export interface EvaluationContext {
  /** The pump is out of service: nothing is raised; open alarms still clear, silently. */
  readonly outOfService?: boolean;
  /** Wall-clock time (ISO) against which a shelf is checked. @default - the transition's own time */
  readonly now?: string;
}

/** Result of applying samples or an action to a state. */
export interface Evaluated {
  readonly state: AlarmState;
  /** Transitions made by this call (also appended to `state.outbox`). */
  readonly transitions: readonly Transition[];
  /** False when nothing about the state changed (no write needed). */
  readonly changed: boolean;
}

/** Longest audit trail kept per alarm (operator actions are few; the cap bounds the item size). */
export const MAX_TRAIL = 100;

/**
 * An empty state for a (pump, rule).
 *
 * @example
 * emptyAlarmState('COHUTTA', 'low-psi', 'threshold');
 */
export function emptyAlarmState(pump: string, rule: string, kind: AlarmKind): AlarmState {
  return { pump, rule, kind, version: 0, streak: 0, clearStreak: 0, transitions: 0, outbox: [] };
}

/**
 * The id of the alarm a (pump, rule) raised at `raisedTime`: readable, unique per episode, and the same on a replay.
 *
 * Pump ids and rule names never contain `.`, so the id splits back unambiguously (see {@link parseAlarmId}).
 *
 * @example
 * alarmId('COHUTTA', 'low-psi', '2014-03-10T01:01:00Z'); // → 'COHUTTA.low-psi.20140310T010100Z'
 */
export function alarmId(pump: string, rule: string, raisedTime: string): string {
  return `${pump}.${rule}.${raisedTime.replace(/[-:]/g, '')}`;
}

const ID_RE = /^([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,64})\.(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Splits an alarm id into pump, rule and raised time.
 *
 * @throws WellwatchError when the text is not an alarm id.
 * @example
 * parseAlarmId('COHUTTA.low-psi.20140310T010100Z'); // → { pump: 'COHUTTA', rule: 'low-psi', raisedTime: '2014-03-10T01:01:00Z' }
 */
export function parseAlarmId(id: string): { pump: string; rule: string; raisedTime: string } {
  const m = ID_RE.exec(id);
  if (!m) throw new WellwatchError(`no such alarm: ${JSON.stringify(id)} is not an alarm id (PUMP.RULE.YYYYMMDDTHHMMSSZ)`);
  return { pump: m[1]!, rule: m[2]!, raisedTime: `${m[3]}-${m[4]}-${m[5]}T${m[6]}:${m[7]}:${m[8]}Z` };
}

/**
 * The state an alarm is listed in at wall-clock time `now`.
 *
 * @example
 * listedState(alarm, { now: '2026-11-30T10:00:00Z', outOfService: false }); // → 'ACTIVE'
 */
export function listedState(alarm: AlarmEpisode, ctx: { now: string; outOfService?: boolean }): AlarmStateName {
  if (alarm.closed) return 'CLEARED';
  if (ctx.outOfService) return 'OUT_OF_SERVICE';
  if (alarm.shelvedUntil !== undefined && alarm.shelvedUntil > ctx.now) return 'SHELVED';
  return alarm.condition === 'ACTIVE' ? 'ACTIVE' : 'LATCHED';
}

function isWorse(policy: AlarmPolicy, value: number, than: number | undefined): boolean {
  if (than === undefined || Number.isNaN(than)) return true;
  return policy.worse === 'lower' ? value < than : value > than;
}

/** Drops fractional seconds (no-data samples carry wall-clock milliseconds; alarm times are whole seconds). */
function toSeconds(ts: string): string {
  return ts.replace(/\.\d+Z$/, 'Z');
}

function secondsBetween(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / 1000;
}

function trailOf(alarm: AlarmEpisode, entry: AuditEntry): AuditEntry[] {
  const trail = [...alarm.trail, entry];
  return trail.length > MAX_TRAIL ? trail.slice(trail.length - MAX_TRAIL) : trail;
}

/** A mutable working copy used while applying samples. */
type Draft = { -readonly [K in keyof AlarmState]: AlarmState[K] };

function transition(draft: Draft, type: TransitionType, at: string, alarm: AlarmEpisode, notify: boolean, made: Transition[]): void {
  const t: Transition = { id: `${alarm.id}/${draft.transitions + 1}`, type, at, notify, alarm };
  draft.transitions += 1;
  draft.outbox = [...draft.outbox, t];
  made.push(t);
}

function silenced(alarm: AlarmEpisode | undefined, at: string, ctx: EvaluationContext): boolean {
  return ctx.outOfService === true || (alarm?.shelvedUntil !== undefined && alarm.shelvedUntil > (ctx.now ?? at));
}

/**
 * Applies condition samples (any order; they are evaluated in event-time order) to a (pump, rule) state.
 *
 * A sample at or before the newest event time the state has seen is stale: it neither raises, clears nor counts.
 * Samples of another pump or rule are a programming error.
 *
 * @throws WellwatchError when a sample belongs to another (pump, rule).
 * @example
 * const { state, transitions } = evaluateAlarm(emptyAlarmState('P', 'low-psi', 'threshold'), samples, policy);
 */
export function evaluateAlarm(state: AlarmState, samples: readonly ConditionSample[], policy: AlarmPolicy, ctx: EvaluationContext = {}): Evaluated {
  const draft: Draft = { ...state };
  const made: Transition[] = [];
  let changed = false;
  const ordered = [...samples].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  for (const s of ordered) {
    if (s.pump !== state.pump || s.rule !== state.rule) {
      throw new WellwatchError(`alarm state ${state.pump}/${state.rule} got a sample of ${s.pump}/${s.rule}`);
    }
    if (draft.seen !== undefined && s.ts <= draft.seen) continue;
    const before = JSON.stringify([draft.streak, draft.streakFirst, draft.streakWorst, draft.clearStreak, draft.alarm]);
    draft.seen = s.ts;
    const open = draft.alarm;
    if (open === undefined) {
      if (!s.raise || ctx.outOfService) {
        draft.streak = 0;
        delete draft.streakFirst;
        delete draft.streakWorst;
      } else {
        draft.streak += 1;
        if (draft.streakFirst === undefined) draft.streakFirst = s.ts;
        if (isWorse(policy, s.value, draft.streakWorst)) draft.streakWorst = s.value;
        const longEnough = policy.forSeconds === 0 || secondsBetween(draft.streakFirst, s.ts) >= policy.forSeconds;
        if (draft.streak >= policy.forReadings && longEnough) {
          const raisedTime = toSeconds(s.ts);
          const alarm: AlarmEpisode = {
            id: alarmId(state.pump, state.rule, raisedTime),
            pump: state.pump,
            rule: state.rule,
            kind: policy.kind,
            severity: s.severity,
            condition: 'ACTIVE',
            acknowledged: false,
            latch: policy.latch,
            firstTime: toSeconds(s.firstTime ?? draft.streakFirst),
            raisedTime,
            lastTime: raisedTime,
            count: draft.streak,
            worstValue: draft.streakWorst ?? s.value,
            lastValue: s.value,
            closed: false,
            ...(s.detail !== undefined ? { detail: s.detail } : {}),
            trail: [{ at: raisedTime, action: 'raised', ...(s.detail !== undefined ? { note: s.detail } : {}) }],
          };
          draft.alarm = alarm;
          draft.transitions = 0;
          draft.streak = 0;
          draft.clearStreak = 0;
          delete draft.streakFirst;
          delete draft.streakWorst;
          transition(draft, 'raised', raisedTime, alarm, policy.notify && !silenced(alarm, raisedTime, ctx), made);
        }
      }
    } else if (open.condition === 'ACTIVE') {
      if (s.raise) {
        draft.clearStreak = 0;
        draft.alarm = {
          ...open,
          count: open.count + 1,
          lastTime: toSeconds(s.ts) > open.lastTime ? toSeconds(s.ts) : open.lastTime,
          lastValue: s.value,
          worstValue: isWorse(policy, s.value, open.worstValue) ? s.value : open.worstValue,
        };
      } else if (s.clear) {
        draft.clearStreak += 1;
        if (draft.clearStreak >= policy.clearForReadings) {
          draft.clearStreak = 0;
          const latched = open.latch && !open.acknowledged;
          const cleared: AlarmEpisode = {
            ...open,
            condition: 'CLEARED',
            clearedTime: toSeconds(s.ts),
            closed: !latched,
            trail: trailOf(open, { at: toSeconds(s.ts), action: latched ? 'latched' : 'cleared' }),
          };
          draft.alarm = latched ? cleared : undefined;
          transition(draft, latched ? 'latched' : 'cleared', toSeconds(s.ts), cleared, policy.notify && !silenced(open, s.ts, ctx), made);
        }
      } else {
        draft.clearStreak = 0;
      }
    } else if (s.raise && !ctx.outOfService) {
      // LATCHED and offending again: the same alarm becomes active again (ISA-18.2: RTN unacknowledged → unacknowledged).
      const { clearedTime: _cleared, ...rest } = open;
      const again: AlarmEpisode = {
        ...rest,
        condition: 'ACTIVE',
        count: open.count + 1,
        lastTime: toSeconds(s.ts),
        lastValue: s.value,
        worstValue: isWorse(policy, s.value, open.worstValue) ? s.value : open.worstValue,
        trail: trailOf(open, { at: toSeconds(s.ts), action: 'raised' }),
      };
      draft.alarm = again;
      draft.clearStreak = 0;
      transition(draft, 'raised', toSeconds(s.ts), again, policy.notify && !silenced(open, s.ts, ctx), made);
    }
    const after = JSON.stringify([draft.streak, draft.streakFirst, draft.streakWorst, draft.clearStreak, draft.alarm]);
    // Advancing `seen` alone is not worth a write: a replay of a quiet reading changes nothing either.
    if (before !== after) changed = true;
  }
  return { state: draft, transitions: made, changed };
}

/** An operator action on an alarm. */
export type AlarmAction =
  | { readonly type: 'acknowledge'; readonly at: string; readonly by: string; readonly note?: string }
  | { readonly type: 'shelve'; readonly at: string; readonly by: string; readonly until: string; readonly note?: string }
  | { readonly type: 'unshelve'; readonly at: string; readonly by: string; readonly note?: string }
  | { readonly type: 'note'; readonly at: string; readonly action: string; readonly by: string; readonly note?: string; readonly until?: string };

/**
 * Applies an operator action (acknowledge, shelve, unshelve, or an audit note such as out-of-service) to the open
 * alarm `id` of a state.
 *
 * Acknowledging an acknowledged alarm, or unshelving one that is not shelved, changes nothing (idempotent, so a
 * retried CLI call is harmless). Acknowledging a LATCHED alarm closes it. Unshelving an alarm whose condition is
 * still active notifies again.
 *
 * @throws WellwatchError when `id` is not the open alarm of this state (unknown or already closed), or when a
 *   shelve's `until` is not after `at`.
 * @example
 * applyAlarmAction(state, 'COHUTTA.low-psi.20140310T010100Z', { type: 'acknowledge', at: now, by: 'ana' }, policy);
 */
export function applyAlarmAction(state: AlarmState, id: string, action: AlarmAction, policy: Pick<AlarmPolicy, 'notify'>, ctx: EvaluationContext = {}): Evaluated {
  const open = state.alarm;
  if (open === undefined || open.id !== id) throw new WellwatchError(`no such open alarm: ${id}`);
  const draft: Draft = { ...state };
  const made: Transition[] = [];
  const entry = (name: string, extra: Partial<AuditEntry> = {}): AuditEntry => ({
    at: action.at,
    action: name,
    by: action.by,
    ...(action.note !== undefined ? { note: action.note } : {}),
    ...extra,
  });
  switch (action.type) {
    case 'acknowledge': {
      if (open.acknowledged) return { state, transitions: [], changed: false };
      const closes = open.condition === 'CLEARED';
      const acked: AlarmEpisode = { ...open, acknowledged: true, closed: closes, trail: trailOf(open, entry('acknowledged')) };
      draft.alarm = closes ? undefined : acked;
      transition(draft, 'acknowledged', action.at, acked, policy.notify && !silenced(open, action.at, ctx), made);
      break;
    }
    case 'shelve': {
      if (!(action.until > action.at)) throw new WellwatchError(`shelve until ${action.until} must be after now (${action.at})`);
      const shelved: AlarmEpisode = { ...open, shelvedUntil: action.until, trail: trailOf(open, entry('shelved', { until: action.until })) };
      draft.alarm = shelved;
      transition(draft, 'shelved', action.at, shelved, policy.notify && !ctx.outOfService, made);
      break;
    }
    case 'unshelve': {
      if (open.shelvedUntil === undefined) return { state, transitions: [], changed: false };
      const { shelvedUntil: _until, ...rest } = open;
      const unshelved: AlarmEpisode = { ...rest, trail: trailOf(open, entry('unshelved')) };
      draft.alarm = unshelved;
      transition(draft, 'unshelved', action.at, unshelved, policy.notify && !ctx.outOfService && open.condition === 'ACTIVE', made);
      break;
    }
    case 'note':
      draft.alarm = { ...open, trail: trailOf(open, entry(action.action, action.until !== undefined ? { until: action.until } : {})) };
      break;
  }
  return { state: draft, transitions: made, changed: true };
}

/**
 * Unshelves the open alarm when its shelf expired at `now` (the scheduled sweep calls this).
 *
 * @example
 * expireShelf(state, '2026-11-30T12:00:00Z', policy);
 */
export function expireShelf(state: AlarmState, now: string, policy: Pick<AlarmPolicy, 'notify'>, ctx: EvaluationContext = {}): Evaluated {
  const open = state.alarm;
  if (open?.shelvedUntil === undefined || open.shelvedUntil > now) return { state, transitions: [], changed: false };
  return applyAlarmAction(state, open.id, { type: 'unshelve', at: now, by: 'system', note: 'shelf expired' }, policy, ctx);
}

/**
 * Removes done transitions from a state's outbox.
 *
 * @example
 * withoutOutbox(state, ['COHUTTA.low-psi.20140310T010100Z/1']);
 */
export function withoutOutbox(state: AlarmState, doneIds: readonly string[]): AlarmState {
  const done = new Set(doneIds);
  return { ...state, outbox: state.outbox.filter((t) => !done.has(t.id)) };
}
