/**
 * The JSON Lines files of local mode's queues (dead letters, on-failure records): appends and removals that never
 * lose a line to each other.
 *
 * Local mode appends to these files from its consumer and its event-source runner, and `wellwatch replay` /
 * `redrive` remove lines once they are dealt with (the local counterpart of SQS DeleteMessage). A removal rewrites
 * the file (temp file + rename); an append landing between its read and its rename would be lost. So every append
 * and every removal of one file runs under one in-process lock, and removals are made only by the process that
 * appends (local mode, through its HTTP API), never by a second process.
 */
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Per-file promise chains, shared by every copy of this module in the process (bundles, jest registries). */
const LOCKS_KEY = Symbol.for('wellwatch.jsonl-file.locks');
const registry = globalThis as unknown as Record<symbol, Map<string, Promise<unknown>> | undefined>;
const locks: Map<string, Promise<unknown>> = (registry[LOCKS_KEY] ??= new Map());

/**
 * Runs `fn` while holding the lock of `file`; calls for the same file run one after another, in call order.
 *
 * @example
 * await withFileLock(file, () => appendFile(file, line));
 */
export function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(file);
  const previous = locks.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return run;
}

/**
 * Appends lines (each a JSON document) to a file, under its lock, in one write.
 *
 * @example
 * await appendJsonLines(file, [record]);
 */
export function appendJsonLines(file: string, docs: readonly unknown[]): Promise<void> {
  if (docs.length === 0) return Promise.resolve();
  return withFileLock(file, async () => {
    await mkdir(dirname(file), { recursive: true });
    await appendFile(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n', 'utf8');
  });
}

/**
 * Reads every JSON document of a JSON Lines file (none when the file does not exist); blank lines are skipped and a
 * line that is not JSON (a crash cut it short) is skipped too, so one torn line does not hide the others.
 *
 * @example
 * const letters = await readJsonLines<DeadLetter>(file);
 */
export async function readJsonLines<T>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // torn line: see above
    }
  }
  return out;
}

/**
 * Removes the documents `remove` picks, under the file's lock (atomic rewrite); returns how many were removed.
 *
 * Lines that are not JSON are kept as they are: this function deletes only what it was asked to.
 *
 * @example
 * const n = await removeJsonLines(file, (d: FailedBatchRecord) => ids.has(failedBatchId(d)));
 */
export function removeJsonLines<T>(file: string, remove: (doc: T) => boolean): Promise<number> {
  return withFileLock(file, async () => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    const kept: string[] = [];
    let removed = 0;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let doc: T | undefined;
      try {
        doc = JSON.parse(line) as T;
      } catch {
        doc = undefined;
      }
      if (doc !== undefined && remove(doc)) removed++;
      else kept.push(line);
    }
    if (removed === 0) return 0;
    const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
    try {
      await writeFile(tmp, kept.length ? kept.join('\n') + '\n' : '', 'utf8');
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return removed;
  });
}
