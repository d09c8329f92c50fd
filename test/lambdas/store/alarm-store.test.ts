import { alarmRuleOf, thresholdSamples } from '../../../lambdas/core/alarm-rules';
import { emptyAlarmState, evaluateAlarm, type Transition } from '../../../lambdas/core/alarm-state';
import type { Reading } from '../../../lambdas/core/types';
import { createAlarmStore } from '../../../lambdas/store/alarm-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';

const rule = alarmRuleOf({ name: 'low-psi', field: 'psi', op: '<', threshold: 5 });
const ref = { pump: 'P', rule: 'low-psi', kind: 'threshold' as const };

function samples(fromMinute: number, psis: number[]) {
  return psis.flatMap((psi, i) => {
    const m = fromMinute + i;
    const ts = `2014-03-10T00:${String(m).padStart(2, '0')}:00Z`;
    const r: Reading = { pump: 'P', day: '2014-03-10', time: ts.slice(11, 19), ts, values: { hz: 1, disp: 1, flo: 1, sedPPM: 1, psi, chlPPM: 1 } };
    return thresholdSamples([rule], r);
  });
}

describe('alarm store', () => {
  let db: DynaliteHandle;
  beforeEach(async () => {
    db = await startDynalite();
  });
  afterEach(async () => db.close());

  it('a write from a stale version loses, re-reads and re-evaluates on the state that won', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const first = await store.update(ref, (s) => evaluateAlarm(s, samples(0, [0, 0]), rule.policy));
    expect(first).toMatchObject({ written: true, conflicts: 0 });
    // A second writer still holding the empty state adds later readings.
    const second = await store.update(ref, (s) => evaluateAlarm(s, samples(2, [0, 80]), rule.policy), { state: emptyAlarmState('P', 'low-psi', 'threshold') });
    expect(second.conflicts).toBe(1);
    expect(second.state.version).toBe(2);
    // One alarm: raised by the first writer, counted on and cleared by the second; never raised twice.
    expect(second.transitions.map((t) => t.type)).toEqual(['cleared']);
    expect(second.transitions[0]!.alarm).toMatchObject({ id: 'P.low-psi.20140310T000000Z', count: 3 });
  });

  it('publishes a transition once when two workers deliver the same outbox concurrently, and archives the closed alarm', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const { state } = await store.update(ref, (s) => evaluateAlarm(s, samples(0, [0, 80]), rule.policy));
    const published: string[] = [];
    const notifier = { description: 'test', publish: async (t: Transition) => void published.push(t.id) };
    await Promise.all([store.deliver(state, notifier), store.deliver(state, notifier), store.deliver(state, notifier)]);
    expect(published.sort()).toEqual(['P.low-psi.20140310T000000Z/1', 'P.low-psi.20140310T000000Z/2']);
    expect((await store.getState(ref)).outbox).toEqual([]);
    expect(await store.getArchived('P', 'low-psi', '2014-03-10T00:00:00Z')).toMatchObject({ closed: true, clearedTime: '2014-03-10T00:01:00Z' });
  });

  it('keeps a transition in the outbox when publishing fails, and publishes it on the next delivery', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const { state } = await store.update(ref, (s) => evaluateAlarm(s, samples(0, [0]), rule.policy));
    const failing = { description: 'down', publish: async () => Promise.reject(new Error('SNS down')) };
    expect(await store.deliver(state, failing)).toMatchObject({ done: 0, pending: 1, lastError: 'SNS down' });
    const published: string[] = [];
    await store.deliver(await store.getState(ref), { description: 'up', publish: async (t: Transition) => void published.push(t.id) });
    expect(published).toEqual(['P.low-psi.20140310T000000Z/1']);
  });
});
