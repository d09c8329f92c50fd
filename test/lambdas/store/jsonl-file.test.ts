import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appendJsonLines, readJsonLines, removeJsonLines, withFileLock } from '../../../lambdas/store/jsonl-file';

describe('jsonl-file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-jsonl-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loses no line appended while removals rewrite the file', async () => {
    const file = path.join(dir, 'q.jsonl');
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      work.push(appendJsonLines(file, [{ n: i }]));
      // Remove every even number seen so far, interleaved with the appends.
      if (i % 10 === 9) work.push(removeJsonLines<{ n: number }>(file, (d) => d.n % 2 === 0));
    }
    await Promise.all(work);
    await removeJsonLines<{ n: number }>(file, (d) => d.n % 2 === 0);
    const left = (await readJsonLines<{ n: number }>(file)).map((d) => d.n).sort((a, b) => a - b);
    expect(left).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i + 1));
  });

  it('keeps lines that are not JSON when removing and skips them when reading', async () => {
    const file = path.join(dir, 'torn.jsonl');
    fs.writeFileSync(file, '{"n":1}\n{"n":2\n\n{"n":3}\n');
    expect(await readJsonLines(file)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(await removeJsonLines<{ n: number }>(file, (d) => d.n === 1)).toBe(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"n":2\n{"n":3}\n');
  });

  it('reads a missing file as empty and removes nothing from it', async () => {
    const file = path.join(dir, 'none.jsonl');
    expect(await readJsonLines(file)).toEqual([]);
    expect(await removeJsonLines(file, () => true)).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('runs work on one file in call order even when an earlier step fails', async () => {
    const file = path.join(dir, 'order.jsonl');
    const order: number[] = [];
    const first = withFileLock(file, async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push(1);
      throw new Error('boom');
    });
    const second = withFileLock(file, async () => void order.push(2));
    await expect(first).rejects.toThrow('boom');
    await second;
    expect(order).toEqual([1, 2]);
  });

  it('appends each document as one line ending in a newline, so later appends start on a line of their own', async () => {
    const file = path.join(dir, 'sub', 'lines.jsonl');
    await appendJsonLines(file, [{ n: 1 }, { n: 2 }]);
    await appendJsonLines(file, [{ n: 3 }]);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
  });

  it('appends nothing, and creates neither file nor folder, for an empty list', async () => {
    const file = path.join(dir, 'sub', 'empty.jsonl');
    await appendJsonLines(file, []);
    expect(fs.existsSync(path.join(dir, 'sub'))).toBe(false);
  });

  it('throws read errors other than a missing file (here: the path is a folder)', async () => {
    const folder = path.join(dir, 'a-folder.jsonl');
    fs.mkdirSync(folder);
    await expect(readJsonLines(folder)).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(removeJsonLines(folder, () => true)).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('leaves the file untouched, blank lines included, when nothing matches', async () => {
    const file = path.join(dir, 'keep.jsonl');
    fs.writeFileSync(file, '{"n":1}\n\n   \n{"n":2}\n');
    expect(await removeJsonLines<{ n: number }>(file, (d) => d.n === 9)).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"n":1}\n\n   \n{"n":2}\n');
  });

  it('drops blank and whitespace-only lines when it rewrites the file', async () => {
    const file = path.join(dir, 'blank.jsonl');
    fs.writeFileSync(file, '{"n":1}\n  \n\t\n{"n":2}\n');
    expect(await removeJsonLines<{ n: number }>(file, (d) => d.n === 1)).toBe(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"n":2}\n');
  });

  it('leaves an empty file when every line is removed', async () => {
    const file = path.join(dir, 'all.jsonl');
    await appendJsonLines(file, [{ n: 1 }, { n: 2 }]);
    expect(await removeJsonLines(file, () => true)).toBe(2);
    expect(fs.readFileSync(file, 'utf8')).toBe('');
  });

  it('throws when the rewrite cannot be put in place and removes its temporary file', async () => {
    const file = path.join(dir, 'swap.jsonl');
    await appendJsonLines(file, [{ n: 1 }, { n: 2 }]);
    // While the lines are judged, the file becomes a non-empty folder: the temporary file is written, the rename fails.
    const pick = (d: { n: number }) => {
      if (!fs.statSync(file).isDirectory()) {
        fs.rmSync(file);
        fs.mkdirSync(file);
        fs.writeFileSync(path.join(file, 'x'), '');
      }
      return d.n === 1;
    };
    await expect(removeJsonLines(file, pick)).rejects.toMatchObject({ syscall: 'rename' });
    expect(fs.readdirSync(dir)).toEqual(['swap.jsonl']);
  });

  it('throws the write error, not a cleanup error, when the temporary file cannot even be written', async () => {
    const sub = path.join(dir, 'gone');
    const file = path.join(sub, 'q.jsonl');
    await appendJsonLines(file, [{ n: 1 }]);
    // The folder disappears while the lines are judged: writing the temporary file fails, so there is none to remove.
    const pick = () => {
      fs.rmSync(sub, { recursive: true, force: true });
      return true;
    };
    await expect(removeJsonLines(file, pick)).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open' });
  });

  it('keeps one file\'s work in call order when a new call comes after the first finished but while the second runs', async () => {
    const file = path.join(dir, 'chain.jsonl');
    const order: string[] = [];
    const first = withFileLock(file, async () => void order.push('first'));
    const second = withFileLock(file, async () => {
      await new Promise((r) => setTimeout(r, 30));
      order.push('second');
    });
    await first;
    await new Promise((r) => setImmediate(r));
    await withFileLock(file, async () => void order.push('third'));
    await second;
    expect(order).toEqual(['first', 'second', 'third']);
  });

  it('forgets a file\'s lock once its work is done (the lock table is shared through globalThis)', async () => {
    const locks = (globalThis as unknown as Record<symbol, Map<string, unknown>>)[Symbol.for('wellwatch.jsonl-file.locks')]!;
    const file = path.join(dir, 'forget.jsonl');
    const work = appendJsonLines(file, [{ n: 1 }]);
    expect(locks.has(path.resolve(file))).toBe(true);
    await work;
    await new Promise((r) => setImmediate(r));
    expect(locks.has(path.resolve(file))).toBe(false);
  });
});
