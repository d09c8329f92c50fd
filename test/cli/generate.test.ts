/**
 * `wellwatch generate --truth/--degrading`: the ground truth of the degradation episodes beside the data.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateCommand, truthCsv } from '../../cli/generate';
import { bufferedIO } from '../../cli/io';
import { degradationEpisodes, generateReadings } from '../../lambdas/core/generator';

describe('wellwatch generate --truth', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-truth-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the episodes as CSV beside the readings, matching what the readings contain', async () => {
    const out = path.join(dir, 'g.csv');
    const truth = path.join(dir, 'truth.csv');
    const io = bufferedIO();
    expect(await generateCommand(['--pumps', '12', '--days', '4', '--seed', '7', '--degrading', '0.5', '--truth', truth, '--out', out], io)).toBe(0);
    const episodes = degradationEpisodes({ pumps: 12, days: 4, seed: 7, degradingShare: 0.5 });
    expect(episodes.length).toBeGreaterThan(2);
    const rows = fs.readFileSync(truth, 'utf8').trimEnd().split('\n');
    expect(rows[0]).toBe('pump,kind,start,failure,repaired,depth');
    expect(rows.slice(1)).toEqual(episodes.map((e) => `${e.pump},${e.kind},${e.start},${e.failure},${e.repaired},${e.depth}`));
    expect(io.errLines[0]).toBe(`wrote ${episodes.length} degradation episodes to ${truth}`);
    // The readings are those of the same options.
    expect(fs.readFileSync(out, 'utf8')).toBe([...generateReadings({ pumps: 12, days: 4, seed: 7, degradingShare: 0.5 })].join('\n') + '\n');
  });

  it('writes only the header when no pump degrades', async () => {
    const truth = path.join(dir, 'none.csv');
    expect(await generateCommand(['--pumps', '2', '--days', '1', '--seed', '1', '--degrading', '0', '--truth', truth, '--out', path.join(dir, 'n.csv')], bufferedIO())).toBe(0);
    expect(fs.readFileSync(truth, 'utf8')).toBe(truthCsv([]));
    expect(truthCsv([])).toBe('pump,kind,start,failure,repaired,depth\n');
  });

  it('rejects a share outside 0–1', async () => {
    await expect(generateCommand(['--pumps', '2', '--days', '1', '--seed', '1', '--degrading', '2'], bufferedIO())).rejects.toThrow(/--degrading must be/);
  });
});
