import { alarmFieldsOf, alarmRuleOf, noDataPolicy, thresholdSamples, type AlarmRule } from '../../../lambdas/core/alarm-rules';
import {
  alarmId,
  applyAlarmAction,
  emptyAlarmState,
  evaluateAlarm,
  expireShelf,
  listedState,
  withoutOutbox,
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

describe('alarm state machine: lifecycle details', () => {
  const NOW = '2026-01-01T00:00:00Z';

  it('lists a closed alarm as CLEARED, an out-of-service one as OUT_OF_SERVICE, and a shelf ending now as not shelved', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const alarm = run(rule, [0]).state.alarm!;
    expect(listedState({ ...alarm, closed: true }, { now: NOW })).toBe('CLEARED');
    expect(listedState(alarm, { now: NOW, outOfService: true })).toBe('OUT_OF_SERVICE');
    expect(listedState({ ...alarm, shelvedUntil: NOW }, { now: NOW })).toBe('ACTIVE');
    expect(listedState({ ...alarm, shelvedUntil: '2026-01-01T00:00:01Z' }, { now: NOW })).toBe('SHELVED');
  });

  it('keeps the highest value as worst for a > rule and the lowest for a < rule', () => {
    const high = alarmRuleOf({ name: 'hi-psi', field: 'psi', op: '>', threshold: 100 });
    const samples = [150, 200, 120].flatMap((psi, m) => thresholdSamples([high], reading(m, psi)));
    const r = evaluateAlarm(emptyAlarmState('P', 'hi-psi', 'threshold'), samples, high.policy);
    expect(r.state.alarm).toMatchObject({ worstValue: 200, lastValue: 120, count: 3 });
    const pre = alarmRuleOf({ name: 'hi-psi', field: 'psi', op: '>', threshold: 100, forReadings: 3 } as AlertRule);
    const s2 = [150, 200, 120].flatMap((psi, m) => thresholdSamples([pre], reading(m, psi)));
    expect(evaluateAlarm(emptyAlarmState('P', 'hi-psi', 'threshold'), s2, pre.policy).state.alarm!.worstValue).toBe(200);
    expect(run(alarmRuleOf(LOW_PSI), [3, 1, 2]).state.alarm!.worstValue).toBe(1);
    expect(run(alarmRuleOf({ ...LOW_PSI, forReadings: 3 } as AlertRule), [3, 1, 2]).state.alarm!.worstValue).toBe(1);
  });

  it('numbers transitions per alarm and queues each in the outbox until sent', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state, transitions } = run(rule, [0, 80, 0]);
    expect(transitions.map((t) => t.id)).toEqual(['P.low-psi.20140310T000000Z/1', 'P.low-psi.20140310T000000Z/2', 'P.low-psi.20140310T000200Z/1']);
    expect(state.outbox.map((t) => t.id)).toEqual(transitions.map((t) => t.id));
    expect(state.transitions).toBe(1);
    expect(withoutOutbox(state, ['P.low-psi.20140310T000000Z/2']).outbox.map((t) => t.id)).toEqual(['P.low-psi.20140310T000000Z/1', 'P.low-psi.20140310T000200Z/1']);
  });

  it('processes samples in event-time order: a clear given before the raise still clears after it', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const samples = [0, 80].flatMap((psi, m) => thresholdSamples([rule], reading(m, psi)));
    const r = evaluateAlarm(emptyAlarmState('P', 'low-psi', 'threshold'), [samples[1]!, samples[0]!], rule.policy);
    expect(r.transitions.map((t) => t.type)).toEqual(['raised', 'cleared']);
    const three = [0, 0, 80].flatMap((psi, m) => thresholdSamples([rule], reading(m, psi)));
    const r3 = evaluateAlarm(emptyAlarmState('P', 'low-psi', 'threshold'), [three[1]!, three[2]!, three[0]!], rule.policy);
    expect(r3.transitions.map((t) => t.type)).toEqual(['raised', 'cleared']);
    expect(r3.transitions[1]!.alarm.count).toBe(2);
  });

  it("rejects a sample of another pump or another rule", () => {
    const rule = alarmRuleOf(LOW_PSI);
    const other = thresholdSamples([rule], reading(0, 0, 'Q'));
    expect(() => evaluateAlarm(emptyAlarmState('P', 'low-psi', 'threshold'), other, rule.policy)).toThrow('alarm state P/low-psi got a sample of Q/low-psi');
    const s = thresholdSamples([rule], reading(0, 0));
    expect(() => evaluateAlarm(emptyAlarmState('P', 'hi-psi', 'threshold'), s, rule.policy)).toThrow('alarm state P/hi-psi got a sample of P/low-psi');
  });

  it('reports changed only when the streak or alarm changed', () => {
    const rule = alarmRuleOf(LOW_PSI);
    expect(run(rule, [80, 80]).changed).toBe(false);
    expect(run(rule, [0]).changed).toBe(true);
    const two = alarmRuleOf({ ...LOW_PSI, forReadings: 2 } as AlertRule);
    expect(run(two, [0]).changed).toBe(true);
  });

  it('records the detail on the alarm and in its raised trail entry, and omits both without one', () => {
    const a = run(alarmRuleOf(LOW_PSI), [0]).state.alarm!;
    expect(a.detail).toBe('psi 0 < 5');
    expect(a.trail).toEqual([{ at: '2014-03-10T00:00:00Z', action: 'raised', note: 'psi 0 < 5' }]);
    const policy = noDataPolicy();
    const b = evaluateAlarm(emptyAlarmState('P', 'no-data', 'no-data'), [{ pump: 'P', rule: 'no-data', kind: 'no-data', severity: 'major', ts: NOW, value: 1, raise: true, clear: false }], policy).state.alarm!;
    expect('detail' in b).toBe(false);
    expect(b.trail).toStrictEqual([{ at: NOW, action: 'raised' }]);
  });

  it('a rule with notify false makes transitions that do not notify', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, notify: false } as AlertRule);
    const r = run(rule, [0, 80]);
    expect(r.transitions.map((t) => [t.type, t.notify])).toEqual([['raised', false], ['cleared', false]]);
    const on = run(alarmRuleOf(LOW_PSI), [0, 80]);
    expect(on.transitions.map((t) => [t.type, t.notify])).toEqual([['raised', true], ['cleared', true]]);
  });

  it('a shelved alarm that clears closes without notifying; after the shelf it notifies', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state } = run(rule, [0]);
    const shelved = applyAlarmAction(state, state.alarm!.id, { type: 'shelve', at: '2014-03-10T00:00:30Z', by: 'ana', until: '2014-03-10T00:05:00Z' }, rule.policy).state;
    const clear = thresholdSamples([rule], reading(1, 80));
    expect(evaluateAlarm(shelved, clear, rule.policy).transitions.map((t) => [t.type, t.notify])).toEqual([['cleared', false]]);
    expect(evaluateAlarm(shelved, clear, rule.policy, { now: '2014-03-10T00:06:00Z' }).transitions.map((t) => [t.type, t.notify])).toEqual([['cleared', true]]);
    const late = thresholdSamples([rule], reading(6, 80));
    expect(evaluateAlarm(shelved, late, rule.policy).transitions.map((t) => [t.type, t.notify])).toEqual([['cleared', true]]);
  });

  it('with clearForReadings 2, one recovered reading or a reading in the band does not clear', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, clearThreshold: 20, clearForReadings: 2 } as AlertRule);
    expect(run(rule, [0, 30]).transitions.map((t) => t.type)).toEqual(['raised']);
    expect(run(rule, [0, 30, 10, 30]).transitions.map((t) => t.type)).toEqual(['raised']);
    expect(run(rule, [0, 30, 30]).transitions.map((t) => t.type)).toEqual(['raised', 'cleared']);
  });

  it('a latched alarm offending again becomes active again, counted, notifying, in its trail', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, latch: true } as AlertRule);
    const r = run(rule, [0, 80, 2]);
    expect(r.transitions.map((t) => [t.type, t.notify])).toEqual([['raised', true], ['latched', true], ['raised', true]]);
    expect(r.state.alarm).toMatchObject({ condition: 'ACTIVE', count: 2, lastValue: 2, worstValue: 0, lastTime: '2014-03-10T00:02:00Z' });
    expect(r.state.alarm!.clearedTime).toBeUndefined();
    expect(r.state.alarm!.trail.map((e) => e.action)).toEqual(['raised', 'latched', 'raised']);
    const latched = run(rule, [0, 80]).state;
    expect(evaluateAlarm(latched, thresholdSamples([rule], reading(2, 0)), rule.policy, { outOfService: true }).transitions).toEqual([]);
    expect(evaluateAlarm(latched, thresholdSamples([rule], reading(2, 80)), rule.policy).transitions).toEqual([]);
    const quiet = alarmRuleOf({ ...LOW_PSI, latch: true, notify: false } as AlertRule);
    expect(run(quiet, [0, 80, 2]).transitions.map((t) => t.notify)).toEqual([false, false, false]);
  });

  it('acknowledging an active alarm keeps it open and notifies; a second acknowledge changes nothing', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state } = run(rule, [0]);
    const id = state.alarm!.id;
    const acked = applyAlarmAction(state, id, { type: 'acknowledge', at: NOW, by: 'ana' }, rule.policy);
    expect(acked.changed).toBe(true);
    expect(acked.transitions.map((t) => [t.type, t.notify, t.alarm.closed])).toEqual([['acknowledged', true, false]]);
    expect(acked.state.alarm).toMatchObject({ acknowledged: true, closed: false, condition: 'ACTIVE' });
    expect(acked.state.alarm!.trail[1]).toStrictEqual({ at: NOW, action: 'acknowledged', by: 'ana' });
    const twice = applyAlarmAction(acked.state, id, { type: 'acknowledge', at: NOW, by: 'bo' }, rule.policy);
    expect(twice).toEqual({ state: acked.state, transitions: [], changed: false });
    expect(applyAlarmAction(state, id, { type: 'acknowledge', at: NOW, by: 'ana' }, { notify: false }).transitions[0]!.notify).toBe(false);
    expect(applyAlarmAction(state, id, { type: 'acknowledge', at: NOW, by: 'ana' }, rule.policy, { outOfService: true }).transitions[0]!.notify).toBe(false);
    expect(() => applyAlarmAction(state, 'P.low-psi.20140310T000100Z', { type: 'acknowledge', at: NOW, by: 'ana' }, rule.policy)).toThrow('no such open alarm: P.low-psi.20140310T000100Z');
  });

  it('an acknowledged active alarm that clears closes and notifies once', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, latch: true } as AlertRule);
    const { state } = run(rule, [0]);
    const acked = applyAlarmAction(state, state.alarm!.id, { type: 'acknowledge', at: NOW, by: 'ana' }, rule.policy).state;
    const r = evaluateAlarm(acked, thresholdSamples([rule], reading(1, 80)), rule.policy);
    expect(r.transitions.map((t) => [t.type, t.notify, t.alarm.closed])).toEqual([['cleared', true, true]]);
    expect(r.state.alarm).toBeUndefined();
  });

  it('shelving: until must be after now, is kept in the trail, and notifies unless out of service', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state } = run(rule, [0]);
    const id = state.alarm!.id;
    expect(() => applyAlarmAction(state, id, { type: 'shelve', at: NOW, by: 'ana', until: NOW }, rule.policy)).toThrow(`shelve until ${NOW} must be after now (${NOW})`);
    const s = applyAlarmAction(state, id, { type: 'shelve', at: NOW, by: 'ana', until: '2026-01-01T08:00:00Z', note: 'pump swap' }, rule.policy);
    expect(s.state.alarm!.trail[1]).toStrictEqual({ at: NOW, action: 'shelved', by: 'ana', note: 'pump swap', until: '2026-01-01T08:00:00Z' });
    expect(s.transitions.map((t) => [t.type, t.notify])).toEqual([['shelved', true]]);
    expect(applyAlarmAction(state, id, { type: 'shelve', at: NOW, by: 'ana', until: '2026-01-01T08:00:00Z' }, rule.policy, { outOfService: true }).transitions[0]!.notify).toBe(false);
    expect(applyAlarmAction(state, id, { type: 'shelve', at: NOW, by: 'ana', until: '2026-01-01T08:00:00Z' }, { notify: false }).transitions[0]!.notify).toBe(false);
  });

  it('unshelving: a no-op when not shelved; notifies only for an active alarm in service', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, latch: true } as AlertRule);
    const active = run(rule, [0]).state;
    const id = active.alarm!.id;
    expect(applyAlarmAction(active, id, { type: 'unshelve', at: NOW, by: 'ana' }, rule.policy)).toEqual({ state: active, transitions: [], changed: false });
    const shelve = { type: 'shelve' as const, at: NOW, by: 'ana', until: '2026-01-01T08:00:00Z' };
    const shelvedActive = applyAlarmAction(active, id, shelve, rule.policy).state;
    const un = applyAlarmAction(shelvedActive, id, { type: 'unshelve', at: NOW, by: 'bo' }, rule.policy);
    expect(un.transitions.map((t) => [t.type, t.notify])).toEqual([['unshelved', true]]);
    expect(un.state.alarm!.shelvedUntil).toBeUndefined();
    expect(un.state.alarm!.trail.at(-1)).toStrictEqual({ at: NOW, action: 'unshelved', by: 'bo' });
    expect(applyAlarmAction(shelvedActive, id, { type: 'unshelve', at: NOW, by: 'bo' }, rule.policy, { outOfService: true }).transitions[0]!.notify).toBe(false);
    expect(applyAlarmAction(shelvedActive, id, { type: 'unshelve', at: NOW, by: 'bo' }, { notify: false }).transitions[0]!.notify).toBe(false);
    const latched = run(rule, [0, 80]).state;
    const shelvedLatched = applyAlarmAction(latched, latched.alarm!.id, shelve, rule.policy).state;
    expect(applyAlarmAction(shelvedLatched, latched.alarm!.id, { type: 'unshelve', at: NOW, by: 'bo' }, rule.policy).transitions[0]!.notify).toBe(false);
  });

  it('an expired shelf is lifted by the system with a note', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state } = run(rule, [0]);
    const shelved = applyAlarmAction(state, state.alarm!.id, { type: 'shelve', at: NOW, by: 'ana', until: '2026-01-01T08:00:00Z' }, rule.policy).state;
    const e = expireShelf(shelved, '2026-01-01T09:00:00Z', rule.policy);
    expect(e.state.alarm!.trail.at(-1)).toStrictEqual({ at: '2026-01-01T09:00:00Z', action: 'unshelved', by: 'system', note: 'shelf expired' });
  });

  it('a note adds a trail entry (with until when given), no transition; the trail keeps the newest 100 entries', () => {
    const rule = alarmRuleOf(LOW_PSI);
    let state = run(rule, [0]).state;
    const id = state.alarm!.id;
    const n = applyAlarmAction(state, id, { type: 'note', at: NOW, action: 'work-order', by: 'ana', note: 'WO-1', until: '2026-01-02T00:00:00Z' }, rule.policy);
    expect(n.transitions).toEqual([]);
    expect(n.changed).toBe(true);
    expect(n.state.alarm!.trail[1]).toStrictEqual({ at: NOW, action: 'work-order', by: 'ana', note: 'WO-1', until: '2026-01-02T00:00:00Z' });
    expect(applyAlarmAction(state, id, { type: 'note', at: NOW, action: 'x', by: 'ana' }, rule.policy).state.alarm!.trail[1]).toStrictEqual({ at: NOW, action: 'x', by: 'ana' });
    for (let i = 0; i < 99; i += 1) state = applyAlarmAction(state, id, { type: 'note', at: NOW, action: `n${i}`, by: 'ana' }, rule.policy).state;
    expect(state.alarm!.trail).toHaveLength(100);
    expect(state.alarm!.trail[0]!.action).toBe('raised');
    state = applyAlarmAction(state, id, { type: 'note', at: NOW, action: 'last', by: 'ana' }, rule.policy).state;
    expect(state.alarm!.trail).toHaveLength(100);
    expect(state.alarm!.trail[0]!.action).toBe('n0');
    expect(state.alarm!.trail[99]!.action).toBe('last');
  });
});

