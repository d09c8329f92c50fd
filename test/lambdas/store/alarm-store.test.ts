import { alarmRuleOf, thresholdSamples } from '../../../lambdas/core/alarm-rules';
import { emptyAlarmState, evaluateAlarm, type Transition } from '../../../lambdas/core/alarm-state';
import type { Reading } from '../../../lambdas/core/types';
import { GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ALARM_DEFAULTS, KEYS } from '../../../lambdas/config';
import { archiveItem, markerKey } from '../../../lambdas/core/alarm-keys';
import { createAlarmStore, STALE_CLAIM_MS } from '../../../lambdas/store/alarm-store';
import { startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { collect } from '../../helpers/intercept';

const rule = alarmRuleOf({ name: 'low-psi', field: 'psi', op: '<', threshold: 5 });
const ref = { pump: 'P', rule: 'low-psi', kind: 'threshold' as const };
const refOf = (pump: string) => ({ ...ref, pump });

function samples(fromMinute: number, psis: number[], pump = 'P') {
  return psis.flatMap((psi, i) => {
    const m = fromMinute + i;
    const ts = `2014-03-10T00:${String(m).padStart(2, '0')}:00Z`;
    const r: Reading = { pump, day: '2014-03-10', time: ts.slice(11, 19), ts, values: { hz: 1, disp: 1, flo: 1, sedPPM: 1, psi, chlPPM: 1 } };
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

describe('alarm store: pump items, leases, listings (one shared dynalite)', () => {
  let db: DynaliteHandle;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => db.close());

  it('marks a pump out of service and unmarks it, returning the pump item as stored', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const oos = { by: 'ops', at: '2014-03-10T00:00:00Z', note: 'rod pull' };
    expect(await store.setOutOfService('OOS1', oos)).toEqual({ pump: 'OOS1', outOfService: oos });
    expect(await store.getPump('OOS1')).toEqual({ pump: 'OOS1', outOfService: oos });
    expect(await store.setOutOfService('OOS1', undefined)).toEqual({ pump: 'OOS1' });
    expect(await store.getPump('OOS1')).toEqual({ pump: 'OOS1' });
    expect(store.counters.writes).toBe(2);
  });

  it('clears the no-data alarm only when it still names the expected id, and counts the lost condition', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    await store.setNoDataAlarm('ND1', 'ND1.no-data.A');
    expect(await store.getPump('ND1')).toMatchObject({ noDataAlarm: 'ND1.no-data.A' });
    await store.setNoDataAlarm('ND1', undefined, 'ND1.no-data.OTHER');
    expect(await store.getPump('ND1')).toMatchObject({ noDataAlarm: 'ND1.no-data.A' });
    expect(store.counters.conditionFailures).toBe(1);
    await store.setNoDataAlarm('ND1', undefined, 'ND1.no-data.A');
    expect((await store.getPump('ND1'))?.noDataAlarm).toBeUndefined();
    await store.setNoDataAlarm('ND1', 'ND1.no-data.B');
    await store.setNoDataAlarm('ND1', undefined);
    expect((await store.getPump('ND1'))?.noDataAlarm).toBeUndefined();
    expect(store.counters).toMatchObject({ writes: 5, conditionFailures: 1 });
  });

  it('refreshLastSeen keeps the newest time and returns the stored pump item when the given time is older', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    expect(await store.refreshLastSeen('LS1', '2014-03-10T00:05:00Z')).toMatchObject({ pump: 'LS1', lastSeen: '2014-03-10T00:05:00Z' });
    expect(await store.refreshLastSeen('LS1', '2014-03-10T00:01:00Z')).toMatchObject({ pump: 'LS1', lastSeen: '2014-03-10T00:05:00Z' });
    expect(store.counters).toMatchObject({ writes: 2, conditionFailures: 1, reads: 1 });
    const pumps = await store.getPumps(['LS1', 'LS1', 'NOPE']);
    expect([...pumps.keys()]).toEqual(['LS1']);
    expect(pumps.get('LS1')).toMatchObject({ lastSeen: '2014-03-10T00:05:00Z' });
    expect(store.counters.reads).toBe(2);
  });

  it('a lease is current only for the owner that took it last', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    expect(await store.takeLease('shard-1', 'a')).toBe(false);
    expect(await store.takeLease('shard-1', 'a')).toBe(true);
    expect(await store.takeLease('shard-1', 'b')).toBe(false);
    expect(await store.takeLease('shard-1', 'a')).toBe(false);
  });

  it('update writes nothing when nothing changed unless forced, and gives up after maxAttempts lost races', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const r = refOf('UPD1');
    const unchanged = await store.update(r, (s) => ({ state: s, transitions: [], changed: false }));
    expect(unchanged).toMatchObject({ written: false, conflicts: 0, state: { version: 0 } });
    expect((await store.getState(r)).version).toBe(0);
    const forced = await store.update(r, (s) => ({ state: { ...s, seen: '2014-03-10T00:00:00Z' }, transitions: [], changed: false }), { force: true });
    expect(forced).toMatchObject({ written: true, conflicts: 0, state: { version: 1 } });
    expect(await store.getState(r)).toMatchObject({ version: 1, seen: '2014-03-10T00:00:00Z' });
    // Every re-read state is made stale again by a competing writer before this one writes.
    let calls = 0;
    const racing = store.update(
      r,
      (s) => {
        calls++;
        return { state: { ...s, seen: `2014-03-10T00:0${calls}:30Z` }, transitions: [], changed: true };
      },
      { state: { ...emptyAlarmState('UPD1', 'low-psi', 'threshold') }, maxAttempts: 1 },
    );
    await expect(racing).rejects.toThrow('alarm state UPD1/low-psi: still conflicting after 1 attempts');
    expect(calls).toBe(1);
    const two = await store.update(r, (s) => ({ state: { ...s, seen: 'x' }, transitions: [], changed: true }), { state: emptyAlarmState('UPD1', 'low-psi', 'threshold'), maxAttempts: 2 });
    expect(two).toMatchObject({ written: true, conflicts: 1, state: { version: 2 } });
  });

  it('deliver reports published, already-published and pending transitions', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const r = refOf('DLV1');
    expect(await store.deliver(emptyAlarmState('DLV1', 'low-psi', 'threshold'), { description: 'x', publish: async () => undefined })).toEqual({ done: 0, published: 0, pending: 0 });
    const { state } = await store.update(r, (s) => evaluateAlarm(s, samples(0, [0, 80], 'DLV1'), rule.policy));
    expect(state.outbox.length).toBe(2);
    const published: string[] = [];
    const notifier = { description: 'ok', publish: async (t: Transition) => void published.push(t.id) };
    expect(await store.deliver(state, notifier)).toEqual({ done: 2, published: 2, pending: 0 });
    expect(store.counters.publishes).toBe(2);
    // The same (stale) outbox again: the markers say sent, nothing is published twice, nothing is left pending.
    expect(await store.deliver(state, notifier)).toEqual({ done: 2, published: 0, pending: 0 });
    expect(published).toHaveLength(2);
    expect((await store.getState(r)).outbox).toEqual([]);
    expect(await collect(store.listPumpArchive('DLV1'))).toEqual([expect.objectContaining({ pump: 'DLV1', closed: true, raisedTime: '2014-03-10T00:00:00Z' })]);
  });

  it('deliver leaves a transition pending while another worker holds a fresh claim on it', async () => {
    const now = new Date('2014-03-10T01:00:00Z');
    const store = createAlarmStore(db.client, db.cfg, { clock: () => now });
    const { state } = await store.update(refOf('BUSY1'), (s) => evaluateAlarm(s, samples(0, [0], 'BUSY1'), rule.policy));
    let release!: () => void;
    const blocked = new Promise<void>((res) => (release = res));
    let started!: () => void;
    const inPublish = new Promise<void>((res) => (started = res));
    const slow = { description: 'slow', publish: async () => { started(); await blocked; } };
    const first = store.deliver(state, slow);
    await inPublish;
    const published: string[] = [];
    expect(await store.deliver(state, { description: 'fast', publish: async (t: Transition) => void published.push(t.id) })).toEqual({ done: 0, published: 0, pending: 1 });
    expect(published).toEqual([]);
    expect(store.counters.conditionFailures).toBe(1);
    release();
    expect(await first).toEqual({ done: 1, published: 1, pending: 0 });
    // The notification marker expires markerTtlDays after the claim (DynamoDB TTL, epoch seconds).
    const marker = await db.client.send(new GetItemCommand({ TableName: store.table, Key: markerKey('BUSY1.low-psi.20140310T000000Z/1') as Record<string, AttributeValue> }));
    expect(marker.Item?.[KEYS.ttlAttribute]).toEqual({ N: String(Math.floor(now.getTime() / 1000) + ALARM_DEFAULTS.markerTtlDays * 86_400) });
  });

  it('lists open states of a bucket across more than one page of 100 keys, and every state of a pump', async () => {
    const cfg1 = { ...db.cfg, alarms: { ...db.cfg.alarms, buckets: 1 } };
    const store = createAlarmStore(db.client, cfg1);
    const pumps = Array.from({ length: 101 }, (_, i) => `OPEN${String(i).padStart(3, '0')}`);
    for (const p of pumps) await store.update(refOf(p), (s) => evaluateAlarm(s, samples(0, [0], p), rule.policy));
    const open = await collect(store.listOpenStates(0));
    expect(open.map((s) => s.pump).sort()).toEqual(pumps);
    const states = await store.getStates(pumps.map(refOf));
    expect(states.size).toBe(101);
    expect([...states.values()].every((s) => s.version === 1)).toBe(true);
    expect((await collect(store.listPumpStates('OPEN000'))).map((s) => s.rule)).toEqual(['low-psi']);
  });

  it('lists archived alarms of a bucket by raised-time range, open-ended on either side', async () => {
    const store = createAlarmStore(db.client, { ...db.cfg, alarms: { ...db.cfg.alarms, buckets: 1 } });
    const ep = (pump: string, raisedTime: string) => ({ id: `${pump}.r.${raisedTime}`, pump, rule: 'r', kind: 'threshold', raisedTime, closed: true }) as never;
    const times = ['2014-03-09T23:59:00Z', '2014-03-10T00:00:00Z', '2014-03-10T12:00:00Z', '2014-03-11T00:00:00Z'];
    for (const [i, t] of times.entries()) {
      await db.client.send(new PutItemCommand({ TableName: store.table, Item: archiveItem(ep(`ARC${i}`, t), 1) as Record<string, AttributeValue> }));
    }
    const raised = async (range?: { from?: string; to?: string }) => (await collect(store.listArchive(0, range))).filter((a) => a.pump.startsWith('ARC')).map((a) => a.raisedTime);
    expect(await raised()).toEqual(times);
    expect(await raised({ from: '2014-03-10' })).toEqual(times.slice(1));
    expect(await raised({ to: '2014-03-10' })).toEqual(times.slice(0, 3));
    expect(await raised({ from: '2014-03-10', to: '2014-03-10' })).toEqual(times.slice(1, 3));
    expect(await raised({ from: '2014-03-10T00:00:00Z', to: '2014-03-10T00:00:00Z' })).toEqual([times[1]]);
  });
});

