/**
 * `npm run mutation`: StrykerJS over lambdas/core, lambdas/store and the two handlers, one scope at a time.
 *
 * Why scopes: jest runs every test of a file for each mutant that file covers, so a mutant in the parser would
 * otherwise also run the generator's and the rollup's suites, and a run over everything with every test takes most
 * of a day on 2 cores. Each scope mutates a few files with the suites that test them (MUTATION_TESTS, read by
 * jest.stryker.config.js) and keeps its own incremental file and reports under reports/mutation/<scope>/, so a
 * re-run of a scope only tests mutants whose code or covering tests changed.
 *
 *   npm run mutation                          every scope, in order, then the summary
 *   npm run mutation -- --scope parse,kpl     those scopes only, in that order
 *   npm run mutation -- --list                the scopes, their files and tests
 *   npm run mutation -- --summary             scores per scope and per folder from the last reports, no run
 *
 * Options after `--`: `--concurrency N` (default 2: one type checker, one jest runner).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One Stryker run: the files it mutates and the test suites that exercise them. */
export interface MutationScope {
  readonly name: string;
  /** The mutated files, relative to the repo (Stryker's `mutate`). */
  readonly files: readonly string[];
  /** Test files or folders, relative to the repo (MUTATION_TESTS). */
  readonly tests: readonly string[];
  /**
   * Stryker's coverage analysis for this scope. `perTest` (the default) runs a mutant only with the tests that
   * executed it. A suite that builds shared fixtures in a `describe` body or a `beforeAll` runs the mutated code
   * outside any test, so its assertions on those fixtures never run against the mutant (Stryker files the mutant as
   * "static", or, also reached by a test, runs only that test): such a scope uses `all`, every mutant against all of
   * its tests, with the mutant active from the first line. @default 'perTest'
   */
  readonly coverageAnalysis?: 'perTest' | 'all';
}

const core = (...names: string[]) => names.map((n) => `lambdas/core/${n}.ts`);
const store = (...names: string[]) => names.map((n) => `lambdas/store/${n}.ts`);
const coreTests = (...names: string[]) => names.map((n) => `test/lambdas/core/${n}.test.ts`);
const STORE_TESTS = ['test/lambdas/store', 'test/lambdas/rollup'];

/**
 * The scopes, in the order `npm run mutation` runs them. Every file of lambdas/core and lambdas/store, the consumer
 * handler and every file of lambdas/rollup is in exactly one (test/scripts/mutation.test.ts checks it).
 */
