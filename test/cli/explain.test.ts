/**
 * `wellwatch explain` through local mode: readings stored in a real dynalite (found through a local-mode discovery
 * file), read back by the CLI, and run through the detectors from a lookback before the range.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bufferedIO } from '../../cli/io';
import { DEFAULT_DETECTORS } from '../../lambdas/config';
import { EXPLAIN_COLUMNS, type ExplainRow } from '../../lambdas/core/detectors/explain';
import { PumpDetectors } from '../../lambdas/core/detectors/pump-detectors';
import { degradationEpisodes, generateReadings } from '../../lambdas/core/generator';
import { parseLine } from '../../lambdas/core/parse-reading';
import type { Reading } from '../../lambdas/core/types';
import { createReadingStore } from '../../lambdas/store/reading-store';
import { writeLocalInfo } from '../../local/discovery';
import { startDynalite, type DynaliteHandle } from '../helpers/dynalite';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require(path.join(__dirname, '../../bin/wellwatch.ts')) as typeof import('../../bin/wellwatch');

// 8 pumps × 4 days, all degrading; the test stores one pump with a pressure step (~3,800 readings).
const OPTIONS = { pumps: 8, days: 4, seed: 11, degradingShare: 1 };
const EPISODE = degradationEpisodes(OPTIONS).find((e) => e.kind === 'psi-step')!;
const READINGS: Reading[] = [];
for (const line of generateReadings(OPTIONS)) {
  if (!line.startsWith(`${EPISODE.pump},`)) continue;
  const o = parseLine(line);
  if (o.kind === 'reading') READINGS.push(o.reading);
}

const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 19) + 'Z';

describe('wellwatch explain --local', () => {
  let db: DynaliteHandle;
  let dir: string;

  beforeAll(async () => {
    db = await startDynalite();
    const result = await createReadingStore(db.client, db.cfg).put(READINGS.map((r) => ({ ...r, alerts: [] })));
    expect(result.failed).toEqual([]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-explain-'));
    writeLocalInfo(dir, {
      pid: process.pid,
      kinesisEndpoint: 'http://127.0.0.1:1',
      dynamodbEndpoint: db.endpoint,
      apiUrl: 'http://127.0.0.1:1',
      deadLetterUrl: `file://${dir}/dl.jsonl`,
      dataDir: dir,
      startedAt: new Date().toISOString(),
    });
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function explain(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const io = bufferedIO();
    const code = await main(['explain', EPISODE.pump, '--local', '--data-dir', dir, ...args], io);
    return { code, out: io.outLines, err: io.errLines };
  }

  it('shows the step warning being raised during the episode, as the detectors see it from the lookback on', async () => {
    // The range: the episode's start to its failure; the default 48 h lookback covers the warm-up.
    const { code, out } = await explain('--from', EPISODE.start, '--to', EPISODE.failure, '--format', 'json');
    expect(code).toBe(0);
    const rows = JSON.parse(out.join('\n')) as ExplainRow[];
    const inRange = READINGS.filter((r) => r.ts >= EPISODE.start && r.ts <= EPISODE.failure);
    expect(rows).toHaveLength(inRange.length * 3);
    expect(rows.map((r) => r.measure).slice(0, 3)).toEqual(['psi', 'hz', 'disp']);
    expect(rows.filter((r) => r.measure === 'psi').map((r) => [r.ts, r.value])).toEqual(inRange.map((r) => [r.ts, r.values.psi]));
    expect(rows.every((r) => r.state !== 'warming')).toBe(true);

    // The same detectors over the generator's own readings, from the same lookback, raise at the same reading.
    const detectors = new PumpDetectors(DEFAULT_DETECTORS);
    const lookbackStart = iso(Date.parse(EPISODE.start) - 48 * 3_600_000);
    const expected: string[] = [];
    for (const r of READINGS) {
      if (r.ts < lookbackStart || r.ts > EPISODE.failure) continue;
      for (const c of detectors.observe(r)) if (r.ts >= EPISODE.start) expected.push(`${c.ts} ${c.raise ? 'raise' : 'clear'} ${c.rule}`);
    }
    const events = rows.filter((r) => r.event !== '').map((r) => `${r.ts} ${r.event}`);
    expect(events).toEqual(expected);
    const raise = rows.find((r) => r.event.startsWith('raise psi-'))!;
    expect(raise).toBeDefined();
    expect(raise.ts < EPISODE.failure).toBe(true);
    // The explanation: the level fell well below the baseline, in spreads.
    expect(raise.deviation!).toBeLessThan(-2);
    expect(raise.level!).toBeLessThan(raise.baseline!);
    const after = rows.filter((r) => r.measure === 'psi' && r.ts > raise.ts && r.state !== 'stopped');
    expect(after.every((r) => r.state === 'step' || r.state === 'drift')).toBe(true);
  }, 60_000);

  it('starts warming up at --from when told not to look back', async () => {
    const { code, out } = await explain('--from', EPISODE.start, '--to', EPISODE.failure, '--lookback', '0');
    expect(code).toBe(0);
    expect(out[0]).toBe(EXPLAIN_COLUMNS.join(','));
    const first = out[1]!.split(',');
    expect(first.slice(0, 2)).toEqual([READINGS.find((r) => r.ts >= EPISODE.start)!.ts, 'psi']);
    expect(first[3]).toBe('warming');
    expect(first[4]).toBe(''); // no baseline yet
  }, 60_000);

  it('rejects a malformed range and a missing pump with one clear line', async () => {
    const bad = await explain('--from', '2014-03-40');
    expect([bad.code, bad.err]).toEqual([2, ['wellwatch explain: --from must be YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, got "2014-03-40"']]);
    const io = bufferedIO();
    expect(await main(['explain', '--local', '--data-dir', dir], io)).toBe(2);
    expect(io.errLines).toEqual(['wellwatch explain: expected one pump, got nothing (see `wellwatch explain --help`)']);
  });
});
