/**
 * Replay and redrive through local mode, end to end: the real event-source runner and consumer, kinesalite and
 * dynalite, the CLI commands run in-process against the running local mode.
 *
 * The consumer's DynamoDB client goes through a fault proxy (startLocal's `handlerDynamo`), so a batch can be
 * exhausted by throttled writes and handed to the on-failure file, then replayed once the faults stop.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ROLLUP_FANOUT, loadConfig } from '../../lambdas/config';
import { generateReadings } from '../../lambdas/core/generator';
import { readingItem } from '../../lambdas/core/keys';
import { deadLetterId } from '../../lambdas/core/message-ids';
import { parseLine } from '../../lambdas/core/parse-reading';
import type { DeadLetter } from '../../lambdas/core/types';
import { dynamoClient, kinesisClient } from '../../lambdas/store/clients';
import { listAllShards } from '../../cli/stream-range';
import { appendJsonLines, readJsonLines, removeJsonLines } from '../../lambdas/store/jsonl-file';
import { startLocal, LOCAL_FILES, type LocalRuntime } from '../../local';
import type { FailedBatchRecord } from '../../local/event-source-runner';
import { bufferedIO } from '../../cli/io';
import { main } from '../../bin/wellwatch';
import { realmSafeErrors, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy';
import { canonicalJson, scanAll, snapshotAllTables } from '../helpers/table-snapshot';

jest.setTimeout(240_000);

let dir: string;
let local: LocalRuntime;
let proxy: FaultProxy;
let handlerDynamo: DynamoDBClient;
let ddb: DynamoDBClient;

const at = (...args: string[]) => [...args, '--local', '--data-dir', dir];

/** Runs a command the way the `wellwatch` binary does (errors become one line on stderr and an exit code). */
async function run(command: string, argv: string[]) {
  const io = bufferedIO();
  const code = await main([command, ...at(...argv)], io);
  return { code, out: io.outLines.join('\n'), err: io.errLines.join('\n') };
}

function writeCsv(name: string, lines: readonly string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

/** The readings-table item an independent parse of the line gives (no alerts: `d` is what we compare). */
function expectedItem(line: string): { key: string; d: string } {
  const p = parseLine(line);
  if (p.kind !== 'reading') throw new Error(`not a reading: ${line}`);
  const item = readingItem({ ...p.reading, alerts: [] });
  return { key: `${(item.pk as { S: string }).S}|${(item.sk as { S: string }).S}`, d: canonicalJson(item.d) };
}

async function storedReadings(): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  for (const item of await scanAll(ddb, local.config.readingsTable)) {
    const key = `${item.pk.S}|${item.sk.S}`;
    byKey.set(key, [...(byKey.get(key) ?? []), canonicalJson(item.d)]);
  }
  return byKey;
}

const failedBatchesFile = () => path.join(dir, LOCAL_FILES.failedBatches);
const deadLettersFile = () => fileURLToPath(local.config.deadLetterUrl!);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-replay-'));
  local = await startLocal({
    dataDir: dir,
    memory: true,
    port: 0,
    schedule: false,
    log: () => undefined,
    // Give up fast: one retry, no bisection (each half would need its own retries).
    eventSource: { retryAttempts: 1, bisectBatchOnError: false },
    // …and each invocation gives up on a throttled write after 2 attempts (the default 8, backing off from 50 ms,
    // spend about 6 s per chunk: most of this file's run time went there).
    writeRetry: { maxAttempts: 2, baseDelayMs: 10 },
    handlerDynamo: async (endpoint) => {
      proxy = await startFaultProxy({ target: endpoint, rate: 0, seed: 12, kinds: ['throughput'], operations: ['BatchWriteItem'] });
      handlerDynamo = dynamoClient(loadConfig({ region: 'us-east-1', endpoints: { dynamodb: proxy.endpoint } }), { maxAttempts: 1 });
      realmSafeErrors(handlerDynamo);
      return handlerDynamo;
    },
  });
  ddb = dynamoClient(local.config);
  expect(local.config).toMatchObject({ writeMaxAttempts: 2, writeBaseDelayMs: 10 });
});

