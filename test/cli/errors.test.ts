/**
 * The CLI fails well: a bad flag, an unreadable file or an unreachable endpoint gives ONE clear line on stderr
 * (naming the flag, file or endpoint) and a non-zero exit — 2 for usage mistakes, 1 for everything else — and
 * `push` reports each line it refuses, with `file:line`, code and reason, before sending the rest.
 *
 * Usage errors run in-process through `main()` (no network is reached: they fail before any target is used).
 * Unreachable endpoints run as real child processes (`node bin/wellwatch.js …`), because how a network error
 * looks depends on the process it happens in (jest's sandbox re-wraps errors from Node's http module). The
 * refused-lines report runs against a real local mode.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { bufferedIO } from '../../cli/io';
import { startLocal, type LocalRuntime } from '../../local';

const REPO = path.resolve(__dirname, '../..');
// `bin/wellwatch` would resolve to the JavaScript launcher (which registers tsx); load the TypeScript entry itself.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require('../../bin/wellwatch.ts') as typeof import('../../bin/wellwatch');
const GOOD = 'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94';

// Nothing here may reach AWS: usage errors fail before a target is used, everything else uses --local.
process.env.AWS_EC2_METADATA_DISABLED = 'true';

async function run(argv: string[]): Promise<{ code: number; err: string[]; out: string[] }> {
  const io = bufferedIO();
  const code = await main(argv, io);
  return { code, err: io.errLines.flatMap((l) => l.split('\n')), out: io.outLines };
}

/** Runs the real CLI in a child process. */
function cli(argv: string[], cwd = REPO): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/wellwatch.js'), ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** stderr without the AWS SDK's one-time Node-version notice (printed by the SDK, not by wellwatch). */
function ownLines(stderr: string): string[] {
  const lines = stderr.split('\n').filter((l) => l !== '');
  const sdkNotice = lines.findIndex((l) => l.includes('NodeVersionSupportWarning'));
  if (sdkNotice < 0) return lines;
  const end = lines.findIndex((l, i) => i > sdkNotice && l.includes('--trace-warnings'));
  return [...lines.slice(0, sdkNotice), ...lines.slice(end + 1)];
}

