/**
 * Section 3 — local end to end, and the dynalite ceiling it is measured against.
 *
 * 1. A generated file of ≥ 50,000 live-dated readings (today, UTC, so the consumer writes exactly what a live
 *    deployment writes) is pushed with the real CLI (`wellwatch push <file> --local`) into local mode started with
 *    `startLocal` on a temporary data dir (kinesalite + dynalite on LevelDB, the event-source runner, the real
 *    consumer), then the real rollup handler runs through local mode's scheduler for that day. Wall time runs from
 *    the start of the push until the rollup has returned, after `waitForIdle` said every record was processed.
 * 2. The ceiling: in the same dynalite, a fresh table with the readings table's definition receives the very same
 *    items (built by `readingItem` from the same lines) through a bare loop of BatchWriteItem calls of 25 items,
 *    with as many calls in flight as the consumer allows itself (`writeConcurrency`). Nothing else runs then. It
 *    runs once before and once after step 1, into a fresh table each time; the mean is the ceiling. A warm-up pass of
 *    20,000 items into a scratch table comes first and is not counted.
 *
 * Every write that reaches dynalite during step 1 is counted by a passive tap (see dynamo-tap.ts) and every
 * consumer invocation is timed (see invocations.ts); section 5 prices both.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchWriteItemCommand, CreateTableCommand, DescribeTableCommand, ScanCommand, type AttributeValue, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { DEFAULT_ALERT_RULES } from '../lambdas/config';
import { generateReadings } from '../lambdas/core/generator';
import { readingItem, type Item } from '../lambdas/core/keys';
import { parseLine } from '../lambdas/core/parse-reading';
import { compileRules } from '../lambdas/core/rules';
import { dynamoClient } from '../lambdas/store/clients';
import { tableDefinitions } from '../lambdas/store/tables';
import { startLocal } from '../local';
import { pushCommand } from '../cli/push';
import type { CliIO } from '../cli/io';
import { openTap, TAP_THREAD_MODULE, type TableWrites } from './dynamo-tap';
import { summariseInvocations, timeInvocations, type InvocationSummary } from './invocations';
import { todayUtc } from './dataset';
import { round } from './stats';

/** Result of section 3. */
export interface LocalE2eResult {
  readonly readings: number;
  readonly pumps: number;
  readonly day: string;
  readonly fileBytes: number;
  readonly kinesisRecords: number;
  readonly readingsPerRecord: number;
  /** Push (CLI) start → push returned. */
  readonly pushMs: number;
  /** Push start → every record processed (stored). */
  readonly storedMs: number;
  /** Rollup of the day through local mode's scheduler. */
  readonly rollupMs: number;
  /** Push start → rollup returned. */
  readonly wallMs: number;
  /** readings / wall time (stored and rolled up). */
  readonly readingsPerSecond: number;
  /** readings / stored time. */
  readonly storedReadingsPerSecond: number;
  /** Items per second of the bare BatchWriteItem loop into a fresh table (mean of a run before and one after). */
  readonly ceilingItemsPerSecond: number;
  /** The two ceiling runs (before, after), items/s. */
  readonly ceilingRuns: number[];
  readonly ceilingConcurrency: number;
  /** readingsPerSecond / ceilingItemsPerSecond (the target: ≥ 0.70). */
  readonly ratioToCeiling: number;
  /** storedReadingsPerSecond / ceilingItemsPerSecond. */
  readonly storedRatioToCeiling: number;
  /** Items found in the readings table afterwards (a full Scan). */
  readonly storedItems: number;
  readonly rollup: { readonly pumpDays: number; readonly readings: number; readonly statsWritten: number };
  readonly invocations: InvocationSummary;
  /** Consumer wall time per reading, ms (total handler time / readings). */
  readonly handlerMsPerReading: number;
  /** Rollup wall time per reading, ms. */
  readonly rollupMsPerReading: number;
  /** Writes counted per table (by role: readings, stats, catalog). */
  readonly writes: { readonly readings: TableWrites; readonly stats: TableWrites; readonly catalog: TableWrites };
  /** Dynalite requests per operation during push + rollup. */
  readonly requests: Record<string, number>;
  /** Share of readings that triggered an alert rule. */
  readonly alertingShare: number;
  /** Mean billed size of a reading item, bytes. */
  readonly readingItemBytes: number;
}

