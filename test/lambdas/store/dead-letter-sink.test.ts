import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { fakeSqs } from '../../helpers/fake-sqs';
import type { DeadLetter } from '../../../lambdas/core/types';
import { createDeadLetterSink, fileDeadLetterSink, sqsDeadLetterSink } from '../../../lambdas/store/dead-letter-sink';

function letter(i: number, raw = `BAD,${i}`): DeadLetter {
  return {
    raw,
    rawLength: raw.length,
    reason: `field count ${i}`,
    code: 'field-count',
    lineInRecord: i + 1,
    shardId: 'shardId-000000000001',
    sequenceNumber: String(1000 + i),
    partitionKey: 'COHUTTA',
    rejectedAt: '2014-03-12T08:00:00.000Z',
  };
}

const queue = 'https://sqs.us-east-1.amazonaws.com/123456789012/wellwatch-dead-letters';

describe('file dead-letter sink', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wellwatch-dl-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per letter, creating the directory', async () => {
    const path = join(dir, 'nested', 'dead-letters.jsonl');
    const sink = createDeadLetterSink(pathToFileURL(path).href, () => {
      throw new Error('no SQS for file URLs');
    });
    expect(sink.description).toBe(`file:${path}`);
    expect(await sink.send([letter(0), letter(1)])).toEqual({ failed: [] });
    expect(await sink.send([letter(2)])).toEqual({ failed: [] });
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([letter(0), letter(1), letter(2)]);
  });

  it('reports every letter as failed when the file cannot be written', async () => {
    const sink = fileDeadLetterSink(join(dir, 'file-as-dir'));
    await sink.send([letter(0)]);
    const blocked = fileDeadLetterSink(join(dir, 'file-as-dir', 'x.jsonl'));
    const result = await blocked.send([letter(0), letter(1)]);
    expect(result.failed).toEqual([0, 1]);
    expect(result.lastError).toMatch(/ENOTDIR|EEXIST/);
  });
});

describe('SQS dead-letter sink', () => {
  const noSleep = { sleep: async () => undefined };

  it('sends batches of at most 10 messages whose bodies are the letters', async () => {
    const batches: SendMessageBatchCommand['input'][] = [];
    const sink = sqsDeadLetterSink(
      fakeSqs(async (c) => {
        batches.push(c.input);
        return { Successful: c.input.Entries!.map((e) => ({ Id: e.Id })), Failed: [] };
      }),
      queue,
      noSleep,
    );
    const letters = Array.from({ length: 23 }, (_, i) => letter(i));
    expect(await sink.send(letters)).toEqual({ failed: [] });
    expect(batches.map((b) => b.Entries!.length)).toEqual([10, 10, 3]);
    expect(batches.every((b) => b.QueueUrl === queue)).toBe(true);
    const bodies = batches.flatMap((b) => b.Entries!.map((e) => JSON.parse(e.MessageBody!)));
    expect(bodies).toEqual(letters);
    expect(batches[0]!.Entries![0]!.MessageAttributes).toEqual({ code: { DataType: 'String', StringValue: 'field-count' } });
  });

  it('keeps each request under the SQS batch size limit', async () => {
    const sizes: number[] = [];
    const sink = sqsDeadLetterSink(
      fakeSqs(async (c) => {
        sizes.push(c.input.Entries!.reduce((n, e) => n + Buffer.byteLength(e.MessageBody!), 0));
        return { Failed: [] };
      }),
      queue,
      noSleep,
    );
    await sink.send(Array.from({ length: 10 }, (_, i) => letter(i, 'é'.repeat(30_000))));
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
  });

  it('retries entries SQS failed on its side, but not sender faults', async () => {
    const attempts = new Map<string, number>();
    const sink = sqsDeadLetterSink(
      fakeSqs(async (c) => {
        const failed = [];
        for (const e of c.input.Entries!) {
          const n = (attempts.get(e.Id!) ?? 0) + 1;
          attempts.set(e.Id!, n);
          if (e.Id === '1') failed.push({ Id: e.Id, SenderFault: true, Code: 'InvalidMessageContents', Message: 'bad' });
          else if (e.Id === '2' && n < 3) failed.push({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' });
          else if (e.Id === '3') failed.push({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'never' });
        }
        return { Failed: failed };
      }),
      queue,
      { maxAttempts: 4, ...noSleep },
    );
    const result = await sink.send([letter(0), letter(1), letter(2), letter(3)]);
    expect(result.failed).toEqual([1, 3]);
    expect(attempts.get('0')).toBe(1);
    expect(attempts.get('1')).toBe(1);
    expect(attempts.get('2')).toBe(3);
    expect(attempts.get('3')).toBe(4);
  });

  it('retries throttled calls and gives up on access errors', async () => {
    let calls = 0;
    const throttled = sqsDeadLetterSink(
      fakeSqs(async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('slow down'), { name: 'RequestThrottled', $metadata: { httpStatusCode: 403 } });
        return { Failed: [] };
      }),
      queue,
      noSleep,
    );
    expect(await throttled.send([letter(0)])).toEqual({ failed: [] });
    expect(calls).toBe(3);

    calls = 0;
    const denied = sqsDeadLetterSink(
      fakeSqs(async () => {
        calls++;
        throw Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      }),
      queue,
      noSleep,
    );
    const result = await denied.send([letter(0), letter(1)]);
    expect(result.failed).toEqual([0, 1]);
    expect(result.lastError).toMatch(/AccessDenied/);
    expect(calls).toBe(1);
  });

  it('gives FIFO messages a group and a deduplication id that is stable across redeliveries', async () => {
    const entries: NonNullable<SendMessageBatchCommand['input']['Entries']> = [];
    const sink = sqsDeadLetterSink(
      fakeSqs(async (c) => {
        entries.push(...c.input.Entries!);
        return { Failed: [] };
      }),
      `${queue}.fifo`,
      noSleep,
    );
    await sink.send([letter(0), letter(1)]);
    await sink.send([letter(0)]);
    expect(entries.map((e) => e.MessageGroupId)).toEqual(['shardId-000000000001', 'shardId-000000000001', 'shardId-000000000001']);
    expect(entries[2]!.MessageDeduplicationId).toBe(entries[0]!.MessageDeduplicationId);
    expect(entries[1]!.MessageDeduplicationId).not.toBe(entries[0]!.MessageDeduplicationId);
  });
});

