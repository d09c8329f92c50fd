/**
 * `wellwatch pumps out-of-service <pump> --by NAME [--until T] [--note TEXT]` / `pumps in-service <pump>` — takes a
 * pump out of service for maintenance (no alarms are raised for it; its readings are still stored) and back.
 *
 * The mark lives on the pump's item in the alarms table; each open alarm of the pump gets an audit-trail entry and
 * is listed as OUT_OF_SERVICE until the pump is back in service (or `--until` passes).
 */
import { setPumpService } from '../lambdas/alarms/actions';
import { createAlarmStore } from '../lambdas/store/alarm-store';
import { dynamoClient } from '../lambdas/store/clients';
import { parseCommandArgs, type CliIO } from './io';
import { UsageError } from './errors';
import { TARGET_OPTIONS, resolveTarget, targetFlags } from './target';

const HELP = `usage: wellwatch pumps out-of-service <pump> --by NAME [--until T] [--note TEXT]
       wellwatch pumps in-service <pump> [--by NAME]

  T   YYYY-MM-DDTHH:MM:SSZ (UTC) when the mark lapses by itself; without it the pump stays out of service
  --local (--data-dir DIR) for the running local mode; --deployment NAME, --region R for AWS`;

const PUMP_RE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Runs `wellwatch pumps`.
 *
 * @example
 * await pumpsCommand(['out-of-service', 'COHUTTA', '--by', 'ana', '--local'], processIO());
 */
export async function pumpsCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'pumps',
    argv,
    { ...TARGET_OPTIONS, by: { type: 'string' }, until: { type: 'string' }, note: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const [sub, pump, ...rest] = positionals;
  if (sub !== 'out-of-service' && sub !== 'in-service') {
    throw new UsageError(`expected out-of-service or in-service, got ${sub ? `"${sub}"` : 'nothing'} (see \`wellwatch pumps --help\`)`);
  }
  if (pump === undefined || rest.length > 0) throw new UsageError(`pumps ${sub} needs exactly one pump id`);
  if (!PUMP_RE.test(pump)) throw new UsageError(`pump id must match [A-Za-z0-9_-]{1,64}, got "${pump}"`);
  const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  let until: string | undefined;
  if (values.until !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(values.until) || Number.isNaN(Date.parse(values.until))) {
      throw new UsageError(`--until must be YYYY-MM-DDTHH:MM:SSZ, got "${values.until}"`);
    }
    if (values.until <= at) throw new UsageError(`--until ${values.until} is not in the future`);
    until = values.until;
  }
  let by = values.by;
  if (sub === 'out-of-service' && (by === undefined || by.trim() === '')) throw new UsageError('pumps out-of-service needs --by NAME');
  by ??= process.env.USER ?? 'cli';

  const target = resolveTarget(targetFlags(values));
  const store = createAlarmStore(dynamoClient(target.config), target.config);
  const oos = sub === 'out-of-service' ? { by, at, ...(until ? { until } : {}), ...(values.note !== undefined ? { note: values.note } : {}) } : undefined;
  const { noted } = await setPumpService(store, pump, oos, by, at);
  io.out(`${pump}: ${sub}${until ? ` until ${until}` : ''}${noted ? ` (${noted} open alarm(s) noted)` : ''}`);
  return 0;
}
