import { alarmFieldsOf, alarmRuleOf, noDataPolicy, thresholdSamples, type AlarmRule } from '../../../lambdas/core/alarm-rules';
import {
  alarmId,
  applyAlarmAction,
  emptyAlarmState,
  evaluateAlarm,
  expireShelf,
  listedState,
  parseAlarmId,
  type AlarmState,
} from '../../../lambdas/core/alarm-state';
import type { AlertRule, Reading } from '../../../lambdas/core/types';

const LOW_PSI: AlertRule = { name: 'low-psi', field: 'psi', op: '<', threshold: 5 };

/** A reading of pump P at minute `m` of 2014-03-10 with the given psi. */
function reading(m: number, psi: number, pump = 'P'): Reading {
  const hh = String(Math.floor(m / 60)).padStart(2, '0');
  const mm = String(m % 60).padStart(2, '0');
  return { pump, day: '2014-03-10', time: `${hh}:${mm}:00`, ts: `2014-03-10T${hh}:${mm}:00Z`, values: { hz: 10, disp: 1, flo: 800, sedPPM: 1, psi, chlPPM: 1 } };
}

function run(rule: AlarmRule, psis: number[], state: AlarmState = emptyAlarmState('P', rule.name, 'threshold')) {
  const samples = psis.flatMap((psi, m) => thresholdSamples([rule], reading(m, psi)));
  return evaluateAlarm(state, samples, rule.policy);
}

describe('alarm rules', () => {
  it('defaults to major, one reading, no hysteresis, no latch, notify', () => {
    expect(alarmRuleOf(LOW_PSI).policy).toMatchObject({ severity: 'major', forReadings: 1, forSeconds: 0, clearForReadings: 1, latch: false, notify: true });
    expect(alarmRuleOf(LOW_PSI).clearLevel).toBe(5);
  });

  it("rejects a clearThreshold on the offending side with the rule's name and value", () => {
    expect(() => alarmFieldsOf({ ...LOW_PSI, clearThreshold: 2 }, 'alert rule low-psi')).toThrow('alert rule low-psi: clearThreshold must be ≥ threshold 5 for op <');
    expect(() => alarmFieldsOf({ ...LOW_PSI, severity: 'huge' }, 'alert rule low-psi')).toThrow('severity must be one of critical|major|minor|advisory, got "huge"');
    expect(() => alarmFieldsOf({ ...LOW_PSI, forReadings: 0 }, 'r')).toThrow('forReadings must be an integer 1–10000, got 0');
  });
});

