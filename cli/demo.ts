/**
 * `wellwatch demo [--once]` — the whole pipeline on this machine, on the committed sample data.
 *
 * Starts local mode in a fresh data dir, pushes sample-data through the stream, waits until the consumer has
 * processed everything, runs the rollup for every day present, prints a summary with timings and then keeps
 * running (dashboard and `--local` queries work) until Ctrl-C; `--once` exits after the summary.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocal } from '../local';
import { listAlarms } from '../lambdas/alarms/actions';
import type { AlarmEpisode } from '../lambdas/core/alarm-state';
import { createAlarmStore } from '../lambdas/store/alarm-store';
import { createRollupHandler } from '../lambdas/rollup/handler';
import { dynamoClient } from '../lambdas/store/clients';
import { listDays, queryAlerts, queryReadings, queryStats } from '../lambdas/store/queries';
import type { AlertRule, DailyStats } from '../lambdas/core/types';
import { intOption, parseCommandArgs, type CliIO } from './io';
import { untilSignal } from './local';
import { pushCommand } from './push';
import { WellwatchError } from '../lambdas/core/errors';

const SAMPLE_DIR = path.resolve(__dirname, '..', 'sample-data');
/** Ground truth of the sample data's degradation episodes (`generate --truth`), beside the readings. */
const TRUTH_FILE = 'degradations.csv';

/** One degradation episode of the truth file. */
interface TruthEpisode {
  readonly pump: string;
  readonly kind: string;
  readonly start: string;
  readonly failure: string;
}

/** The episodes of a truth file (`pump,kind,start,failure,repaired,depth`), or none when it is absent. */
export function readTruth(file: string): TruthEpisode[] {
  if (!fs.existsSync(file)) return [];
  const [header, ...rows] = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const cols = header!.split(',');
  return rows.map((r) => {
    const f = Object.fromEntries(r.split(',').map((v, i) => [cols[i]!, v]));
    return { pump: f.pump!, kind: f.kind!, start: f.start!, failure: f.failure! };
  });
}

/**
 * The demo summary's early-warning lines: each warning with its lead time before the failure it foretold — the
 * truth file's failure of that pump after the warning (a degradation episode), else the pump's next threshold alarm.
 *
 * @example
 * earlyWarningLines(alarms, readTruth('sample-data/degradations.csv'));
 * // → ['  early warnings   2 (…)', '    ETOWAH.disp-drift.… raised 2014-03-13T…  lead 20.1 h before failure 2014-03-14T12:00:00Z (degradations.csv: disp-drift)']
 */
export function earlyWarningLines(alarms: readonly AlarmEpisode[], truth: readonly TruthEpisode[]): string[] {
  const warnings = alarms.filter((a) => a.kind === 'early-warning');
  const episodes = truth.length;
  const warned = new Set<TruthEpisode>();
  const lines: string[] = [];
  for (const w of warnings) {
    const episode = truth.find((e) => e.pump === w.pump && e.failure >= w.raisedTime && e.start <= w.raisedTime);
    const next = alarms
      .filter((a) => a.pump === w.pump && a.kind === 'threshold' && a.raisedTime >= w.raisedTime)
      .sort((a, b) => a.raisedTime.localeCompare(b.raisedTime))[0];
    const failure = episode?.failure ?? next?.raisedTime;
    if (episode) warned.add(episode);
    const lead = failure === undefined ? 'no failure followed' : `lead ${((Date.parse(failure) - Date.parse(w.raisedTime)) / 3_600_000).toFixed(1)} h before failure ${failure}`;
    const source = episode ? ` (${TRUTH_FILE}: ${episode.kind})` : next ? ` (next ${next.rule} alarm)` : '';
    lines.push(`    ${pad(w.id, 40)} raised ${w.raisedTime}  ${lead}${source}`);
  }
  const head = `  early warnings   ${warnings.length} (${warned.size} of ${episodes} degradation episodes in ${TRUTH_FILE} warned before the failure; rules <measure>-drift/-step, kind early-warning)`;
  return [head, ...lines];
}

