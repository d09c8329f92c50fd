/**
 * The `wellwatch` command line: parses the command name and dispatches to one file per command under cli/.
 *
 * Every command returns an exit code; anything thrown becomes one clear line on stderr and a non-zero exit.
 */
import { processIO, type CliIO } from '../cli/io';
import { explainError } from '../cli/errors';

type Command = (argv: string[], io: CliIO) => Promise<number>;

/** Commands, loaded lazily so `wellwatch query` does not pay for loading the producer or local mode. */
const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  push: { summary: 'push <file…|-> — send sensor CSV (files, .gz or stdin) into the stream', load: () => require('../cli/push').pushCommand },
  query: { summary: 'query readings|alerts|stats|deadletters — read stored data (csv or json)', load: () => require('../cli/query').queryCommand },
  rollup: { summary: 'rollup --date D | --from D --to D | --pending — compute daily stats', load: () => require('../cli/rollup').rollupCommand },
  alarms: {
    summary: 'alarms [--open] | ack|shelve|unshelve|history <id> — list alarms and act on them',
    load: () => require('../cli/alarms').alarmsCommand,
  },
  pumps: { summary: 'pumps out-of-service|in-service <pump> — maintenance: no alarms for the pump', load: () => require('../cli/pumps').pumpsCommand },
  status: { summary: 'status — per-shard backlog (records pushed but not yet processed)', load: () => require('../cli/status').statusCommand },
  replay: { summary: 'replay failed-batches | stream --from T — hand given-up batches or a time range back to the consumer', load: () => require('../cli/replay').replayCommand },
  redrive: { summary: 'redrive deadletters [--code C] [--fix FILE] — re-send bad lines, as they were or corrected', load: () => require('../cli/redrive').redriveCommand },
  local: { summary: 'local [--data-dir DIR] [--port N] [--kinesis-port N] [--dynamodb-port N] — run local mode until Ctrl-C', load: () => require('../cli/local').localCommand },
  generate: { summary: 'generate --pumps N --days D --seed S — deterministic sample readings', load: () => require('../cli/generate').generateCommand },
  explain: { summary: 'explain <pump> [--from T --to T] — early-warning detectors over stored readings (csv or json)', load: () => require('../cli/explain').explainCommand },
  plan: { summary: 'plan --pumps N [--interval 60s] [--alert-share X] [--retention-days D] [--json] — size shards, Lambda, DynamoDB and cost for a fleet', load: () => require('../cli/plan').planCommand },
  demo: { summary: 'demo [--once] — local pipeline on sample-data, prints a summary', load: () => require('../cli/demo').demoCommand },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  wellwatch ${c.summary.startsWith(name) ? c.summary : `${name} ${c.summary}`}`);
  return [
    'usage: wellwatch <command> [options]',
    '',
    ...lines,
    '',
    'Every command targets AWS by default (region/credentials the usual SDK way; --deployment NAME for a stack',
    'deployed with -c wellwatch:deployment=NAME) and local mode with --local (found through --data-dir, default',
    './.wellwatch). `wellwatch <command> --help` for its options.',
  ].join('\n');
}

/**
 * Runs the CLI with the given arguments and returns the exit code.
 *
 * @example
 * process.exitCode = await main(['query', 'stats', '--local']);
 */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    io.out(require('../package.json').version);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`wellwatch: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.load()(rest, io);
  } catch (e) {
    const { message, exitCode } = explainError(e);
    io.err(`wellwatch ${name}: ${message}`);
    return exitCode;
  }
}

/**
 * Runs the CLI on this process's arguments and sets its exit code.
 *
 * The launcher (bin/wellwatch.js) calls this explicitly: npm runs bins through links (`node_modules/.bin/wellwatch`,
 * a global `wellwatch`), so neither `require.main` nor the script's path tells reliably that the CLI was launched.
 * An error that escapes `main` is a bug; it still becomes one line and exit 1, never silence.
 *
 * @example
 * require('./wellwatch.ts').run();
 */
export function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(`wellwatch: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = 1;
    },
  );
}

// `tsx bin/wellwatch.ts …` runs this file directly.
if (require.main === module) void run();
