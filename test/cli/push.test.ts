/**
 * `wellwatch push` and `wellwatch generate` end to end through the CLI entry point: files, gzip and stdin go into a
 * real kinesalite (found through a local-mode discovery file), are read back shard by shard, and must arrive exactly
 * once, in per-pump order, within the byte budget, packed per shard (every pump in the shard its own partition key
 * hashes to) or with --pack pump one pump per record; mistakes give one clear line and an exit code.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { bufferedIO } from '../../cli/io';
import { generateCommand } from '../../cli/generate';
import { renderProgress, startProgress } from '../../cli/progress';
import { pushCommand } from '../../cli/push';
import { hashKeyOf, listOpenShards, shardOf, type ShardRange } from '../../cli/shard-map';
import { generateReadings } from '../../lambdas/core/generator';
import { writeLocalInfo } from '../../local/discovery';
import { createStream, decodeRecords, readAllRecords, startKinesalite, type DecodedRecord, type KinesaliteHandle } from '../helpers/kinesalite';

// Per-test limit: the slowest (gzip files and stdin through kinesalite) took 17 s at load 19 on 2 cores.
jest.setTimeout(60_000);

// bin/wellwatch.js (the tsx launcher) shadows bin/wellwatch.ts for extension-less requires: name the .ts file.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require(path.join(__dirname, '../../bin/wellwatch.ts')) as typeof import('../../bin/wellwatch');

const BAD = ['COHUTTA,2/30/14,1:01,10.27,1.73,881,1.56,85,1.94', 'COHUTTA,3/10/14,1:01,abc,1.73,881,1.56,85,1.94', 'x,y'];

/**
 * Per-pump sequences of the decoded records (in shard order, which is send order within a shard), checking the
 * budget and the packing on the way: with `shards`, each record is keyed by the shard it landed on and holds only
 * pumps hashing there, each KPL user record one pump under its own key; without, one pump per record.
 */
function byPump(records: DecodedRecord[], recordBytes: number, shards?: readonly ShardRange[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const pumpOf = (line: string) => line.split(',')[0]!;
  for (const r of records) {
    expect(r.data.length + Buffer.byteLength(r.partitionKey)).toBeLessThanOrEqual(recordBytes);
    if (shards) {
      expect(r.partitionKey).toBe(r.shardId);
      for (const u of r.userRecords) for (const line of u.lines) expect(pumpOf(line)).toBe(u.partitionKey);
      for (const line of r.lines) expect(shardOf(shards, hashKeyOf(pumpOf(line))).shardId).toBe(r.shardId);
    } else {
      for (const key of r.userRecordKeys) expect(key).toBe(r.partitionKey);
      for (const line of r.lines) expect(pumpOf(line)).toBe(r.partitionKey);
    }
    for (const line of r.lines) out.set(pumpOf(line), [...(out.get(pumpOf(line)) ?? []), line]);
  }
  return out;
}

function expectedByPump(lines: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines) out.set(l.split(',')[0]!, [...(out.get(l.split(',')[0]!) ?? []), l]);
  return out;
}