const silentIO = (err: string[]): CliIO => ({ out: () => undefined, err: (s) => err.push(s), stdin: process.stdin, isTTY: false });

async function writeFileOfReadings(file: string, pumps: number, day: string): Promise<{ lines: number; bytes: number }> {
  const out = fs.createWriteStream(file);
  let lines = 0;
  let chunk: string[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    if (!out.write(chunk.join('\n') + '\n')) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    chunk = [];
  };
  for (const line of generateReadings({ pumps, days: 1, seed: 424242, start: day })) {
    chunk.push(line);
    lines++;
    if (chunk.length === 5000) await flush();
  }
  await flush();
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return { lines, bytes: fs.statSync(file).size };
}

/** Writes items with a bare BatchWriteItem loop (`concurrency` calls in flight) and returns the elapsed ms. */
async function bareBatchWrite(client: ReturnType<typeof dynamoClient>, table: string, items: readonly Item[], concurrency: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const at = next;
      next += 25;
      if (at >= items.length) return;
      let requests: WriteRequest[] = items.slice(at, at + 25).map((item) => ({ PutRequest: { Item: item as Record<string, AttributeValue> } }));
      while (requests.length > 0) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
        requests = out.UnprocessedItems?.[table] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - started;
}

/** Waits until a table (and its indexes) is ACTIVE: dynalite creates tables asynchronously even with no delay. */
async function waitActive(client: ReturnType<typeof dynamoClient>, table: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}

async function countItems(client: ReturnType<typeof dynamoClient>, table: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: start }));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

/**
 * Runs section 3.
 *
 * @example
 * const result = await runLocalE2e({ pumps: 55 });
 */
