/**
 * `wellwatch plan --pumps N [--interval 60s] [--alert-share X] [--retention-days D] [--shards N] [--json]` — sizes a
 * deployment for a fleet: Kinesis shards, Lambda concurrency, DynamoDB units per table and index, the worst
 * per-key rates against DynamoDB's partition limits, the warm throughput to set, storage and the monthly bill.
 *
 * Offline and deterministic: everything comes from the sizing model (lambdas/core/sizing.ts), the same model
 * `cdk synth -c wellwatch:pumps=N` sizes the stack with.
 */
import { PRICES, SIZING } from '../lambdas/config';
import { planFleet, type FleetPlan } from '../lambdas/core/sizing';
import { UsageError } from './errors';
import { intOption, numberOption, parseCommandArgs, type CliIO } from './io';

const HELP = `usage: wellwatch plan --pumps N [--interval 60s] [--alert-share X] [--retention-days D] [--shards N] [--json]

  --pumps N            pumps in the fleet (1–100000000)
  --interval T         seconds between two readings of a pump: 60, 60s, 5m or 1h (default ${SIZING.defaultIntervalSeconds}s)
  --alert-share X      share of readings that alert, 0–1 (default ${SIZING.alertShare}, measured on generated data)
  --retention-days D   days readings and stats are kept, 0 = forever (default 0; storage is then shown after ${SIZING.unboundedRetentionDays} days)
  --shards N           price and size with this many shards instead of the ones needed
  --json               the whole plan as one JSON object`;

/**
 * Parses an interval: plain seconds or a number with `s`, `m` or `h`, 1 s – 1 day.
 *
 * @throws UsageError naming --interval otherwise.
 * @example
 * parseInterval('5m'); // → 300
 */
export function parseInterval(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(raw.trim());
  const seconds = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) : NaN;
  if (!(seconds >= 1 && seconds <= 86_400)) {
    throw new UsageError(`--interval must be seconds or a number with s, m or h, 1 s to 1 day (e.g. 60s, 5m), got "${raw}"`);
  }
  return seconds;
}

/** A number with thousands separators and at most `digits` decimals (locale-independent). */
function fmt(n: number, digits = 0): string {
  const fixed = n.toFixed(digits);
  const [int, frac] = fixed.split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac !== undefined ? `${grouped}.${frac}` : grouped;
}

/** Two significant digits below 1, one decimal below 10, none above. */
const num = (n: number): string => (n !== 0 && Math.abs(n) < 1 ? String(Number(n.toPrecision(2))) : fmt(n, n !== 0 && Math.abs(n) < 10 ? 1 : 0));
/** A duration in ms, or in seconds from one second up. */
const ms = (n: number): string => (n < 1000 ? `${fmt(n)} ms` : `${fmt(n / 1000, 1)} s`);
const usd = (n: number): string => `$${fmt(n, 2)}`;