/** A stand-in for local mode's HTTP API: answers `/api/status` from a script, repeating its last entry. */
async function statusServer(script: object[]): Promise<{ url: string; polls: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== '/api/status') {
      res.writeHead(404).end();
      return;
    }
    const body = script[Math.min(n++, script.length - 1)];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    polls: () => n,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('wellwatch push', () => {
  let k: KinesaliteHandle;
  let dir: string;
  let api: Awaited<ReturnType<typeof statusServer>>;
  let good: string[];
  let file: string;
  let streamNo = 0;

  const idle = { shards: [{ shardId: 'shardId-000000000000', checkpoint: '1', backlog: 0 }], idle: true, counters: {} };
  const busy = { shards: [{ shardId: 'shardId-000000000000', checkpoint: null, backlog: 7 }], idle: false, counters: {} };

  beforeAll(async () => {
    k = await startKinesalite({ shards: 2 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-push-'));
    api = await statusServer([busy, busy, idle]);
    writeLocalInfo(dir, {
      pid: process.pid,
      kinesisEndpoint: k.endpoint,
      dynamodbEndpoint: 'http://127.0.0.1:1',
      apiUrl: api.url,
      deadLetterUrl: `file://${dir}/dead-letters.jsonl`,
      dataDir: dir,
      startedAt: new Date().toISOString(),
    });
    good = [...generateReadings({ pumps: 6, days: 2, seed: 31 })];
    // Header, CRLF line ends, bad lines at known places, a blank line, no newline at the end.
    const lines = ['pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM'];
    good.forEach((l, i) => {
      if (i > 0 && i % 2000 === 0) lines.push(BAD[(i / 2000) % BAD.length]!);
      if (i === 5000) lines.push('');
      lines.push(l);
    });
    file = path.join(dir, 'readings.csv');
    fs.writeFileSync(file, lines.join('\r\n'));
  });

  afterAll(async () => {
    await api?.close();
    await k?.close();
  });

  async function freshStream(): Promise<string> {
    const name = `push-test-${++streamNo}`;
    await createStream(k.client, name, 2);
    return name;
  }

  const local = () => ['--local', '--data-dir', dir];

  it.each([
    ['kpl', 'shard', []],
    ['lines', 'shard', ['--format', 'lines']],
    ['kpl', 'pump', ['--pack', 'pump']],
    ['lines', 'pump', ['--format', 'lines', '--pack', 'pump']],
  ] as const)('sends a file in %s format packed per %s: every valid line once, per-pump order kept, bad lines reported and not sent', async (_format, pack, flags) => {
    const stream = await freshStream();
    const io = bufferedIO();
    const code = await pushCommand([file, ...local(), '--stream', stream, '--record-bytes', '4096', ...flags], io);
    // Progress lines appear every 5 s on a non-TTY, so a slow (loaded) machine prints some: they are not errors.
    expect(io.errLines.filter((l) => !l.includes('refused') && !/ readings sent · /.test(l))).toEqual([]);
    expect(code).toBe(0);
    const records = decodeRecords(await readAllRecords(k.client, stream));
    expect(records.every((r) => r.aggregated === (_format === 'kpl'))).toBe(true);
    const shards = pack === 'shard' ? await listOpenShards(k.client, stream) : undefined;
    expect(byPump(records, 4096, shards)).toEqual(expectedByPump(good));
    // Refused lines: reported with file:line and reason, never sent.
    const badCount = Math.floor((good.length - 1) / 2000);
    const refused = io.errLines.filter((l) => l.includes('refused'));
    expect(refused).toHaveLength(badCount);
    for (const l of refused) expect(l).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: refused \\([a-z-]+\\) .{5,}`));
    const content = fs.readFileSync(file, 'utf8').split('\r\n');
    for (const l of refused) expect(BAD).toContain(content[Number(/:(\d+):/.exec(l)![1]) - 1]);
    // Summary on stdout.
    const summary = io.outLines.join('\n');
    expect(summary).toContain(`sent     ${good.length.toLocaleString('en-US')} readings in ${records.length.toLocaleString('en-US')} records`);
    expect(summary).toMatch(new RegExp(`refused  ${badCount} lines before sending \\(`));
    expect(summary).toContain('failed   0 readings');
    expect(summary).toMatch(/read     [\d,]+ lines from 1 input \(2 blank\/header skipped\)/);
  });

  it('reads gzip files and stdin, in the order given', async () => {
    const stream = await freshStream();
    const half = Math.floor(good.length / 2);
    const gz = path.join(dir, 'first.csv.gz');
    fs.writeFileSync(gz, zlib.gzipSync(good.slice(0, half).join('\n') + '\n'));
    const io = bufferedIO({ stdin: Readable.from([Buffer.from(good.slice(half).join('\n'))]) });
    const code = await pushCommand([gz, '-', ...local(), '--stream', stream, '--quiet'], io);
    expect(io.errLines).toEqual([]);
    expect(io.outLines).toEqual([]);
    expect(code).toBe(0);
    const records = decodeRecords(await readAllRecords(k.client, stream));
    expect(byPump(records, 65536, await listOpenShards(k.client, stream))).toEqual(expectedByPump(good));
  });

  it('prints the first 20 refused lines and counts the rest', async () => {
    const stream = await freshStream();
    const f = path.join(dir, 'mostly-bad.csv');
    fs.writeFileSync(f, [...Array.from({ length: 45 }, (_, i) => `P${i},nope`), good[0]].join('\n'));
    const io = bufferedIO();
    expect(await pushCommand([f, ...local(), '--stream', stream], io)).toBe(0);
    expect(io.errLines.filter((l) => / refused \(/.test(l))).toHaveLength(20);
    expect(io.errLines).toContain('… and 25 more refused lines');
    expect(io.outLines.join('\n')).toContain('refused  45 lines before sending (field-count 45)');
  });

  it('waits for local mode to finish processing with --wait', async () => {
    const stream = await freshStream();
    const before = api.polls();
    const io = bufferedIO();
    const code = await pushCommand([file, ...local(), '--stream', stream, '--wait', '--quiet'], io);
    expect(code).toBe(0);
    // busy, busy, then two idle answers in a row.
    expect(api.polls() - before).toBeGreaterThanOrEqual(4);
  });

  it('fails with one clear line when --wait times out', async () => {
    const slowApi = await statusServer([busy]);
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-push-'));
    writeLocalInfo(d, {
      pid: process.pid,
      kinesisEndpoint: k.endpoint,
      dynamodbEndpoint: 'http://127.0.0.1:1',
      apiUrl: slowApi.url,
      deadLetterUrl: `file://${d}/dl.jsonl`,
      dataDir: d,
      startedAt: new Date().toISOString(),
    });
    try {
      const stream = await freshStream();
      const io = bufferedIO();
      const clean = path.join(d, 'clean.csv');
      fs.writeFileSync(clean, good.slice(0, 100).join('\n'));
      const code = await main(['push', clean, '--local', '--data-dir', d, '--stream', stream, '--wait', '--wait-timeout', '1', '--quiet'], io);
      expect(code).toBe(1);
      expect(io.errLines).toHaveLength(1);
      expect(io.errLines[0]).toMatch(/^wellwatch push: timed out after 1\.0s waiting for local mode .*backlog 7 records, consumer busy/);
    } finally {
      await slowApi.close();
    }
  });

  it('generate --send puts every generated reading into the stream, packed per shard, each pump in order', async () => {
    const stream = await freshStream();
    const io = bufferedIO();
    const code = await generateCommand(['--send', ...local(), '--stream', stream, '--pumps', '20', '--days', '1', '--seed', '3'], io);
    // Without a TTY a progress line is printed every 5 s; a loaded machine may take that long. Nothing else is expected.
    expect(io.errLines.filter((l) => !/^[\d,]+ readings sent · [\d,]+\/s$/.test(l))).toEqual([]);
    expect(code).toBe(0);
    const expected = [...generateReadings({ pumps: 20, days: 1, seed: 3 })];
    const records = decodeRecords(await readAllRecords(k.client, stream));
    expect(byPump(records, 65536, await listOpenShards(k.client, stream))).toEqual(expectedByPump(expected));
    expect(io.outLines.join('\n')).toContain(`sent     ${expected.length.toLocaleString('en-US')} readings`);
    expect(io.outLines.join('\n')).toMatch(new RegExp(`generated ${expected.length} readings of 20 pumps in [\\d.]+ s`));
  });

  it('generate --send --duration stops the feed after the duration; what was sent is the head of the feed', async () => {
    const stream = await freshStream();
    const io = bufferedIO();
    const code = await generateCommand(['--send', ...local(), '--stream', stream, '--pumps', '50', '--seed', '8', '--rate', '100', '--duration', '1s', '--quiet'], io);
    expect(code).toBe(0);
    const records = decodeRecords(await readAllRecords(k.client, stream));
    const sent = records.reduce((n, r) => n + r.lines.length, 0);
    // 1 s at 100 readings/s with a 10-reading burst; without --duration the feed would run for 3,660 days.
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(111);
    const head = [];
    const all = generateReadings({ pumps: 50, days: 1, seed: 8 });
    for (let i = 0; i < sent; i++) head.push(all.next().value as string);
    expect(byPump(records, 65536, await listOpenShards(k.client, stream))).toEqual(expectedByPump(head));
  });

  describe('mistakes give one clear line and a non-zero exit code', () => {
    async function run(argv: string[]): Promise<{ code: number; err: string[] }> {
      const io = bufferedIO();
      const code = await main(argv, io);
      return { code, err: io.errLines };
    }

    it.each([
      [['push', '<file>', '--bogus'], 2, 'wellwatch push: unknown option --bogus (see `wellwatch push --help`)'],
      [['push'], 2, 'wellwatch push: no input: give one or more files, or - for stdin (see `wellwatch push --help`)'],
      [['push', '<file>', '--format', 'xml'], 2, 'wellwatch push: --format must be kpl or lines, got "xml"'],
      [['push', '<file>', '--pack', 'reading'], 2, 'wellwatch push: --pack must be shard or pump, got "reading"'],
      [['push', '<file>', '--format'], 2, 'wellwatch push: option --format needs a value'],
      [['push', '<file>', '--concurrency', '0'], 2, 'wellwatch push: --concurrency must be an integer 1–64, got "0"'],
      [['push', '<file>', '--record-bytes', '2000000', '--local', '--data-dir', '<dir>'], 2, 'wellwatch push: --record-bytes must be an integer 256–1048576, got "2000000"'],
      [['push', '<file>', '--wait'], 2, 'wellwatch push: --wait needs --local (in AWS, watch the consumer iterator age on the dashboard)'],
      [['push', '-', '-'], 2, 'wellwatch push: stdin (-) can be read only once'],
    ])('%j → exit %i', async (argv, code, line) => {
      const r = await run(argv.map((a) => (a === '<dir>' ? dir : a === '<file>' ? file : a)));
      expect(r).toEqual({ code, err: [line] });
    });

    it('names a missing file', async () => {
      const r = await run(['push', path.join(dir, 'nope.csv'), ...local()]);
      expect(r).toEqual({ code: 1, err: [`wellwatch push: cannot read ${path.join(dir, 'nope.csv')}: no such file`] });
    });

    it('names a missing stream', async () => {
      const r = await run(['push', file, ...local(), '--stream', 'no-such-stream']);
      expect(r.code).toBe(1);
      expect(r.err).toEqual([`wellwatch push: stream no-such-stream not found at ${k.endpoint} (local mode creates wellwatch-readings; check --data-dir and --stream)`]);
    });

    it('names an unreachable Kinesis endpoint', async () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-push-'));
      writeLocalInfo(d, {
        pid: process.pid,
        kinesisEndpoint: 'http://127.0.0.1:1',
        dynamodbEndpoint: 'http://127.0.0.1:1',
        apiUrl: 'http://127.0.0.1:1',
        deadLetterUrl: `file://${d}/dl.jsonl`,
        dataDir: d,
        startedAt: new Date().toISOString(),
      });
      const r = await run(['push', file, '--local', '--data-dir', d]);
      expect(r.code).toBe(1);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^wellwatch push: cannot reach Kinesis at http:\/\/127\.0\.0\.1:1 \(.*ECONNREFUSED/);
    });

    it('says when local mode is not running', async () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-push-'));
      const r = await run(['push', file, '--local', '--data-dir', d]);
      expect(r.code).toBe(1);
      expect(r.err).toEqual([`wellwatch push: no local mode running in ${d} (start it with \`wellwatch local\`)`]);
    });
  });
});