/**
 * The demo's rule: the seed's `psi < 5` alert, as an alarm that needs 3 readings in a row and clears only at
 * psi ≥ 20 — so the generator's pump failures become one alarm each and its one-reading glitches none.
 */
export const DEMO_RULES: readonly AlertRule[] = [{ name: 'low-psi', field: 'psi', op: '<', threshold: 5, forReadings: 3, clearThreshold: 20 }];

const HELP = `usage: wellwatch demo [--once] [--data-dir DIR] [--port N]

  --once           exit after printing the summary (CI uses this)
  --data-dir DIR   local-mode data dir (default: a fresh temporary directory)
  --port N         dashboard/API port on 127.0.0.1 (default 0: a free port)`;

function pad(s: string | number, n: number, right = false): string {
  const t = String(s);
  return right ? t.padStart(n) : t.padEnd(n);
}

function fmt(n: number, digits = 2): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** A compact per pump-day table; the full-precision CSV is `wellwatch query stats`. */
export function statsTable(rows: readonly DailyStats[]): string[] {
  const head = `${pad('pump', 12)} ${pad('date', 10)} ${pad('count', 6, true)} ${pad('psi min', 8, true)} ${pad('psi avg', 8, true)} ${pad('psi max', 8, true)} ${pad('hz avg', 7, true)} ${pad('flo avg', 8, true)} ${pad('sedPPM avg', 10, true)} ${pad('chlPPM avg', 10, true)}`;
  const out = [head, '-'.repeat(head.length)];
  for (const s of rows) {
    const m = s.measures;
    out.push(
      `${pad(s.pump, 12)} ${pad(s.date, 10)} ${pad(s.count, 6, true)} ${pad(fmt(m.psi.min), 8, true)} ${pad(fmt(m.psi.avg), 8, true)} ${pad(fmt(m.psi.max), 8, true)} ` +
        `${pad(fmt(m.hz.avg), 7, true)} ${pad(fmt(m.flo.avg, 1), 8, true)} ${pad(fmt(m.sedPPM.avg, 3), 10, true)} ${pad(fmt(m.chlPPM.avg, 3), 10, true)}`,
    );
  }
  return out;
}

