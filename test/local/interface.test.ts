/**
 * Local mode as a third-party script sees it: failures of its side files are reported, not swallowed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocal } from '../../local';

describe('startLocal reports what it cannot write', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-interface-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logs once that metrics.jsonl cannot be written (a directory in its way) and still starts and stops', async () => {
    fs.mkdirSync(path.join(dir, 'metrics.jsonl'));
    const lines: string[] = [];
    const runtime = await startLocal({ dataDir: dir, port: 0, memory: true, schedule: false, emulatorThread: 'inline', log: (l) => lines.push(l) });
    try {
      // The open fails asynchronously; the report comes with it.
      for (let i = 0; i < 100 && !lines.some((l) => l.includes('metrics.jsonl')); i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await runtime.stop();
    }
    const reports = lines.filter((l) => l.includes('metrics.jsonl'));
    expect(reports).toEqual([expect.stringMatching(/^local: cannot write .*metrics\.jsonl \(EISDIR: .*\); its lines are dropped until restart$/)]);
  });
});
