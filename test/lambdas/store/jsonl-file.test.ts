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
});