async function count<T>(it: AsyncIterable<T>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

/**
 * Runs `wellwatch demo`.
 *
 * @example
 * await demoCommand(['--once'], processIO());
 */
export async function demoCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('demo', argv, {
    once: { type: 'boolean' },
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const port = intOption('port', values.port, 0, 0, 65535);
  const ownDir = !values['data-dir'];
  const dataDir = ownDir ? fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-demo-')) : path.resolve(values['data-dir']!);
  const files = fs.readdirSync(SAMPLE_DIR).filter((f) => f.endsWith('.csv')).sort();
  // degradations.csv is the generator's ground truth (not readings): read for the early warnings' lead times.
  const goodFiles = files.filter((f) => !f.startsWith('bad-') && f !== TRUTH_FILE);
  const badFiles = files.filter((f) => f.startsWith('bad-'));

  const t0 = Date.now();
  // Alarm notifications are counted and listed in the summary rather than printed one by one while pushing.
  const notifications: string[] = [];
  const runtime = await startLocal({ dataDir, port, alertRules: DEMO_RULES, log: (line) => io.err(line), notify: (line) => void notifications.push(line) });
  try {
    const started = Date.now() - t0;
    io.out(`local mode up in ${started} ms (data dir ${dataDir}, 127.0.0.1 only; dashboard ${runtime.apiUrl}/)`);

    // 1. push: valid sample files through the validating producer, the bad-lines file as-is so the consumer
    //    dead-letters it (a device writing straight to the stream would do the same).
    const tPush = Date.now();
    const common = ['--local', '--data-dir', dataDir, '--quiet'];
    for (const f of goodFiles) {
      const code = await pushCommand([path.join(SAMPLE_DIR, f), ...common], io);
      if (code !== 0) throw new WellwatchError(`push of ${f} failed with exit code ${code}`);
    }
    for (const f of badFiles) {
      const code = await pushCommand([path.join(SAMPLE_DIR, f), ...common, '--no-validate', '--format', 'lines'], io);
      if (code !== 0) throw new WellwatchError(`push of ${f} failed with exit code ${code}`);
    }
    const pushMs = Date.now() - tPush;

    // 2. process: wait until every shard's backlog is consumed.
    const tProc = Date.now();
    await runtime.waitForIdle({ timeoutMs: 600_000 });
    const processMs = Date.now() - tProc;

    // 3. rollup for every day present.
    const client = dynamoClient(runtime.config);
    const days: string[] = [];
    for await (const d of listDays(client, runtime.config)) days.push(d);
    days.sort();
    const tRoll = Date.now();
    const rollup = createRollupHandler(runtime.config, { metricsSink: () => undefined });
    const result = days.length ? await rollup({ from: days[0], to: days[days.length - 1] } as any) : undefined;
    const rollupMs = Date.now() - tRoll;

    // 4. summary, read back from the tables by Query.
    const stats: DailyStats[] = [];
    for await (const s of queryStats(client, runtime.config, {})) stats.push(s);
    stats.sort((a, b) => (a.pump === b.pump ? a.date.localeCompare(b.date) : a.pump.localeCompare(b.pump)));
    const pumps = [...new Set(stats.map((s) => s.pump))];
    let readings = 0;
    for (const pump of pumps) readings += await count(queryReadings(client, runtime.config, { pump }));
    const alerts = await count(queryAlerts(client, runtime.config, {}));
    const dlFile = fileURLToPath(runtime.config.deadLetterUrl!);
    const deadLetters = fs.existsSync(dlFile) ? fs.readFileSync(dlFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)) : [];

    io.out('');
    io.out('wellwatch demo summary');
    io.out(`  files            ${files.join(', ')}`);
    io.out(`  readings stored  ${readings} (${pumps.length} pumps, ${days.length} days)`);
    io.out(`  alerts           ${alerts} (rules: ${runtime.config.alertRules.map((r) => `${r.name}: ${r.field} ${r.op} ${r.threshold}`).join('; ')})`);
    const alarms = await listAlarms(createAlarmStore(client, runtime.config), {}, new Date());
    const open = alarms.filter((a) => a.state !== 'CLEARED').length;
    io.out(
      `  alarms           ${alarms.length} raised, ${open} open, ${notifications.length} notifications ` +
        `(rule low-psi: psi < 5 for 3 readings, clears at psi >= 20; one notification per transition)`,
    );
    for (const { alarm: a, state } of alarms) {
      io.out(
        `    ${pad(a.id, 40)} ${pad(state, 8)} ${pad(a.severity, 8)} first ${a.firstTime} raised ${a.raisedTime} ` +
          `${a.clearedTime ? `cleared ${a.clearedTime}` : `last ${a.lastTime}`}  ${a.count} readings, worst ${a.worstValue}`,
      );
    }
    for (const line of earlyWarningLines(alarms.map((r) => r.alarm), readTruth(path.join(SAMPLE_DIR, TRUTH_FILE)))) io.out(line);
    io.out(`  bad lines        ${deadLetters.length} dead-lettered`);
    const reasons = new Map<string, number>();
    for (const d of deadLetters) reasons.set(d.code, (reasons.get(d.code) ?? 0) + 1);
    for (const [code, n] of [...reasons].sort()) io.out(`    ${pad(code, 18)} ${n}`);
    io.out(`  stats rows       ${stats.length} pump-days (${result ? `${result.readings} readings rolled up` : 'nothing to roll up'})`);
    io.out(`  timings          push ${pushMs} ms, process ${processMs} ms, rollup ${rollupMs} ms`);
    io.out('');
    for (const line of statsTable(stats)) io.out(line);
    io.out('');
    if (values.once) return 0;
    io.out(`full precision: npx wellwatch query stats --local --data-dir ${dataDir}`);
    io.out(`dashboard: ${runtime.apiUrl}/ — Ctrl-C to stop.`);
    await untilSignal();
    return 0;
  } finally {
    await runtime.stop();
    // A temporary dir the demo made itself is removed again; a --data-dir the user named is kept.
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
