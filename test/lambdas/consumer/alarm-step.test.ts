/**
 * The alarm layer end to end through the real consumer handler and the scheduled check, against dynalite.
 *
 * Notifications go to a JSONL file (local mode's sink) and are counted there; alarms are compared as the episodes
 * stored in the alarms table (archived and open), so every delivery pattern must leave the same alarms behind.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createAlarmCheckHandler } from '../../../lambdas/alarms/handler';
import { createConsumerHandler } from '../../../lambdas/consumer/handler';
import type { AlertRule } from '../../../lambdas/core/types';
import type { ConfigOverrides } from '../../../lambdas/config';
import { forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { scanTable, startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept } from '../../helpers/intercept';
import { kinesisEvent } from '../../helpers/kinesis-event';
import { eventsOf as events, feedLine, interleave, type FeedLine as Line } from '../../helpers/pump-feed';

/** The three pumps' feed: ALPHA reports psi 0 for four hours and recovers, BRAVO is healthy, CHARLIE fails and stays failed. */
function feed(): Line[] {
  const out: Line[] = [];
  for (let m = 0; m < 300; m++) {
    out.push(feedLine('ALPHA', m, m >= 20 && m < 260 ? 0 : 80));
    out.push(feedLine('BRAVO', m, 80));
    out.push(feedLine('CHARLIE', m, m >= 200 ? 0 : 80));
  }
  return out;
}

