/**
 * The producer engine against a real Kinesis API (kinesalite over HTTP through the SDK): everything valid arrives
 * exactly once and in per-pump order, records respect the byte budget and hold one pump, refused lines are reported
 * and never sent, and injected throttling / partial failures / network errors are retried without loss or reordering.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { PutRecordsCommandInput, PutRecordsCommandOutput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import { generateReadings } from '../../lambdas/core/generator';
import {
  Producer,
  ProducerError,
  linesOf,
  openInput,
  produce,
  putRecordsWith,
  type FailedRecord,
  type ProducerOptions,
  type PutRecordsFn,
  type RefusedLine,
} from '../../cli/producer';
import { hashKeyOf, listOpenShards, shardOf, uniformShardRanges } from '../../cli/shard-map';
import { mulberry32 } from '../../lambdas/core/generator';
import { createStream, decodeRecords, readAllRecords, startKinesalite, type DecodedRecord, type KinesaliteHandle } from '../helpers/kinesalite';

const BAD_LINES = [
  'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85',
  'COHUTTA,2/30/14,1:01,10.27,1.73,881,1.56,85,1.94',
  'COHUTTA,3/10/14,25:61,10.27,1.73,881,1.56,85,1.94',
  'COHUTTA,3/10/14,1:01,abc,1.73,881,1.56,85,1.94',
  'bad pump!,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94',
];

interface Input {
  /** All lines as fed, in order. */
  lines: string[];
  /** The valid readings, in order. */
  good: string[];
  /** 1-based line numbers of the bad lines. */
  badAt: number[];
  /** 1-based line numbers of the header and blank lines. */
  skipAt: number[];
}

/** Generated readings with a header, blank lines and known-bad lines mixed in at known positions. */
function makeInput(pumps: number, days: number, seed: number, badEvery = 997): Input {
  const good = [...generateReadings({ pumps, days, seed })];
  const lines: string[] = ['pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM'];
  const badAt: number[] = [];
  const skipAt: number[] = [1];
  good.forEach((l, i) => {
    if (i > 0 && i % badEvery === 0) {
      lines.push(BAD_LINES[(i / badEvery) % BAD_LINES.length]!);
      badAt.push(lines.length);
    }
    if (i > 0 && i % 1500 === 0) {
      lines.push('');
      skipAt.push(lines.length);
    }
    lines.push(l);
  });
  return { lines, good, badAt, skipAt };
}

/** Asserts exactly-once, per-pump order, one pump per record and the byte budget. */
function expectDelivered(records: DecodedRecord[], good: string[], recordBytes: number, format: 'kpl' | 'lines'): void {
  const byPump = new Map<string, string[]>();
  for (const r of records) {
    expect(r.aggregated).toBe(format === 'kpl');
    expect(r.data.length + Buffer.byteLength(r.partitionKey)).toBeLessThanOrEqual(recordBytes);
    for (const k of r.userRecordKeys) expect(k).toBe(r.partitionKey);
    for (const line of r.lines) expect(line.split(',')[0]).toBe(r.partitionKey);
    const list = byPump.get(r.partitionKey) ?? [];
    list.push(...r.lines);
    byPump.set(r.partitionKey, list);
  }
  const expected = new Map<string, string[]>();
  for (const l of good) {
    const pump = l.split(',')[0]!;
    expected.set(pump, [...(expected.get(pump) ?? []), l]);
  }
  expect([...byPump.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [pump, lines] of expected) expect(byPump.get(pump)).toEqual(lines);
}

function awsError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 }, ...extra });
}

/** Watches the calls: no pump twice in one call, never a pump in two calls in flight. */
function guarded(inner: PutRecordsFn) {
  const inFlight = new Set<string>();
  const violations: string[] = [];
  let maxInFlightCalls = 0;
  let callsInFlight = 0;
  const submissions = new Map<string, number>();
  const fn: PutRecordsFn = async (input) => {
    const pumps = input.Records!.map((r) => r.PartitionKey!);
    if (new Set(pumps).size !== pumps.length) violations.push(`pump twice in one call: ${pumps.join(' ')}`);
    for (const p of pumps) {
      if (inFlight.has(p)) violations.push(`pump ${p} in two calls at once`);
      inFlight.add(p);
      submissions.set(p, (submissions.get(p) ?? 0) + 1);
    }
    callsInFlight++;
    maxInFlightCalls = Math.max(maxInFlightCalls, callsInFlight);
    try {
      return await inner(input);
    } finally {
      callsInFlight--;
      for (const p of pumps) inFlight.delete(p);
    }
  };
  return { fn, violations, submissions, maxInFlight: () => maxInFlightCalls };
}

