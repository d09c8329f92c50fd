/**
 * `wellwatch local` — runs local mode in the foreground until Ctrl-C.
 *
 * kinesalite and dynalite in this process on 127.0.0.1 with LevelDB under the data dir, the event-source runner
 * feeding the real consumer handler, the rollup scheduler and the dashboard/API server.
 */
import * as path from 'node:path';
import { startLocal } from '../local';
import { loadPartitionLimits } from '../lambdas/config';
import { intOption, parseCommandArgs, type CliIO } from './io';
import { DEFAULT_DATA_DIR } from './target';

const HELP = `usage: wellwatch local [--data-dir DIR] [--port N] [--kinesis-port N] [--dynamodb-port N] [--shards N]
                      [--partition-limits F [--partition-burst S]]

  --data-dir DIR       where emulator data, checkpoints and dead letters live (default ./.wellwatch)
  --port N             dashboard and API port on 127.0.0.1 (default 4680; 0 picks a free port)
  --kinesis-port N     Kinesis emulator (kinesalite) port on 127.0.0.1 (default 0: a free port)
  --dynamodb-port N    DynamoDB emulator (dynalite) port on 127.0.0.1 (default 0: a free port)
  --shards N           shard count of the stream when it is first created (default 2)
  --partition-limits F the handlers' DynamoDB calls go through a proxy enforcing DynamoDB's per-partition-key
                       limits divided by F (1,000 WCU/s and 3,000 RCU/s / F; throttled as DynamoDB throttles);
                       a fleet F times smaller then stands for the real one (env WELLWATCH_PARTITION_LIMITS)
  --partition-burst S  seconds of capacity one key's bucket holds (default 1; env WELLWATCH_PARTITION_BURST_SECONDS)

Ready when DIR/local.json exists: it appears, complete, once everything listens, and names the endpoints.`;

/** Resolves when the process receives SIGINT or SIGTERM. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/**
 * Runs `wellwatch local`.
 *
 * @example
 * await localCommand(['--data-dir', '/tmp/ww', '--port', '0'], processIO());
 */
export async function localCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('local', argv, {
    'data-dir': { type: 'string' },
    port: { type: 'string' },
    'kinesis-port': { type: 'string' },
    'dynamodb-port': { type: 'string' },
    shards: { type: 'string' },
    'partition-limits': { type: 'string' },
    'partition-burst': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const dataDir = path.resolve(values['data-dir'] ?? DEFAULT_DATA_DIR);
  const port = intOption('port', values.port, 4680, 0, 65535);
  const kinesisPort = intOption('kinesis-port', values['kinesis-port'], 0, 0, 65535);
  const dynamodbPort = intOption('dynamodb-port', values['dynamodb-port'], 0, 0, 65535);
  const shards = intOption('shards', values.shards, 2, 1, 50);
  const factor = values['partition-limits'];
  const burst = values['partition-burst'];
  const partitionLimits = loadPartitionLimits({
    ...(factor !== undefined ? { factor } : {}),
    ...(burst !== undefined ? { burstSeconds: burst } : {}),
  });
  const runtime = await startLocal({ dataDir, port, kinesisPort, dynamodbPort, shards, partitionLimits: partitionLimits ?? false, log: (line) => io.err(line) });
  io.out(`wellwatch local mode running (data in ${dataDir}); bound to 127.0.0.1 only`);
  io.out(`  dashboard + API  ${runtime.apiUrl}/`);
  io.out(`  kinesis          ${runtime.endpoints.kinesis}`);
  io.out(`  dynamodb         ${runtime.endpoints.dynamodb}`);
  if (runtime.partitionLimits) io.out(`  partition limits ${runtime.partitionLimits.endpoint} (the handlers' DynamoDB; /${partitionLimits?.factor})`);
  io.out(`  push with        npx wellwatch push sample-data/readings-10-pumps-5-days.csv --local${values['data-dir'] ? ` --data-dir ${values['data-dir']}` : ''} --wait`);
  io.out('Ctrl-C to stop.');
  const sig = await untilSignal();
  io.err(`${sig}: stopping local mode; a batch in progress stops at its next write and keeps what it finished (Ctrl-C again to quit at once: records not checkpointed are processed again on the next start)…`);
  await runtime.stop();
  return 0;
}