describe('createDeadLetterSink', () => {
  it('logs letters as structured warnings when no URL is configured', async () => {
    const lines: string[] = [];
    const sink = createDeadLetterSink(undefined, () => {
      throw new Error('unused');
    }, { log: (l) => lines.push(l) });
    await sink.send([letter(0)]);
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ level: 'WARN', message: 'dead letter', deadLetter: letter(0) }]);
  });

  it('rejects URLs that are neither SQS nor file URLs', () => {
    expect(() => createDeadLetterSink('s3://bucket/key', () => fakeSqs(async () => ({})))).toThrow(/SQS queue URL or file:/);
  });
});

describe('dead-letter sinks near the deadline (stopWhen)', () => {
  const noSleep = { sleep: async () => undefined };

  it('the file sink writes nothing once stopWhen is true and reports every letter stopped, none by error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wellwatch-dl-'));
    try {
      const path = join(dir, 'dead-letters.jsonl');
      const sink = fileDeadLetterSink(path);
      expect(await sink.send([letter(0), letter(1)], { stopWhen: () => true })).toEqual({
        failed: [0, 1],
        lastError: 'stopped: stopWhen answered true',
        stopped: true,
        failedByError: 0,
      });
      await expect(readFile(path, 'utf8')).rejects.toThrow(/ENOENT/);
      expect(await sink.send([], { stopWhen: () => true })).toEqual({ failed: [] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the SQS sink starts no request once stopWhen is true and reports the rest stopped', async () => {
    const sent: string[][] = [];
    const sink = sqsDeadLetterSink(
      fakeSqs(async (c) => {
        sent.push(c.input.Entries!.map((e) => e.Id!));
        return { Failed: [] };
      }),
      queue,
      noSleep,
    );
    let asked = 0;
    const letters = Array.from({ length: 25 }, (_, i) => letter(i));
    const result = await sink.send(letters, { stopWhen: () => ++asked > 1 });
    expect(sent).toEqual([['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']]);
    expect(result).toEqual({ failed: Array.from({ length: 15 }, (_, i) => i + 10), lastError: 'stopped: stopWhen answered true', stopped: true, failedByError: 0 });
  });

  it('the SQS sink names both the error and the stop, and counts the letters that gave up on the error', async () => {
    let calls = 0;
    const sink = sqsDeadLetterSink(
      fakeSqs(async (c) => {
        calls++;
        return { Failed: c.input.Entries!.filter((e) => e.Id === '0').map((e) => ({ Id: e.Id, SenderFault: true, Code: 'InvalidMessageContents', Message: 'bad' })) };
      }),
      queue,
      noSleep,
    );
    const letters = Array.from({ length: 12 }, (_, i) => letter(i));
    const result = await sink.send(letters, { stopWhen: () => calls >= 1 });
    expect(result).toEqual({
      failed: [0, 10, 11],
      lastError: 'InvalidMessageContents: bad; then stopped: stopWhen answered true',
      stopped: true,
      failedByError: 1,
    });
  });
});

