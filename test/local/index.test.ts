/**
 * Local mode end to end with the real consumer handler: kinesalite → runner → consumer → dynalite, the HTTP API,
 * the discovery file, and a restart on LevelDB that neither loses nor re-processes anything.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { dynamoClient, kinesisClient } from '../../lambdas/store/clients';
import { readLocalInfo, startLocal, type LocalRuntime } from '../../local';

// Per-test and hook limit: a restart of local mode took 11 s at load 19 on 2 cores.
jest.setTimeout(60_000);

const LINES = {
  ok: 'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94',
  alerting: 'COHUTTA,3/10/14,1:02,0,0,0,1.51,2,1.9',
  other: 'ELLIJAY,3/10/14,1:01,9.5,1.2,700,1.1,60,1.2',
  bad: 'COHUTTA,2/30/14,1:01,10.27,1.73,881,1.56,85,1.94',
};

async function putLines(runtime: LocalRuntime, lines: readonly string[]): Promise<void> {
  const client = kinesisClient(runtime.config);
  try {
    const out = await client.send(
      new PutRecordsCommand({
        StreamName: runtime.config.streamName,
        Records: lines.map((line) => ({ PartitionKey: line.split(',')[0], Data: Buffer.from(line) })),
      }),
    );
    expect(out.FailedRecordCount ?? 0).toBe(0);
  } finally {
    client.destroy();
  }
}

async function api(runtime: LocalRuntime, route: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(`${runtime.apiUrl}${route}`, init);
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
}

/** GET with an arbitrary Host header (fetch does not allow setting it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

describe('startLocal (in memory, real consumer)', () => {
  let dir: string;
  let runtime: LocalRuntime;
  const consoleCalls: unknown[][] = [];
  const spies: jest.SpyInstance[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-local-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, log: () => undefined, eventSource: { maxBatchingWindowSeconds: 0 } });
    for (const method of ['log', 'error', 'warn', 'info'] as const) {
      spies.push(jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleCalls.push(args)));
    }
    await putLines(runtime, [LINES.ok, LINES.alerting, LINES.other, LINES.bad]);
    await runtime.waitForIdle({ timeoutMs: 60_000 });
  });

  afterAll(async () => {
    for (const s of spies) s.mockRestore();
    await runtime?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the emulators in their own worker thread by default', () => {
    expect(runtime.emulatorThread).toBe('worker');
  });

  it('stores the readings the consumer wrote, as Query on the readings table shows', async () => {
    const ddb = dynamoClient(runtime.config);
    try {
      const out = await ddb.send(
        new QueryCommand({
          TableName: runtime.config.readingsTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'COHUTTA#2014-03-10' } },
        }),
      );
      const items = out.Items ?? [];
      expect(items.map((i) => i.sk.S)).toEqual(['01:01:00', '01:02:00']);
      expect(items[0]).toMatchObject({ pump: { S: 'COHUTTA' }, ts: { S: '2014-03-10T01:01:00Z' } });
      expect(items[0].d.M).toMatchObject({ hz: { N: '10.27' }, psi: { N: '85' }, chlPPM: { N: '1.94' } });
      expect(items[0].a).toBeUndefined();
      expect(items[1].a.M!.rules.L).toEqual([{ S: 'low-psi' }]);
      expect(items[1]).toMatchObject({ apk: { S: '2014-03-10#3' } /* COHUTTA's bucket of 32 */, ppk: { S: 'COHUTTA' }, psk: { S: '2014-03-10T01:02:00Z' } });
    } finally {
      ddb.destroy();
    }
  });

  it('sends bad lines to the dead-letter file and metrics to metrics.jsonl, not to the console', () => {
    const letters = fs
      .readFileSync(fileURLToPath(runtime.config.deadLetterUrl!), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ raw: LINES.bad });
    const metrics = fs
      .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics[0]._aws.CloudWatchMetrics[0].Namespace).toBe('Wellwatch');
    expect(metrics.reduce((n, m) => n + (m.BatchRecords ?? 0), 0)).toBe(4);
    expect(consoleCalls).toEqual([]);
  });

  it('publishes local.json for CLI commands and refuses a second instance on the data dir', async () => {
    const info = readLocalInfo(dir);
    expect(info).toMatchObject({
      pid: process.pid,
      kinesisEndpoint: runtime.endpoints.kinesis,
      dynamodbEndpoint: runtime.endpoints.dynamodb,
      apiUrl: runtime.apiUrl,
      deadLetterUrl: runtime.config.deadLetterUrl,
      dataDir: dir,
    });
    expect(info.kinesisEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.deadLetterUrl).toBe(`file://${path.join(dir, 'dead-letters.jsonl')}`);
    await expect(startLocal({ dataDir: dir, port: 0, memory: true, log: () => undefined })).rejects.toThrow(/already running/);
    expect(readLocalInfo(dir).apiUrl).toBe(runtime.apiUrl); // the refused start did not disturb the running one
  });

  it('refuses write retry settings out of range with the setting named, leaving nothing running on its data dir', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-local-bad-'));
    try {
      await expect(startLocal({ dataDir: other, port: 0, memory: true, log: () => undefined, writeRetry: { maxAttempts: 0 } })).rejects.toThrow(
        'writeMaxAttempts must be an integer 1–20, got 0',
      );
      expect(() => readLocalInfo(other)).toThrow(/no local mode running in/);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('reports shards, checkpoints, backlog and counters on /api/status', async () => {
    const { status, body } = await api(runtime, '/api/status');
    expect(status).toBe(200);
    expect(body.idle).toBe(true);
    expect(body.shards).toHaveLength(2);
    for (const s of body.shards) expect(s.backlog).toBe(0);
    expect(body.shards.some((s: { checkpoint: string | null }) => typeof s.checkpoint === 'string')).toBe(true);
    expect(body.counters).toMatchObject({ records: 4, failures: 0, failedBatches: 0 });
    expect(body.schedule.next.map((n: { rule: string }) => n.rule)).toEqual(['daily', 'pending']);
  });

  it('serves the query API on the data the consumer wrote, and validates parameters', async () => {
    const readings = await api(runtime, '/pumps/COHUTTA/readings?resolution=raw&from=2014-03-10&to=2014-03-10');
    expect(readings.status).toBe(200);
    expect(readings.body.items.map((r: { ts: string }) => r.ts)).toEqual(['2014-03-10T01:01:00Z', '2014-03-10T01:02:00Z']);
    const alerts = await api(runtime, '/alerts?from=2014-03-10');
    expect(alerts.body.items.map((a: { pump: string; alerts: string[] }) => [a.pump, a.alerts])).toEqual([['COHUTTA', ['low-psi']]]);
    const pumps = await api(runtime, '/pumps');
    expect(pumps.body.items.map((p: { pump: string; lastReading: { ts: string } }) => [p.pump, p.lastReading.ts])).toEqual([
      ['COHUTTA', '2014-03-10T01:02:00Z'],
      ['ELLIJAY', '2014-03-10T01:01:00Z'],
    ]);
    const dead = await api(runtime, '/api/deadletters');
    expect(dead.body.map((d: { raw: string }) => d.raw)).toEqual([LINES.bad]);

    expect(await api(runtime, '/pumps/bad%20pump/readings')).toMatchObject({ status: 400, body: { parameter: 'pump' } });
    expect(await api(runtime, '/pumps/COHUTTA/readings?from=yesterday')).toMatchObject({ status: 400, body: { parameter: 'from' } });
    expect(await api(runtime, '/stats?pumps=COHUTTA')).toMatchObject({ status: 400, body: { code: 'unknown-parameter' } });
    expect(await api(runtime, '/api/deadletters?limit=0')).toMatchObject({ status: 400, body: { code: 'bad-limit' } });
    expect(await api(runtime, '/api/nothing')).toMatchObject({ status: 404, body: { code: 'not-found' } });
    expect(await api(runtime, '/api/status', { method: 'POST' })).toMatchObject({ status: 405 });
  });

  it('runs the rollup on POST /api/rollup and serves the stats it wrote', async () => {
    const post = (body: string, type = 'application/json') => api(runtime, '/api/rollup', { method: 'POST', headers: { 'content-type': type }, body });
    const result = await post(JSON.stringify({ date: '2014-03-10' }));
    expect(result).toMatchObject({ status: 200, body: { days: ['2014-03-10'], pumpDays: 2, readings: 3, statsWritten: 2 } });
    const stats = await api(runtime, '/stats?pump=COHUTTA');
    expect(stats.body.items).toHaveLength(1);
    expect(stats.body.items[0]).toMatchObject({ pump: 'COHUTTA', date: '2014-03-10', count: 2, measures: { psi: { min: 2, max: 85, avg: 43.5 } } });

    expect(await post('{"date":"2014-02-30"}')).toMatchObject({ status: 400 });
    expect(await post('not json')).toMatchObject({ status: 400, body: { code: 'bad-json' } });
    expect(await post('[1]')).toMatchObject({ status: 400, body: { code: 'bad-event' } });
    expect(await post('{"date":"2014-03-10"}', 'text/plain')).toMatchObject({ status: 415 });

    const all = await api(runtime, '/stats?from=2014-03-10&to=2014-03-10');
    expect(all.body.items.map((s: { pump: string; count: number }) => [s.pump, s.count])).toEqual([
      ['COHUTTA', 2],
      ['ELLIJAY', 1],
    ]);
    expect((await api(runtime, '/api/status')).body.deadLetters).toBe(1);
  });

  it('serves a self-contained dashboard and only to loopback host names', async () => {
    const page = await api(runtime, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>wellwatch');
    expect(page.body).toContain('/assets/dashboard.js');
    expect(page.body).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    const script = await api(runtime, '/assets/dashboard.js');
    expect(script.status).toBe(200);
    expect(script.body).toContain('/api/status'); // bundled from the repo, uPlot included
    expect(script.body).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing fetched from elsewhere
    const port = new URL(runtime.apiUrl).port;
    expect(await getWithHost(`${runtime.apiUrl}/pumps`, `localhost:${port}`)).toBe(200);
    expect(await getWithHost(`${runtime.apiUrl}/pumps`, `evil.example:${port}`)).toBe(403);
  });
});

describe('startLocal (LevelDB on disk)', () => {
  it('keeps data and checkpoints across a restart and removes local.json on stop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-local-disk-'));
    const options = { dataDir: dir, port: 0, shards: 1, log: () => undefined, eventSource: { maxBatchingWindowSeconds: 0 } };
    try {
      const first = await startLocal(options);
      await putLines(first, [LINES.ok, LINES.other]);
      await first.waitForIdle({ timeoutMs: 60_000 });
      expect(first.runner.counters.records).toBe(2);
      await first.stop();
      expect(fs.existsSync(path.join(dir, 'local.json'))).toBe(false);
      expect(() => readLocalInfo(dir)).toThrow(/no local mode running in/);
      expect(fs.readdirSync(dir).sort()).toEqual(expect.arrayContaining(['checkpoints.json', 'dynamodb', 'kinesis']));

      const second = await startLocal(options);
      try {
        await putLines(second, [LINES.alerting]);
        await second.waitForIdle({ timeoutMs: 60_000 });
        // Only the new record: the two from before the restart were checkpointed.
        expect(second.runner.counters.records).toBe(1);
        const readings = await api(second, '/pumps/COHUTTA/readings?resolution=raw&from=2014-03-10&to=2014-03-10');
        expect(readings.body.items.map((r: { ts: string }) => r.ts.slice(11))).toEqual(['01:01:00Z', '01:02:00Z']);
      } finally {
        await second.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