describe('wellwatch generate', () => {
  it('writes the same bytes for the same options, to stdout or --out', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-gen-'));
    const out = path.join(dir, 'g.csv');
    const io = bufferedIO();
    expect(await generateCommand(['--pumps', '3', '--days', '1', '--seed', '5', '--bad-rate', '0.01', '--out', out], io)).toBe(0);
    const expected = [...generateReadings({ pumps: 3, days: 1, seed: 5, badLineRate: 0.01 })];
    expect(fs.readFileSync(out, 'utf8')).toBe(expected.join('\n') + '\n');
    expect(io.errLines).toEqual([`wrote ${expected.length} lines to ${out}`]);

    const { PassThrough } = await import('node:stream');
    const sink = new PassThrough({ highWaterMark: 1024 });
    const chunks: Buffer[] = [];
    const io2 = { ...bufferedIO(), stdout: sink };
    // Read slowly, so the command must wait for 'drain'.
    const reading = (async () => {
      for await (const c of sink) {
        chunks.push(c as Buffer);
        await new Promise((r) => setImmediate(r));
      }
    })();
    expect(await generateCommand(['--pumps', '3', '--days', '1', '--seed', '5', '--bad-rate', '0.01'], io2)).toBe(0);
    sink.end();
    await reading;
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected.join('\n') + '\n');
  });

  it.each([
    [['generate', '--days', '1', '--seed', '1'], 'wellwatch generate: --pumps is required (see `wellwatch generate --help`)'],
    [['generate', '--pumps', '0', '--days', '1', '--seed', '1'], 'wellwatch generate: --pumps must be an integer 1–100000, got "0"'],
    [['generate', '--pumps', '1', '--days', '1', '--seed', '1.5'], expect.stringMatching(/^wellwatch generate: --seed must be an integer/)],
    [['generate', '--pumps', '1', '--days', '1', '--seed', '1', '--bad-rate', '2'], 'wellwatch generate: --bad-rate must be a number 0–1, got "2"'],
    [['generate', '--pumps', '1', '--days', '1', '--seed', '1', '--start', '1999-01-01'], expect.stringMatching(/^wellwatch generate: generated days must lie in 2000–2099/)],
    [['generate', '--pumps', '1', '--days', '1', '--seed', '1', '--start', '3/10/14'], 'wellwatch generate: --start must be YYYY-MM-DD, got "3/10/14"'],
    [['generate', '--pumps', '1', '--days', '1', '--seed', '1', '--rate', '5'], 'wellwatch generate: --rate needs --send'],
    [['generate', '--pumps', '1', '--days', '1', '--seed', '1', '--local'], 'wellwatch generate: --local needs --send'],
    [['generate', '--pumps', '1', '--days', '1', '--seed', '1', '--send', '--out', 'x.csv'], 'wellwatch generate: --out and --send exclude each other: write a file, or send to the stream'],
    [['generate', '--pumps', '1', '--seed', '1', '--send'], 'wellwatch generate: --days is required (see `wellwatch generate --help`)'],
    [['generate', '--pumps', '1', '--seed', '1', '--send', '--duration', '0s'], expect.stringMatching(/^wellwatch generate: --duration must be seconds or a number with s, m or h, 1 s to 7 days .*got "0s"$/)],
    [['generate', '--pumps', '1', '--seed', '1', '--send', '--duration', '5 minutes'], expect.stringMatching(/^wellwatch generate: --duration must be .*got "5 minutes"$/)],
  ])('%j → exit 2 with one line', async (argv, line) => {
    const io = bufferedIO();
    expect(await main(argv as string[], io)).toBe(2);
    expect(io.errLines).toEqual([line]);
    expect(io.outLines).toEqual([]);
  });
});

