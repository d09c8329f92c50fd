/**
 * `wellwatch rollup --date D | --from D --to D | --pending` — computes daily stats on demand, through the fan-out.
 *
 * - AWS: invokes the deployed planner function (`<service>-rollup-planner`) with the event, then follows the run
 *   records in the catalog (planned and done work items) until every day named is complete — the workers run in
 *   AWS; this command only reads progress.
 * - Local (`--local`): runs the same planner and worker handlers in this process against the running local mode's
 *   tables, with a local queue between them (local/rollup-fanout.ts).
 *
 * Both show progress while they run (work items done/planned, pump-days, readings) and finish with the totals of
 * the runs. A rerun after a partial run finishes it (only the work items not done run); a rerun of a complete day
 * recomputes it.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ROLLUP_FANOUT, type WellwatchConfig } from '../lambdas/config';
import { WellwatchError } from '../lambdas/core/errors';
import { addOutcomes, NO_OUTCOME, type RunProgress } from '../lambdas/core/rollup-tasks';
import type { PlannerResult } from '../lambdas/rollup/planner';
import { clientSettings, dynamoClient } from '../lambdas/store/clients';
import { createRollupRunStore } from '../lambdas/store/rollup-run-store';
import { createLocalRollup } from '../local/rollup-fanout';
import { parseCommandArgs, type CliIO } from './io';
import { UsageError } from './errors';
import { formatCount, startProgress } from './progress';
import { TARGET_OPTIONS, resolveTarget, targetFlags } from './target';

const HELP = `usage: wellwatch rollup (--date YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD | --pending) [--local] [--format text|json] [--wait-minutes N]

  --date D          one UTC day
  --from D --to D   a range of days, inclusive (backfill)
  --pending         every pump-day marked as touched by late data
  --wait-minutes N  AWS: how long to follow the run before returning (it goes on in AWS) (default 60)`;

/** Builds the rollup event from the flags, refusing ambiguous or incomplete combinations. */
export function rollupEventFromFlags(v: { date?: string; from?: string; to?: string; pending?: boolean }): Record<string, unknown> {
  const modes = [v.date !== undefined, v.from !== undefined || v.to !== undefined, v.pending === true].filter(Boolean).length;
  if (modes !== 1) throw new UsageError(`give exactly one of --date, --from/--to or --pending (see \`wellwatch rollup --help\`)`);
  if (v.pending) return { pending: true };
  if (v.date !== undefined) return { date: v.date };
  if (v.from === undefined || v.to === undefined) throw new UsageError('--from and --to go together');
  return { from: v.from, to: v.to };
}

/** Totals of a set of runs, as the command reports them. */
export interface RollupProgressSummary {
  readonly days: string[];
  readonly tasks: { readonly planned: number; readonly done: number };
  readonly pumpDays: number;
  readonly readings: number;
  readonly statsWritten: number;
  readonly pendingCleared: number;
  readonly superseded: number;
  readonly complete: boolean;
}

/**
 * Sums the progress of several runs (the days of a range, or the pending run).
 *
 * @example
 * summarizeProgress([dayProgress]).tasks; // → { planned: 128, done: 40 }
 */
export function summarizeProgress(runs: readonly RunProgress[]): RollupProgressSummary {
  let totals = NO_OUTCOME;
  let planned = 0;
  let done = 0;
  const days = new Set<string>();
  for (const r of runs) {
    totals = addOutcomes(totals, r.totals);
    planned += r.planned;
    done += r.done;
    for (const d of r.days) days.add(d);
  }
  return { days: [...days].sort(), tasks: { planned, done }, ...totals, complete: runs.every((r) => r.complete) };
}

