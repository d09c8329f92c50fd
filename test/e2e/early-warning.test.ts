/**
 * Early warnings end to end through local mode: generated degradations (with their ground truth) pushed through
 * kinesalite to the consumer, alarms of kind `early-warning` read back with `wellwatch alarms`, notifications from
 * local mode's notifications.jsonl.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bufferedIO } from '../../cli/io';
import { degradationEpisodes, generateReadings, type GeneratorOptions } from '../../lambdas/core/generator';
import { startLocal, type LocalRuntime } from '../../local';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require('../../bin/wellwatch.ts') as typeof import('../../bin/wellwatch');

process.env.AWS_EC2_METADATA_DISABLED = 'true';

/** Three pumps over three days, each with a pressure step some hours before it fails (seed chosen for that). */
const RUN: GeneratorOptions = { pumps: 3, days: 3, seed: 5, degradingShare: 0.67 };

describe('early warnings through local mode', () => {
  let dir: string;
  let runtime: LocalRuntime;

  async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const io = bufferedIO();
    const code = await main([...argv, '--local', '--data-dir', dir], io);
    return { code, out: io.outLines, err: io.errLines };
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-e2e-ew-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, schedule: false, log: () => undefined, notify: () => undefined });
    const file = path.join(dir, 'feed.csv');
    fs.writeFileSync(file, [...generateReadings(RUN)].join('\n') + '\n');
    expect((await run('push', file, '--wait', '--quiet')).code).toBe(0);
    await runtime.waitForIdle({ timeoutMs: 300_000 });
  }, 400_000);

  afterAll(async () => {
    await runtime?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('raises an early-warning alarm for every degradation before its failure, explaining itself', async () => {
    const truth = degradationEpisodes(RUN);
    expect(truth.map((e) => e.kind)).toEqual(['psi-step', 'psi-step', 'psi-step']);
    const listed = await run('alarms', '--kind', 'early-warning', '--format', 'json');
    expect(listed.code).toBe(0);
    const warnings = JSON.parse(listed.out.join('\n')) as Record<string, string>[];
    expect(warnings.every((w) => w.kind === 'early-warning' && w.severity === 'advisory' && /^(psi|hz|disp)-(drift|step)$/.test(w.rule!))).toBe(true);
    for (const episode of truth) {
      const before = warnings.filter((w) => w.pump === episode.pump && w.raised_time! >= episode.start && w.raised_time! < episode.failure);
      expect({ pump: episode.pump, warned: before.length > 0 }).toEqual({ pump: episode.pump, warned: true });
      expect(before[0]!.detail).toMatch(/^psi (step|drift): level [\d.]+ vs baseline [\d.]+ \(spread [\d.]+, -[\d.]+ spreads\), score -?[\d.]+, since 2014-03-1/);
    }
    // The csv kind column says early-warning; the threshold alarms of the failures are not in this list.
    const csv = await run('alarms', '--kind', 'early-warning');
    expect(csv.out.slice(1).every((l) => l.split(',')[3] === 'early-warning')).toBe(true);
    expect(csv.out.length - 1).toBe(warnings.length);
    const thresholds = await run('alarms', '--kind', 'threshold');
    expect(thresholds.out.length).toBeGreaterThan(1);
    expect((await run('alarms', '--kind', 'bogus')).err.join('\n')).toMatch(/--kind must be one of threshold\|no-data\|early-warning, got "bogus"/);

    // The history's first entry carries the explanation as its note.
    const history = await run('alarms', 'history', warnings[0]!.id!, '--format', 'json');
    const h = JSON.parse(history.out.join('\n'));
    expect(h.detail).toBe(warnings[0]!.detail);
    expect(h.trail[0]).toMatchObject({ action: 'raised', note: warnings[0]!.detail });
  });

  it('sends one notification per early-warning transition', async () => {
    const warnings = JSON.parse((await run('alarms', '--kind', 'early-warning', '--format', 'json')).out.join('\n')) as Record<string, string | null>[];
    const lines = fs.readFileSync(path.join(dir, 'notifications.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const mine = lines.filter((n) => n.kind === 'early-warning');
    const expected = warnings.flatMap((w) => (w.cleared_time ? [`${w.id}/raised`, `${w.id}/cleared`] : [`${w.id}/raised`])).sort();
    expect(mine.map((n) => `${n.alarm}/${n.type}`).sort()).toEqual(expected);
  });
});