describe('producer engine against kinesalite', () => {
  let k: KinesaliteHandle;
  let streamNo = 0;

  beforeAll(async () => {
    k = await startKinesalite({ shards: 2 });
  });
  afterAll(async () => {
    await k?.close();
  });

  async function freshStream(): Promise<string> {
    const name = `producer-test-${++streamNo}`;
    await createStream(k.client, name, 2);
    return name;
  }

  async function readBack(stream: string): Promise<DecodedRecord[]> {
    return decodeRecords(await readAllRecords(k.client, stream));
  }

  it.each(['kpl', 'lines'] as const)('delivers every valid line exactly once, in pump order, in %s records', async (format) => {
    const input = makeInput(6, 2, 11);
    const stream = await freshStream();
    const refused: RefusedLine[] = [];
    const recordBytes = 8 * 1024;
    const guard = guarded(putRecordsWith(k.client));
    const stats = await produce([{ name: 'input.csv', lines: input.lines }], {
      streamName: stream,
      putRecords: guard.fn,
      format,
      recordBytes,
      concurrency: 3,
      onRefused: (r) => refused.push(r),
    });
    const records = await readBack(stream);
    expectDelivered(records, input.good, recordBytes, format);
    expect(guard.violations).toEqual([]);
    expect(stats).toMatchObject({
      linesRead: input.lines.length,
      skipped: input.skipAt.length,
      refused: input.badAt.length,
      accepted: input.good.length,
      sent: input.good.length,
      records: records.length,
      failed: 0,
      retriedEntries: 0,
    });
    expect(refused.map((r) => r.line)).toEqual(input.badAt);
    for (const r of refused) {
      expect(r.source).toBe('input.csv');
      expect(BAD_LINES).toContain(input.lines[r.line - 1]);
      expect(r.reason.length).toBeGreaterThan(5);
    }
    const sentLines = new Set(records.flatMap((r) => r.lines));
    for (const bad of BAD_LINES) expect(sentLines.has(bad)).toBe(false);
    // Packing: far fewer records than lines, and KPL groups several lines per user record.
    expect(records.length).toBeLessThan(input.good.length / 20);
    if (format === 'kpl') expect(stats.userRecords).toBeLessThan(input.good.length / 5);
  });

  it('puts one line per user record when userRecordBytes is 0, and the aggregates decode with aws-kinesis-agg', async () => {
    const input = makeInput(3, 1, 5, 100_000);
    const stream = await freshStream();
    const stats = await produce([{ name: 'x', lines: input.lines }], {
      streamName: stream,
      putRecords: putRecordsWith(k.client),
      userRecordBytes: 0,
      recordBytes: 4096,
    });
    const records = await readBack(stream);
    expectDelivered(records, input.good, 4096, 'kpl');
    expect(stats.userRecords).toBe(input.good.length);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const agg = require('aws-kinesis-agg') as {
      deaggregateSync: (r: object, checksums: boolean, cb: (err: Error | null, users?: { partitionKey: string; data: string }[]) => void) => void;
    };
    for (const r of records.slice(0, 10)) {
      let users: { partitionKey: string; data: string }[] | undefined;
      agg.deaggregateSync({ partitionKey: r.partitionKey, data: r.data.toString('base64'), sequenceNumber: r.sequenceNumber }, true, (err, u) => {
        expect(err ?? null).toBeNull();
        users = u;
      });
      expect(users!.map((u) => Buffer.from(u.data, 'base64').toString('utf8'))).toEqual(r.lines);
      expect(new Set(users!.map((u) => u.partitionKey))).toEqual(new Set([r.partitionKey]));
    }
  });

  it('retries throttled entries, throttled calls and network errors without loss or reordering', async () => {
    const input = makeInput(8, 1, 23, 100_000);
    const stream = await freshStream();
    const real = putRecordsWith(k.client);
    const rng = mulberry32(99);
    let injected = 0;
    let thrown = 0;
    let partial = 0;
    const faulty: PutRecordsFn = async (req: PutRecordsCommandInput): Promise<PutRecordsCommandOutput> => {
      const entries = req.Records!;
      const roll = rng();
      if (roll < 0.15) {
        injected += entries.length;
        thrown++;
        throw awsError('ProvisionedThroughputExceededException', 'Rate exceeded for stream');
      }
      if (roll < 0.25) {
        injected += entries.length;
        thrown++;
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      }
      if (roll < 0.65) {
        const fail = entries.map(() => rng() < 0.4);
        const forward = entries.filter((_, i) => !fail[i]);
        const answers = forward.length > 0 ? (await real({ ...req, Records: forward })).Records! : [];
        const out: PutRecordsResultEntry[] = [];
        let j = 0;
        entries.forEach((_, i) => {
          if (fail[i]) {
            injected++;
            out.push(
              rng() < 0.5
                ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
                : { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' },
            );
          } else out.push(answers[j++]!);
        });
        partial++;
        return { FailedRecordCount: fail.filter(Boolean).length, Records: out, $metadata: {} };
      }
      return real(req);
    };
    const guard = guarded(faulty);
    const stats = await produce([{ name: 'faults.csv', lines: input.lines }], {
      streamName: stream,
      putRecords: guard.fn,
      recordBytes: 2048,
      concurrency: 4,
      maxAttempts: 30,
      baseDelayMs: 1,
      maxDelayMs: 4,
      random: mulberry32(7),
    });
    expect(thrown).toBeGreaterThan(0);
    expect(partial).toBeGreaterThan(0);
    expect(guard.violations).toEqual([]);
    expect(guard.maxInFlight()).toBeGreaterThan(1);
    expect(stats.retriedEntries).toBe(injected);
    expect(stats).toMatchObject({ sent: input.good.length, failed: 0, failedRecords: 0 });
    const records = await readBack(stream);
    expect(records.length).toBe(stats.records);
    expectDelivered(records, input.good, 2048, 'kpl');
  });

  it('gives up on a record after maxAttempts, reports it and still delivers the other pumps in order', async () => {
    const input = makeInput(4, 1, 3, 100_000);
    const stream = await freshStream();
    const victim = input.good[0]!.split(',')[0]!;
    const real = putRecordsWith(k.client);
    const failed: FailedRecord[] = [];
    const guard = guarded(async (req) => {
      const keep = req.Records!.filter((r) => r.PartitionKey !== victim);
      const answers = keep.length > 0 ? (await real({ ...req, Records: keep })).Records! : [];
      let j = 0;
      const out = req.Records!.map((r) =>
        r.PartitionKey === victim ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' } : answers[j++]!,
      );
      return { FailedRecordCount: out.length - keep.length, Records: out, $metadata: {} };
    });
    const stats = await produce([{ name: 'v.csv', lines: input.lines }], {
      streamName: stream,
      putRecords: guard.fn,
      recordBytes: 4096,
      maxAttempts: 3,
      baseDelayMs: 1,
      maxDelayMs: 2,
      onFailed: (f) => failed.push(f),
    });
    const victimLines = input.good.filter((l) => l.startsWith(`${victim},`));
    expect(stats.failed).toBe(victimLines.length);
    expect(failed.length).toBe(stats.failedRecords);
    expect(failed.reduce((n, f) => n + f.readings, 0)).toBe(victimLines.length);
    for (const f of failed) {
      expect(f.pump).toBe(victim);
      expect(f.attempts).toBe(3);
      expect(f.reason).toMatch(/ProvisionedThroughputExceededException/);
      expect(f.first.source).toBe('v.csv');
      expect(f.last.line).toBeGreaterThanOrEqual(f.first.line);
    }
    expect(guard.submissions.get(victim)).toBe(3 * failed.length);
    const records = await readBack(stream);
    expectDelivered(records, input.good.filter((l) => !l.startsWith(`${victim},`)), 4096, 'kpl');
    expect(guard.violations).toEqual([]);
  });

  it('stops at once on a non-retryable error and counts everything unsent as failed', async () => {
    const input = makeInput(2, 1, 1, 100_000);
    let calls = 0;
    const producer = new Producer({
      streamName: 'missing',
      putRecords: async () => {
        calls++;
        throw awsError('ResourceNotFoundException', 'Stream missing under account 000000000000 not found.');
      },
    });
    const run = (async () => {
      for (let i = 0; i < input.lines.length; i++) {
        const wait = producer.add(input.lines[i]!, 'm.csv', i + 1);
        if (wait) await wait;
      }
      return producer.close();
    })();
    await expect(run).rejects.toThrow(/PutRecords to missing failed: .*not found/);
    await expect(run).rejects.toBeInstanceOf(ProducerError);
    expect(producer.stats.sent).toBe(0);
    expect(producer.stats.failed).toBe(producer.stats.accepted);
    expect(calls).toBeGreaterThanOrEqual(1);
  });

  it('stops when calls keep failing with network errors past maxAttempts', async () => {
    const input = makeInput(2, 1, 2, 100_000);
    let calls = 0;
    const options: ProducerOptions = {
      streamName: 's',
      maxAttempts: 3,
      baseDelayMs: 1,
      maxDelayMs: 2,
      putRecords: async () => {
        calls++;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      },
    };
    await expect(produce([{ name: 'n.csv', lines: input.lines }], options)).rejects.toThrow(/failed 3 times in a row: .*ECONNREFUSED/);
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('stops when aborted mid-run and counts what was not confirmed as failed', async () => {
    const stream = await freshStream();
    const lines = [...generateReadings({ pumps: 3, days: 1, seed: 14 })];
    let producer!: Producer;
    async function* source(): AsyncGenerator<string> {
      for (let i = 0; i < lines.length; i++) {
        if (i === 1000) producer.abort('interrupted (test)');
        yield lines[i]!;
      }
    }
    const run = produce([{ name: 'a', lines: source() }], { streamName: stream, putRecords: putRecordsWith(k.client), recordBytes: 1024 }, (p) => (producer = p));
    await expect(run).rejects.toThrow('interrupted (test)');
    const st = producer.stats;
    expect(st.accepted).toBe(1000);
    expect(st.sent + st.failed).toBe(st.accepted);
    const records = await readBack(stream);
    expect(records.reduce((n, r) => n + r.lines.length, 0)).toBe(st.sent);
  });

  it('sends a lingering record before the input ends', async () => {
    const stream = await freshStream();
    const [first, second] = [...generateReadings({ pumps: 1, days: 1, seed: 4 })].slice(0, 2) as [string, string];
    let firstSent!: () => void;
    const sentFirst = new Promise<void>((resolve) => (firstSent = resolve));
    const real = putRecordsWith(k.client);
    const seen: number[] = [];
    async function* slowSource(): AsyncGenerator<string> {
      yield first;
      // Without linger this would wait forever: the record is neither full nor at the end of the input.
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([sentFirst, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('linger never sent the record')), 20_000)))]);
      } finally {
        clearTimeout(timer);
      }
      yield second;
    }
    const stats = await produce([{ name: 'slow', lines: slowSource() }], {
      streamName: stream,
      lingerMs: 20,
      putRecords: async (req) => {
        seen.push(req.Records!.length);
        const out = await real(req);
        firstSent();
        return out;
      },
    });
    expect(stats.records).toBe(2);
    const records = await readBack(stream);
    expect(records.map((r) => r.lines)).toEqual([[first], [second]]);
  });

  it('packs a live feed of many pumps into shared records per shard, each pump in order on its own shard', async () => {
    const stream = await freshStream();
    const shards = await listOpenShards(k.client, stream);
    // 300 pumps, one reading each per "second", interleaved as a live feed delivers them.
    const pumps = Array.from({ length: 300 }, (_, i) => `PUMP${i}`);
    const lines: string[] = [];
    for (let t = 0; t < 6; t++) for (const p of pumps) lines.push(`${p},2014-03-10,01:0${t}:00,9.5,1.2,700,1.1,60,1.2`);
    const perShard = await produce([{ name: 'feed', lines }], { streamName: stream, putRecords: putRecordsWith(k.client), shards, lingerMs: 60_000 });
    const records = await readBack(stream);
    // 1,800 lines of ~48 bytes fit one 64 KiB record per shard; one pump per record would have taken 300 records.
    expect(perShard.records).toBe(shards.length);
    expect(records).toHaveLength(shards.length);
    const got = new Map<string, string[]>();
    for (const r of records) {
      expect(r.partitionKey).toBe(r.shardId);
      for (const u of r.userRecords) {
        for (const line of u.lines) expect(line.startsWith(u.partitionKey + ',')).toBe(true);
        expect(shardOf(shards, hashKeyOf(u.partitionKey)).shardId).toBe(r.shardId);
      }
      for (const line of r.lines) got.set(line.split(',')[0]!, [...(got.get(line.split(',')[0]!) ?? []), line]);
    }
    for (const p of pumps) expect(got.get(p)).toEqual(lines.filter((l) => l.startsWith(p + ',')));
    expect(perShard).toMatchObject({ sent: lines.length, failed: 0, misroutedRecords: 0, shardMapRefreshes: 0 });
  });

  it('reloads the shard map when Kinesis puts a record on another shard than the map said', async () => {
    const calls: PutRecordsCommandInput[] = [];
    let refreshes = 0;
    const putRecords: PutRecordsFn = async (input) => {
      calls.push(input);
      // The stream was resharded: everything lands on a child shard the map does not know.
      return { Records: input.Records!.map(() => ({ SequenceNumber: '1', ShardId: 'shardId-000000000007' })), FailedRecordCount: 0, $metadata: {} };
    };
    const producer = new Producer({
      streamName: 's',
      putRecords,
      shards: uniformShardRanges(2),
      refreshShards: async () => {
        refreshes++;
        return uniformShardRanges(4);
      },
      lingerMs: 60_000,
    });
    for (let i = 0; i < 50; i++) await producer.add(`P${i},2014-03-10,01:00:00,9.5,1.2,700,1.1,60,1.2`, 'feed', i + 1);
    const first = await producer.close();
    expect(first.misroutedRecords).toBeGreaterThan(0);
    expect(refreshes).toBe(1);
    expect(first.shardMapRefreshes).toBe(1);
    expect(first.sent).toBe(50);
    // Every record carried a starting hash key of the map it was packed with.
    const starts = new Set(uniformShardRanges(2).map((r) => r.startingHashKey.toString()));
    for (const c of calls) for (const r of c.Records!) expect(starts.has(r.ExplicitHashKey!)).toBe(true);
  });

  it('sends refused lines too when validation is off, keyed by their first field', async () => {
    const stream = await freshStream();
    const good = [...generateReadings({ pumps: 2, days: 1, seed: 8 })].slice(0, 50);
    const lines = [...good, ...BAD_LINES, '', 'pump,date,time'];
    const stats = await produce([{ name: 'raw', lines }], { streamName: stream, putRecords: putRecordsWith(k.client), format: 'lines', validate: false });
    expect(stats).toMatchObject({ refused: 0, skipped: 2, accepted: 55, sent: 55 });
    const records = await readBack(stream);
    const all = records.flatMap((r) => r.lines.map((l) => [r.partitionKey, l]));
    expect(all.filter(([, l]) => BAD_LINES.includes(l!)).sort()).toEqual(BAD_LINES.map((l) => [l.split(',')[0], l]).sort());
  });

  it('refuses a valid line that cannot fit the record budget', async () => {
    const stream = await freshStream();
    const wide = `COHUTTA,3/10/14,1:01,${' '.repeat(260)}10.27,1.73,881,1.56,85,1.94`;
    const normal = 'COHUTTA,3/10/14,1:02,10.27,1.73,881,1.56,85,1.94';
    const refused: RefusedLine[] = [];
    const stats = await produce([{ name: 'w', lines: [wide, normal] }], {
      streamName: stream,
      putRecords: putRecordsWith(k.client),
      recordBytes: 256,
      onRefused: (r) => refused.push(r),
    });
    expect(refused).toEqual([expect.objectContaining({ line: 1, code: 'record-size', reason: expect.stringMatching(/does not fit a 256-byte record/) })]);
    expect(stats.sent).toBe(1);
    expect((await readBack(stream)).flatMap((r) => r.lines)).toEqual([normal]);
  });

  it('paces to --rate with a token bucket', async () => {
    const stream = await freshStream();
    const lines = [...generateReadings({ pumps: 3, days: 1, seed: 9 })].slice(0, 300);
    const t0 = performance.now();
    const stats = await produce([{ name: 'r', lines }], { streamName: stream, putRecords: putRecordsWith(k.client), ratePerSecond: 1000, lingerMs: 20 });
    const elapsed = performance.now() - t0;
    expect(stats.sent).toBe(300);
    // 300 readings at 1000/s with a 100-reading burst cannot finish in less than 200 ms (a lower bound only).
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(stats.records).toBeGreaterThan(1);
  });

  it('stops reading ahead when the send queue is full (memory stays flat)', async () => {
    const stream = await freshStream();
    const lines = [...generateReadings({ pumps: 5, days: 1, seed: 12 })];
    let pulled = 0;
    let maxAhead = 0;
    let producer!: Producer;
    function* counted(): Generator<string> {
      for (const l of lines) {
        pulled++;
        yield l;
      }
    }
    const real = putRecordsWith(k.client);
    const stats = await produce(
      [{ name: 'big', lines: counted() }],
      {
        streamName: stream,
        recordBytes: 1024,
        maxQueuedBytes: 8 * 1024,
        maxOpenBytes: 8 * 1024,
        concurrency: 1,
        putRecords: async (req) => {
          maxAhead = Math.max(maxAhead, pulled - producer.stats.sent);
          await new Promise((r) => setTimeout(r, 1));
          return real(req);
        },
      },
      (p) => (producer = p),
    );
    expect(stats.sent).toBe(lines.length);
    expect(lines.length).toBeGreaterThan(4000);
    // Queue + open records + one call in flight hold at most ~24 KiB of 48-byte lines.
    expect(maxAhead).toBeLessThan(1000);
  });
});