describe('dead-letter sinks: what the caller is told', () => {
  it('the log sink writes to console.warn by default', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(await createDeadLetterSink(undefined, () => fakeSqs(async () => ({}))).send([letter(0)])).toEqual({ failed: [] });
      expect(warn.mock.calls.map(([l]) => JSON.parse(l as string))).toEqual([{ level: 'WARN', message: 'dead letter', deadLetter: letter(0) }]);
    } finally {
      warn.mockRestore();
    }
  });

  it('the SQS sink does not sleep after a request that left nothing to retry', async () => {
    const delays: number[] = [];
    const sink = sqsDeadLetterSink(fakeSqs(async () => ({ Failed: [] })), queue, { sleep: async (ms: number) => void delays.push(ms) });
    expect(await sink.send(Array.from({ length: 12 }, (_, i) => letter(i)))).toEqual({ failed: [] });
    expect(delays).toEqual([]);
  });

  it('the SQS sink reports failed letters in ascending order, whatever order SQS answers in', async () => {
    const sink = sqsDeadLetterSink(
      fakeSqs(async (c) => ({
        Failed: c.input.Entries!.map((e) => ({ Id: e.Id, SenderFault: e.Id !== '1', Code: 'X', Message: 'y' })).reverse(),
      })),
      queue,
      { maxAttempts: 1, sleep: async () => undefined },
    );
    expect((await sink.send([letter(0), letter(1), letter(2), letter(3)])).failed).toEqual([0, 1, 2, 3]);
  });

  it('counts letters that failed on a non-retryable error in failedByError when a stop follows', async () => {
    let calls = 0;
    const sink = sqsDeadLetterSink(
      fakeSqs(async () => {
        calls++;
        throw Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      }),
      queue,
      { sleep: async () => undefined },
    );
    const result = await sink.send(Array.from({ length: 12 }, (_, i) => letter(i)), { stopWhen: () => calls >= 1 });
    expect(result).toMatchObject({ stopped: true, failedByError: 10 });
    expect(result.failed).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('counts letters that used up their attempts in failedByError when a stop follows', async () => {
    let calls = 0;
    const sink = sqsDeadLetterSink(
      fakeSqs(async () => {
        calls++;
        throw Object.assign(new Error('slow down'), { name: 'RequestThrottled', $metadata: { httpStatusCode: 403 } });
      }),
      queue,
      { maxAttempts: 2, sleep: async () => undefined },
    );
    const result = await sink.send(Array.from({ length: 12 }, (_, i) => letter(i)), { stopWhen: () => calls >= 2 });
    expect(calls).toBe(2);
    expect(result).toMatchObject({ stopped: true, failedByError: 10 });
  });

  it('keeps the URL error as the cause of a file URL it cannot read', () => {
    let thrown: unknown;
    try {
      createDeadLetterSink('file://host/dl.jsonl', () => fakeSqs(async () => ({})));
    } catch (error) {
      thrown = error;
    }
    expect((thrown as Error).cause).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_FILE_URL_HOST' });
  });
});

