/**
 * Early warnings through the real consumer handler against dynalite: the detectors as a condition source of the
 * alarm step, with their checkpoints in the alarms table and the replay of stored readings on a cold start.
 *
 * Every delivery pattern (one batching or another, each batch twice, a new container half-way) must leave the same
 * early-warning alarms and send the same notifications, one per transition.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BatchGetItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createConsumerHandler } from '../../../lambdas/consumer/handler';
import { createAlarmStep } from '../../../lambdas/consumer/alarm-step';
import { createEarlyWarningSource } from '../../../lambdas/consumer/early-warning-source';
import { alarmRuleOf, thresholdSource } from '../../../lambdas/core/alarm-rules';
import { DETECTOR_DEFAULTS, type ConfigOverrides } from '../../../lambdas/config';
import { createAlarmStore } from '../../../lambdas/store/alarm-store';
import { forgetWrittenMarkers } from '../../../lambdas/store/catalog-store';
import { checkpointKey, createDetectorStore, type DetectorStore } from '../../../lambdas/store/detector-store';
import { createNotifier } from '../../../lambdas/store/notifier';
import { scanTable, startDynalite, type DynaliteHandle } from '../../helpers/dynalite';
import { intercept } from '../../helpers/intercept';
import { eventsOf as events, feedLine, interleave, type FeedLine as Line } from '../../helpers/pump-feed';

/** Deterministic noise in [-1.5, 1.5) per (pump, minute). */
function noise(seed: number, m: number): number {
  let x = (seed * 7919 + m * 104729) % 2147483647;
  x = (x * 48271) % 2147483647;
  x = (x * 48271) % 2147483647;
  return (x / 2147483647) * 3 - 1.5;
}

const MINUTES = 400;

/**
 * ALPHA steps down from psi 60 to 45 at minute 200 and recovers at 280; BRAVO stays at 70 (noise only); CHARLIE sags
 * slowly from minute 150 (0.05 psi a minute).
 */
function feed(): Line[] {
  const out: Line[] = [];
  for (let m = 0; m < MINUTES; m++) {
    out.push(feedLine('ALPHA', m, ((m >= 200 && m < 280 ? 45 : 60) + noise(1, m)).toFixed(2)));
    out.push(feedLine('BRAVO', m, (70 + noise(2, m)).toFixed(2)));
    out.push(feedLine('CHARLIE', m, (80 - Math.max(0, m - 150) * 0.05 + noise(3, m)).toFixed(2)));
  }
  return out;
}

/** psi only, with a short warm-up and clear so the 400-minute feed shows a whole episode. */
const DETECTORS = [{ ...DETECTOR_DEFAULTS.psi, warmupReadings: 60, clearReadings: 20 }];
/** Checkpoints every 50 accepted readings: several per pump in the feed, so cold starts replay from one. */
const CHECKPOINT_READINGS = 50;

