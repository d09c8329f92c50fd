/**
 * End to end through local mode: CLI push → kinesalite → event-source runner → consumer handler → dynalite,
 * then the rollup handler; every stored reading, alert, stats row and dead letter is compared with values
 * computed independently here (plain string splitting and sequential sums, none of the project's parsing code).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startLocal } from '../../local';
import { generateReadings } from '../../lambdas/core/generator';
import { createRollupHandler } from '../../lambdas/rollup/handler';
import { dynamoClient } from '../../lambdas/store/clients';
import { queryAlerts, queryReadings, queryStats } from '../../lambdas/store/queries';
import { pushCommand } from '../../cli/push';
import type { CliIO } from '../../cli/io';
import type { DailyStats, EvaluatedReading } from '../../lambdas/core/types';

// Per-test and hook limit: starting local mode and pushing took ~24 s, the slowest check 12 s, at load 19 on 2 cores.
jest.setTimeout(90_000);

const MEASURES = ['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'] as const;

interface Expected {
  pump: string;
  ts: string;
  day: string;
  values: number[];
}

/** Independent reading of the seed format: `PUMP,M/D/YY,H:MM,6 numbers`. */
function expectedOf(line: string): Expected {
  const f = line.split(',');
  const [m, d, y] = f[1].split('/').map(Number);
  const [h, mi] = f[2].split(':').map(Number);
  const two = (n: number) => String(n).padStart(2, '0');
  const day = `${y < 100 ? 2000 + y : y}-${two(m)}-${two(d)}`;
  return { pump: f[0], day, ts: `${day}T${two(h)}:${two(mi)}:00Z`, values: f.slice(3).map(Number) };
}

const BAD_LINES = [
  'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85',
  'COHUTTA,2/30/14,1:01,10.27,1.73,881,1.56,85,1.94',
  'COHUTTA,3/10/14,25:61,10.27,1.73,881,1.56,85,1.94',
  'COHUTTA,3/10/14,1:01,abc,1.73,881,1.56,85,1.94',
  'bad pump!,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94',
  'COHUTTA,3/10/14,1:01,NaN,1.73,881,1.56,85,1.94',
];

const silent: CliIO = { out: () => undefined, err: () => undefined, stdin: process.stdin, isTTY: false };

describe('pipeline through local mode', () => {
  let dir: string;
  let runtime: Awaited<ReturnType<typeof startLocal>>;
  const good: string[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-e2e-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, log: () => undefined });
    for (const line of generateReadings({ pumps: 4, days: 2, seed: 7 })) good.push(line);
    // Two files: the valid readings in KPL records, and a mixed file with bad lines sent raw as line-batched records.
    const half = Math.floor(good.length / 2);
    fs.writeFileSync(path.join(dir, 'a.csv'), good.slice(0, half).join('\n') + '\n');
    const mixed = good.slice(half).flatMap((l, i) => (i % 500 === 0 && BAD_LINES.length ? [l, BAD_LINES[(i / 500) % BAD_LINES.length]] : [l]));
    fs.writeFileSync(path.join(dir, 'b.csv'), ['pump,date,time,hz,disp,flo,sedPPM,psi,chlPPM', ...mixed, ...BAD_LINES, ''].join('\r\n'));
    const common = ['--local', '--data-dir', dir, '--quiet'];
    expect(await pushCommand([path.join(dir, 'a.csv'), ...common], silent)).toBe(0);
    expect(await pushCommand([path.join(dir, 'b.csv'), ...common, '--no-validate', '--format', 'lines'], silent)).toBe(0);
    await runtime.waitForIdle({ timeoutMs: 300_000 });
  });

  afterAll(async () => {
    await runtime?.stop();
  });

  it('stores every valid line exactly once with its values', async () => {
    const client = dynamoClient(runtime.config);
    const expected = good.map(expectedOf);
    const pumps = [...new Set(expected.map((e) => e.pump))].sort();
    const stored: EvaluatedReading[] = [];
    for (const pump of pumps) for await (const r of queryReadings(client, runtime.config, { pump })) stored.push(r);
    expect(stored).toHaveLength(expected.length);
    const byKey = new Map(stored.map((r) => [`${r.pump}|${r.ts}`, r]));
    expect(byKey.size).toBe(expected.length);
    for (const e of expected) {
      const r = byKey.get(`${e.pump}|${e.ts}`);
      expect(r).toBeDefined();
      expect(MEASURES.map((m) => r!.values[m])).toEqual(e.values);
      expect(r!.alerts.length > 0).toBe(e.values[4] < 5);
    }
  });

  it('finds every alert reading by Query, across pumps and per pump', async () => {
    const client = dynamoClient(runtime.config);
    const expected = good.map(expectedOf).filter((e) => e.values[4] < 5);
    expect(expected.length).toBeGreaterThan(0);
    const all: EvaluatedReading[] = [];
    for await (const r of queryAlerts(client, runtime.config, {})) all.push(r);
    expect(all.map((r) => `${r.pump}|${r.ts}`).sort()).toEqual(expected.map((e) => `${e.pump}|${e.ts}`).sort());
    const pump = expected[0].pump;
    const mine: EvaluatedReading[] = [];
    for await (const r of queryAlerts(client, runtime.config, { pump })) mine.push(r);
    expect(mine.map((r) => r.ts).sort()).toEqual(expected.filter((e) => e.pump === pump).map((e) => e.ts).sort());
  });

  it('dead-letters every bad line with a reason, shard and sequence number', () => {
    const file = path.join(dir, 'dead-letters.jsonl');
    const letters = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const sentBad = Math.ceil((good.length - Math.floor(good.length / 2)) / 500) + BAD_LINES.length;
    expect(letters).toHaveLength(sentBad);
    for (const d of letters) {
      expect(BAD_LINES).toContain(d.raw);
      expect(d.reason).toEqual(expect.any(String));
      expect(d.reason.length).toBeGreaterThan(5);
      expect(d.shardId).toMatch(/^shardId-/);
      expect(d.sequenceNumber).toMatch(/^\d+$/);
    }
  });

  it('rolls up stats equal to an independent recomputation (rel. error ≤ 1e-9)', async () => {
    const expected = good.map(expectedOf);
    const days = [...new Set(expected.map((e) => e.day))].sort();
    const result = await createRollupHandler(runtime.config, { metricsSink: () => undefined })({ from: days[0], to: days[days.length - 1] } as any);
    const groups = new Map<string, Expected[]>();
    for (const e of expected) {
      const k = `${e.pump}|${e.day}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(e);
    }
    expect(result.pumpDays).toBe(groups.size);
    expect(result.readings).toBe(expected.length);

    const client = dynamoClient(runtime.config);
    const stats: DailyStats[] = [];
    for await (const s of queryStats(client, runtime.config, {})) stats.push(s);
    expect(stats).toHaveLength(groups.size);
    for (const s of stats) {
      const rows = groups.get(`${s.pump}|${s.date}`)!;
      rows.sort((a, b) => a.ts.localeCompare(b.ts));
      expect(s.count).toBe(rows.length);
      MEASURES.forEach((m, i) => {
        let sum = 0;
        let min = Infinity;
        let max = -Infinity;
        for (const r of rows) {
          sum += r.values[i];
          min = Math.min(min, r.values[i]);
          max = Math.max(max, r.values[i]);
        }
        const avg = sum / rows.length;
        expect(s.measures[m].min).toBe(min);
        expect(s.measures[m].max).toBe(max);
        expect(Math.abs(s.measures[m].avg - avg)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(avg)));
      });
    }
  });
});
