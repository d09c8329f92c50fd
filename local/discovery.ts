/**
 * How CLI commands and scripts find a running local mode: `<dataDir>/local.json`, and the lock beside it.
 *
 * Two files with one job each. `local.lock` holds `{pid}` from the first moment of a start to the end of its stop:
 * it refuses a second local mode on the same data dir (a lock whose process is gone is stale and taken over).
 * `local.json` is the ready signal: `startLocal` writes it once the emulators, the runner and the API all listen,
 * complete and atomically (a temp file renamed into place), and removes it on stop. A reader therefore sees either
 * no file or the whole file, never a file without endpoints; a script waits for the file to appear.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WellwatchError } from '../lambdas/core/errors';

/** Name of the discovery file inside the data dir (exists exactly while local mode is ready). */
export const LOCAL_INFO_FILE = 'local.json';

/** Name of the lock file inside the data dir (exists while a local mode starts, runs or stops). */
export const LOCAL_LOCK_FILE = 'local.lock';

/** What a running local mode publishes about itself. */
export interface LocalInfo {
  /** Process id of the local mode. */
  readonly pid: number;
  /** `http://127.0.0.1:<port>` of kinesalite. */
  readonly kinesisEndpoint: string;
  /** `http://127.0.0.1:<port>` of dynalite. */
  readonly dynamodbEndpoint: string;
  /** `http://127.0.0.1:<port>` of the dashboard and HTTP API. */
  readonly apiUrl: string;
  /** `file:///…/dead-letters.jsonl`. */
  readonly deadLetterUrl: string;
  /** Absolute data dir. */
  readonly dataDir: string;
  /** ISO time local mode started. */
  readonly startedAt: string;
  /**
   * The partition-limit proxy the handlers write through, when local mode runs with `--partition-limits`
   * (`dynamodbEndpoint` stays dynalite's, unlimited).
   */
  readonly partitionLimits?: { readonly endpoint: string; readonly factor: number; readonly burstSeconds: number };
}

/** Alarm notifications of local mode (one JSON line each), in its data dir. */
export const LOCAL_NOTIFICATIONS_FILE = 'notifications.jsonl';

/** No local mode runs in the given data dir (no `local.json`, or its process is gone). */
export class LocalNotRunningError extends WellwatchError {
  readonly dataDir: string;

  constructor(dataDir: string, detail?: string) {
    super(`no local mode running in ${dataDir} (start it with \`wellwatch local\`)${detail ? `: ${detail}` : ''}`);
    this.name = 'LocalNotRunningError';
    this.dataDir = dataDir;
  }
}

/** A second local mode was asked to start on a data dir that is already in use. */
export class LocalAlreadyRunningError extends WellwatchError {
  readonly dataDir: string;
  readonly pid: number;

  constructor(dataDir: string, pid: number) {
    super(`local mode is already running in ${dataDir} (pid ${pid}); stop it first or use another --data-dir`);
    this.name = 'LocalAlreadyRunningError';
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/**
 * Path of the discovery file of a data dir.
 *
 * @example
 * localInfoPath('.wellwatch'); // '/abs/.wellwatch/local.json'
 */
export function localInfoPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), LOCAL_INFO_FILE);
}

/**
 * Path of the lock file of a data dir.
 *
 * @example
 * localLockPath('.wellwatch'); // '/abs/.wellwatch/local.lock'
 */
export function localLockPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), LOCAL_LOCK_FILE);
}

/**
 * Tells whether a process with this id exists.
 *
 * `EPERM` means it exists but belongs to someone else, which still counts as alive.
 *
 * @example
 * isPidAlive(process.pid); // true
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readRaw(file: string): Partial<LocalInfo> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const data = JSON.parse(text) as unknown;
    return typeof data === 'object' && data !== null ? (data as Partial<LocalInfo>) : {};
  } catch {
    // A file cut short by a crash (or a lock being created) has no usable content.
    return {};
  }
}

/**
 * Reads the discovery file of a running local mode.
 *
 * @throws LocalNotRunningError when the file is absent, incomplete, or its process is no longer alive.
 * @example
 * const info = readLocalInfo('.wellwatch');
 * const cfg = loadConfig({ endpoints: { kinesis: info.kinesisEndpoint, dynamodb: info.dynamodbEndpoint } });
 */
