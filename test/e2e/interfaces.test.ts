/**
 * The README's "Interfaces" section, tried as a third-party client would: only what the section says, with plain
 * AWS SDK clients (any credentials, any region) and the AWS reference KPL aggregation library, against local mode.
 *
 * Each statement of the section has an assertion here: what a record may carry (CSV text with a BOM, a header,
 * CRLF and blank lines; KPL aggregates of such text; any partition keys), the timestamp format of `ask`/`psk`, the
 * indexes projecting every attribute, `statsByDate` keyed by `dpk = <date>#<bucket>`, `local.json` naming
 * the endpoints, `status --format json` telling a script when everything is processed, and `plan --json` sizing a
 * fleet without credentials or network.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { bufferedIO } from '../../cli/io';
import { rollupCommand } from '../../cli/rollup';
import { statusCommand } from '../../cli/status';
import { startLocal, type LocalRuntime } from '../../local';

/** The parts of aws-kinesis-agg (the AWS reference implementation of the KPL aggregation format) used here. */
interface AwsKinesisAgg {
  aggregate(
    records: { partitionKey: string; data: Buffer }[],
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: (err?: Error) => void) => void,
    afterAll: () => void,
    onError: (err: Error) => void,
  ): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg: AwsKinesisAgg = require('aws-kinesis-agg');

function aggregate(users: { partitionKey: string; data: Buffer }[]): Promise<{ partitionKey: string; data: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const out: { partitionKey: string; data: Buffer }[] = [];
    agg.aggregate(
      users,
      (encoded, done) => {
        out.push({ partitionKey: encoded.partitionKey, data: Buffer.from(encoded.data) });
        done();
      },
      () => resolve(out),
      reject,
    );
  });
}