describe('SQS dead-letter sink: entries and errors', () => {
  const noSleep = { sleep: async () => undefined };

  function recording(answer: (c: SendMessageBatchCommand) => unknown = () => ({ Failed: [] })) {
    const entries: NonNullable<SendMessageBatchCommand['input']['Entries']> = [];
    let calls = 0;
    const client = fakeSqs(async (c) => {
      calls++;
      entries.push(...c.input.Entries!);
      return answer(c);
    });
    return { client, entries, calls: () => calls };
  }

  it('sends no request and reports nothing failed for no letters', async () => {
    const r = recording();
    expect(await sqsDeadLetterSink(r.client, queue, noSleep).send([])).toEqual({ failed: [] });
    expect(r.calls()).toBe(0);
  });

  it("tags a letter without a code as 'unknown', and gives a standard queue no FIFO attributes", async () => {
    const r = recording();
    await sqsDeadLetterSink(r.client, queue, noSleep).send([{ ...letter(0), code: '' }]);
    expect(r.entries[0]).toEqual({ Id: '0', MessageBody: JSON.stringify({ ...letter(0), code: '' }), MessageAttributes: { code: { DataType: 'String', StringValue: 'unknown' } } });
  });

  it('groups FIFO letters without a shard under one group, and deduplicates on every coordinate and the raw line', async () => {
    const r = recording();
    const sink = sqsDeadLetterSink(r.client, `${queue}.fifo`, noSleep);
    const base = letter(0);
    const variants = [base, { ...base, shardId: undefined }, { ...base, sequenceNumber: '9' }, { ...base, lineInRecord: 9 }, { ...base, raw: 'OTHER' }];
    await sink.send(variants);
    expect(r.entries[1]!.MessageGroupId).toBe('wellwatch');
    const ids = r.entries.map((e) => e.MessageDeduplicationId!);
    expect(new Set(ids).size).toBe(variants.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('packs a request up to exactly the 256 KiB limit, and not one byte more', async () => {
    // Two letters whose bodies are exactly half the limit each fit one request; one byte more splits them.
    const bodyOf = (raw: string) => Buffer.byteLength(JSON.stringify(letter(0, raw)));
    const half = 128 * 1024;
    let raw = 'x'.repeat(half - bodyOf(''));
    while (bodyOf(raw) > half) raw = raw.slice(1);
    while (bodyOf(raw) < half) raw += 'x';
    expect(bodyOf(raw)).toBe(half);
    const exact = recording();
    await sqsDeadLetterSink(exact.client, queue, noSleep).send([letter(0, raw), letter(0, raw)]);
    expect(exact.calls()).toBe(1);
    const over = recording();
    await sqsDeadLetterSink(over.client, queue, noSleep).send([letter(0, raw), letter(0, `${raw}x`)]);
    expect(over.calls()).toBe(2);
  });

  it('names the code and message of the last entry that failed, with defaults when SQS leaves them out', async () => {
    const faulty = recording((c) => ({ Failed: c.input.Entries!.map((e) => ({ Id: e.Id, SenderFault: true })) }));
    expect(await sqsDeadLetterSink(faulty.client, queue, noSleep).send([letter(0)])).toEqual({ failed: [0], lastError: 'SenderFault: ' });
    const busy = recording((c) => ({ Failed: c.input.Entries!.map((e) => ({ Id: e.Id, SenderFault: false })) }));
    expect(await sqsDeadLetterSink(busy.client, queue, { maxAttempts: 2, ...noSleep }).send([letter(0)])).toEqual({ failed: [0], lastError: 'Failed: ' });
    expect(busy.calls()).toBe(2);
  });

  it('retries a batch at most maxAttempts times (5 by default), sleeping with backoff between attempts', async () => {
    const delays: number[] = [];
    const r = recording((c) => ({ Failed: c.input.Entries!.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'later' })) }));
    const result = await sqsDeadLetterSink(r.client, queue, { baseDelayMs: 10, random: () => 0.5, sleep: async (ms: number) => void delays.push(ms) }).send([letter(0), letter(1)]);
    expect(result).toEqual({ failed: [0, 1], lastError: 'InternalError: later' });
    expect(r.calls()).toBe(5);
    expect(delays).toEqual([5, 10, 20, 40]);
  });
});

describe('createDeadLetterSink: which sink a URL picks', () => {
  const noSqs = () => {
    throw new Error('no SQS wanted');
  };

  it('picks the log for an empty URL, and the SQS sink for an http(s) queue URL', () => {
    expect(createDeadLetterSink('', noSqs).description).toBe('log');
    expect(createDeadLetterSink(queue, () => fakeSqs(async () => ({}))).description).toBe(`sqs:${queue}`);
    expect(createDeadLetterSink('http://127.0.0.1:9324/000000000000/dl', () => fakeSqs(async () => ({}))).description).toBe('sqs:http://127.0.0.1:9324/000000000000/dl');
  });

  it('rejects a file URL that is not absolute, and a URL that only contains http://', () => {
    expect(() => createDeadLetterSink('file://host/dl.jsonl', noSqs)).toThrow('dead-letter URL must be file:///absolute/path.jsonl, got "file://host/dl.jsonl"');
    expect(() => createDeadLetterSink('x-http://q', noSqs)).toThrow('dead-letter URL must be an SQS queue URL or file:///absolute/path.jsonl, got "x-http://q"');
  });
});