describe('input', () => {
  async function collect(chunks: (string | Buffer)[]): Promise<string[]> {
    const out: string[] = [];
    for await (const batch of linesOf(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))))) out.push(...batch);
    return out;
  }

  it('splits \\n and \\r\\n lines across chunk boundaries, keeping blank lines and a last line without newline', async () => {
    expect(await collect(['a,1\r', '\nb,', '2\n\nc', ',3'])).toEqual(['a,1', 'b,2', '', 'c,3']);
  });

  it('decodes a multi-byte character split between chunks', async () => {
    const bytes = Buffer.from('é,1\nü,2\n');
    expect(await collect([bytes.subarray(0, 1), bytes.subarray(1, 6), bytes.subarray(6)])).toEqual(['é,1', 'ü,2']);
  });

  it('cuts a line without newline at 64 KiB instead of buffering it whole', async () => {
    const huge = 'x'.repeat(200_000);
    const lines = await collect([huge.slice(0, 70_000), huge.slice(70_000), '\nok']);
    expect(lines.map((l) => l.length)).toEqual([65_536, 2]);
  });

  it('opens gzip files by their magic bytes and counts compressed bytes read', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-input-'));
    const text = 'a,1\nb,2\nc,3\n';
    const gz = path.join(dir, 'x.csv.gz');
    fs.writeFileSync(gz, zlib.gzipSync(text));
    const input = openInput(gz, process.stdin);
    const out: string[] = [];
    for await (const batch of input.lines as AsyncIterable<string[]>) out.push(...batch);
    expect(out).toEqual(['a,1', 'b,2', 'c,3']);
    expect(input.bytesRead()).toBe(fs.statSync(gz).size);
    expect(input.size).toBe(fs.statSync(gz).size);
  });

  it('reads stdin for "-"', async () => {
    const stdin = Readable.from([Buffer.from('p,1\n'), Buffer.from('q,2')]);
    const input = openInput('-', stdin);
    const out: string[] = [];
    for await (const batch of input.lines as AsyncIterable<string[]>) out.push(...batch);
    expect(out).toEqual(['p,1', 'q,2']);
    expect(input.name).toBe('stdin');
    expect(input.size).toBeUndefined();
  });

  it('names the file when it cannot be read', () => {
    expect(() => openInput('/nonexistent/readings.csv', process.stdin)).toThrow('cannot read /nonexistent/readings.csv: no such file');
    expect(() => openInput(os.tmpdir(), process.stdin)).toThrow(/is a directory/);
  });

  it('reports a truncated gzip file as an error of that file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-input-'));
    const gz = path.join(dir, 'cut.csv.gz');
    const full = zlib.gzipSync('a,1\n'.repeat(10_000));
    fs.writeFileSync(gz, full.subarray(0, full.length - 100));
    const input = openInput(gz, process.stdin);
    const drain = async () => {
      for await (const batch of input.lines as AsyncIterable<string[]>) void batch;
    };
    await expect(drain()).rejects.toThrow(new RegExp(`cannot read ${gz.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*end of file`));
  });
});
