/**
 * No hang on an internal error: anything that goes wrong inside the producer's detached send loop, its timers or
 * its shard-map refresh stops the run, `close()` rejects promptly with the error, and `wellwatch push` prints one
 * line saying it is a bug and exits 1 — instead of the error being lost in a detached promise while `close()` waits
 * forever for records nobody sends.
 *
 * Faults are injected at the PutRecords seam (in-process) and at the Kinesis client's `send` (in a real CLI child
 * process, through a `--require` preload), so the code under test is the shipped code.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PutRecordsCommandInput, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { InternalError } from '../../../lambdas/core/errors';
import { Producer, ProducerError, type ProducerOptions, type PutRecordsFn } from '../../../cli/producer';
import { uniformShardRanges } from '../../../cli/shard-map';

const REPO = path.resolve(__dirname, '../../..');
const LINE = (minute: number, pump = 'COHUTTA'): string => `${pump},3/10/14,${Math.floor(minute / 60)}:${String(minute % 60).padStart(2, '0')},10.27,1.73,881,1.56,85,1.94`;

/** Rejects when `promise` has not settled within `ms`: the difference between a failing test and a hung one. */
function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms (hung)`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

function producer(putRecords: PutRecordsFn, extra: Partial<ProducerOptions> = {}): Producer {
  return new Producer({ streamName: 's', putRecords, lingerMs: 5, maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, ...extra });
}

const ok = (input: PutRecordsCommandInput): PutRecordsCommandOutput =>
  ({ $metadata: {}, FailedRecordCount: 0, Records: input.Records!.map((_, i) => ({ SequenceNumber: String(i), ShardId: 'shardId-000000000000' })) }) as PutRecordsCommandOutput;

describe('the producer stops on an internal error instead of hanging', () => {
  it('rejects close() with an InternalError when the send loop meets an answer it cannot handle', async () => {
    // Entries that are not objects make the acknowledgement loop throw (a TypeError: a bug's typical shape).
    const p = producer(async (input) => ({ $metadata: {}, Records: input.Records!.map(() => null) }) as unknown as PutRecordsCommandOutput);
    for (let m = 0; m < 30; m++) await p.add(LINE(m, `P${m % 3}`), 'test', m + 1);
    const closed = settlesWithin(p.close(), 5_000);
    await expect(closed).rejects.toBeInstanceOf(InternalError);
    await expect(closed).rejects.toThrow(/^the producer failed unexpectedly: TypeError: Cannot read properties of null/);
    // Nothing was acknowledged, so every accepted reading counts as failed — none is reported as sent.
    expect(p.stats.sent).toBe(0);
    expect(p.stats.failed).toBe(30);
  });

  it('stops the run when a callback inside the send loop throws (onFailed)', async () => {
    const calls: number[] = [];
    const p = producer(
      async (input) => {
        calls.push(input.Records!.length);
        // A non-retryable entry error: the record is given up on at once and reported through onFailed.
        return { $metadata: {}, FailedRecordCount: 1, Records: input.Records!.map(() => ({ ErrorCode: 'KMSDisabledException', ErrorMessage: 'key disabled' })) } as PutRecordsCommandOutput;
      },
      {
        onFailed: () => {
          throw new RangeError('reporter broke');
        },
      },
    );
    await p.add(LINE(1), 'test', 1);
    const closed = settlesWithin(p.close(), 5_000);
    await expect(closed).rejects.toThrow('the producer failed unexpectedly: RangeError: reporter broke');
    await expect(closed).rejects.toBeInstanceOf(InternalError);
    expect(calls).toEqual([1]);
  });

  it('stops a run fed line by line too: add() throws the error once the run stopped', async () => {
    const p = producer(async (input) => ({ $metadata: {}, Records: input.Records!.map(() => null) }) as unknown as PutRecordsCommandOutput, { recordBytes: 256, format: 'lines' });
    let thrown: unknown;
    // Records of ~5 lines fill and go out while lines keep coming; the first answer stops the run.
    for (let m = 0; m < 10_000 && thrown === undefined; m++) {
      try {
        await p.add(LINE(m), 'test', m + 1);
      } catch (e) {
        thrown = e;
      }
      if (m % 50 === 49) await new Promise((r) => setImmediate(r));
    }
    expect(thrown).toBeInstanceOf(InternalError);
    await expect(settlesWithin(p.close(), 5_000)).rejects.toBe(thrown);
  });

  it('keeps sending with the old shard map when a refresh after a misrouted record returns no shards', async () => {
    let refreshes = 0;
    const p = producer(async (input) => ({ ...ok(input), Records: input.Records!.map(() => ({ SequenceNumber: '1', ShardId: 'shardId-000000000009' })) }), {
      shards: uniformShardRanges(2),
      refreshShards: async () => {
        refreshes++;
        return [];
      },
    });
    for (let m = 0; m < 20; m++) await p.add(LINE(m, `P${m}`), 'test', m + 1);
    const stats = await settlesWithin(p.close(), 5_000);
    expect(stats.sent).toBe(20);
    expect(stats.misroutedRecords).toBeGreaterThan(0);
    expect(refreshes).toBeGreaterThan(0);
    expect(stats.shardMapRefreshes).toBe(0);
  });

  it('still reports a Kinesis failure as a ProducerError, not as a bug', async () => {
    const p = producer(async () => {
      throw Object.assign(new Error('Stream s not found'), { name: 'ResourceNotFoundException' });
    });
    await p.add(LINE(1), 'test', 1);
    const closed = settlesWithin(p.close(), 5_000);
    await expect(closed).rejects.toBeInstanceOf(ProducerError);
    await expect(closed).rejects.toThrow('PutRecords to s failed: ResourceNotFoundException: Stream s not found');
  });
});

describe('wellwatch push (a real child process) exits 1 with one line on an internal error', () => {
  let tmp: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-internal-'));
    // local.json names this (live) process; the endpoints are never contacted: the preload answers every call.
    const url = 'http://127.0.0.1:9';
    fs.writeFileSync(
      path.join(tmp, 'local.json'),
      JSON.stringify({ pid: process.pid, kinesisEndpoint: url, dynamodbEndpoint: url, apiUrl: url, deadLetterUrl: `file://${tmp}/dl.jsonl`, dataDir: tmp, startedAt: new Date().toISOString() }),
    );
    fs.writeFileSync(path.join(tmp, 'in.csv'), Array.from({ length: 500 }, (_, m) => LINE(m, `P${m % 7}`)).join('\n') + '\n');
    // The fault: PutRecords answers with entries the producer cannot read.
    fs.writeFileSync(
      path.join(tmp, 'fault.js'),
      `const k = require(${JSON.stringify(require.resolve('@aws-sdk/client-kinesis', { paths: [REPO] }))});
k.KinesisClient.prototype.send = async function (command) {
  if (command instanceof k.DescribeStreamSummaryCommand) return { StreamDescriptionSummary: { StreamStatus: 'ACTIVE' } };
  if (command instanceof k.ListShardsCommand) return { Shards: [{ ShardId: 'shardId-000000000000', HashKeyRange: { StartingHashKey: '0', EndingHashKey: '340282366920938463463374607431768211455' }, SequenceNumberRange: { StartingSequenceNumber: '1' } }] };
  if (command instanceof k.PutRecordsCommand) return { FailedRecordCount: 0, Records: command.input.Records.map(() => null) };
  throw new Error('unexpected command ' + command.constructor.name);
};
`,
    );
  });

  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('prints that it is a bug, names the error, and exits 1 instead of hanging', async () => {
    const child = spawn(process.execPath, ['--require', path.join(tmp, 'fault.js'), path.join(REPO, 'bin/wellwatch.js'), 'push', path.join(tmp, 'in.csv'), '--local', '--data-dir', tmp, '--quiet'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let code: number | null;
    try {
      code = await settlesWithin(exited, 30_000);
    } finally {
      child.kill('SIGKILL');
    }
    const own = stderr.split('\n').filter((l) => l.startsWith('wellwatch push:'));
    expect(own).toEqual([expect.stringMatching(/^wellwatch push: internal error \(a bug in wellwatch, please report it\): the producer failed unexpectedly: TypeError: Cannot read properties of null/)]);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).toMatch(/^failed\s+500 readings/m);
    expect(code).toBe(1);
  }, 60_000);
});