function readDeadLetterFile(file: string): unknown[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let tmp: string;
/** A data dir without local mode. */
let emptyDir: string;
/** A data dir whose local.json names a live process (this one) but endpoints on a closed port. */
let deadEndDir: string;
/** A data dir whose local.json names a process that is gone. */
let staleDir: string;
let deadEndUrl: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-cli-errors-'));
  emptyDir = path.join(tmp, 'empty');
  deadEndDir = path.join(tmp, 'dead-end');
  staleDir = path.join(tmp, 'stale');
  for (const d of [emptyDir, deadEndDir, staleDir]) fs.mkdirSync(d);
  deadEndUrl = `http://127.0.0.1:${await closedPort()}`;
  const info = (pid: number, dir: string) =>
    JSON.stringify({ pid, kinesisEndpoint: deadEndUrl, dynamodbEndpoint: deadEndUrl, apiUrl: deadEndUrl, deadLetterUrl: `file://${dir}/dead-letters.jsonl`, dataDir: dir, startedAt: new Date().toISOString() });
  fs.writeFileSync(path.join(deadEndDir, 'local.json'), info(process.pid, deadEndDir));
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.on('exit', resolve));
  fs.writeFileSync(path.join(staleDir, 'local.json'), info(gone.pid!, staleDir));
  fs.writeFileSync(path.join(tmp, 'good.csv'), `${GOOD}\n`);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('bad flags: one line naming the flag, exit 2', () => {
  const L = (): string[] => ['--local', '--data-dir', emptyDir];
  it.each<[string, () => string[], RegExp]>([
    ['push with an unknown option', () => ['push', 'x.csv', '--bogus', ...L()], /^wellwatch push: unknown option --bogus/],
    ['push without input', () => ['push', ...L()], /^wellwatch push: no input: give one or more files, or - for stdin/],
    ['push --format xml', () => ['push', 'x.csv', '--format', 'xml', ...L()], /^wellwatch push: --format must be kpl or lines, got "xml"$/],
    ['push --concurrency 0', () => ['push', 'x.csv', '--concurrency', '0', ...L()], /^wellwatch push: --concurrency must be an integer 1–64, got "0"$/],
    ['push --max-attempts abc', () => ['push', 'x.csv', '--max-attempts', 'abc', ...L()], /^wellwatch push: --max-attempts must be an integer 1–30, got "abc"$/],
    ['push --linger without a value', () => ['push', 'x.csv', ...L(), '--linger'], /^wellwatch push: option --linger needs a value$/],
    ['push - - (stdin twice)', () => ['push', '-', '-', ...L()], /^wellwatch push: stdin \(-\) can be read only once$/],
    ['push --wait without --local', () => ['push', 'x.csv', '--wait'], /^wellwatch push: --wait needs --local/],
    ['push --record-bytes 10', () => ['push', 'x.csv', '--record-bytes', '10'], /^wellwatch push: --record-bytes must be an integer 256–1048576, got "10"$/],
    ['local --port 99999', () => ['local', '--port', '99999'], /^wellwatch local: --port must be an integer 0–65535, got "99999"$/],
    ['local --shards 0', () => ['local', '--shards', '0'], /^wellwatch local: --shards must be an integer 1–50, got "0"$/],
    ['local --kinesis-port 70000', () => ['local', '--kinesis-port', '70000'], /^wellwatch local: --kinesis-port must be an integer 0–65535, got "70000"$/],
    ['local --dynamodb-port x', () => ['local', '--dynamodb-port', 'x'], /^wellwatch local: --dynamodb-port must be an integer 0–65535, got "x"$/],
    ['local with an unknown option', () => ['local', '--bogus'], /^wellwatch local: unknown option '?--bogus'?/i],
    ['query readings --from 2014-13-45', () => ['query', 'readings', '--pump', 'X', '--from', '2014-13-45', ...L()], /^wellwatch query: --from must be YYYY-MM-DD/],
    ['query stats --format xml', () => ['query', 'stats', '--format', 'xml', ...L()], /^wellwatch query: --format must be csv or json, got "xml"$/],
    ['rollup --from without --to', () => ['rollup', '--from', '2014-03-10', ...L()], /^wellwatch rollup: --from and --to go together$/],
    ['status --format xml', () => ['status', '--format', 'xml', ...L()], /^wellwatch status: --format must be text or json, got "xml"$/],
    ['status --deployment with --local', () => ['status', '--deployment', 'staging', ...L()], /^wellwatch status: --deployment names an AWS deployment; local mode has one/],
    ['status --deployment Bad_Name', () => ['status', '--deployment', 'Bad_Name'], /^wellwatch status: configuration: deployment name must be 1–20 characters of a-z, 0-9 and -, starting with a letter, got "Bad_Name"$/],
    ['generate without --pumps', () => ['generate'], /^wellwatch generate: --pumps is required/],
    ['generate --pumps 0', () => ['generate', '--pumps', '0', '--days', '1', '--seed', '1'], /^wellwatch generate: --pumps must be an integer 1–100000, got "0"$/],
  ])('%s', async (_name, argv, message) => {
    const { code, err, out } = await run(argv());
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(message);
    expect(out).toEqual([]);
    expect(code).toBe(2);
  });

  it('names a negative --rate as a value that needs --rate=… instead of claiming --rate takes no value', async () => {
    const { code, err } = await run(['push', 'x.csv', '--rate', '-1', ...L()]);
    expect(code).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).not.toMatch(/takes no value/);
    expect(err[0]).toMatch(/--rate.*(needs a value|--rate=)/);
  });

  it('names --quiet=yes by the flag typed (--quiet), not by its alias -q', async () => {
    const { code, err } = await run(['push', 'x.csv', '--quiet=yes', ...L()]);
    expect({ code, err }).toEqual({ code: 2, err: ['wellwatch push: option --quiet takes no value'] });
  });

  it.each<[string, () => string[], RegExp]>([
    ['query without a kind', () => ['query', ...L()], /^wellwatch query: expected one of readings\|alerts\|stats\|deadletters, got nothing/],
    ['query with an unknown kind', () => ['query', 'nonsense', ...L()], /^wellwatch query: expected one of readings\|alerts\|stats\|deadletters, got "nonsense"/],
    ['rollup without a mode', () => ['rollup', ...L()], /^wellwatch rollup: give exactly one of --date, --from\/--to or --pending/],
    ['rollup with two modes', () => ['rollup', '--date', '2014-03-10', '--pending', ...L()], /^wellwatch rollup: give exactly one of --date, --from\/--to or --pending/],
  ])('%s: one line, not the whole help text', async (_name, argv, message) => {
    const { code, err } = await run(argv());
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
    expect(err).toHaveLength(1);
  });

  it('rejects an unknown command with exit 2, naming it on the first line', async () => {
    const { code, err } = await run(['nosuchcommand']);
    expect(code).toBe(2);
    expect(err[0]).toBe('wellwatch: unknown command "nosuchcommand"');
  });
});