describe('alarm store: request contract and failure paths (one shared dynalite)', () => {
  let db: DynaliteHandle;
  beforeAll(async () => {
    db = await startDynalite();
  });
  afterAll(async () => db.close());
  type Cmd = { constructor: { name: string }; input: Record<string, unknown> };
  /** A client that records every command and lets a test answer some of them itself. */
  function recording(answer: (cmd: Cmd) => Promise<unknown> | undefined = () => undefined) {
    const sent: Cmd[] = [];
    const client = { send: (cmd: Cmd) => { sent.push(cmd); return answer(cmd) ?? db.client.send(cmd as never); } } as unknown as DynamoDBClient;
    return { client, sent, names: () => sent.map((c) => c.constructor.name) };
  }
  const conditionFailed = () => Promise.reject(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
  afterEach(() => jest.restoreAllMocks());

  it('reads states, pump items and archives with strongly consistent reads', async () => {
    const rec = recording();
    const store = createAlarmStore(rec.client, db.cfg);
    const { state } = await store.update(refOf('CR1'), (s) => evaluateAlarm(s, samples(0, [0, 80], 'CR1'), rule.policy));
    await store.deliver(state, { description: 'ok', publish: async () => undefined });
    await store.deliver(state, { description: 'ok', publish: async () => undefined }); // markers read back
    await store.getStates([refOf('CR1')]);
    await collect(store.listPumpStates('CR1'));
    await store.getArchived('CR1', 'low-psi', '2014-03-10T00:00:00Z');
    const reads = rec.sent.filter((c) => ['GetItemCommand', 'BatchGetItemCommand'].includes(c.constructor.name) || (c.constructor.name === 'QueryCommand' && c.input.IndexName === undefined));
    expect([...new Set(reads.map((c) => c.constructor.name))].sort()).toEqual(['BatchGetItemCommand', 'GetItemCommand', 'QueryCommand']);
    for (const c of reads) {
      const consistent = c.constructor.name === 'BatchGetItemCommand' ? (Object.values(c.input.RequestItems as object)[0] as { ConsistentRead?: boolean }).ConsistentRead : c.input.ConsistentRead;
      expect({ cmd: c.constructor.name, consistent }).toEqual({ cmd: c.constructor.name, consistent: true });
    }
    expect(rec.sent.filter((c) => c.constructor.name === 'QueryCommand')).toHaveLength(2);
  });

  it('treats a condition failure recognised by name (another SDK copy) as a lost condition, and rethrows anything else', async () => {
    const byName = createAlarmStore(recording((c) => (c.constructor.name === 'UpdateItemCommand' ? conditionFailed() : undefined)).client, db.cfg);
    await expect(byName.setNoDataAlarm('CF1', undefined, 'CF1.no-data.A')).resolves.toBeUndefined();
    expect(byName.counters.conditionFailures).toBe(1);
    const boom = createAlarmStore(recording((c) => (c.constructor.name === 'GetItemCommand' ? undefined : Promise.reject(new Error('boom')))).client, db.cfg);
    await expect(boom.update(refOf('CF1'), (s) => ({ state: { ...s, seen: 'x' }, transitions: [], changed: true }))).rejects.toThrow('boom');
    await expect(boom.refreshLastSeen('CF1', '2014-03-10T00:00:00Z')).rejects.toThrow('boom');
    await expect(boom.setNoDataAlarm('CF1', undefined, 'x')).rejects.toThrow('boom');
    expect(boom.counters.conditionFailures).toBe(0);
    const nothing = createAlarmStore(recording(() => Promise.reject(undefined)).client, db.cfg);
    await expect(nothing.setNoDataAlarm('CF1', undefined, 'x')).rejects.toBeUndefined();
  });

  it('re-requests unprocessed keys, and gives up after 8 retries', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    let batches = 0;
    const always = recording((c) => {
      if (c.constructor.name !== 'BatchGetItemCommand') return undefined;
      batches++;
      const [table, req] = Object.entries(c.input.RequestItems as Record<string, { Keys: unknown[] }>)[0]!;
      return Promise.resolve({ Responses: { [table]: [] }, UnprocessedKeys: { [table]: { Keys: req.Keys } } });
    });
    const store = createAlarmStore(always.client, db.cfg);
    await expect(store.getStates([refOf('UK1')])).rejects.toThrow(`alarms table ${store.table}: 1 keys unread after 8 retries`);
    expect(batches).toBe(9);
    expect(store.counters.reads).toBe(9);
    await createAlarmStore(db.client, db.cfg).update(refOf('UK2'), (s) => ({ state: { ...s, seen: 'y' }, transitions: [], changed: true }));
    let first = true;
    const once = recording((c) => {
      if (c.constructor.name !== 'BatchGetItemCommand' || !first) return undefined;
      first = false;
      const [table, req] = Object.entries(c.input.RequestItems as Record<string, { Keys: unknown[] }>)[0]!;
      return Promise.resolve({ Responses: { [table]: [] }, UnprocessedKeys: { [table]: { Keys: req.Keys } } });
    });
    const states = await createAlarmStore(once.client, db.cfg).getStates([refOf('UK2')]);
    expect(states.get('UK2\u0000low-psi')).toMatchObject({ version: 1, seen: 'y' });
  });

  it('update gives up after maxAttempts lost writes, counting each', async () => {
    const store = createAlarmStore(recording((c) => (c.constructor.name === 'PutItemCommand' ? conditionFailed() : undefined)).client, db.cfg);
    let calls = 0;
    const p = store.update(refOf('MX1'), (s) => (calls++, { state: { ...s, seen: 'z' }, transitions: [], changed: true }), { maxAttempts: 3 });
    await expect(p).rejects.toThrow('alarm state MX1/low-psi: still conflicting after 3 attempts');
    expect(calls).toBe(3);
    expect(store.counters).toMatchObject({ writes: 3, conditionFailures: 3 });
  });

  it('deliver archives without publishing a transition that does not notify, and counts its requests', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const { state } = await store.update(refOf('NN1'), (s) => evaluateAlarm(s, samples(0, [0, 80], 'NN1'), { ...rule.policy, notify: false }));
    expect(state.outbox.map((t) => t.notify)).toEqual([false, false]);
    const before = { ...store.counters };
    const published: string[] = [];
    const res = await store.deliver(state, { description: 'x', publish: async (t: Transition) => void published.push(t.id) });
    expect(res).toStrictEqual({ done: 2, published: 0, pending: 0 });
    expect(published).toEqual([]);
    expect(store.counters.writes - before.writes).toBe(2); // the archive put + the outbox write
    expect(store.counters.reads - before.reads).toBe(0);
    expect((await store.getState(refOf('NN1'))).outbox).toEqual([]);
  });

  it('deliver counts its claim, publish and confirm requests', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const { state } = await store.update(refOf('CT1'), (s) => evaluateAlarm(s, samples(0, [0], 'CT1'), rule.policy));
    const before = { ...store.counters };
    expect(await store.deliver(state, { description: 'ok', publish: async () => undefined })).toStrictEqual({ done: 1, published: 1, pending: 0 });
    expect(store.counters.writes - before.writes).toBe(3); // claim, confirm, outbox
    expect(store.counters.publishes - before.publishes).toBe(1);
    const { state: s2 } = await store.update(refOf('CT1'), (s) => evaluateAlarm(s, samples(1, [80], 'CT1'), rule.policy));
    const before2 = { ...store.counters };
    const res = await store.deliver(s2, { description: 'down', publish: async () => Promise.reject(undefined) });
    expect(res).toStrictEqual({ done: 0, published: 0, pending: 1, lastError: 'undefined' });
    expect(store.counters.writes - before2.writes).toBe(3); // archive, claim, release
  });

  it('deliver keeps a transition pending and reports the error when claiming its notification fails', async () => {
    const failing = recording((c) => (c.constructor.name === 'PutItemCommand' && /#s = :claimed/.test(String(c.input.ConditionExpression)) ? Promise.reject(new Error('throttled')) : undefined));
    const store = createAlarmStore(failing.client, db.cfg);
    const { state } = await store.update(refOf('CLF1'), (s) => evaluateAlarm(s, samples(0, [0], 'CLF1'), rule.policy));
    const published: string[] = [];
    expect(await store.deliver(state, { description: 'ok', publish: async (t: Transition) => void published.push(t.id) })).toStrictEqual({ done: 0, published: 0, pending: 1, lastError: 'throttled' });
    expect(published).toEqual([]);
    expect(store.counters.conditionFailures).toBe(0);
  });

  it('deliver removes its done transitions from the stored state even when the state moved on meanwhile', async () => {
    const store = createAlarmStore(db.client, db.cfg);
    const { state: raised } = await store.update(refOf('MV1'), (s) => evaluateAlarm(s, samples(0, [0], 'MV1'), rule.policy));
    await store.update(refOf('MV1'), (s) => evaluateAlarm(s, samples(1, [80], 'MV1'), rule.policy));
    expect(await store.deliver(raised, { description: 'ok', publish: async () => undefined })).toStrictEqual({ done: 1, published: 1, pending: 0 });
    const now = await store.getState(refOf('MV1'));
    expect(now.outbox.map((t) => t.type)).toEqual(['cleared']);
  });

  it('a claim left by a worker that stalled is taken over after STALE_CLAIM_MS', async () => {
    const t0 = new Date('2014-03-10T02:00:00Z');
    const stalled = createAlarmStore(db.client, db.cfg, { clock: () => t0 });
    const { state } = await stalled.update(refOf('ST1'), (s) => evaluateAlarm(s, samples(0, [0], 'ST1'), rule.policy));
    let release!: () => void;
    let started!: () => void;
    const inPublish = new Promise<void>((res) => (started = res));
    const hung = stalled.deliver(state, { description: 'hung', publish: () => { started(); return new Promise<void>((res) => (release = res)); } });
    await inPublish;
    const later = createAlarmStore(db.client, db.cfg, { clock: () => new Date(t0.getTime() + STALE_CLAIM_MS + 1000) });
    const published: string[] = [];
    expect(await later.deliver(state, { description: 'ok', publish: async (t: Transition) => void published.push(t.id) })).toMatchObject({ published: 1 });
    expect(published).toEqual(['ST1.low-psi.20140310T000000Z/1']);
    release();
    await hung;
  });

  it('lists the pump items of a bucket, counting each item read', async () => {
    const store = createAlarmStore(db.client, { ...db.cfg, alarms: { ...db.cfg.alarms, buckets: 1 } });
    await store.refreshLastSeen('LP1', '2014-03-10T00:00:00Z');
    await store.refreshLastSeen('LP2', '2014-03-10T00:00:00Z');
    const before = store.counters.reads;
    const pumps = (await collect(store.listPumps(0))).map((p) => p.pump);
    expect(pumps).toEqual(expect.arrayContaining(['LP1', 'LP2']));
    expect(store.counters.reads - before).toBe(pumps.length);
  });

  it('reads open states a page of 100 keys at a time', async () => {
    const store = createAlarmStore(db.client, { ...db.cfg, alarms: { ...db.cfg.alarms, buckets: 1 } });
    for (let i = 0; i < 3; i++) await store.update(refOf(`PG${i}`), (s) => evaluateAlarm(s, samples(0, [0], `PG${i}`), rule.policy));
    const before = store.counters.reads;
    expect((await collect(store.listOpenStates(0))).length).toBe(3);
    expect(store.counters.reads - before).toBe(1);
  });
});