export const SCOPES: readonly MutationScope[] = [
  { name: 'parse', files: core('parse-reading'), tests: coreTests('parse-reading') },
  { name: 'kpl', files: core('kpl', 'ingest'), tests: coreTests('kpl', 'ingest') },
  { name: 'alarm', files: core('alarm-state', 'alarm-rules'), tests: coreTests('alarm-state', 'alarm-rules') },
  {
    name: 'detect',
    files: [...core('early-warning', 'series', 'detectors/pump-detectors', 'detectors/series-detector')],
    tests: [...coreTests('early-warning', 'series'), 'test/lambdas/core/detectors'],
  },
  {
    name: 'core-small',
    files: core('cursor', 'errors', 'message-ids', 'buckets', 'pump-status', 'rollup-tasks', 'shard-throughput', 'sizing'),
    tests: coreTests('cursor', 'errors', 'message-ids', 'keys', 'pump-status', 'rollup-tasks', 'shard-throughput', 'sizing'),
  },
  { name: 'core-domain', files: core('rollup', 'rules', 'format', 'keys'), tests: coreTests('rollup', 'rules', 'format', 'keys') },
  // The generator's suite generates its fleets once per describe (tens of thousands of lines each); see coverageAnalysis.
  { name: 'core-generator', files: core('generator'), tests: coreTests('generator'), coverageAnalysis: 'all' },
  // Files first covered only through their callers' suites; alarm-keys and explain have suites of their own now.
  {
    name: 'core-indirect',
    files: core('alarm-keys', 'types', 'detectors/explain', 'detectors/types'),
    tests: [...coreTests('alarm-keys', 'detectors/explain'), 'test/lambdas/store/alarm-store.test.ts', 'test/lambdas/consumer/alarm-step.test.ts', 'test/cli/explain.test.ts'],
  },
  {
    name: 'store',
    files: store('stats-store', 'reading-store', 'put-if-newer', 'dead-letter-sink', 'days', 'batch-writer', 'catalog-store'),
    tests: STORE_TESTS,
  },
  // The rest of the store in four scopes, each with the suites that reach its files (several are exercised only
  // through the consumer and API handlers), so one scope's run stays under an hour and its incremental file lands.
  {
    name: 'store-alarm',
    files: store('alarm-store', 'notifier', 'detector-store'),
    tests: [
      'test/lambdas/store/alarm-store.test.ts',
      'test/lambdas/store/notifier.test.ts',
      'test/lambdas/store/detector-store.test.ts',
      'test/lambdas/consumer/alarm-step.test.ts',
      'test/lambdas/consumer/early-warning-source.test.ts',
      'test/lambdas/consumer/handler-alarms.test.ts',
      'test/lambdas/api',
    ],
  },
  {
    name: 'store-serving',
    files: store('serving-reads', 'queries', 'fan-out', 'merge-sorted', 'paginate'),
    tests: [
      'test/lambdas/store/serving-reads.test.ts',
      'test/lambdas/store/merge-sorted.test.ts',
      'test/lambdas/store/paginate.test.ts',
      'test/lambdas/store/fan-out.test.ts',
      'test/lambdas/store/queries.test.ts',
      'test/lambdas/api',
    ],
  },
  {
    name: 'store-rollup',
    files: store('rollup-run-store', 'work-queue', 'series-store'),
    tests: ['test/lambdas/store/rollup-run-store.test.ts', 'test/lambdas/store/work-queue.test.ts', 'test/lambdas/store/series-store.test.ts', 'test/lambdas/rollup/worker.test.ts'],
  },
  {
    name: 'store-infra',
    files: store('retry', 'jsonl-file', 'tables', 'clients'),
    tests: ['retry', 'jsonl-file', 'tables', 'clients'].map((n) => `test/lambdas/store/${n}.test.ts`),
  },
  { name: 'consumer', files: ['lambdas/consumer/handler.ts'], tests: ['test/lambdas/consumer'] },
  {
    name: 'rollup',
    files: ['aggregates', 'event', 'handler', 'planner', 'pump-day', 'worker'].map((n) => `lambdas/rollup/${n}.ts`),
    tests: ['test/lambdas/rollup'],
  },
];

const REPORTS = 'reports/mutation';

/** Counts of one file or scope, by Stryker status. */
export interface Tally {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  invalid: number;
}

const emptyTally = (): Tally => ({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, invalid: 0 });

/** Stryker's mutation score: detected (killed + timed out) over valid mutants (compile errors and ignored excluded). */
export function score(t: Tally): number | undefined {
  const valid = t.killed + t.timeout + t.survived + t.noCoverage;
  return valid === 0 ? undefined : (100 * (t.killed + t.timeout)) / valid;
}

/** Per-file tallies of a Stryker JSON report (mutation-testing-report-schema). */
export function tallyReport(report: { files: Record<string, { mutants: readonly { status: string }[] }> }): Map<string, Tally> {
  const out = new Map<string, Tally>();
  for (const [file, f] of Object.entries(report.files)) {
    const t = emptyTally();
    for (const m of f.mutants) {
      if (m.status === 'Killed') t.killed++;
      else if (m.status === 'Timeout') t.timeout++;
      else if (m.status === 'Survived') t.survived++;
      else if (m.status === 'NoCoverage') t.noCoverage++;
      else t.invalid++;
    }
    out.set(file, t);
  }
  return out;
}

/** The folder a file's score counts toward: the two handler folders apart, the core and store as wholes. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.slice(0, 2).join('/');
}

function add(into: Tally, t: Tally): void {
  for (const k of Object.keys(into) as (keyof Tally)[]) into[k] += t[k];
}

const pct = (s: number | undefined) => (s === undefined ? '—' : `${s.toFixed(1)} %`);

/** The summary of the last report of every scope, as printed by `--summary` and after a run. */
export function summary(reportsDir: string, scopes: readonly MutationScope[] = SCOPES): string {
  const lines: string[] = ['| Scope | Valid mutants | Survived + no coverage | Score |', '|---|---|---|---|'];
  const folders = new Map<string, Tally>();
  for (const scope of scopes) {
    const file = path.join(reportsDir, scope.name, 'mutation.json');
    if (!fs.existsSync(file)) {
      lines.push(`| ${scope.name} | not run | | |`);
      continue;
    }
    const total = emptyTally();
    for (const [f, t] of tallyReport(JSON.parse(fs.readFileSync(file, 'utf8')))) {
      add(total, t);
      const folder = folders.get(folderOf(f)) ?? folders.set(folderOf(f), emptyTally()).get(folderOf(f))!;
      add(folder, t);
    }
    const valid = total.killed + total.timeout + total.survived + total.noCoverage;
    lines.push(`| ${scope.name} | ${valid} | ${total.survived} + ${total.noCoverage} | ${pct(score(total))} |`);
  }
  lines.push('', '| Folder (scopes run) | Valid mutants | Score |', '|---|---|---|');
  for (const [folder, t] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`| ${folder} | ${t.killed + t.timeout + t.survived + t.noCoverage} | ${pct(score(t))} |`);
  }
  return lines.join('\n');
}