describe('unreadable files: one line naming the file, exit 1', () => {
  it('names a missing file', async () => {
    const file = path.join(tmp, 'missing.csv');
    const { code, err } = await run(['push', file, '--local', '--data-dir', deadEndDir]);
    expect({ code, err }).toEqual({ code: 1, err: [`wellwatch push: cannot read ${file}: no such file`] });
  });

  it('names a directory given as a file', async () => {
    const { code, err } = await run(['push', emptyDir, '--local', '--data-dir', deadEndDir]);
    expect({ code, err }).toEqual({ code: 1, err: [`wellwatch push: cannot read ${emptyDir}: it is a directory`] });
  });

  (process.getuid?.() === 0 ? it.skip : it)('names a file it may not read (skipped as root, who may read anything)', async () => {
    const file = path.join(tmp, 'secret.csv');
    fs.writeFileSync(file, `${GOOD}\n`, { mode: 0o000 });
    const { code, err } = await run(['push', file, '--local', '--data-dir', deadEndDir]);
    expect({ code, err }).toEqual({ code: 1, err: [`wellwatch push: cannot read ${file}: permission denied`] });
  });
});

describe('unreachable endpoints and stale local mode (child processes): one line, exit 1', () => {
  let results: Map<string, { code: number | null; stderr: string; stdout: string }>;
  const cases = (): Record<string, string[]> => ({
    push: ['push', path.join(tmp, 'good.csv'), '--local', '--data-dir', deadEndDir],
    query: ['query', 'readings', '--pump', 'COHUTTA', '--local', '--data-dir', deadEndDir],
    rollup: ['rollup', '--date', '2014-03-10', '--local', '--data-dir', deadEndDir],
    status: ['status', '--local', '--data-dir', deadEndDir],
    stale: ['push', path.join(tmp, 'good.csv'), '--local', '--data-dir', staleDir],
    badFlag: ['push', '--bogus'],
    missingFile: ['push', path.join(tmp, 'missing.csv'), '--local', '--data-dir', deadEndDir],
  });

  beforeAll(async () => {
    const entries = Object.entries(cases());
    const outs = await Promise.all(entries.map(([, argv]) => cli(argv)));
    results = new Map(entries.map(([name], i) => [name, outs[i]!]));
  }, 120_000);

  it.each<[string, number, () => RegExp]>([
    ['push', 1, () => new RegExp(`^wellwatch push: cannot reach Kinesis at ${deadEndUrl} \\(connect ECONNREFUSED`)],
    ['query', 1, () => new RegExp(`^wellwatch query: cannot reach the endpoint ${deadEndUrl.slice(7)} \\(ECONNREFUSED\\)`)],
    ['rollup', 1, () => new RegExp(`^wellwatch rollup: cannot reach the endpoint ${deadEndUrl.slice(7)} \\(ECONNREFUSED\\)`)],
    ['status', 1, () => new RegExp(`^wellwatch status: cannot reach local mode at ${deadEndUrl}/api/status \\(ECONNREFUSED\\)`)],
    ['stale', 1, () => /^wellwatch push: no local mode running in .*stale.*: stale local\.json, process \d+ is gone$/],
    ['badFlag', 2, () => /^wellwatch push: unknown option --bogus/],
    ['missingFile', 1, () => /^wellwatch push: cannot read .*missing\.csv: no such file$/],
  ])('%s → exit %i with one line and no stack trace', (name, exitCode, message) => {
    const r = results.get(name)!;
    const lines = ownLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message());
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.code).toBe(exitCode);
  });
});

