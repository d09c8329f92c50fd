/**
 * `<dataDir>/local.json` (discovery, the ready signal) and `<dataDir>/local.lock` (one instance per data dir).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  acquireLocalLock,
  isPidAlive,
  LocalAlreadyRunningError,
  localInfoPath,
  localLockPath,
  readLocalInfo,
  removeLocalInfo,
  writeLocalInfo,
  type LocalInfo,
} from '../../local/discovery';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-discovery-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(child.stdout.toString());
  expect(isPidAlive(pid)).toBe(false);
  return pid;
}

function info(overrides: Partial<LocalInfo> = {}): LocalInfo {
  return {
    pid: process.pid,
    kinesisEndpoint: 'http://127.0.0.1:1111',
    dynamodbEndpoint: 'http://127.0.0.1:2222',
    apiUrl: 'http://127.0.0.1:3333',
    deadLetterUrl: `file://${dir}/dead-letters.jsonl`,
    dataDir: dir,
    startedAt: '2024-03-10T00:00:00.000Z',
    ...overrides,
  };
}

describe('readLocalInfo', () => {
  it('explains how to start local mode when there is no local.json', () => {
    expect(() => readLocalInfo(dir)).toThrow(`no local mode running in ${dir} (start it with \`wellwatch local\`)`);
  });

  it('treats a local.json whose process is gone as not running', () => {
    writeLocalInfo(dir, info({ pid: deadPid() }));
    expect(() => readLocalInfo(dir)).toThrow(/^no local mode running in .* \(start it with `wellwatch local`\): stale local\.json/);
  });

  it('says a live instance is still starting while it holds the lock but has not published local.json', () => {
    const release = acquireLocalLock(dir);
    expect(() => readLocalInfo(dir)).toThrow(`no local mode running in ${dir} (start it with \`wellwatch local\`): process ${process.pid} is still starting (or stopping); local.json appears when it is ready`);
    release();
  });

  it('returns the endpoints of a live instance', () => {
    writeLocalInfo(dir, info());
    expect(readLocalInfo(dir)).toEqual(info());
    expect(fs.readdirSync(dir)).toEqual(['local.json']); // atomic write left no temp file
  });
});

describe('acquireLocalLock', () => {
  it('refuses a second instance on the same data dir while the first is alive', () => {
    const release = acquireLocalLock(dir);
    expect(() => acquireLocalLock(dir)).toThrow(LocalAlreadyRunningError);
    expect(() => acquireLocalLock(dir)).toThrow(`local mode is already running in ${dir} (pid ${process.pid})`);
    release();
    expect(fs.existsSync(localLockPath(dir))).toBe(false);
    acquireLocalLock(dir)();
  });

  it('never creates local.json itself: a reader sees no file until the instance publishes a complete one', () => {
    const release = acquireLocalLock(dir);
    expect(fs.readdirSync(dir)).toEqual(['local.lock']);
    writeLocalInfo(dir, info());
    expect(readLocalInfo(dir)).toEqual(info());
    release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('takes over a lock and a local.json left by a crashed process', () => {
    const dead = deadPid();
    fs.writeFileSync(localLockPath(dir), JSON.stringify({ pid: dead }));
    writeLocalInfo(dir, info({ pid: dead }));
    const release = acquireLocalLock(dir);
    expect(JSON.parse(fs.readFileSync(localLockPath(dir), 'utf8')).pid).toBe(process.pid);
    // The crashed instance's endpoints are gone: its local.json must not be offered until this one publishes.
    expect(fs.existsSync(localInfoPath(dir))).toBe(false);
    release();
  });

  it('creates the data dir when missing', () => {
    const nested = path.join(dir, 'a', 'b');
    const release = acquireLocalLock(nested);
    expect(fs.existsSync(localLockPath(nested))).toBe(true);
    release();
  });
});

describe('removeLocalInfo', () => {
  it('leaves a file that belongs to another process alone', () => {
    writeLocalInfo(dir, info({ pid: process.pid + 100_000 }));
    removeLocalInfo(dir);
    expect(fs.existsSync(localInfoPath(dir))).toBe(true);
    removeLocalInfo(dir, process.pid + 100_000);
    expect(fs.existsSync(localInfoPath(dir))).toBe(false);
  });
});