describe('early warnings through the consumer', () => {
  let db: DynaliteHandle;
  let dir: string;
  let notificationsFile: string;
  let detectorStores: DetectorStore[];

  async function setup(config: ConfigOverrides = {}): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'wellwatch-ew-'));
    notificationsFile = join(dir, 'notifications.jsonl');
    detectorStores = [];
    db = await startDynalite({
      config: { deadLetterUrl: pathToFileURL(join(dir, 'dead-letters.jsonl')).href, alarms: { notifications: pathToFileURL(notificationsFile).href }, detectors: DETECTORS, ...config },
    });
  }

  /** A new consumer container (its own alarm step, detectors and lease owner). */
  function consumer() {
    const store = createDetectorStore(db.client, db.cfg);
    detectorStores.push(store);
    const sources = [thresholdSource(db.cfg.alertRules.map(alarmRuleOf)), createEarlyWarningSource(db.cfg, store, { checkpointReadings: CHECKPOINT_READINGS })];
    const alarms = createAlarmStep(db.cfg, createAlarmStore(db.client, db.cfg), createNotifier(db.cfg), sources);
    return createConsumerHandler(db.cfg, { dynamo: db.client, alarms, clock: () => new Date('2014-03-10T12:00:00Z'), metricsSink: () => undefined, log: () => undefined, retry: { maxAttempts: 3, sleep: async () => undefined } });
  }

  async function notified(): Promise<string[]> {
    try {
      const lines = (await readFile(notificationsFile, 'utf8')).trimEnd().split('\n').filter(Boolean);
      return lines.map((l) => JSON.parse(l)).filter((n) => n.kind === 'early-warning').map((n) => n.transition).sort();
    } catch {
      return [];
    }
  }

  /** Every early-warning alarm episode stored (archived and open), parsed, sorted by id. */
  async function warnings(): Promise<Record<string, unknown>[]> {
    const episodes: Record<string, unknown>[] = [];
    for (const item of await scanTable(db.client, db.cfg.alarms.table)) {
      if (item.ep?.S) episodes.push(JSON.parse(item.ep.S));
      if (item.st?.S) {
        const st = JSON.parse(item.st.S);
        if (st.alarm) episodes.push(st.alarm);
      }
    }
    return episodes.filter((e) => e.kind === 'early-warning').sort((a, b) => String(a.id).localeCompare(String(b.id)));
  }

  async function restart(): Promise<void> {
    await db.close();
    await rm(dir, { recursive: true, force: true });
    forgetWrittenMarkers();
    await setup();
  }

  beforeEach(() => forgetWrittenMarkers());
  afterEach(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function baseline(): Promise<{ warnings: Record<string, unknown>[]; notified: string[] }> {
    const handle = consumer();
    for (const e of events(feed(), 30)) expect((await handle(e)).batchItemFailures).toEqual([]);
    return { warnings: await warnings(), notified: await notified() };
  }

  it('warns on the step and the sag, not on the healthy pump, each alarm explaining itself and notified once per transition', async () => {
    await setup();
    const { warnings: stored, notified: sent } = await baseline();
    const pumps = new Set(stored.map((w) => w.pump));
    expect([...pumps].sort()).toEqual(['ALPHA', 'CHARLIE']);
    const step = stored.find((w) => w.pump === 'ALPHA')!;
    expect(step).toMatchObject({ kind: 'early-warning', severity: 'advisory', closed: true });
    expect(String(step.rule)).toMatch(/^psi-(step|drift)$/);
    // Raised within minutes of the step at 03:20, cleared after the recovery at 04:40.
    expect(String(step.raisedTime) >= '2014-03-10T03:20:00Z' && String(step.raisedTime) < '2014-03-10T03:40:00Z').toBe(true);
    expect(String(step.clearedTime) > '2014-03-10T04:40:00Z').toBe(true);
    expect(String(step.detail)).toMatch(/^psi (step|drift): level [\d.]+ vs baseline 6\d(\.\d+)? \(spread [\d.]+, -[\d.]+ spreads\), score -?[\d.]+, since 2014-03-10T03:/);
    const sag = stored.filter((w) => w.pump === 'CHARLIE');
    expect(sag.length).toBeGreaterThan(0);
    expect(sag.every((w) => String(w.raisedTime) > '2014-03-10T02:30:00Z')).toBe(true);
    // One notification per transition: raised and cleared for each closed alarm, raised for each open one.
    const transitions = stored.reduce((n, w) => n + (w.closed ? 2 : 1), 0);
    expect(sent).toHaveLength(transitions);
    expect(new Set(sent).size).toBe(sent.length);
    // Checkpoints were written amortised: a handful per pump, not one per reading.
    const writes = detectorStores.reduce((n, s) => n + s.counters.writes, 0);
    expect(writes).toBeGreaterThanOrEqual(3 * Math.floor(MINUTES / CHECKPOINT_READINGS));
    expect(writes).toBeLessThan(3 * (Math.floor(MINUTES / CHECKPOINT_READINGS) + 3) + 1);
  });

  it('leaves the same warnings and notifications when every batch is delivered twice', async () => {
    await setup();
    const expected = await baseline();
    await restart();
    const handle = consumer();
    for (const e of events(feed(), 30)) {
      expect((await handle(e)).batchItemFailures).toEqual([]);
      expect((await handle(e)).batchItemFailures).toEqual([]);
    }
    expect(await warnings()).toEqual(expected.warnings);
    expect(await notified()).toEqual(expected.notified);
  });

  it('leaves the same warnings for other batchings and after cold starts from checkpoints plus replay', async () => {
    await setup();
    const expected = await baseline();
    await restart();
    const shuffled = interleave(feed(), 11);
    const batches = events(shuffled, 17);
    // A new container every 20 batches (~340 readings): each restores checkpoints and replays the readings after them.
    let handle = consumer();
    for (let i = 0; i < batches.length; i++) {
      if (i > 0 && i % 20 === 0) handle = consumer();
      expect((await handle(batches[i]!)).batchItemFailures).toEqual([]);
    }
    expect(await warnings()).toEqual(expected.warnings);
    expect(await notified()).toEqual(expected.notified);
    const replayed = detectorStores.slice(1).reduce((n, s) => n + s.counters.replayed, 0);
    expect(replayed).toBeGreaterThan(0);
  });

  /** Delivers the feed as Lambda would, with `fail` deciding which requests fail (at most `times` of them). */
  async function deliverWithFaults(fail: (cmd: unknown) => boolean, times: number): Promise<void> {
    let failures = 0;
    const restore = intercept(db.client, (cmd, next) => {
      if (failures < times && fail(cmd)) {
        failures++;
        return Promise.reject(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
      }
      return next(cmd);
    });
    const handle = consumer();
    let retries = 0;
    for (const e of events(feed(), 30)) {
      // As Lambda does: retry from the reported record, or the whole batch when the handler throws (no progress).
      let batch = e;
      for (;;) {
        let failedAt: string | undefined;
        try {
          failedAt = (await handle(batch)).batchItemFailures[0]?.itemIdentifier;
        } catch {
          failedAt = batch.Records[0]!.kinesis.sequenceNumber;
        }
        if (failedAt === undefined) break;
        expect(++retries).toBeLessThan(10);
        batch = { Records: batch.Records.slice(batch.Records.findIndex((r) => r.kinesis.sequenceNumber === failedAt)) };
      }
    }
    expect(retries).toBeGreaterThan(0);
    restore();
    expect(failures).toBe(times);
  }

  it('retries a pump whose checkpoint write failed and still leaves the same warnings', async () => {
    await setup();
    const expected = await baseline();
    await restart();
    await deliverWithFaults((cmd) => cmd instanceof PutItemCommand && cmd.input.Item?.sk?.S === 'D#detectors', 3);
    expect(await warnings()).toEqual(expected.warnings);
    expect(await notified()).toEqual(expected.notified);
  });

  it('retries a whole batch that failed after the detectors ran (alarm states unreadable) and still leaves the same warnings', async () => {
    await setup();
    const expected = await baseline();
    await restart();
    // The first two reads of a warning's alarm state fail: the detectors have already seen the batch when the step throws.
    const isWarningStateRead = (cmd: unknown) => cmd instanceof BatchGetItemCommand && JSON.stringify(cmd.input.RequestItems).includes('"S#psi-');
    await deliverWithFaults(isWarningStateRead, 2);
    expect(await warnings()).toEqual(expected.warnings);
    expect(await notified()).toEqual(expected.notified);
  });

  it('never lets an older checkpoint overwrite a newer one', async () => {
    await setup();
    const store = createDetectorStore(db.client, db.cfg);
    const cp = (lastTs: number) => ({ v: 1 as const, lastTs, series: {} });
    expect(await store.putCheckpoint('ALPHA', cp(2000))).toBe(true);
    expect(await store.putCheckpoint('ALPHA', cp(1000))).toBe(false);
    expect(await store.putCheckpoint('ALPHA', cp(2000))).toBe(false);
    const item = await db.client.send(new GetItemCommand({ TableName: db.cfg.alarms.table, Key: checkpointKey('ALPHA'), ConsistentRead: true }));
    expect(item.Item?.lt?.N).toBe('2000');
    expect((await store.getCheckpoints(['ALPHA', 'NOBODY'])).get('ALPHA')?.lastTs).toBe(2000);
  });
});