/** Waits the way the README tells a script to: `wellwatch status --local --format json` until idle with no backlog. */
async function waitUntilProcessed(dataDir: string): Promise<Record<string, unknown>> {
  let idleInARow = 0;
  for (let i = 0; i < 600; i++) {
    const io = bufferedIO();
    expect(await statusCommand(['--local', '--data-dir', dataDir, '--format', 'json'], io)).toBe(0);
    const status = JSON.parse(io.outLines.join('\n')) as Record<string, unknown>;
    if (status.idle === true && status.totalBacklog === 0) {
      if (++idleInARow === 2) return status;
    } else {
      idleInARow = 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('local mode did not become idle');
}

describe('a third-party client wired in from the README alone', () => {
  let dir: string;
  let runtime: LocalRuntime;
  let kinesis: KinesisClient;
  let dynamo: DynamoDBClient;
  let status: Record<string, unknown>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-interfaces-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, schedule: false, log: () => undefined });
    // Everything below comes from local.json, as a script would read it.
    const info = JSON.parse(fs.readFileSync(path.join(dir, 'local.json'), 'utf8')) as Record<string, string>;
    const credentials = { accessKeyId: 'third', secretAccessKey: 'party' };
    kinesis = new KinesisClient({ endpoint: info.kinesisEndpoint, region: 'sa-east-1', credentials, requestHandler: new NodeHttpHandler() });
    dynamo = new DynamoDBClient({ endpoint: info.dynamodbEndpoint, region: 'eu-central-2', credentials });

    // Plain text: a BOM, a header, CRLF line ends, a blank line; the partition key is anything.
    const plain = '\uFEFFpump,date,time,hz,disp,flo,sedPPM,psi,chlPPM\r\nTHIRD,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94\r\n\r\nTHIRD,3/10/14,1:02,0,0,0,1.51,2,1.9\r\n';
    // KPL aggregates made by the reference library: user records of several lines, partition keys that are not pumps.
    const aggregated = await aggregate([
      { partitionKey: 'user-key-1', data: Buffer.from('PARTY,3/10/14,2:00,9.5,1.2,700,1.1,60,1.2\nPARTY,3/10/14,2:01,9.5,1.2,700,1.1,4,1.2') },
      { partitionKey: 'user-key-2', data: Buffer.from('PARTY,2014-03-10,02:02:30,9.5,1.2,700,1.1,61,1.2\n') },
    ]);
    const out = await kinesis.send(
      new PutRecordsCommand({
        StreamName: 'wellwatch-readings',
        Records: [{ PartitionKey: 'not-a-pump', Data: Buffer.from(plain) }, ...aggregated.map((r) => ({ PartitionKey: r.partitionKey, Data: r.data }))],
      }),
    );
    expect(out.FailedRecordCount).toBe(0);
    status = await waitUntilProcessed(dir);
    const io = bufferedIO();
    expect(await rollupCommand(['--date', '2014-03-10', '--local', '--data-dir', dir], io)).toBe(0);
  }, 120_000);

  afterAll(async () => {
    kinesis?.destroy();
    dynamo?.destroy();
    await runtime?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('status --format json reports idle, the total backlog and per-shard checkpoints', () => {
    expect(status).toMatchObject({ mode: 'local', stream: 'wellwatch-readings', idle: true, totalBacklog: 0 });
    expect(status.shards).toEqual(expect.arrayContaining([expect.objectContaining({ shardId: expect.any(String), backlog: 0 })]));
  });

  it('stores every reading of plain and aggregated records, by pump, day and time, and no dead letters', async () => {
    const keys = [
      ['THIRD#2014-03-10', '01:01:00', '2014-03-10T01:01:00Z'],
      ['THIRD#2014-03-10', '01:02:00', '2014-03-10T01:02:00Z'],
      ['PARTY#2014-03-10', '02:00:00', '2014-03-10T02:00:00Z'],
      ['PARTY#2014-03-10', '02:01:00', '2014-03-10T02:01:00Z'],
      ['PARTY#2014-03-10', '02:02:30', '2014-03-10T02:02:30Z'],
    ];
    for (const [pk, sk, ts] of keys) {
      const item = (await dynamo.send(new GetItemCommand({ TableName: 'wellwatch-readings', Key: { pk: { S: pk! }, sk: { S: sk! } } }))).Item;
      expect(item?.ts).toEqual({ S: ts });
    }
    expect(fs.existsSync(path.join(dir, 'dead-letters.jsonl')) ? fs.readFileSync(path.join(dir, 'dead-letters.jsonl'), 'utf8') : '').toBe('');
  });

  it('indexes alerts by day and bucket with apk = <day>#<bucket>, ask = <ts>#<pump>, and by pump with psk = <ts>, projecting every attribute', async () => {
    // A day's alerts are spread over 32 keys, `<day>#<FNV-1a(pump) mod 32>`, computed here as the README states it.
    const fnv1a = (id: string) => [...Buffer.from(id, 'ascii')].reduce((h, byte) => Math.imul(h ^ byte, 0x01000193) >>> 0, 0x811c9dc5);
    expect([fnv1a('THIRD') % 32, fnv1a('PARTY') % 32, fnv1a('COHUTTA') % 32]).toEqual([30, 23, 3]);
    const byDay = async (bucket: number) =>
      dynamo.send(
        new QueryCommand({
          TableName: 'wellwatch-readings',
          IndexName: 'alertsByDay',
          KeyConditionExpression: 'apk = :day AND ask BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':day': { S: `2014-03-10#${bucket}` }, ':from': { S: '2014-03-10T00:00:00Z' }, ':to': { S: '2014-03-10T23:59:59Z#\uffff' } },
        }),
      );
    const [third, party, other] = await Promise.all([byDay(30), byDay(23), byDay(0)]);
    expect([...third.Items!, ...party.Items!, ...other.Items!].map((i) => i.ask!.S)).toEqual(['2014-03-10T01:02:00Z#THIRD', '2014-03-10T02:01:00Z#PARTY']);
    // ALL projection: the measures and the alert group come with the index entry, no second read needed.
    expect(third.Items![0]).toMatchObject({ pump: { S: 'THIRD' }, d: { M: expect.objectContaining({ psi: { N: '2' } }) }, a: { M: { rules: { L: [{ S: 'low-psi' }] } } } });
    const byPump = await dynamo.send(
      new QueryCommand({
        TableName: 'wellwatch-readings',
        IndexName: 'alertsByPump',
        KeyConditionExpression: 'ppk = :pump AND psk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pump': { S: 'PARTY' }, ':from': { S: '2014-03-10T02:01:00Z' }, ':to': { S: '2014-03-10T02:01:00Z' } },
      }),
    );
    expect(byPump.Items!.map((i) => [i.psk!.S, i.d!.M!.psi])).toEqual([['2014-03-10T02:01:00Z', { N: '4' }]]);
  });

  it('serves stats by date through statsByDate, keyed dpk = <date>#<bucket> like the alerts', async () => {
    const byDate = async (bucket: number) =>
      dynamo.send(
        new QueryCommand({ TableName: 'wellwatch-stats', IndexName: 'statsByDate', KeyConditionExpression: 'dpk = :d', ExpressionAttributeValues: { ':d': { S: `2014-03-10#${bucket}` } } }),
      );
    const [party, third] = await Promise.all([byDate(23), byDate(30)]);
    expect([...party.Items!, ...third.Items!].map((i) => [i.pump!.S, i.date!.S, i.count!.N, i.psi_min!.N])).toEqual([
      ['PARTY', '2014-03-10', '3', '4'],
      ['THIRD', '2014-03-10', '2', '2'],
    ]);
  });
});

