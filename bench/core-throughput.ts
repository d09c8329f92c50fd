/**
 * Section 1 — core throughput: readings per second on one core, ours versus csv-parse, on the same lines.
 *
 * Each variant makes full passes over the data set's text blocks on the main thread (one core) of a fresh Node
 * process (see {@link runCoreThroughputInChild} for why): one warm-up pass that is not counted, then `rounds` timed
 * passes; the median pass gives readings/s. Variants alternate pass by
 * pass (A B C D, A B C D, …) so a noisy neighbour on this shared machine hurts all of them alike. Every variant
 * starts from the same block of text and must hand back something per line, kept in a module-level sink so V8
 * cannot drop the work.
 *
 * - `wellwatch parse+rules+item`: `splitLines` → `parseLine` → compiled rules → `readingItem` (the DynamoDB item in
 *   wire shape) — everything the consumer does per line before the network.
 * - `wellwatch consumer path`: the same through `ingestRecord` on the block as a Buffer (UTF-8 check, decoding,
 *   line numbering, dead-letter bookkeeping), plus `readingItem` — exactly the handler's CPU work per record.
 * - `wellwatch parseLine only`: the parser alone.
 * - `csv-parse sync + Number`: `parse(block)` from `csv-parse/sync` into string arrays, then `Number()` on the six
 *   measures into a values object. It validates nothing and builds no item, so it does strictly less work.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { parse as csvParse } from 'csv-parse/sync';
import { DEFAULT_ALERT_RULES } from '../lambdas/config';
import { ingestRecord } from '../lambdas/core/ingest';
import { readingItem } from '../lambdas/core/keys';
import { parseLine, splitLines } from '../lambdas/core/parse-reading';
import { compileRules } from '../lambdas/core/rules';
import { V8_FLAGS } from '../lambdas/runtime/v8-tuning';
import type { GeneratorOptions } from '../lambdas/core/generator';
import { buildDataset, type Dataset } from './dataset';
import { median, round } from './stats';

/** One variant's result. */
export interface ThroughputVariant {
  readonly name: string;
  /** Median readings per second over the timed rounds. */
  readonly readingsPerSecond: number;
  /** Readings per second of every timed round, in order. */
  readonly rounds: number[];
  /** Readings (or rows) produced per pass; must equal the data set's line count. */
  readonly readingsPerPass: number;
}

/** Result of section 1. */
export interface CoreThroughputResult {
  readonly lines: number;
  readonly warmupPasses: number;
  readonly timedRounds: number;
  readonly variants: ThroughputVariant[];
  /** Ours (parse+rules+item) divided by csv-parse, medians. */
  readonly speedupVsCsvParse: number;
  /** Our consumer path divided by csv-parse, medians. */
  readonly consumerPathSpeedupVsCsvParse: number;
  /** Modules loaded before measuring (see {@link runCoreThroughputInChild}); absent when run in-process. */
  readonly preloaded?: readonly string[];
  /** V8 flags of the child: the handlers' own (lambdas/runtime/v8-tuning.ts), so the core runs as in the Lambda. */
  readonly v8Flags?: readonly string[];
}

// Results are stored here (a module-level slot the compiler cannot prove dead) so no work is optimised away.
let sink: unknown;

const rules = compileRules(DEFAULT_ALERT_RULES);
const NOW = new Date('2014-03-11T00:00:00Z');

function oursFull(blocks: readonly string[]): number {
  let n = 0;
  for (const block of blocks) {
    const lines = splitLines(block);
    for (let i = 0; i < lines.length; i++) {
      const outcome = parseLine(lines[i]!);
      if (outcome.kind !== 'reading') continue;
      const r = outcome.reading;
      // An explicit literal, not `{ ...r, alerts }`: V8's object spread costs ~1 µs per reading here.
      sink = readingItem({ pump: r.pump, day: r.day, time: r.time, ts: r.ts, values: r.values, alerts: rules(r.values) });
      n++;
    }
  }
  return n;
}

function oursConsumerPath(buffers: readonly Buffer[]): number {
  let n = 0;
  for (const data of buffers) {
    const result = ingestRecord({ data, shardId: 'shardId-000000000000', sequenceNumber: '1', partitionKey: 'bench' }, { rules, now: NOW });
    const readings = result.readings;
    for (let i = 0; i < readings.length; i++) sink = readingItem(readings[i]!);
    n += readings.length;
  }
  return n;
}

function oursParseOnly(blocks: readonly string[]): number {
  let n = 0;
  for (const block of blocks) {
    const lines = splitLines(block);
    for (let i = 0; i < lines.length; i++) {
      const outcome = parseLine(lines[i]!);
      if (outcome.kind === 'reading') {
        sink = outcome.reading;
        n++;
      }
    }
  }
  return n;
}

function csvParseNumbers(blocks: readonly string[]): number {
  let n = 0;
  for (const block of blocks) {
    const rows = csvParse(block) as string[][];
    for (let i = 0; i < rows.length; i++) {
      const f = rows[i]!;
      sink = {
        pump: f[0],
        date: f[1],
        time: f[2],
        hz: Number(f[3]),
        disp: Number(f[4]),
        flo: Number(f[5]),
        sedPPM: Number(f[6]),
        psi: Number(f[7]),
        chlPPM: Number(f[8]),
      };
      n++;
    }
  }
  return n;
}