afterAll(async () => {
  await local?.stop();
  handlerDynamo?.destroy();
  ddb?.destroy();
  await proxy?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('replay failed-batches (local mode)', () => {
  it('replays a batch exhausted by throttled writes once the throttling stops, storing every reading exactly once', async () => {
    const lines = [...generateReadings({ pumps: 3, days: 1, seed: 7, start: '2014-04-01' })].slice(0, 600);
    proxy.setRate(1);
    expect((await run('push', [writeCsv('outage.csv', lines), '--quiet'])).code).toBe(0);
    await local.waitForIdle({ timeoutMs: 180_000 });
    const given = await readJsonLines<FailedBatchRecord>(failedBatchesFile());
    expect(given.length).toBeGreaterThan(0);
    expect(given.every((r) => r.KinesisBatchInfo.batchSize > 0 && r.requestContext.condition === 'RetryAttemptsExhausted')).toBe(true);
    expect((await storedReadings()).size).toBe(0);

    // Still throttled: the replay fails, reports it, and keeps every on-failure record.
    const whileDown = await run('replay', ['failed-batches']);
    expect(whileDown.code).toBe(1);
    expect(whileDown.err).toMatch(/still failing/);
    expect(await readJsonLines(failedBatchesFile())).toHaveLength(given.length);

    proxy.setRate(0);
    const dry = await run('replay', ['failed-batches', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out.split('\n').filter((l) => l.startsWith('would replay'))).toHaveLength(given.length);
    expect(await readJsonLines(failedBatchesFile())).toHaveLength(given.length);

    const replay = await run('replay', ['failed-batches']);
    expect(replay.code).toBe(0);
    expect(replay.out).toContain(`${lines.length} readings stored`);
    expect(await readJsonLines(failedBatchesFile())).toEqual([]);

    const stored = await storedReadings();
    const expected = new Map(lines.map((l) => expectedItem(l)).map((e) => [e.key, e.d]));
    expect(stored.size).toBe(expected.size);
    for (const [key, d] of expected) expect(stored.get(key)).toEqual([d]);

    const again = await run('replay', ['failed-batches']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('0 records replayed');
  });
});

describe('replay failed-batches: records past retention and bad input', () => {
  it('reports a range past retention by range and count, keeps its on-failure record and exits 1', async () => {
    const kinesis = kinesisClient(local.config);
    try {
      const shard = (await listAllShards(kinesis, local.config.streamName))[0];
      const start = shard.SequenceNumberRange!.StartingSequenceNumber!;
      // A range below the shard's first record: nothing of it can be read any more, as after the trim.
      const end = (BigInt(start) + 1n).toString();
      const record = {
        version: '1.0',
        timestamp: new Date().toISOString(),
        requestContext: { requestId: 'r', functionArn: 'f', condition: 'RecordAgeExceeded', approximateInvokeCount: 1 },
        responseContext: { statusCode: 200, executedVersion: '$LATEST' },
        KinesisBatchInfo: {
          shardId: shard.ShardId!,
          startSequenceNumber: start,
          endSequenceNumber: end,
          approximateArrivalOfFirstRecord: new Date().toISOString(),
          approximateArrivalOfLastRecord: new Date().toISOString(),
          batchSize: 2,
          streamArn: 'arn',
        },
        reason: 'test',
      };
      await appendJsonLines(failedBatchesFile(), [record]);
      const replay = await run('replay', ['failed-batches']);
      expect(replay.code).toBe(1);
      expect(replay.err).toContain(`past retention: ${shard.ShardId} ${start}…${end} (2 records) can no longer be read`);
      expect(replay.out).toMatch(/0 of 1 range\(s\) fully processed .*; 1 kept; 2 records past retention/);
      expect(await readJsonLines(failedBatchesFile())).toEqual([record]);
      await removeJsonLines(failedBatchesFile(), () => true);
    } finally {
      kinesis.destroy();
    }
  });

  it('answers bad invoke and delete requests with a 4xx and one line', async () => {
    const post = (route: string, body: unknown, type = 'application/json') =>
      fetch(`${local.apiUrl}${route}`, { method: 'POST', headers: { 'content-type': type }, body: JSON.stringify(body) });
    const badShard = await post('/api/invoke', { shardId: 'nope', records: [] });
    expect(badShard.status).toBe(400);
    expect(((await badShard.json()) as { error: string }).error).toMatch(/shardId must look like shardId-000000000000/);
    expect((await post('/api/invoke', { shardId: 'shardId-000000000000', records: [{ sequenceNumber: 'x' }] })).status).toBe(400);
    expect((await post('/api/deadletters/delete', { ids: 'all' })).status).toBe(400);
    expect((await post('/api/failed-batches/delete', { ids: ['a'] }, 'text/plain')).status).toBe(415);
  });
});

describe('redrive deadletters (local mode)', () => {
  it('stores fixed lines, replaces a still-bad line by its new dead letter, and leaves unfixed letters alone', async () => {
    const bad = {
      date: 'REDRIVE1,2/30/14,1:01,10.27,1.73,881,1.56,85,1.94',
      time: 'REDRIVE2,3/10/14,25:01,10.27,1.73,881,1.56,85,1.94',
      count: 'REDRIVE3,3/10/14,1:01,10.27,1.73,881',
    };
    expect((await run('push', [writeCsv('bad.csv', Object.values(bad)), '--no-validate', '--quiet', '--wait'])).code).toBe(0);
    const letters = (await readJsonLines<DeadLetter>(deadLettersFile())).filter((l) => l.raw.startsWith('REDRIVE'));
    const letterOf = (raw: string) => letters.find((l) => l.raw === raw)!;
    expect(letters).toHaveLength(3);

    // A fix naming a letter that does not exist: one clear line, nothing sent or deleted.
    const wrong = writeCsv('wrong.jsonl', [JSON.stringify({ shardId: 'shardId-000000000000', sequenceNumber: '1', lineInRecord: 1, line: bad.date })]);
    const refused = await run('redrive', ['deadletters', '--fix', wrong]);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/names 1 dead letter\(s\) not in .*nothing was sent/);
    const unknownField = writeCsv('field.jsonl', [JSON.stringify({ ...letterOf(bad.date), line: bad.date, colour: 'red' })]);
    expect((await run('redrive', ['deadletters', '--fix', unknownField])).err).toMatch(/unknown field\(s\) colour/);

    const good = 'REDRIVE1,3/02/14,1:01,10.27,1.73,881,1.56,85,1.94';
    const stillBad = 'REDRIVE2,3/10/14,23:01,10.27,1.73,881,1.56,-85,1.94x';
    const fix = writeCsv('fix.jsonl', [
      JSON.stringify({ ...letterOf(bad.date), line: good }),
      JSON.stringify({ shardId: letterOf(bad.time).shardId, sequenceNumber: letterOf(bad.time).sequenceNumber, lineInRecord: letterOf(bad.time).lineInRecord, line: stillBad }),
    ]);
    const dry = await run('redrive', ['deadletters', '--fix', fix, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out.split('\n')).toHaveLength(2);
    expect((await readJsonLines<DeadLetter>(deadLettersFile())).filter((l) => l.raw.startsWith('REDRIVE'))).toHaveLength(3);

    const result = await run('redrive', ['deadletters', '--fix', fix]);
    expect(result.out).toMatch(/2 line\(s\) sent; 1 stored .*; 1 still bad/);
    expect(result.code).toBe(1); // one line is still bad

    const after = (await readJsonLines<DeadLetter>(deadLettersFile())).filter((l) => l.raw.startsWith('REDRIVE'));
    const ids = after.map(deadLetterId);
    expect(ids).not.toContain(deadLetterId(letterOf(bad.date)));
    expect(ids).not.toContain(deadLetterId(letterOf(bad.time)));
    expect(ids).toContain(deadLetterId(letterOf(bad.count)));
    expect(after.filter((l) => l.raw === stillBad)).toHaveLength(1);
    expect(after.find((l) => l.raw === stillBad)!.code).toBe('number');

    const stored = await storedReadings();
    const e = expectedItem(good);
    expect(stored.get(e.key)).toEqual([e.d]);
  });
});

describe('replay stream (local mode)', () => {
  it('leaves every table byte-identical and sends no new notification when a day is replayed twice', async () => {
    // Millisecond precision: the records the redrive test sent just before must stay out of this day's window.
    const started = new Date().toISOString();
    const lines = [...generateReadings({ pumps: 4, days: 1, seed: 99, start: '2014-05-01', badLineRate: 0.01 })];
    expect((await run('push', [writeCsv('day.csv', lines), '--no-validate', '--quiet', '--wait'])).code).toBe(0);
    expect((await run('rollup', ['--pending'])).code).toBe(0);
    const notifications = () => {
      const file = path.join(dir, 'notifications.jsonl');
      return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
    };
    const pumpDays = new Set(lines.map((l) => parseLine(l)).flatMap((p) => (p.kind === 'reading' ? [`${p.reading.pump}#${p.reading.day}`] : [])));
    // Detector checkpoints (`D#detectors` in the alarms table) are a cache of the detectors' state, written every
    // EARLY_WARNING.checkpointReadings accepted readings of a pump: a replay that cold-starts the detectors may move a
    // checkpoint forward (to the state a straight run reaches at a later reading), never back. Everything else must
    // be byte-identical — except the rollup's run records (`ROLLUP#…` in the catalog): each `rollup --pending` the
    // operator runs is recorded as a new generation of the pending run (which work items, which touches), so two
    // more runs leave two more records by design. The statistics they produce are compared like everything else.
    const isCheckpoint = (json: string) => json.includes('"D#detectors"');
    const isRunRecord = (json: string) => (JSON.parse(json) as { pk?: { S?: string } }).pk?.S?.startsWith(ROLLUP_FANOUT.runPrefix) === true;
    const split = (snap: Record<string, string[]>) => {
      const rest: Record<string, string[]> = {};
      const checkpoints = new Map<string, number>();
      for (const [table, items] of Object.entries(snap)) {
        rest[table] = items.filter((json) => !isCheckpoint(json) && !isRunRecord(json));
        for (const json of items.filter(isCheckpoint)) {
          const item = JSON.parse(json) as { pk: { S: string }; lt: { N: string } };
          checkpoints.set(`${table}|${item.pk.S}`, Number(item.lt.N));
        }
      }
      return { rest, checkpoints };
    };
    const before = split(await snapshotAllTables(ddb));
    const notified = notifications();
    expect(before.rest[local.config.readingsTable]!.length).toBeGreaterThan(3_000);

    for (let pass = 1; pass <= 2; pass++) {
      const replay = await run('replay', ['stream', '--from', started, '--rollup']);
      expect(replay.code).toBe(0);
      expect(replay.out).toContain(`marked ${pumpDays.size} pump-day(s) for the rollup`);
      expect((await run('rollup', ['--pending'])).out).toContain(`${pumpDays.size} pump-day(s)`);
      const after = split(await snapshotAllTables(ddb));
      expect(after.rest).toEqual(before.rest);
      expect([...after.checkpoints.keys()].sort()).toEqual([...before.checkpoints.keys()].sort());
      for (const [key, lt] of before.checkpoints) expect(after.checkpoints.get(key)!).toBeGreaterThanOrEqual(lt);
      expect(notifications()).toBe(notified);
    }
  });

  it('refuses a range beyond the stream\'s retention and an unknown shard with one line each', async () => {
    const old = await run('replay', ['stream', '--from', '2014-01-01']);
    expect(old.code).toBe(2);
    expect(old.err.split('\n')).toHaveLength(1);
    expect(old.err).toMatch(/beyond the stream's retention \(24 h\)/);
    const shard = await run('replay', ['stream', '--from', new Date().toISOString().slice(0, 10), '--shard', 'shardId-000000000042']);
    expect(shard.code).toBe(2);
    expect(shard.err).toMatch(/--shard shardId-000000000042 is not a shard of wellwatch-readings/);
  });
});