describe('sizing a fleet from a script (README "Sizing a fleet from a script")', () => {
  const { execFileSync, spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const cli = path.resolve(__dirname, '../../bin/wellwatch.js');
  // No endpoints, no credentials, no local mode: the command must not need them.
  const env = { PATH: process.env.PATH ?? '', HOME: os.tmpdir() };

  it('prints one JSON object with the fields the README names, and exits 0', () => {
    const plan = JSON.parse(execFileSync(process.execPath, [cli, 'plan', '--pumps', '1000000', '--interval', '60s', '--json'], { env, encoding: 'utf8' }));
    expect(plan.shards.needed).toBe(Math.max(plan.shards.byBytes, plan.shards.byRecords, plan.shards.byConsumer));
    expect(plan.shards.parallelizationFactor.effective).toBe(1);
    expect(plan.lambda.consumerConcurrency).toBe(plan.shards.needed);
    const readings = plan.dynamodb.tables.find((t: { table: string; index?: string }) => t.table === 'readings' && t.index === undefined);
    expect(Object.keys(readings).sort()).toEqual(['peakReadUnitsPerSecond', 'peakWriteUnitsPerSecond', 'peakWriteWhen', 'readUnitsPerSecond', 'storageGb', 'table', 'warmThroughput', 'writeUnitsPerSecond']);
    expect(readings.warmThroughput.writeUnitsPerSecond).toBeGreaterThan(4_000);
    expect(new Set(plan.dynamodb.tables.map((t: { table: string }) => t.table))).toEqual(new Set(['readings', 'stats', 'catalog', 'alarms']));
    for (const k of plan.dynamodb.keys) expect(k.utilisation).toBeCloseTo(k.unitsPerSecond / k.limit, 9);
    expect(plan.monthly.totalUsd).toBeCloseTo(plan.monthly.lines.reduce((n: number, l: { usd: number }) => n + l.usd, 0), 6);
  });

  it.each([['--pumps', '0'], ['--pumps', '10', '--interval', '2x'], ['--pumps', '10', '--alert-share', '2']])('refuses %s %s … with one line and exit code 2', (...args) => {
    const r = spawnSync(process.execPath, [cli, 'plan', ...args], { env, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