/** A plain-text table: numbers right-aligned, the columns listed in `left` (and the first) left-aligned. */
function table(header: string[], rows: string[][], left: readonly number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || left.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Renders a plan as the human-readable report `wellwatch plan` prints.
 *
 * @example
 * io.out(renderPlan(planFleet({ pumps: 10_000 })));
 */
export function renderPlan(p: FleetPlan): string {
  const i = p.input;
  const s = p.shards;
  const l = p.lambda;
  const retention = i.retentionDays === 0 ? `kept forever (storage after ${p.monthly.storageDays} days)` : `${i.retentionDays} days`;
  const out: string[] = [];
  out.push(
    `wellwatch plan: ${fmt(i.pumps)} pump${i.pumps === 1 ? '' : 's'}, one reading every ${fmt(i.intervalSeconds, i.intervalSeconds % 1 ? 1 : 0)} s = ${num(p.load.readingsPerSecond)} readings/s; ` +
      `alert share ${fmt(i.alertShare * 100, 1)} %; readings ${retention}`,
    '',
    `Kinesis shards: ${s.deployed}${s.deployed !== s.needed ? ` (given; ${s.needed} needed)` : ''} — binding: ${s.binding}`,
    table(
      ['by', 'shards', 'why'],
      [
        ['bytes', String(s.byBytes), `${fmt(p.load.bytesPerSecond)} B/s at ${SIZING.bytesPerReading} B/reading; 1 MiB/s per shard`],
        ['records', String(s.byRecords), `${num(p.load.recordsPerSecond)} records/s (${num(p.load.readingsPerRecord)} readings/record, KPL-packed per shard); 1,000/s per shard`],
        [
          'consumer',
          String(s.byConsumer),
          `${fmt(s.consumerReadingsPerSecond)} readings/s per shard, used ≤ ${fmt(SIZING.consumerUtilisation * 100)} %: a full batch of ${s.fullBatch.records} records = ${fmt(s.fullBatch.readings)} readings in ${ms(s.fullBatch.invocationMs)}`,
        ],
      ],
      [2],
    ),
    `ParallelizationFactor: ${s.parallelizationFactor.configured} configured, ${s.parallelizationFactor.effective} effective (records are keyed by shard id, so one consumer per shard)`,
    '',
    'Lambda concurrency',
    table(
      ['function', 'concurrency', 'note'],
      [
        ['consumer', String(l.consumerConcurrency), `shards × effective parallelization; ${num(l.consumerInvocationsPerSecond)} invocations/s`],
        ['rollup workers', String(l.rollupWorkers), `daily rollup takes ${fmt(l.rollupMinutes, 1)} min; ${l.rollupWorkersNeeded} needed for ≤ ${SIZING.rollupWindowMinutes} min, at most ${p.input.rollupWorkers}`],
        ['query API', String(l.apiConcurrency), `${SIZING.apiRequestsPerSecond} requests/s (stage throttling) × ${fmt(SIZING.apiMsPerRequest / 1000, 1)} s`],
      ],
      [2],
    ),
    '',
    'DynamoDB (on-demand; units per second)',
    table(
      ['table / index', 'mean WCU', 'peak WCU', 'peak when', 'mean RCU', 'peak RCU', 'warm throughput to set', 'storage GB'],
      p.dynamodb.tables.map((t) => [
        t.index ? `${t.table} / ${t.index}` : t.table,
        num(t.writeUnitsPerSecond),
        num(t.peakWriteUnitsPerSecond),
        t.peakWriteWhen,
        num(t.readUnitsPerSecond),
        num(t.peakReadUnitsPerSecond),
        t.warmThroughput
          ? [t.warmThroughput.writeUnitsPerSecond ? `${fmt(t.warmThroughput.writeUnitsPerSecond)} W` : '', t.warmThroughput.readUnitsPerSecond ? `${fmt(t.warmThroughput.readUnitsPerSecond)} R` : ''].filter(Boolean).join(', ')
          : 'default (4,000 W, 12,000 R)',
        num(t.storageGb),
      ]),
      [3, 6],
    ),
    '',
    `Peak per partition key (limits: ${fmt(p.dynamodb.keys.find((k) => k.kind === 'write')!.limit)} WCU/s, ${fmt(p.dynamodb.keys.find((k) => k.kind === 'read')!.limit)} RCU/s)`,
    table(
      ['key (buckets)', 'table', 'scenario', 'units/s', 'of limit'],
      p.dynamodb.keys.map((k) => [k.key, k.table, k.scenario, `${num(k.unitsPerSecond)} ${k.kind === 'write' ? 'W' : 'R'}`, `${fmt(k.utilisation * 100)} %${k.utilisation > 1 ? ' OVER' : ''}`]),
      [1, 2],
    ),
    '',
    `Monthly cost (${PRICES.region} list prices of ${PRICES.asOf}, ${SIZING.hoursPerMonth} h)`,
    table(
      ['item', 'quantity', 'USD'],
      [...p.monthly.lines.map((m) => [m.item, `${num(m.quantity)} ${m.unit}`, usd(m.usd)]), ['TOTAL', '', usd(p.monthly.totalUsd)]],
    ),
  );
  return out.join('\n');
}

/**
 * Runs `wellwatch plan`.
 *
 * @example
 * await planCommand(['--pumps', '1000000', '--interval', '60s'], processIO());
 */
export async function planCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('plan', argv, {
    pumps: { type: 'string' },
    interval: { type: 'string' },
    'alert-share': { type: 'string' },
    'retention-days': { type: 'string' },
    shards: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values.pumps === undefined) throw new UsageError('--pumps is required (see `wellwatch plan --help`)');
  const plan = planFleet({
    pumps: intOption('pumps', values.pumps, 0, 1, 100_000_000),
    intervalSeconds: values.interval === undefined ? SIZING.defaultIntervalSeconds : parseInterval(values.interval),
    alertShare: numberOption('alert-share', values['alert-share'], SIZING.alertShare, 0, 1),
    retentionDays: intOption('retention-days', values['retention-days'], 0, 0, 36_500),
    ...(values.shards !== undefined ? { shards: intOption('shards', values.shards, 0, 1, 100_000) } : {}),
  });
  io.out(values.json ? JSON.stringify(plan, null, 2) : renderPlan(plan));
  return 0;
}