/**
 * Stryker's configuration for one scope: the repo's stryker.config.json with the scope's files and report paths.
 * A scope with coverage `all` has no static mutants to ignore (Stryker refuses `ignoreStatic` with it).
 */
export function scopeConfig(scope: MutationScope, concurrency: number): Record<string, unknown> {
  const base = JSON.parse(fs.readFileSync('stryker.config.json', 'utf8')) as Record<string, unknown>;
  const dir = `${REPORTS}/${scope.name}`;
  return {
    ...base,
    mutate: scope.files,
    concurrency,
    ...(scope.coverageAnalysis === 'all' ? { coverageAnalysis: 'all', ignoreStatic: false } : {}),
    incrementalFile: `${dir}/incremental.json`,
    jsonReporter: { fileName: `${dir}/mutation.json` },
    htmlReporter: { fileName: `${dir}/index.html` },
    tempDirName: `.stryker-tmp-${scope.name}`,
  };
}

function usage(message: string): never {
  console.error(`wellwatch mutation: ${message}\nusage: npm run mutation [-- --scope a,b] [--list] [--summary] [--concurrency N]`);
  process.exit(2);
}

function main(argv: readonly string[]): void {
  let selected: readonly MutationScope[] = SCOPES;
  let concurrency = 2;
  let mode: 'run' | 'list' | 'summary' = 'run';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--list') mode = 'list';
    else if (a === '--summary') mode = 'summary';
    else if (a === '--scope' || a === '--concurrency') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) usage(`${a} needs a value`);
      if (a === '--concurrency') {
        concurrency = Number(v);
        if (!Number.isInteger(concurrency) || concurrency < 1) usage(`--concurrency must be a positive integer, got "${v}"`);
      } else {
        const names = v.split(',');
        const unknown = names.filter((n) => !SCOPES.some((s) => s.name === n));
        if (unknown.length > 0) usage(`unknown scope ${unknown.join(', ')}; scopes: ${SCOPES.map((s) => s.name).join(', ')}`);
        // In the order given: a session with an hour left chooses which scope runs first.
        selected = [...new Set(names)].map((n) => SCOPES.find((s) => s.name === n)!);
      }
    } else usage(`unknown option "${a}"`);
  }
  if (mode === 'list') {
    for (const s of selected) {
      const coverage = s.coverageAnalysis === 'all' ? '\n  coverage: all (every mutant runs every test of the scope)' : '';
      console.log(`${s.name}\n  mutate: ${s.files.join(', ')}\n  tests:  ${s.tests.join(', ')}${coverage}`);
    }
    return;
  }
  if (mode === 'run') {
    const stryker = path.join('node_modules', '.bin', 'stryker');
    for (const [i, scope] of selected.entries()) {
      fs.mkdirSync(`${REPORTS}/${scope.name}`, { recursive: true });
      const configFile = `${REPORTS}/${scope.name}/stryker.config.json`;
      fs.writeFileSync(configFile, JSON.stringify(scopeConfig(scope, concurrency), null, 2));
      console.log(`\n[${i + 1}/${selected.length}] scope ${scope.name}: ${scope.files.join(', ')} (tests: ${scope.tests.join(', ')})`);
      const started = Date.now();
      const run = spawnSync(stryker, ['run', configFile], { stdio: 'inherit', env: { ...process.env, MUTATION_TESTS: scope.tests.join(',') } });
      const seconds = Math.round((Date.now() - started) / 1000);
      if (run.status !== 0) {
        console.error(`wellwatch mutation: scope ${scope.name} failed (exit ${run.status ?? run.signal}) after ${seconds} s`);
        process.exit(1);
      }
      console.log(`scope ${scope.name} done in ${Math.floor(seconds / 60)} min ${seconds % 60} s`);
    }
  }
  console.log(`\n${summary(REPORTS, selected)}`);
}

// Run only when launched (bin/run-ts.js puts the script at argv[1]), not when a test imports the scopes.
if (process.argv[1] === __filename) main(process.argv.slice(2));
