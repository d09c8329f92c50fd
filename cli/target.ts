/**
 * Resolves where a CLI command talks to: AWS (the default) or a running local mode (`--local`).
 *
 * AWS: region and credentials come the usual SDK way; stream and table names come from the shared config
 * (the CDK stack creates them with exactly these physical names) unless a flag overrides them.
 * Local: the running `wellwatch local` is found through `<dataDir>/local.json`.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, type WellwatchConfig } from '../lambdas/config';
import { LOCAL_NOTIFICATIONS_FILE, readLocalInfo, type LocalInfo } from '../local/discovery';
import { UsageError } from './errors';

/** Flags every command accepts. */
export interface TargetFlags {
  readonly local?: boolean;
  readonly dataDir?: string;
  /** AWS deployment name (see `deploymentNames`); the default for every resource name. */
  readonly deployment?: string;
  readonly region?: string;
  readonly stream?: string;
  readonly readingsTable?: string;
  readonly statsTable?: string;
  readonly catalogTable?: string;
}

/** A resolved target. */
export interface Target {
  readonly mode: 'aws' | 'local';
  readonly config: WellwatchConfig;
  /** Present in local mode: endpoints and the local API of the running instance. */
  readonly local?: LocalInfo;
}

/** Default data directory of local mode. */
export const DEFAULT_DATA_DIR = '.wellwatch';

/** Option definitions for node:util parseArgs shared by every command that talks to a target. */
export const TARGET_OPTIONS = {
  local: { type: 'boolean' },
  'data-dir': { type: 'string' },
  deployment: { type: 'string' },
  region: { type: 'string' },
  stream: { type: 'string' },
  'readings-table': { type: 'string' },
  'stats-table': { type: 'string' },
  'catalog-table': { type: 'string' },
} as const;

/** Converts parsed parseArgs values of {@link TARGET_OPTIONS} to {@link TargetFlags}. */
export function targetFlags(values: Record<string, unknown>): TargetFlags {
  return {
    local: values.local === true,
    dataDir: values['data-dir'] as string | undefined,
    deployment: values.deployment as string | undefined,
    region: values.region as string | undefined,
    stream: values.stream as string | undefined,
    readingsTable: values['readings-table'] as string | undefined,
    statsTable: values['stats-table'] as string | undefined,
    catalogTable: values['catalog-table'] as string | undefined,
  };
}

/**
 * Resolves the target of a command.
 *
 * @example
 * const target = resolveTarget({ local: true });
 * const client = dynamoClient(target.config);
 */
export function resolveTarget(flags: TargetFlags): Target {
  const names = {
    ...(flags.stream ? { streamName: flags.stream } : {}),
    ...(flags.readingsTable ? { readingsTable: flags.readingsTable } : {}),
    ...(flags.statsTable ? { statsTable: flags.statsTable } : {}),
    ...(flags.catalogTable ? { catalogTable: flags.catalogTable } : {}),
    ...(flags.region ? { region: flags.region } : {}),
  };
  if (flags.deployment !== undefined && flags.local) {
    throw new UsageError('--deployment names an AWS deployment; local mode has one, found through --data-dir');
  }
  if (!flags.local) return { mode: 'aws', config: loadConfig({ ...names, ...(flags.deployment !== undefined ? { deployment: flags.deployment } : {}) }) };
  const dataDir = path.resolve(flags.dataDir ?? DEFAULT_DATA_DIR);
  const local = readLocalInfo(dataDir);
  const config = loadConfig({
    ...names,
    region: flags.region ?? 'us-east-1',
    deadLetterUrl: local.deadLetterUrl,
    alarms: { notifications: pathToFileURL(path.join(local.dataDir, LOCAL_NOTIFICATIONS_FILE)).href },
    endpoints: { kinesis: local.kinesisEndpoint, dynamodb: local.dynamodbEndpoint },
  });
  return { mode: 'local', config, local };
}