export function readLocalInfo(dataDir: string): LocalInfo {
  const dir = path.resolve(dataDir);
  const raw = readRaw(localInfoPath(dir));
  if (!raw) {
    const lock = readRaw(localLockPath(dir));
    if (lock && typeof lock.pid === 'number' && isPidAlive(lock.pid)) {
      throw new LocalNotRunningError(dir, `process ${lock.pid} is still starting (or stopping); ${LOCAL_INFO_FILE} appears when it is ready`);
    }
    throw new LocalNotRunningError(dir);
  }
  if (typeof raw.pid !== 'number' || !isPidAlive(raw.pid)) throw new LocalNotRunningError(dir, `stale ${LOCAL_INFO_FILE}, process ${raw.pid ?? '?'} is gone`);
  if (typeof raw.kinesisEndpoint !== 'string' || typeof raw.dynamodbEndpoint !== 'string' || typeof raw.apiUrl !== 'string') {
    throw new LocalNotRunningError(dir, `process ${raw.pid} is still starting`);
  }
  return raw as LocalInfo;
}

/**
 * Writes `data` to `file` atomically: a sibling temp file, then rename over the target.
 *
 * @example
 * writeFileAtomic('/tmp/ww/local.json', '{"pid":1}');
 */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
  fs.writeFileSync(tmp, data);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Takes the data dir for this process, or refuses when another live process holds it.
 *
 * Creates `local.lock` exclusively with `{pid}`; a lock left by a dead process is replaced, and so is a `local.json`
 * it left (whoever holds the lock owns the discovery file). Returns a function releasing the lock: it removes
 * `local.json` and `local.lock` if they are still ours.
 *
 * @throws LocalAlreadyRunningError when a live process (this one included) already runs local mode there.
 * @example
 * const release = acquireLocalLock(dir);
 * try { … } finally { release(); }
 */
export function acquireLocalLock(dataDir: string): () => void {
  const dir = path.resolve(dataDir);
  fs.mkdirSync(dir, { recursive: true });
  const file = localLockPath(dir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, dataDir: dir, startedAt: new Date().toISOString() }), { flag: 'wx' });
      fs.rmSync(localInfoPath(dir), { force: true });
      return () => {
        removeLocalInfo(dir);
        const lock = readRaw(file);
        if (lock && lock.pid === process.pid) fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const existing = readRaw(file);
    if (existing && typeof existing.pid === 'number' && isPidAlive(existing.pid)) throw new LocalAlreadyRunningError(dir, existing.pid);
    fs.rmSync(file, { force: true });
  }
  throw new WellwatchError(`could not lock ${file}: another process keeps recreating it`);
}

/**
 * Publishes the discovery information, complete, in one atomic rename: the ready signal.
 *
 * @example
 * writeLocalInfo(dir, { pid: process.pid, kinesisEndpoint, dynamodbEndpoint, apiUrl, deadLetterUrl, dataDir: dir, startedAt });
 */
export function writeLocalInfo(dataDir: string, info: LocalInfo): void {
  writeFileAtomic(localInfoPath(dataDir), `${JSON.stringify(info, null, 2)}\n`);
}

/**
 * Removes the discovery file if it belongs to `pid` (default: this process).
 *
 * @example
 * removeLocalInfo(dir);
 */
export function removeLocalInfo(dataDir: string, pid: number = process.pid): void {
  const file = localInfoPath(dataDir);
  const raw = readRaw(file);
  if (raw && raw.pid === pid) fs.rmSync(file, { force: true });
}
