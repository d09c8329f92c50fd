/**
 * `wellwatch explain <pump>` — why an early warning fired or did not: every detector's view of every reading.
 *
 * Reads the pump's stored readings (a DynamoDB Query per pump-day, never a Scan) from `--lookback` before `--from`
 * to `--to`, runs the configured detectors over them exactly as the consumer does, and prints, for each reading in
 * the range and each configured measure, the baseline, spread, short-term level, deviation, CUSUM sums and step
 * score, and any warning raised or cleared, as CSV or JSON.
 */
import { EXPLAIN_COLUMNS, explainReadings, type ExplainRow } from '../lambdas/core/detectors/explain';
import { csvField } from '../lambdas/core/format';
import type { Reading } from '../lambdas/core/types';
import { dynamoClient } from '../lambdas/store/clients';
import { queryReadings } from '../lambdas/store/queries';
import { UsageError } from './errors';
import { intOption, parseCommandArgs, type CliIO } from './io';
import { TARGET_OPTIONS, resolveTarget, targetFlags } from './target';

const HELP = `usage: wellwatch explain <pump> [--from T] [--to T] [--lookback H] [--format csv|json] [--local]

Runs the early-warning detectors (WELLWATCH_DETECTORS, or the defaults) over the pump's stored readings and prints,
per reading in the range and per measure: value, state (warming|stopped|ok|drift|step), baseline, spread, level,
deviation (spreads), cusumUp, cusumDown, step score, and the warnings raised or cleared.

  --from T, --to T   range (T: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z); default: all stored readings
  --lookback H       hours before --from read to learn the baseline first (default 48, 0–720)
  --format csv|json  output format (default csv)
  --local            the running local mode (--data-dir DIR, default ./.wellwatch)
  --deployment NAME, --region R, --readings-table   AWS overrides`;

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?Z?$/;

/** Normalises a bound to `YYYY-MM-DDTHH:MM:SSZ` (a day: its start for --from, its last second for --to). */
function bound(flag: 'from' | 'to', raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  let iso: string | undefined;
  if (DAY_RE.test(raw)) iso = `${raw}T${flag === 'from' ? '00:00:00' : '23:59:59'}Z`;
  else if (TS_RE.test(raw)) {
    const body = raw.endsWith('Z') ? raw.slice(0, -1) : raw;
    iso = `${body.length === 16 ? `${body}:00` : body}Z`;
  }
  if (iso === undefined || Number.isNaN(Date.parse(iso)) || new Date(Date.parse(iso)).toISOString().slice(0, 19) + 'Z' !== iso) {
    throw new UsageError(`--${flag} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z, got "${raw}"`);
  }
  return iso;
}

function csvRow(row: ExplainRow): string {
  return EXPLAIN_COLUMNS.map((c) => {
    const v = row[c];
    return v === null ? '' : typeof v === 'number' ? String(v) : csvField(v);
  }).join(',');
}

/**
 * Runs `wellwatch explain`.
 *
 * @example
 * await explainCommand(['COHUTTA', '--from', '2014-03-12', '--local'], processIO());
 */
export async function explainCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'explain',
    argv,
    {
      ...TARGET_OPTIONS,
      from: { type: 'string' },
      to: { type: 'string' },
      lookback: { type: 'string' },
      format: { type: 'string', default: 'csv' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const pump = positionals[0];
  if (pump === undefined || positionals.length > 1) {
    throw new UsageError(`expected one pump, got ${positionals.length ? `"${positionals.join(' ')}"` : 'nothing'} (see \`wellwatch explain --help\`)`);
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(pump)) throw new UsageError(`pump must match [A-Za-z0-9_-]{1,64}, got "${pump}"`);
  const format = values.format!;
  if (format !== 'csv' && format !== 'json') throw new UsageError(`--format must be csv or json, got "${format}"`);
  const from = bound('from', values.from);
  const to = bound('to', values.to);
  if (from && to && from > to) throw new UsageError(`--from ${values.from} is after --to ${values.to}`);
  const lookbackHours = intOption('lookback', values.lookback, 48, 0, 720);
  const readFrom = from === undefined ? undefined : new Date(Date.parse(from) - lookbackHours * 3_600_000).toISOString().slice(0, 19) + 'Z';

  const target = resolveTarget(targetFlags(values));
  const client = dynamoClient(target.config);
  try {
    // The readings are held per pump for the range (about 1,000 a day), so the detectors see them in time order.
    const readings: Reading[] = [];
    for await (const r of queryReadings(client, target.config, { pump, from: readFrom, to })) readings.push(r);
    let n = 0;
    if (format === 'csv') io.out(EXPLAIN_COLUMNS.join(','));
    else io.out('[');
    for (const row of explainReadings(readings, target.config.detectors, from)) {
      io.out(format === 'csv' ? csvRow(row) : `${n ? ',' : ''}${JSON.stringify(row)}`);
      n++;
    }
    if (format === 'json') io.out(']');
    if (io.isTTY) io.err(`${readings.length} readings of ${pump} (${n} rows)`);
    return 0;
  } finally {
    client.destroy();
  }
}