describe('push reports the lines it refuses, with file:line and reason, and sends the rest', () => {
  let runtime: LocalRuntime;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-cli-refused-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, schedule: false, log: () => undefined });
  });

  afterAll(async () => {
    await runtime?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const BAD: [string, string, RegExp][] = [
    ['COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85', 'field-count', /expected 9 fields, got 8/],
    ['COHUTTA,2/30/14,1:01,10.27,1.73,881,1.56,85,1.94', 'date', /impossible date 2\/30\/14/],
    ['COHUTTA,3/10/14,25:61,10.27,1.73,881,1.56,85,1.94', 'time', /impossible time 25:61/],
    ['COHUTTA,3/10/14,1:01,NaN,1.73,881,1.56,85,1.94', 'number', /hz is not a finite number: "NaN"/],
    ['COHUTTA,3/10/14,1:01,1e400,1.73,881,1.56,85,1.94', 'range', /hz out of range/],
    ['bad pump!,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94', 'pump-id', /pump id must match/],
    ['COHUTTA,3/10/14,1:01,10.27,1.73,\u0007881,1.56,85,1.94', 'control-char', /control character U\+0007/],
  ];

  it('lists each refused line as file:line: refused (code) reason, counts them, exits 0 and sends the good lines', async () => {
    // 36 bad lines (more than the 20 shown one by one) between 300 good ones, plus a header and blank lines.
    const lines: string[] = ['pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM'];
    const badAt: { line: number; code: string; reason: RegExp }[] = [];
    for (let m = 0; m < 300; m++) {
      lines.push(`REFUSE,3/10/14,${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')},1,1,1,1,${m % 7},1`);
      if (m % 8 === 3 && badAt.length < 36) {
        const [text, code, reason] = BAD[badAt.length % BAD.length]!;
        lines.push(text);
        badAt.push({ line: lines.length, code, reason });
      }
      if (m === 150) lines.push('');
    }
    const file = path.join(dir, 'mixed.csv');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const io = bufferedIO();
    const code = await main(['push', file, '--local', '--data-dir', dir, '--format', 'lines'], io);
    expect(code).toBe(0);
    const refused = io.errLines.filter((l) => l.includes(': refused ('));
    expect(refused).toHaveLength(20);
    refused.forEach((l, i) => {
      const b = badAt[i]!;
      expect(l.startsWith(`${file}:${b.line}: refused (${b.code}) `)).toBe(true);
      expect(l).toMatch(b.reason);
    });
    expect(io.errLines).toContain('… and 16 more refused lines');
    expect(io.outLines.find((l) => l.startsWith('refused'))).toMatch(/^refused\s+36 lines before sending \(/);
    expect(io.outLines.find((l) => l.startsWith('sent'))).toMatch(/^sent\s+300 readings/);
    await runtime.waitForIdle({ timeoutMs: 60_000 });
    // Refused lines never reached the stream, so the consumer has no dead letters for them.
    expect(readDeadLetterFile(path.join(dir, 'dead-letters.jsonl'))).toEqual([]);
  });

  it('reports refused lines read from stdin as stdin:line', async () => {
    const io = bufferedIO({ stdin: Readable.from([Buffer.from(`${GOOD}\nCOHUTTA,2/30/14,1:01,10.27,1.73,881,1.56,85,1.94\n`)]) });
    const code = await main(['push', '-', '--local', '--data-dir', dir, '--quiet'], io);
    expect(code).toBe(0);
    expect(io.errLines).toEqual(['stdin:2: refused (date) impossible date 2/30/14']);
  });

  it('stops with one line naming a corrupt .gz file and exit 1', async () => {
    const file = path.join(dir, 'broken.csv.gz');
    const gz = zlib.gzipSync(Buffer.from(`${GOOD}\n`.repeat(2000)));
    fs.writeFileSync(file, Buffer.concat([gz.subarray(0, 40), Buffer.alloc(64, 0x55)]));
    const io = bufferedIO();
    const code = await main(['push', file, '--local', '--data-dir', dir], io);
    expect(code).toBe(1);
    const errors = io.errLines.filter((l) => l.startsWith('wellwatch push:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^wellwatch push: cannot read ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  });
});

describe('explainError: the CLI top level tells errors apart by type', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { explainError, UsageError } = require('../../cli/errors') as typeof import('../../cli/errors');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ConfigError, InternalError, WellwatchError } = require('../../lambdas/core/errors') as typeof import('../../lambdas/core/errors');

  it.each<[string, unknown, { message: string; exitCode: number }]>([
    ['a usage mistake exits 2', new UsageError('--pumps is required'), { message: '--pumps is required', exitCode: 2 }],
    ['a configuration mistake exits 2, marked as configuration', new ConfigError('batchSize must be 1–10000, got 0'), { message: 'configuration: batchSize must be 1–10000, got 0', exitCode: 2 }],
    ['a bug exits 1 and says it is one', new InternalError('record of A acknowledged out of order'), { message: 'internal error (a bug in wellwatch, please report it): record of A acknowledged out of order', exitCode: 1 }],
    ['a wellwatch error keeps its message', new WellwatchError('cannot read x.csv: no such file'), { message: 'cannot read x.csv: no such file', exitCode: 1 }],
    ['an error merely named UsageError is not a usage mistake', Object.assign(new Error('looks like one'), { name: 'UsageError' }), { message: 'UsageError: looks like one', exitCode: 1 }],
    ['an unknown error is described by name and message', new TypeError('x is not a function'), { message: 'TypeError: x is not a function', exitCode: 1 }],
  ])('%s', (_what, error, expected) => {
    expect(explainError(error)).toEqual(expected);
  });
});