describe('alarm layer through the consumer', () => {
  let db: DynaliteHandle;
  let dir: string;
  let notificationsFile: string;

  async function setup(config: ConfigOverrides = {}): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'wellwatch-alarms-'));
    notificationsFile = join(dir, 'notifications.jsonl');
    db = await startDynalite({
      config: { deadLetterUrl: pathToFileURL(join(dir, 'dead-letters.jsonl')).href, alarms: { notifications: pathToFileURL(notificationsFile).href }, ...config },
    });
  }

  function consumer(now = '2014-03-10T12:00:00Z') {
    return createConsumerHandler(db.cfg, { dynamo: db.client, clock: () => new Date(now), metricsSink: () => undefined, log: () => undefined, retry: { maxAttempts: 3, sleep: async () => undefined } });
  }

  async function notifications(): Promise<{ transition: string; type: string; alarm: string }[]> {
    try {
      return (await readFile(notificationsFile, 'utf8'))
        .trimEnd()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  }

  /** Every alarm episode stored (archived and open), as JSON, sorted. */
  async function alarms(): Promise<string[]> {
    const items = await scanTable(db.client, db.cfg.alarms.table);
    const episodes: string[] = [];
    for (const item of items) {
      if (item.ep?.S) episodes.push(item.ep.S);
      if (item.st?.S) {
        const st = JSON.parse(item.st.S);
        if (st.alarm) episodes.push(JSON.stringify(st.alarm));
      }
    }
    return episodes.sort();
  }

  beforeEach(() => forgetWrittenMarkers());
  afterEach(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function baseline(): Promise<{ alarms: string[]; notified: string[] }> {
    const handle = consumer();
    for (const e of events(feed(), 30)) expect((await handle(e)).batchItemFailures).toEqual([]);
    return { alarms: await alarms(), notified: (await notifications()).map((n) => n.transition).sort() };
  }

  it('raises exactly one alarm and one notification for four hours of psi 0, and clears it exactly once', async () => {
    await setup();
    const { alarms: stored, notified } = await baseline();
    expect(notified).toEqual(['ALPHA.low-psi.20140310T002000Z/1', 'ALPHA.low-psi.20140310T002000Z/2', 'CHARLIE.low-psi.20140310T032000Z/1']);
    const episodes = stored.map((s) => JSON.parse(s));
    expect(episodes).toHaveLength(2);
    expect(episodes.find((e) => e.pump === 'ALPHA')).toMatchObject({ count: 240, worstValue: 0, firstTime: '2014-03-10T00:20:00Z', lastTime: '2014-03-10T04:19:00Z', clearedTime: '2014-03-10T04:20:00Z', closed: true });
    expect(episodes.find((e) => e.pump === 'CHARLIE')).toMatchObject({ condition: 'ACTIVE', count: 100, closed: false });
  });

  it('leaves the same alarms and sends nothing twice when every batch is delivered twice', async () => {
    await setup();
    const expected = await baseline();
    const again = consumer();
    for (const e of events(feed(), 30)) await again(e);
    expect(await alarms()).toEqual(expected.alarms);
    expect((await notifications()).map((n) => n.transition).sort()).toEqual(expected.notified);
  });

  it('leaves the same alarms for shuffled batches (each pump in order), and for a pump split across parent and child shards', async () => {
    await setup();
    const expected = await baseline();
    await db.close();
    await rm(dir, { recursive: true, force: true });
    await setup();
    const handle = consumer();
    const shuffled = interleave(feed(), 7);
    // The first part on the parent shard, the rest on a child shard, as after a split.
    const cut = 430;
    for (const e of events(shuffled.slice(0, cut), 23, 'shardId-000000000000')) await handle(e);
    for (const e of events(shuffled.slice(cut), 41, 'shardId-000000000002')) await handle(e);
    expect(await alarms()).toEqual(expected.alarms);
    expect((await notifications()).map((n) => n.transition).sort()).toEqual(expected.notified);
  });

  it('two handlers processing the same batches concurrently open one alarm and notify once', async () => {
    await setup();
    const a = consumer();
    const b = consumer();
    for (const e of events(feed(), 60)) {
      const [ra, rb] = await Promise.all([a(e), b(e)]);
      expect([ra.batchItemFailures, rb.batchItemFailures]).toEqual([[], []]);
    }
    const notified = (await notifications()).map((n) => n.transition).sort();
    expect(notified).toEqual(['ALPHA.low-psi.20140310T002000Z/1', 'ALPHA.low-psi.20140310T002000Z/2', 'CHARLIE.low-psi.20140310T032000Z/1']);
    expect((await alarms()).map((s) => JSON.parse(s).id)).toEqual(['ALPHA.low-psi.20140310T002000Z', 'CHARLIE.low-psi.20140310T032000Z']);
  });

  it('a crash between the state write and the notification is finished by the scheduled sweep, once', async () => {
    await setup();
    // The container dies when it tries to claim the first notification: the state is written, nothing is sent.
    const restore = intercept(db.client, (cmd, next) => {
      if (cmd instanceof PutItemCommand && cmd.input.Item?.pk?.S?.startsWith('N#')) return Promise.reject(Object.assign(new Error('container killed'), { name: 'Killed' }));
      return next(cmd);
    });
    const crashed = consumer();
    for (const e of events(feed().slice(0, 200), 50)) await crashed(e);
    restore();
    expect(await notifications()).toEqual([]);
    const stuck = (await scanTable(db.client, db.cfg.alarms.table)).filter((i) => i.st?.S && JSON.parse(i.st.S).outbox.length > 0);
    expect(stuck.length).toBeGreaterThan(0);

    const check = createAlarmCheckHandler(db.cfg, { dynamo: db.client, clock: () => new Date('2014-03-10T01:10:00Z'), metricsSink: () => undefined, log: () => undefined });
    await check();
    await check();
    // And the batches delivered again by a fresh container add nothing.
    const fresh = consumer();
    for (const e of events(feed().slice(0, 200), 50)) await fresh(e);
    expect((await notifications()).map((n) => n.transition).sort()).toEqual(['ALPHA.low-psi.20140310T002000Z/1']);
  });

  it('with hysteresis a flapping value raises one alarm; with forReadings 3 isolated blips raise none', async () => {
    const rules: AlertRule[] = [
      { name: 'hyst', field: 'psi', op: '<', threshold: 5, clearThreshold: 20 },
      { name: 'steady', field: 'psi', op: '<', threshold: 5, forReadings: 3 },
    ];
    await setup({ alertRules: rules });
    const psis = [80, 4, 6, 4, 9, 3, 12, 80, 80, 2, 80, 80, 1, 80, 80];
    const handle = consumer();
    await handle(kinesisEvent(psis.map((psi, m) => ({ data: `${feedLine('FLAP', m, psi).text}\n`, partitionKey: 'FLAP' }))));
    const notified = (await notifications()).map((n) => `${n.type}:${n.alarm}`);
    expect(notified).toEqual(['raised:FLAP.hyst.20140310T000100Z', 'cleared:FLAP.hyst.20140310T000100Z', 'raised:FLAP.hyst.20140310T000900Z', 'cleared:FLAP.hyst.20140310T000900Z', 'raised:FLAP.hyst.20140310T001200Z', 'cleared:FLAP.hyst.20140310T001200Z']);
    expect(notified.filter((n) => n.includes('steady'))).toEqual([]);
  });

  it('raises no-data within twice the interval of silence, and only the next reading clears it', async () => {
    await setup({ alarms: { noDataMinutes: 30, notifications: undefined } });
    const base = Date.parse('2026-11-30T10:00:00Z');
    const at = (minutes: number) => new Date(base + minutes * 60_000);
    const live = (m: number) => `LIVE,2026-11-30,${String(10 + Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')},10,1,800,1,80,1`;
    const handler = (m: number) =>
      createConsumerHandler(db.cfg, { dynamo: db.client, clock: () => at(m), metricsSink: () => undefined, log: () => undefined, notifier: sink });
    const sent: string[] = [];
    const sink = { description: 'test', publish: async (t: { type: string; alarm: { rule: string } }) => void sent.push(`${t.type}:${t.alarm.rule}`) };
    const check = (m: number) => createAlarmCheckHandler(db.cfg, { dynamo: db.client, clock: () => at(m), notifier: sink, metricsSink: () => undefined, log: () => undefined })();

    // Readings every minute for 10 minutes, then silence from minute 9 on.
    const feeder = handler(0);
    for (let m = 0; m < 10; m++) await feeder(kinesisEvent([{ data: `${live(m)}\n`, partitionKey: 'LIVE' }]));
    const raisedAt: number[] = [];
    for (let m = 10; m <= 120; m += 5) {
      const r = await check(m);
      if (r.noDataRaised > 0) raisedAt.push(m);
    }
    expect(raisedAt).toHaveLength(1);
    expect(raisedAt[0]! - 9).toBeGreaterThan(30);
    expect(raisedAt[0]! - 9).toBeLessThanOrEqual(60);
    expect(sent).toEqual(['raised:no-data']);

    // More silence and more checks clear nothing; the next reading does.
    await check(200);
    expect(sent).toEqual(['raised:no-data']);
    await handler(205)(kinesisEvent([{ data: `${live(205)}\n`, partitionKey: 'LIVE' }]));
    expect(sent).toEqual(['raised:no-data', 'cleared:no-data']);
  });

  it('a no-data check that died between marking a pump and raising its alarm does not keep that pump from being raised', async () => {
    await setup({ alarms: { noDataMinutes: 30, notifications: undefined } });
    const sent: string[] = [];
    const sink = { description: 'test', publish: async (t: { type: string; alarm: { rule: string } }) => void sent.push(`${t.type}:${t.alarm.rule}`) };
    const at = (minutes: number) => new Date(Date.parse('2026-11-30T10:00:00Z') + minutes * 60_000);
    await createConsumerHandler(db.cfg, { dynamo: db.client, clock: () => at(0), metricsSink: () => undefined, log: () => undefined, notifier: sink })(
      kinesisEvent([{ data: 'GONE,2026-11-30,10:00,10,1,800,1,80,1\n', partitionKey: 'GONE' }]),
    );
    const { createAlarmStore } = await import('../../../lambdas/store/alarm-store');
    await createAlarmStore(db.client, db.cfg).setNoDataAlarm('GONE', 'GONE.no-data.20261130T103500Z');
    const r = await createAlarmCheckHandler(db.cfg, { dynamo: db.client, clock: () => at(40), notifier: sink, metricsSink: () => undefined, log: () => undefined })();
    expect(r.noDataRaised).toBe(1);
    expect(sent).toEqual(['raised:no-data']);
  });

  it('runs another condition source (kind early-warning) through the same lifecycle, next to the threshold rules', async () => {
    await setup();
    const { createAlarmStep } = await import('../../../lambdas/consumer/alarm-step');
    const { createAlarmStore } = await import('../../../lambdas/store/alarm-store');
    const { alarmRuleOf, thresholdSource } = await import('../../../lambdas/core/alarm-rules');
    const sent: string[] = [];
    const policy = { rule: 'psi-drift', kind: 'early-warning' as const, severity: 'advisory' as const, forReadings: 2, forSeconds: 0, clearForReadings: 1, latch: false, notify: true, worse: 'higher' as const };
    // A stand-in detector: flags readings whose psi is below 50 (a real one keeps EWMA/CUSUM state per pump).
    const drift = {
      policies: new Map([['psi-drift', policy]]),
      samples: (readings: readonly import('../../../lambdas/core/types').Reading[]) =>
        readings.map((r) => ({ pump: r.pump, rule: 'psi-drift', kind: 'early-warning' as const, severity: 'advisory' as const, ts: r.ts, value: 80 - r.values.psi, raise: r.values.psi < 50, clear: r.values.psi >= 50 })),
    };
    const step = createAlarmStep(db.cfg, createAlarmStore(db.client, db.cfg), { description: 't', publish: async (t) => void sent.push(`${t.type}:${t.alarm.rule}:${t.alarm.kind}`) }, [
      thresholdSource(db.cfg.alertRules.map(alarmRuleOf)),
      drift,
    ]);
    const reading = (m: number, psi: number) => ({ pump: 'P', day: '2014-03-10', time: `00:0${m}:00`, ts: `2014-03-10T00:0${m}:00Z`, values: { hz: 1, disp: 1, flo: 1, sedPPM: 1, psi, chlPPM: 1 } });
    await step.run([reading(0, 80), reading(1, 40), reading(2, 30), reading(3, 2), reading(4, 80)], { shardId: 's', now: new Date('2014-03-10T00:05:00Z') });
    // (pump, rule) states are evaluated concurrently: compare per rule.
    expect(sent.filter((x) => x.includes('psi-drift'))).toEqual(['raised:psi-drift:early-warning', 'cleared:psi-drift:early-warning']);
    expect(sent.filter((x) => x.includes('low-psi'))).toEqual(['raised:low-psi:threshold', 'cleared:low-psi:threshold']);
    expect(() => createAlarmStep(db.cfg, createAlarmStore(db.client, db.cfg), { description: 't', publish: async () => undefined }, [drift, drift])).toThrow('alarm rule name "psi-drift" is used twice');
  });
});