describe('alarm state machine', () => {
  it('raises one alarm for hours of psi 0 and clears it once on recovery', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state, transitions } = run(rule, [80, ...Array(300).fill(0), 80, 80]);
    expect(transitions.map((t) => t.type)).toEqual(['raised', 'cleared']);
    const cleared = transitions[1]!.alarm;
    expect(cleared).toMatchObject({ id: 'P.low-psi.20140310T000100Z', count: 300, worstValue: 0, firstTime: '2014-03-10T00:01:00Z', lastTime: '2014-03-10T05:00:00Z', clearedTime: '2014-03-10T05:01:00Z', closed: true });
    expect(state.alarm).toBeUndefined();
  });

  it('with hysteresis, a value flapping around the threshold makes one alarm, not many', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, clearThreshold: 20 });
    const { transitions } = run(rule, [80, 4, 6, 4, 7, 3, 6, 4, 25]);
    expect(transitions.map((t) => t.type)).toEqual(['raised', 'cleared']);
    const plain = run(alarmRuleOf(LOW_PSI), [80, 4, 6, 4, 7, 3, 6, 4, 25]);
    expect(plain.transitions.filter((t) => t.type === 'raised')).toHaveLength(4);
  });

  it('with forReadings 3, isolated blips raise nothing and a third reading in a row raises', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, forReadings: 3 });
    expect(run(rule, [80, 0, 80, 0, 0, 80, 0, 80]).transitions).toEqual([]);
    const raised = run(rule, [80, 0, 1, 2, 80]).transitions[0]!.alarm;
    expect(raised).toMatchObject({ firstTime: '2014-03-10T00:01:00Z', raisedTime: '2014-03-10T00:03:00Z', count: 3, worstValue: 0 });
  });

  it('with forSeconds, the condition must hold that long in event time', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, forSeconds: 180 });
    expect(run(rule, [0, 0, 0, 80]).transitions).toEqual([]);
    expect(run(rule, [0, 0, 0, 0]).transitions[0]!.alarm.raisedTime).toBe('2014-03-10T00:03:00Z');
  });

  it('ignores readings at or before the newest one seen: no raise, no clear, no double count', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const first = run(rule, [0, 0, 0]);
    const again = evaluateAlarm(first.state, [0, 1, 2].flatMap((m) => thresholdSamples([rule], reading(m, m === 1 ? 80 : 0))), rule.policy);
    expect(again.changed).toBe(false);
    expect(again.transitions).toEqual([]);
    expect(again.state.alarm!.count).toBe(3);
  });

  it('gives the same state for shuffled samples and for a replay (byte-identical)', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, clearThreshold: 20, forReadings: 2 });
    const psis = [80, 0, 0, 3, 10, 30, 0, 0, 0, 50];
    const samples = psis.flatMap((psi, m) => thresholdSamples([rule], reading(m, psi)));
    const inOrder = evaluateAlarm(emptyAlarmState('P', 'low-psi', 'threshold'), samples, rule.policy);
    const shuffled = evaluateAlarm(emptyAlarmState('P', 'low-psi', 'threshold'), [...samples].reverse(), rule.policy);
    expect(JSON.stringify(shuffled.state)).toBe(JSON.stringify(inOrder.state));
    expect(JSON.stringify(evaluateAlarm(inOrder.state, samples, rule.policy).state)).toBe(JSON.stringify(inOrder.state));
  });

  it('keeps a latched alarm until acknowledged, then closes it; acknowledging twice changes nothing', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, latch: true });
    const { state } = run(rule, [0, 80]);
    expect(state.alarm?.condition).toBe('CLEARED');
    expect(listedState(state.alarm!, { now: '2026-01-01T00:00:00Z' })).toBe('LATCHED');
    const id = state.alarm!.id;
    const acked = applyAlarmAction(state, id, { type: 'acknowledge', at: '2026-01-01T00:00:00Z', by: 'ana', note: 'checked' }, rule.policy);
    expect(acked.transitions.map((t) => [t.type, t.alarm.closed])).toEqual([['acknowledged', true]]);
    expect(acked.state.alarm).toBeUndefined();
    expect(acked.transitions[0]!.alarm.trail.map((e) => e.action)).toEqual(['raised', 'latched', 'acknowledged']);
    expect(() => applyAlarmAction(acked.state, id, { type: 'acknowledge', at: '2026-01-01T00:00:01Z', by: 'ana' }, rule.policy)).toThrow(`no such open alarm: ${id}`);
  });

  it('suppresses notifications while shelved and notifies again when the shelf expires with the condition active', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state } = run(rule, [0, 0]);
    const id = state.alarm!.id;
    const shelved = applyAlarmAction(state, id, { type: 'shelve', at: '2026-01-01T00:00:00Z', by: 'ana', until: '2026-01-01T08:00:00Z' }, rule.policy);
    expect(listedState(shelved.state.alarm!, { now: '2026-01-01T01:00:00Z' })).toBe('SHELVED');
    expect(expireShelf(shelved.state, '2026-01-01T07:59:59Z', rule.policy).changed).toBe(false);
    const expired = expireShelf(shelved.state, '2026-01-01T08:00:00Z', rule.policy);
    expect(expired.transitions.map((t) => [t.type, t.notify])).toEqual([['unshelved', true]]);
    expect(listedState(expired.state.alarm!, { now: '2026-01-01T08:00:00Z' })).toBe('ACTIVE');
  });

  it('raises nothing for a pump out of service', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const samples = [0, 0, 0].flatMap((psi, m) => thresholdSamples([rule], reading(m, psi)));
    expect(evaluateAlarm(emptyAlarmState('P', 'low-psi', 'threshold'), samples, rule.policy, { outOfService: true }).transitions).toEqual([]);
  });

  it('no-data: raised with the last reading as first time, never cleared by more silence', () => {
    const policy = noDataPolicy();
    const raise = { pump: 'P', rule: 'no-data', kind: 'no-data' as const, severity: 'major' as const, value: 40, raise: true, clear: false, firstTime: '2026-01-01T00:00:00Z' };
    const first = evaluateAlarm(emptyAlarmState('P', 'no-data', 'no-data'), [{ ...raise, ts: '2026-01-01T00:40:00.123Z' }], policy);
    expect(first.transitions[0]!.alarm).toMatchObject({ id: 'P.no-data.20260101T004000Z', firstTime: '2026-01-01T00:00:00Z', raisedTime: '2026-01-01T00:40:00Z' });
    const again = evaluateAlarm(first.state, [{ ...raise, ts: '2026-01-01T00:45:00.000Z', value: 45 }], policy);
    expect(again.transitions).toEqual([]);
    const cleared = evaluateAlarm(again.state, [{ ...raise, raise: false, clear: true, ts: '2026-01-01T00:50:00.000Z' }], policy);
    expect(cleared.transitions.map((t) => t.type)).toEqual(['cleared']);
  });

  it('round-trips alarm ids', () => {
    const id = alarmId('COHUTTA', 'low-psi', '2014-03-10T01:01:00Z');
    expect(parseAlarmId(id)).toEqual({ pump: 'COHUTTA', rule: 'low-psi', raisedTime: '2014-03-10T01:01:00Z' });
    expect(() => parseAlarmId('nope')).toThrow('no such alarm: "nope" is not an alarm id');
  });
});