describe('alarm state machine: ordering and shelf edges', () => {
  it('a sample at the exact end of the shelf notifies', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const { state } = run(rule, [0]);
    const shelved = applyAlarmAction(state, state.alarm!.id, { type: 'shelve', at: '2014-03-10T00:00:30Z', by: 'ana', until: '2014-03-10T00:01:00Z' }, rule.policy).state;
    expect(evaluateAlarm(shelved, thresholdSamples([rule], reading(1, 80)), rule.policy).transitions.map((t) => [t.type, t.notify])).toEqual([['cleared', true]]);
  });

  it('of two samples at the same event time, the first given counts and the second is ignored', () => {
    const rule = alarmRuleOf(LOW_PSI);
    const [raise] = thresholdSamples([rule], reading(0, 0));
    const [quiet] = thresholdSamples([rule], reading(0, 80));
    const empty = emptyAlarmState('P', 'low-psi', 'threshold');
    expect(evaluateAlarm(empty, [raise!, quiet!], rule.policy).transitions.map((t) => t.type)).toEqual(['raised']);
    expect(evaluateAlarm(empty, [quiet!, raise!], rule.policy).transitions).toEqual([]);
  });

  it('a long shuffled batch gives the same transitions as the same batch in order', () => {
    const rule = alarmRuleOf({ ...LOW_PSI, clearThreshold: 20 } as AlertRule);
    const psis = Array.from({ length: 200 }, (_, m) => (m % 37 < 12 ? 0 : m % 37 < 20 ? 10 : 80));
    const samples = psis.flatMap((psi, m) => thresholdSamples([rule], reading(m, psi)));
    const shuffled = samples.map((s, i) => [(i * 7919) % 200, s] as const).sort((a, b) => a[0] - b[0]).map(([, s]) => s);
    const empty = emptyAlarmState('P', 'low-psi', 'threshold');
    const inOrder = evaluateAlarm(empty, samples, rule.policy);
    const mixed = evaluateAlarm(empty, shuffled, rule.policy);
    expect(inOrder.transitions.length).toBeGreaterThan(4);
    expect(JSON.stringify(mixed.transitions)).toBe(JSON.stringify(inOrder.transitions));
    expect(JSON.stringify(mixed.state)).toBe(JSON.stringify(inOrder.state));
  });
});

describe('alarm state machine: audit trail of a clear', () => {
  it('an alarm that clears ends its trail with a cleared entry at the clearing time', () => {
    const { transitions } = run(alarmRuleOf(LOW_PSI), [0, 80]);
    expect(transitions[1]!.alarm.trail.at(-1)).toStrictEqual({ at: '2014-03-10T00:01:00Z', action: 'cleared' });
  });
});
