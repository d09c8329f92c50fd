import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FixFileError, readFixFile } from '../../cli/fix-file';

describe('readFixFile', () => {
  let dir: string;
  const write = (text: string) => {
    const file = path.join(dir, 'fix.jsonl');
    fs.writeFileSync(file, text);
    return file;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-fix-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const entry = { shardId: 'shardId-000000000000', sequenceNumber: '123', lineInRecord: 2, line: 'P1,3/10/14,1:01,1,1,1,1,1,1' };

  it('reads JSON Lines and a JSON array (query deadletters --format json with a line added) alike', async () => {
    const fromLines = await readFixFile(write(`${JSON.stringify(entry)}\n`));
    const fromArray = await readFixFile(write(JSON.stringify([{ ...entry, raw: 'P1,bad', reason: 'x', code: 'date', rejectedAt: 'now', rawLength: 6 }])));
    expect([...fromLines]).toEqual([['shardId-000000000000:123:2', entry.line]]);
    expect([...fromArray]).toEqual([...fromLines]);
  });

  it.each([
    [{ ...entry, colour: 'red' }, /entry 1 has unknown field\(s\) colour/],
    [{ ...entry, sequenceNumber: 123 }, /needs shardId and sequenceNumber/],
    [{ ...entry, lineInRecord: 0 }, /lineInRecord must be a whole number ≥ 1, got 0/],
    [{ ...entry, line: 'a\nb' }, /line must be one non-empty corrected CSV line/],
  ])('refuses %j with one clear line', async (bad, message) => {
    await expect(readFixFile(write(JSON.stringify(bad)))).rejects.toThrow(message);
    await expect(readFixFile(write(JSON.stringify(bad)))).rejects.toBeInstanceOf(FixFileError);
  });

  it('refuses a letter fixed twice and an empty file', async () => {
    await expect(readFixFile(write(`${JSON.stringify(entry)}\n${JSON.stringify(entry)}\n`))).rejects.toThrow(/entry 2 fixes shardId-000000000000:123:2 a second time/);
    await expect(readFixFile(write('\n'))).rejects.toThrow(/holds no fixes/);
  });
});
