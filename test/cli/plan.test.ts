/**
 * `wellwatch plan` launched as a user launches it (`node bin/wellwatch.js plan …`), and the README's plan outputs
 * checked against what the command prints today.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseInterval } from '../../cli/plan';
import { planFleet } from '../../lambdas/core/sizing';

const REPO = path.resolve(__dirname, '../..');
const CLI = path.join(REPO, 'bin/wellwatch.js');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('wellwatch plan', () => {
  it('prints the shards by bytes, records and consumer, and says which binds', () => {
    const r = run(['plan', '--pumps', '1000000', '--interval', '60s']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('wellwatch plan: 1,000,000 pumps, one reading every 60 s = 16,667 readings/s');
    expect(r.stdout).toContain('Kinesis shards: 8 — binding: consumer');
    expect(r.stdout).toMatch(/^consumer +8 +3,203 readings\/s per shard/m);
    expect(r.stdout).toMatch(/^DAY#<day>#<b> \(32\) +catalog .* 588 W +59 %$/m);
    expect(r.stdout).toMatch(/^catalog .* 20,000 W /m);
  });

  it('prints the same plan as JSON as the model computes', () => {
    const r = run(['plan', '--pumps', '250000', '--interval', '2m', '--alert-share', '0.05', '--retention-days', '30', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(planFleet({ pumps: 250_000, intervalSeconds: 120, alertShare: 0.05, retentionDays: 30 }))));
  });

  it('prices the shards given with --shards and still says how many are needed', () => {
    const r = run(['plan', '--pumps', '1000000', '--shards', '20']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Kinesis shards: 20 (given; 8 needed)');
    expect(r.stdout).toMatch(/^Kinesis shard-hours +14,600 shard-h +\$219\.00$/m);
  });

  it.each([
    [['plan'], '--pumps is required'],
    [['plan', '--pumps', 'many'], '--pumps must be an integer 1–100000000, got "many"'],
    [['plan', '--pumps', '10', '--interval', '0s'], '--interval must be seconds or a number with s, m or h'],
    [['plan', '--pumps', '10', '--alert-share', '1.5'], '--alert-share must be a number 0–1, got "1.5"'],
    [['plan', '--pumps', '10', '--retention-days=-3'], '--retention-days must be an integer 0–36500, got "-3"'],
    [['plan', '--pumps', '10', '--bogus'], 'unknown option --bogus'],
  ])('refuses %j with one line naming the flag, exit code 2', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it('documents its flags in --help and is listed in the command list', () => {
    expect(run(['plan', '--help']).stdout).toContain('--retention-days D');
    expect(run(['--help']).stdout).toMatch(/^ {2}wellwatch plan --pumps N/m);
  });

  it.each([
    ['60', 60],
    ['60s', 60],
    ['5m', 300],
    ['1h', 3600],
    ['0.5', NaN],
  ])('reads the interval %s as %d seconds', (raw, seconds) => {
    if (Number.isNaN(seconds)) expect(() => parseInterval(raw)).toThrow('--interval');
    else expect(parseInterval(raw)).toBe(seconds);
  });
});

describe('the README\'s plan outputs', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```text\n\$ npx wellwatch (plan [^\n]*)\n([\s\S]*?)\n```/g)].map((m) => ({ args: m[1]!.split(' '), shown: m[2]! }));

  it('shows the plans for 10,000, 100,000 and 1,000,000 pumps', () => {
    expect(blocks.map((b) => b.args.join(' '))).toEqual([
      'plan --pumps 10000 --interval 60s',
      'plan --pumps 100000 --interval 60s',
      'plan --pumps 1000000 --interval 60s',
    ]);
  });

  it.each(blocks.map((b) => [b.args.join(' '), b]))('shows exactly what `wellwatch %s` prints today', (_name, block) => {
    const r = run(block.args);
    expect(r.status).toBe(0);
    // On a difference: `node bin/run-ts.js scripts/update-readme-plans.ts` rewrites the README's blocks.
    expect(block.shown).toBe(r.stdout.trimEnd());
  });
});
