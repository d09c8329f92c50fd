/**
 * `wellwatch rollup --date D | --from D --to D | --pending` — computes daily stats on demand.
 *
 * Runs the very same rollup handler the scheduled Lambda runs, in this process, against the target's tables
 * (AWS with your credentials, or the running local mode). Idempotent: rerunning gives identical stats items.
 */
import { createRollupHandler } from '../lambdas/rollup/handler';
import { parseCommandArgs, type CliIO } from './io';
import { UsageError } from './errors';
import { TARGET_OPTIONS, resolveTarget, targetFlags } from './target';

const HELP = `usage: wellwatch rollup (--date YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD | --pending) [--local] [--format text|json]

  --date D          one UTC day
  --from D --to D   a range of days, inclusive (backfill)
  --pending         every pump-day marked as touched by late data`;

/** Builds the rollup event from the flags, refusing ambiguous or incomplete combinations. */
export function rollupEventFromFlags(v: { date?: string; from?: string; to?: string; pending?: boolean }): Record<string, unknown> {
  const modes = [v.date !== undefined, v.from !== undefined || v.to !== undefined, v.pending === true].filter(Boolean).length;
  if (modes !== 1) throw new UsageError(`give exactly one of --date, --from/--to or --pending (see \`wellwatch rollup --help\`)`);
  if (v.pending) return { pending: true };
  if (v.date !== undefined) return { date: v.date };
  if (v.from === undefined || v.to === undefined) throw new UsageError('--from and --to go together');
  return { from: v.from, to: v.to };
}

/**
 * Runs `wellwatch rollup`.
 *
 * @example
 * await rollupCommand(['--date', '2014-03-10', '--local'], processIO());
 */
export async function rollupCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('rollup', argv, {
    ...TARGET_OPTIONS,
    date: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    pending: { type: 'boolean' },
    format: { type: 'string', default: 'text' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, got "${values.format}"`);
  const event = rollupEventFromFlags(values);
  const target = resolveTarget(targetFlags(values));
  const rollup = createRollupHandler(target.config, { metricsSink: () => undefined });
  const started = Date.now();
  const result = await rollup(event as any);
  const ms = Date.now() - started;
  if (values.format === 'json') {
    io.out(JSON.stringify({ ...result, ms }));
  } else {
    io.out(
      `rolled up ${result.days.length} day(s), ${result.pumpDays} pump-day(s), ${result.readings} reading(s); ` +
        `${result.statsWritten} stats item(s) written, ${result.pendingCleared} pending marker(s) cleared in ${ms} ms`,
    );
  }
  return 0;
}
