/**
 * `wellwatch alarms` — list alarms, acknowledge, shelve, unshelve, and print an alarm's audit trail.
 *
 * Talks to the alarms table of the target (AWS or `--local`) through the same functions the handlers use
 * (lambdas/alarms/actions.ts). A transition made here is notified right away when the target's notification
 * destination is known (local mode's notifications.jsonl; in AWS `WELLWATCH_ALARM_NOTIFICATIONS=<topic ARN>`),
 * otherwise by the scheduled alarm check within 5 minutes.
 */
import { ALARM_CSV_COLUMNS, ALARM_SEVERITIES, actOnAlarm, alarmCsvRow, alarmJson, findAlarm, listAlarms } from '../lambdas/alarms/actions';
import { ALARM_KINDS, type AlarmKind, type Severity } from '../lambdas/core/alarm-rules';
import type { AlarmAction } from '../lambdas/core/alarm-state';
import { csvField } from '../lambdas/core/format';
import { createAlarmStore } from '../lambdas/store/alarm-store';
import { dynamoClient } from '../lambdas/store/clients';
import { createNotifier } from '../lambdas/store/notifier';
import { parseCommandArgs, type CliIO } from './io';
import { UsageError } from './errors';
import { TARGET_OPTIONS, resolveTarget, targetFlags, type Target } from './target';

const HELP = `usage: wellwatch alarms [list] [--open] [--pump P] [--rule R] [--severity S] [--kind K] [--from T] [--to T] [--format csv|json]
       wellwatch alarms ack <id> --by NAME [--note TEXT]
       wellwatch alarms shelve <id> --until T --by NAME [--note TEXT]
       wellwatch alarms unshelve <id> [--by NAME]
       wellwatch alarms history <id> [--format csv|json]

  list       alarms ordered by raised time; csv columns ${ALARM_CSV_COLUMNS.join(',')}
  --open     only open alarms (ACTIVE, LATCHED, SHELVED, OUT_OF_SERVICE)
  --kind     threshold, no-data or early-warning (the detectors' warnings: rules like psi-drift, psi-step)
  json       also gives each alarm's detail (early warnings: measure, detector, baseline, level, deviation, since)
  T          YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); --from/--to bound the raised time
  --local    the running local mode (--data-dir DIR, default ./.wellwatch); --deployment NAME, --region R for AWS`;

const TIME_RE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z)?$/;

function timeFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!TIME_RE.test(value) || Number.isNaN(Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value))) {
    throw new UsageError(`--${flag} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, got "${value}"`);
  }
  return value.length === 17 ? `${value.slice(0, 16)}:00Z` : value;
}

export { alarmCsvRow, alarmJson };

function storeOf(target: Target) {
  return createAlarmStore(dynamoClient(target.config), target.config);
}

function requireId(positionals: string[], sub: string): string {
  if (positionals.length !== 2) throw new UsageError(`alarms ${sub} needs exactly one alarm id (see \`wellwatch alarms --help\`)`);
  return positionals[1]!;
}

function requireName(flag: string, value: string | undefined, sub: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`alarms ${sub} needs --${flag} NAME`);
  return value;
}

/**
 * Runs `wellwatch alarms`.
 *
 * @example
 * await alarmsCommand(['--open', '--local'], processIO());
 * await alarmsCommand(['ack', 'COHUTTA.low-psi.20140310T010100Z', '--by', 'ana', '--local'], processIO());
 */
export async function alarmsCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'alarms',
    argv,
    {
      ...TARGET_OPTIONS,
      open: { type: 'boolean' },
      pump: { type: 'string' },
      rule: { type: 'string' },
      severity: { type: 'string' },
      kind: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string', default: 'csv' },
      by: { type: 'string' },
      note: { type: 'string' },
      until: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const sub = positionals[0] ?? 'list';
  const format = values.format!;
  if (format !== 'csv' && format !== 'json') throw new UsageError(`--format must be csv or json, got "${format}"`);
  const now = new Date();

  switch (sub) {
    case 'list': {
      if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}" (see \`wellwatch alarms --help\`)`);
      if (values.severity !== undefined && !ALARM_SEVERITIES.includes(values.severity)) {
        throw new UsageError(`--severity must be one of ${ALARM_SEVERITIES.join('|')}, got "${values.severity}"`);
      }
      const kinds = Object.values(ALARM_KINDS) as string[];
      if (values.kind !== undefined && !kinds.includes(values.kind)) throw new UsageError(`--kind must be one of ${kinds.join('|')}, got "${values.kind}"`);
      const from = timeFlag('from', values.from);
      const to = timeFlag('to', values.to);
      const target = resolveTarget(targetFlags(values));
      const rows = await listAlarms(
        storeOf(target),
        { open: values.open === true, pump: values.pump, rule: values.rule, severity: values.severity as Severity | undefined, kind: values.kind as AlarmKind | undefined, from, to },
        now,
      );
      if (format === 'csv') {
        io.out(ALARM_CSV_COLUMNS.join(','));
        for (const r of rows) io.out(alarmCsvRow(r));
      } else {
        io.out(JSON.stringify(rows.map(alarmJson), null, 2));
      }
      if (io.isTTY) io.err(`${rows.length} alarm(s)`);
      return 0;
    }
    case 'history': {
      const id = requireId(positionals, sub);
      const target = resolveTarget(targetFlags(values));
      const { alarm, state } = await findAlarm(storeOf(target), id, now);
      if (format === 'json') {
        io.out(JSON.stringify({ ...alarmJson({ alarm, state }), trail: alarm.trail }, null, 2));
        return 0;
      }
      io.out('at,action,by,note,until');
      for (const e of alarm.trail) io.out([e.at, e.action, e.by ?? '', e.note ?? '', e.until ?? ''].map(csvField).join(','));
      return 0;
    }
    case 'ack':
    case 'shelve':
    case 'unshelve': {
      const id = requireId(positionals, sub);
      const at = now.toISOString().replace(/\.\d+Z$/, 'Z');
      let action: AlarmAction;
      if (sub === 'ack') {
        action = { type: 'acknowledge', at, by: requireName('by', values.by, sub), ...(values.note !== undefined ? { note: values.note } : {}) };
      } else if (sub === 'shelve') {
        const until = timeFlag('until', values.until);
        if (until === undefined) throw new UsageError('alarms shelve needs --until T');
        const untilIso = until.length === 10 ? `${until}T00:00:00Z` : until;
        action = { type: 'shelve', at, by: requireName('by', values.by, sub), until: untilIso, ...(values.note !== undefined ? { note: values.note } : {}) };
      } else {
        action = { type: 'unshelve', at, by: values.by ?? process.env.USER ?? 'cli', ...(values.note !== undefined ? { note: values.note } : {}) };
      }
      const target = resolveTarget(targetFlags(values));
      const notifier = target.config.alarms.notifications ? createNotifier(target.config) : undefined;
      const result = await actOnAlarm(storeOf(target), notifier, id, action);
      const did = result.transitions.map((t) => t.type).join(', ') || `nothing to do (already ${sub === 'ack' ? 'acknowledged' : sub === 'unshelve' ? 'unshelved' : 'shelved'})`;
      io.out(`${id}: ${did}${result.alarm.closed ? '; closed' : ''}`);
      if (result.transitions.some((t) => t.notify) && result.published === 0 && !notifier) io.err('notification left to the scheduled alarm check (within 5 minutes)');
      return 0;
    }
    default:
      throw new UsageError(`unknown alarms subcommand "${sub}": expected list, ack, shelve, unshelve or history (see \`wellwatch alarms --help\`)`);
  }
}
