/**
 * `wellwatch status`: local mode's per-shard checkpoint and backlog (from its HTTP API), and in AWS mode the stream's
 * shards read through the Kinesis API of a real kinesalite, plus the consumer's lag and queue depths (CloudWatch and
 * SQS have no emulator here: without injected clients they are skipped, never asked in AWS; with fakes they print).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ENV } from '../../lambdas/config';
import { bufferedIO } from '../../cli/io';
import { fetchLocalStatus, statusCommand, totalBacklog, waitForLocalIdle } from '../../cli/status';
import type { Sender } from '../../cli/consumer-health';
import { writeLocalInfo } from '../../local/discovery';
import { createStream, startKinesalite, type KinesaliteHandle } from '../helpers/kinesalite';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require(path.join(__dirname, '../../bin/wellwatch.ts')) as typeof import('../../bin/wellwatch');

const STATUS = {
  shards: [
    { shardId: 'shardId-000000000000', checkpoint: '49590338271490256608559692538361571095921575989136588898', backlog: 12 },
    { shardId: 'shardId-000000000001', checkpoint: null, backlog: 3 },
  ],
  idle: false,
  counters: { readings: 1500, deadLetters: 2, batches: 17 },
};

async function serve(body: (n: number) => { status: number; text: string }): Promise<{ url: string; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    const r = req.url === '/api/status' ? body(n++) : { status: 404, text: 'not found' };
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function localDir(apiUrl: string, kinesisEndpoint = 'http://127.0.0.1:1'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-status-'));
  writeLocalInfo(dir, {
    pid: process.pid,
    kinesisEndpoint,
    dynamodbEndpoint: 'http://127.0.0.1:1',
    apiUrl,
    deadLetterUrl: `file://${dir}/dl.jsonl`,
    dataDir: dir,
    startedAt: new Date().toISOString(),
  });
  return dir;
}

describe('wellwatch status --local', () => {
  let api: Awaited<ReturnType<typeof serve>>;
  let dir: string;

  beforeAll(async () => {
    api = await serve(() => ({ status: 200, text: JSON.stringify(STATUS) }));
    dir = localDir(api.url);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('prints each shard with its backlog and checkpoint, and the totals', async () => {
    const io = bufferedIO();
    expect(await statusCommand(['--local', '--data-dir', dir], io)).toBe(0);
    expect(io.outLines).toEqual([
      `stream wellwatch-readings (local mode, ${api.url})`,
      'shard                   backlog    checkpoint',
      'shardId-000000000000    12         49590338271490256608559692538361571095921575989136588898',
      'shardId-000000000001    3          (nothing processed yet)',
      'total backlog 15 records; consumer busy',
      'counters: readings=1,500, deadLetters=2, batches=17',
    ]);
  });

  it('prints JSON with --format json', async () => {
    const io = bufferedIO();
    expect(await statusCommand(['--local', '--data-dir', dir, '--format', 'json'], io)).toBe(0);
    expect(JSON.parse(io.outLines.join('\n'))).toEqual({ mode: 'local', stream: 'wellwatch-readings', totalBacklog: 15, ...STATUS });
  });

  it('says clearly when local mode does not answer', async () => {
    // A port that was just free: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const d = localDir(`http://127.0.0.1:${port}`);
    const io = bufferedIO();
    expect(await main(['status', '--local', '--data-dir', d], io)).toBe(1);
    expect(io.errLines).toEqual([`wellwatch status: cannot reach local mode at http://127.0.0.1:${port}/api/status (ECONNREFUSED); is \`wellwatch local\` running?`]);
  });

  it('rejects an answer that is not a status', async () => {
    const bad = await serve(() => ({ status: 200, text: '{"hello":1}' }));
    try {
      await expect(fetchLocalStatus(bad.url)).rejects.toThrow(/unexpected answer from .*\/api\/status/);
    } finally {
      await bad.close();
    }
  });

  it('waits until two idle answers with zero backlog in a row', async () => {
    const script = [STATUS, { ...STATUS, idle: true }, { shards: [{ shardId: 's', backlog: 0 }], idle: true }, STATUS, { shards: [], idle: true }, { shards: [], idle: true }];
    let polls = 0;
    const seq = await serve((n) => {
      polls = n + 1;
      return { status: 200, text: JSON.stringify(script[Math.min(n, script.length - 1)]) };
    });
    try {
      await waitForLocalIdle(seq.url, { timeoutMs: 30_000, intervalMs: 1 });
      expect(polls).toBe(6);
    } finally {
      await seq.close();
    }
  });

  it('sums backlogs', () => {
    expect(totalBacklog(STATUS)).toBe(15);
  });

  it('rejects an unknown --format with exit code 2', async () => {
    const io = bufferedIO();
    expect(await main(['status', '--local', '--data-dir', dir, '--format', 'xml'], io)).toBe(2);
    expect(io.errLines).toEqual(['wellwatch status: --format must be text or json, got "xml"']);
  });
});

describe('wellwatch status (AWS mode, Kinesis API of kinesalite)', () => {
  let k: KinesaliteHandle;
  const saved = process.env[ENV.kinesisEndpoint];

  beforeAll(async () => {
    k = await startKinesalite({ shards: 3, streamName: 'status-test' });
    process.env[ENV.kinesisEndpoint] = k.endpoint;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env[ENV.kinesisEndpoint];
    else process.env[ENV.kinesisEndpoint] = saved;
    await k?.close();
  });

  it('lists the shards and their state; with emulator endpoints it does not ask CloudWatch or SQS', async () => {
    const io = bufferedIO();
    expect(await statusCommand(['--stream', 'status-test'], io)).toBe(0);
    expect(io.outLines[0]).toBe('stream status-test in us-east-1: ACTIVE, 3 open shards, retention 24 h');
    expect(io.outLines.slice(2, 5).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['shardId-000000000000', 'open'],
      ['shardId-000000000001', 'open'],
      ['shardId-000000000002', 'open'],
    ]);
    expect(io.outLines.slice(5)).toEqual([
      'consumer lag: unavailable (not asked: the other services have endpoint overrides (emulators) and CloudWatch has none)',
      'bad lines: unavailable for wellwatch-dead-letters (not asked: the other services have endpoint overrides (emulators) and SQS has none)',
      'failed batches: unavailable for wellwatch-failed-batches (not asked: the other services have endpoint overrides (emulators) and SQS has none)',
      expect.stringMatching(/^backlog in records: not visible through the Kinesis API; the consumer lag \(the stream's iterator age/),
    ]);
  });

  it('adds the consumer lag and queue depths from CloudWatch and SQS', async () => {
    const asked: string[] = [];
    const cloudWatch: Sender = {
      send: async (c) => {
        asked.push(c.constructor.name);
        return { MetricDataResults: [{ Id: 'age', Timestamps: [new Date('2026-11-24T10:04:00Z'), new Date('2026-11-24T10:05:00Z')], Values: [900, 2500] }] };
      },
    };
    const sqs: Sender = {
      send: async (c) => {
        asked.push(c.constructor.name);
        const input = (c as { input: { QueueName?: string; QueueUrl?: string } }).input;
        if (input.QueueName) return { QueueUrl: `https://sqs.example/${input.QueueName}` };
        return input.QueueUrl!.endsWith('dead-letters')
          ? { Attributes: { ApproximateNumberOfMessages: '1234', ApproximateNumberOfMessagesNotVisible: '2' } }
          : { Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } };
      },
    };
    const io = bufferedIO();
    expect(await statusCommand(['--stream', 'status-test'], io, { cloudWatch, sqs })).toBe(0);
    expect(io.outLines.slice(5, 8)).toEqual([
      'consumer lag: 2.5s (iterator age, max of the minute from 2026-11-24T10:05:00.000Z)',
      'bad lines: 1,234 waiting in wellwatch-dead-letters, 2 being received',
      'failed batches: 0 waiting in wellwatch-failed-batches',
    ]);
    expect(asked.sort()).toEqual(['GetMetricDataCommand', 'GetQueueAttributesCommand', 'GetQueueAttributesCommand', 'GetQueueUrlCommand', 'GetQueueUrlCommand']);
  });

  it('prints JSON with backlog null and the note', async () => {
    await createStream(k.client, 'status-json', 2);
    const io = bufferedIO();
    expect(await statusCommand(['--stream', 'status-json', '--format', 'json'], io)).toBe(0);
    const s = JSON.parse(io.outLines.join('\n'));
    expect(s).toMatchObject({ mode: 'aws', stream: 'status-json', status: 'ACTIVE', openShards: 2, backlog: null });
    expect(s.consumerLag).toEqual({ unavailable: expect.stringMatching(/^not asked/) });
    expect(s.queues.map((q: { queue: string }) => q.queue)).toEqual(['wellwatch-dead-letters', 'wellwatch-failed-batches']);
    expect(s.shards.map((x: { shardId: string; state: string }) => [x.shardId, x.state])).toEqual([
      ['shardId-000000000000', 'open'],
      ['shardId-000000000001', 'open'],
    ]);
    expect(s.note).toMatch(/iterator age/);
  });

  it('finds the stream and queues of a named deployment with --deployment', async () => {
    await createStream(k.client, 'wellwatch-staging-readings', 1);
    const queues: string[] = [];
    const sqs: Sender = {
      send: async (c) => {
        const input = (c as { input: { QueueName?: string; QueueUrl?: string } }).input;
        if (input.QueueName) {
          queues.push(input.QueueName);
          return { QueueUrl: `https://sqs.example/${input.QueueName}` };
        }
        return { Attributes: { ApproximateNumberOfMessages: '0' } };
      },
    };
    const cloudWatch: Sender = { send: async () => ({ MetricDataResults: [] }) };
    const io = bufferedIO();
    expect(await statusCommand(['--deployment', 'staging'], io, { cloudWatch, sqs })).toBe(0);
    expect(io.outLines[0]).toBe('stream wellwatch-staging-readings in us-east-1: ACTIVE, 1 open shard, retention 24 h');
    expect(queues.sort()).toEqual(['wellwatch-staging-dead-letters', 'wellwatch-staging-failed-batches']);
  });

  it('names a missing stream', async () => {
    const io = bufferedIO();
    expect(await main(['status', '--stream', 'nope'], io)).toBe(1);
    expect(io.errLines).toEqual([`wellwatch status: stream nope not found in us-east-1 at ${k.endpoint} (deploy with \`npx cdk deploy\` or pass --stream)`]);
  });
});