describe('progress', () => {
  it('renders count, rate, percentage and ETA', () => {
    expect(renderProgress({ done: 5000, unit: 'readings sent', bytes: { read: 50, total: 100 } }, 2000)).toBe('5,000 readings sent · 2,500/s · 50% · ETA 2.0s');
    expect(renderProgress({ done: 10, unit: 'readings sent', extra: '3 retried' }, 0)).toBe('10 readings sent · 0/s · 3 retried');
  });

  it('rewrites one line in place on a terminal and clears it at the end', async () => {
    const { PassThrough } = await import('node:stream');
    const stderr = new PassThrough();
    let written = '';
    stderr.on('data', (c) => (written += String(c)));
    let done = 0;
    const io = { ...bufferedIO({ isTTY: true }), stderr };
    const p = startProgress(io, () => ({ done: (done += 100), unit: 'readings sent' }), { ttyIntervalMs: 5 });
    while ((written.match(/\r/g) ?? []).length < 3) await new Promise((r) => setTimeout(r, 5));
    p.stop();
    await new Promise((r) => setImmediate(r));
    expect(written).toMatch(/^\r100 readings sent · [\d,]+\/s\r200 readings sent/);
    expect(written).toMatch(/\r +\r$/);
    expect(io.errLines).toEqual([]);
  });

  it('prints plain lines when not on a terminal', async () => {
    const io = bufferedIO({ isTTY: false });
    const p = startProgress(io, () => ({ done: 7, unit: 'readings sent' }), { plainIntervalMs: 5 });
    while (io.errLines.length < 2) await new Promise((r) => setTimeout(r, 5));
    p.stop();
    expect(io.errLines[0]).toMatch(/^7 readings sent · [\d,]+\/s$/);
  });
});