/** Polls the run records until the runs are complete or `stop()` says to give up; returns the last reading. */
async function follow(read: () => Promise<RollupProgressSummary>, stop: () => boolean, pollMs: number, onUpdate: (s: RollupProgressSummary) => void): Promise<RollupProgressSummary> {
  for (;;) {
    const halt = stop();
    const s = await read();
    onUpdate(s);
    if (s.complete || halt) return s;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The deployed planner's name for a configuration. */
export function plannerFunctionName(cfg: WellwatchConfig): string {
  return process.env[ROLLUP_FANOUT.plannerFunctionEnv] || cfg.names.serviceName + ROLLUP_FANOUT.plannerFunction.slice('wellwatch'.length);
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
    'wait-minutes': { type: 'string', default: '60' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, got "${values.format}"`);
  const waitMinutes = Number(values['wait-minutes']);
  if (!Number.isFinite(waitMinutes) || waitMinutes <= 0) throw new UsageError(`--wait-minutes must be a positive number, got "${values['wait-minutes']}"`);
  const event = rollupEventFromFlags(values);
  const target = resolveTarget(targetFlags(values));
  const cfg = target.config;
  const dynamo = dynamoClient(cfg);
  const started = Date.now();
  let latest: RollupProgressSummary | undefined;
  const progress = startProgress(io, () => ({
    done: latest?.readings ?? 0,
    unit: 'readings',
    extra: latest ? `${latest.tasks.done}/${latest.tasks.planned} work items · ${formatCount(latest.pumpDays)} pump-days` : 'planning',
  }));
  let summary: RollupProgressSummary;
  try {
    if (target.mode === 'local') {
      const local = createLocalRollup(cfg, { dynamo });
      try {
        const planned = await local.planner(event);
        // Followed until complete, or until the queue has settled with items failed (waiting out their visibility).
        let settled = false;
        void local.queue.settled().then(() => (settled = true));
        summary = await follow(async () => summarizeProgress(await local.progress(planned)), () => settled, 500, (s) => (latest = s));
      } finally {
        await local.stop();
      }
    } else {
      const lambda = new LambdaClient(clientSettings(cfg, undefined, { maxAttempts: 3, requestTimeoutMs: 900_000 }));
      const name = plannerFunctionName(cfg);
      let planned: PlannerResult;
      try {
        const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }));
        const payload = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
        if (out.FunctionError) throw new WellwatchError(`rollup planner ${name} failed: ${payload.slice(0, 500)}`);
        planned = JSON.parse(payload) as PlannerResult;
      } finally {
        lambda.destroy();
      }
      const runs = createRollupRunStore(dynamo, cfg);
      summary = await follow(
        async () => {
          const list: RunProgress[] = [];
          for (const run of planned.runs) {
            const p = await runs.readProgress(run.scope);
            // The planner writes a run's record before it returns, so a missing one means this command reads another
            // catalog than the planner writes: reporting the run as done would claim work nobody can see.
            if (p === undefined) {
              throw new WellwatchError(
                `the planner reported run ${run.scope} (generation ${run.generation}), but ${cfg.catalogTable} in ${cfg.region} has no record of it: ` +
                  `the planner ${name} writes to another catalog (give this deployment's --deployment, --region or --catalog-table)`,
              );
            }
            list.push(p);
          }
          return summarizeProgress(list);
        },
        () => Date.now() >= started + waitMinutes * 60_000,
        2_000,
        (s) => (latest = s),
      );
    }
  } finally {
    progress.stop();
    dynamo.destroy();
  }
  const ms = Date.now() - started;
  if (values.format === 'json') io.out(JSON.stringify({ ...summary, ms }));
  else {
    io.out(
      `rolled up ${summary.days.length} day(s), ${summary.pumpDays} pump-day(s), ${summary.readings} reading(s); ` +
        `${summary.statsWritten} stats item(s) written, ${summary.pendingCleared} pending marker(s) cleared; ` +
        `${summary.tasks.done}/${summary.tasks.planned} work item(s) done in ${ms} ms`,
    );
  }
  if (!summary.complete) {
    io.err(
      target.mode === 'local'
        ? `rollup not finished: ${summary.tasks.planned - summary.tasks.done} work item(s) failed; rerun the command to finish them`
        : `rollup still running in AWS after ${waitMinutes} min: ${summary.tasks.planned - summary.tasks.done} work item(s) left (failed items are retried, then kept in the rollup dead-letter queue); rerun the command to finish a partial run`,
    );
    return 1;
  }
  return 0;
}