export async function runLocalE2e(options: { pumps?: number; log?: (line: string) => void } = {}): Promise<LocalE2eResult> {
  const pumps = options.pumps ?? 55;
  const log = options.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-bench-e2e-'));
  const localLog: string[] = [];
  const runtime = await startLocal({ dataDir: dir, port: 0, schedule: false, log: (line) => localLog.push(line), notify: (line) => localLog.push(line), emulatorPreload: [TAP_THREAD_MODULE] });
  const client = dynamoClient(runtime.config);
  try {
    const day = todayUtc();
    const file = path.join(dir, 'readings.csv');
    const { lines, bytes } = await writeFileOfReadings(file, pumps, day);
    log(`  e2e: ${lines.toLocaleString('en-US')} readings of ${pumps} pumps on ${day} (${(bytes / 1e6).toFixed(1)} MB)`);

    // The ceiling: the same items, built by the real core from the same lines, written with a bare BatchWriteItem
    // loop into a fresh table — once before and once after the end-to-end run (the machine is shared; the mean of
    // the two is the ceiling).
    const rules = compileRules(DEFAULT_ALERT_RULES);
    const items: Item[] = [];
    let alerting = 0;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const outcome = parseLine(line);
      if (outcome.kind !== 'reading') continue;
      const r = outcome.reading;
      const alerts = rules(r.values);
      if (alerts.length > 0) alerting++;
      items.push(readingItem({ pump: r.pump, day: r.day, time: r.time, ts: r.ts, values: r.values, alerts }));
    }
    const definition = tableDefinitions(runtime.config).find((d) => d.TableName === runtime.config.readingsTable)!;
    const concurrency = runtime.config.writeConcurrency;
    const ceiling = async (label: string, batch: readonly Item[] = items): Promise<number> => {
      const table = `bench-ceiling-${label}`;
      await client.send(new CreateTableCommand({ ...definition, TableName: table }));
      await waitActive(client, table);
      const ms = await bareBatchWrite(client, table, batch, concurrency);
      const perSecond = (batch.length / ms) * 1000;
      log(`  e2e: ceiling ${label}: ${Math.round(perSecond).toLocaleString('en-US')} items/s (${batch.length} items, ${concurrency} in flight)`);
      return perSecond;
    };
    // A warm-up pass, not counted: a fresh dynalite (its own thread) runs cold code at first, which would lower the
    // "before" ceiling and flatter the ratio.
    await ceiling('warm-up', items.slice(0, Math.min(items.length, 20_000)));
    const ceilingBefore = await ceiling('before');

    const invocations = timeInvocations(runtime.runner);
    const tap = await openTap(runtime);
    const errors: string[] = [];
    const started = performance.now();
    let pushMs: number;
    let storedMs: number;
    let rollupMs: number;
    let rollup: { pumpDays: number; readings: number; statsWritten: number };
    try {
      const code = await pushCommand([file, '--local', '--data-dir', dir, '--quiet'], silentIO(errors));
      pushMs = performance.now() - started;
      if (code !== 0) throw new Error(`wellwatch push exited with ${code}: ${errors.join(' | ')}`);
      await runtime.waitForIdle({ timeoutMs: 300_000 });
      storedMs = performance.now() - started;
      const rollupStarted = performance.now();
      rollup = await runtime.scheduler.runNow({ date: day });
      rollupMs = performance.now() - rollupStarted;
    } finally {
      await tap.close();
    }
    const wallMs = performance.now() - started;
    log(`  e2e: pushed in ${Math.round(pushMs)} ms, stored after ${Math.round(storedMs)} ms, rolled up in ${Math.round(rollupMs)} ms`);
    log(`  e2e: rollup ${JSON.stringify(rollup)}`);
    if (rollup.readings !== lines || rollup.statsWritten !== pumps) {
      throw new Error(`rollup saw ${rollup.readings} readings / wrote ${rollup.statsWritten} stats; expected ${lines} / ${pumps}`);
    }
    const storedItems = await countItems(client, runtime.config.readingsTable);
    if (storedItems !== lines) throw new Error(`readings table holds ${storedItems} items, expected ${lines}`);
    const ceilingAfter = await ceiling('after');
    const ceilingItemsPerSecond = (ceilingBefore + ceilingAfter) / 2;

    const inv = summariseInvocations(invocations);
    const writesOf = (table: string): TableWrites => tap.stats.writes[table] ?? { puts: 0, deletes: 0, wru: 0, gsiWru: 0, itemBytes: 0 };
    const readingWrites = writesOf(runtime.config.readingsTable);
    const readingsPerSecond = (lines / wallMs) * 1000;
    const storedReadingsPerSecond = (lines / storedMs) * 1000;
    const kinesisRecords = runtime.runner.counters.records;
    return {
      readings: lines,
      pumps,
      day,
      fileBytes: bytes,
      kinesisRecords,
      readingsPerRecord: round(lines / kinesisRecords),
      pushMs: round(pushMs),
      storedMs: round(storedMs),
      rollupMs: round(rollupMs),
      wallMs: round(wallMs),
      readingsPerSecond: round(readingsPerSecond),
      storedReadingsPerSecond: round(storedReadingsPerSecond),
      ceilingItemsPerSecond: round(ceilingItemsPerSecond),
      ceilingRuns: [round(ceilingBefore), round(ceilingAfter)],
      ceilingConcurrency: concurrency,
      ratioToCeiling: round(readingsPerSecond / ceilingItemsPerSecond, 3),
      storedRatioToCeiling: round(storedReadingsPerSecond / ceilingItemsPerSecond, 3),
      storedItems,
      rollup: { pumpDays: rollup.pumpDays, readings: rollup.readings, statsWritten: rollup.statsWritten },
      invocations: inv,
      handlerMsPerReading: round(inv.totalHandlerMs / lines),
      rollupMsPerReading: round(rollupMs / lines),
      writes: { readings: readingWrites, stats: writesOf(runtime.config.statsTable), catalog: writesOf(runtime.config.catalogTable) },
      requests: { ...tap.stats.requests },
      alertingShare: round(alerting / lines, 3),
      readingItemBytes: round(readingWrites.puts > 0 ? readingWrites.itemBytes / readingWrites.puts : 0),
    };
  } catch (e) {
    // Say what went wrong before shutting down: stopping the emulators under in-flight requests can end the process.
    log(`  e2e: failed: ${(e as Error)?.stack ?? String(e)}`);
    throw e;
  } finally {
    client.destroy();
    await runtime.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    const errorsLogged = localLog.filter((l) => /error|failed/i.test(l));
    if (errorsLogged.length > 0) log(`  e2e: local mode reported: ${errorsLogged.slice(0, 3).join(' | ')}`);
  }
}