/**
 * Runs section 1 over a data set.
 *
 * @example
 * const result = runCoreThroughput(buildDataset(MAIN_DATASET), { rounds: 5 });
 */
export function runCoreThroughput(data: Dataset, options: { rounds?: number; warmupPasses?: number; log?: (line: string) => void } = {}): CoreThroughputResult {
  const rounds = options.rounds ?? 5;
  const warmupPasses = options.warmupPasses ?? 1;
  const log = options.log ?? (() => undefined);
  const buffers = data.blocks.map((b) => Buffer.from(b, 'utf8'));
  const variants: { name: string; run: () => number; rounds: number[]; perPass: number }[] = [
    { name: 'wellwatch parse+rules+item', run: () => oursFull(data.blocks), rounds: [], perPass: 0 },
    { name: 'wellwatch consumer path (ingestRecord+item)', run: () => oursConsumerPath(buffers), rounds: [], perPass: 0 },
    { name: 'wellwatch parseLine only', run: () => oursParseOnly(data.blocks), rounds: [], perPass: 0 },
    { name: 'csv-parse sync + Number()', run: () => csvParseNumbers(data.blocks), rounds: [], perPass: 0 },
  ];
  for (let w = 0; w < warmupPasses; w++) {
    for (const v of variants) v.perPass = v.run();
  }
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      const started = performance.now();
      const n = v.run();
      const seconds = (performance.now() - started) / 1000;
      if (n !== data.lines) throw new Error(`${v.name} produced ${n} readings from ${data.lines} lines`);
      v.perPass = n;
      v.rounds.push(n / seconds);
    }
    log(`  core round ${round + 1}/${rounds}: ${variants.map((v) => `${v.name.split(' ')[0]}… ${Math.round(v.rounds[round]!).toLocaleString('en-US')}/s`).join(', ')}`);
  }
  if (sink === undefined) throw new Error('the variants produced nothing');
  const results: ThroughputVariant[] = variants.map((v) => ({
    name: v.name,
    readingsPerSecond: round(median(v.rounds)),
    rounds: v.rounds.map((r) => round(r)),
    readingsPerPass: v.perPass,
  }));
  const byName = (prefix: string) => results.find((r) => r.name.startsWith(prefix))!.readingsPerSecond;
  const csv = byName('csv-parse');
  return {
    lines: data.lines,
    warmupPasses,
    timedRounds: rounds,
    variants: results,
    speedupVsCsvParse: round(byName('wellwatch parse+rules') / csv, 3),
    consumerPathSpeedupVsCsvParse: round(byName('wellwatch consumer path') / csv, 3),
  };
}

/** Options of {@link runCoreThroughputInChild}. */
export interface CoreChildOptions {
  readonly dataset: GeneratorOptions;
  readonly rounds: number;
  readonly warmupPasses?: number;
  /** Modules (relative to bench/) to load before measuring, e.g. the consumer handler with the AWS SDK. */
  readonly preload?: readonly string[];
}

/**
 * Runs section 1 in a fresh Node process, so that what the parent has loaded cannot change the measurement. The
 * child runs with the V8 flags the handlers set for themselves ({@link V8_FLAGS}), i.e. as the core runs in the
 * consumer Lambda.
 *
 * It matters: V8 decides per allocation site whether to allocate objects directly in the old generation
 * ("allocation-site pretenuring"), and with big libraries loaded (the AWS SDK, dynalite's LevelDB binding) it
 * pretenures the core's short-lived readings, which makes every young-generation collection ~5× dearer and the
 * core 2–3× slower (it happened in isolated runs too, in some passes). The handlers therefore turn pretenuring off
 * (lambdas/runtime/v8-tuning.ts) and this child runs with the same flags. `preload` loads the consumer handler
 * first, AWS SDK included, to reproduce the consumer Lambda's situation on purpose.
 *
 * @example
 * const isolated = await runCoreThroughputInChild({ dataset: MAIN_DATASET, rounds: 5 });
 */
export function runCoreThroughputInChild(options: CoreChildOptions, log: (line: string) => void = () => undefined): Promise<CoreThroughputResult> {
  const runner = path.resolve(__dirname, '..', 'bin', 'run-ts.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...V8_FLAGS, runner, __filename, CHILD_FLAG, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      err += text;
      for (const line of text.split('\n')) if (line.startsWith('  core')) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`core benchmark child exited with ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(out) as CoreThroughputResult);
    });
  });
}

const CHILD_FLAG = '--core-child';

if (process.argv[2] === CHILD_FLAG) {
  const options = JSON.parse(process.argv[3]!) as CoreChildOptions;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  for (const m of options.preload ?? []) require(path.resolve(__dirname, m));
  const result = runCoreThroughput(buildDataset(options.dataset), {
    rounds: options.rounds,
    warmupPasses: options.warmupPasses,
    log: (line) => process.stderr.write(line + '\n'),
  });
  process.stdout.write(JSON.stringify({ ...result, preloaded: options.preload ?? [], v8Flags: V8_FLAGS }));
}
