/**
 * The single source of truth for wellwatch's names, key formats, rules and event-source settings.
 *
 * The CDK stack, the Lambda handlers, the CLI and local mode all read this module, so a table name or a batch
 * size is written exactly once. Precedence: explicit option > environment variable > default.
 * Pure TypeScript, no AWS imports.
 */
import type { AlertRule } from './core/types';

/** Names of the AWS resources (physical names in local mode; logical prefixes in AWS). */
export const NAMES = {
  stackName: 'Wellwatch',
  streamName: 'wellwatch-readings',
  readingsTable: 'wellwatch-readings',
  statsTable: 'wellwatch-stats',
  catalogTable: 'wellwatch-catalog',
  deadLetterQueue: 'wellwatch-dead-letters',
  failedBatchQueue: 'wellwatch-failed-batches',
  metricNamespace: 'Wellwatch',
  serviceName: 'wellwatch',
  /** The consumer Lambda function: `wellwatch replay` invokes it by this name. */
  consumerFunction: 'wellwatch-consumer',
} as const;

/** What a deployment name may look like: it becomes part of table, stream, queue and stack names. */
export const DEPLOYMENT_NAME_RE = /^[a-z][a-z0-9-]{0,19}$/;

/** Physical names of one deployment's resources (see {@link deploymentNames}). */
export type DeploymentNames = { readonly [K in Exclude<keyof typeof NAMES, 'metricNamespace'>]: string } & {
  /** The deployment name, absent for the default deployment. */
  readonly deployment?: string;
};

/**
 * Names of a deployment's resources. Without a name: {@link NAMES} as they are (`Wellwatch`, `wellwatch-readings`…).
 * With one, e.g. `staging`: `Wellwatch-staging`, `wellwatch-staging-readings`, `wellwatch-staging-dead-letters`…, and
 * the metrics' `service` dimension `wellwatch-staging`, so several deployments share an account and region without
 * sharing a table, a queue or a dashboard line.
 *
 * @throws ConfigError when the name does not match {@link DEPLOYMENT_NAME_RE}.
 * @example
 * deploymentNames('staging').readingsTable; // → 'wellwatch-staging-readings'
 */
export function deploymentNames(deployment?: string): DeploymentNames {
  if (deployment === undefined || deployment === '') {
    const { metricNamespace: _namespace, ...names } = NAMES;
    return names;
  }
  if (!DEPLOYMENT_NAME_RE.test(deployment)) {
    throw new ConfigError(`deployment name must be 1–20 characters of a-z, 0-9 and -, starting with a letter, got ${JSON.stringify(deployment)}`);
  }
  const prefix = `${NAMES.serviceName}-${deployment}`;
  const suffix = (name: string) => `${prefix}${name.slice(NAMES.serviceName.length)}`;
  return {
    deployment,
    stackName: `${NAMES.stackName}-${deployment}`,
    streamName: suffix(NAMES.streamName),
    readingsTable: suffix(NAMES.readingsTable),
    statsTable: suffix(NAMES.statsTable),
    catalogTable: suffix(NAMES.catalogTable),
    deadLetterQueue: suffix(NAMES.deadLetterQueue),
    failedBatchQueue: suffix(NAMES.failedBatchQueue),
    serviceName: prefix,
    consumerFunction: suffix(NAMES.consumerFunction),
  };
}

/**
 * Key schema of every table and index. Attribute names are short because they are paid for on every item.
 *
 * - readings: `pk = PUMP#YYYY-MM-DD`, `sk = HH:MM:SS` (one partition per pump-day)
 * - readings GSI `alertsByDay` (sparse, only alerting rows): `apk = YYYY-MM-DD`, `ask = <ts>#<pump>`
 * - readings GSI `alertsByPump` (sparse): `ppk = PUMP`, `psk = <ts>`
 * - stats: `pk = PUMP`, `sk = YYYY-MM-DD`; GSI `statsByDate`: `date`, `pump`
 * - catalog: `pk = DAY#YYYY-MM-DD` / `sk = PUMP` (pump-days that exist) and `pk = PENDING` / `sk = YYYY-MM-DD#PUMP`
 *   (pump-days that received late data and need a re-rollup)
 */
export const KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  separator: '#',
  readings: {
    alertsByDay: { indexName: 'alertsByDay', partitionKey: 'apk', sortKey: 'ask' },
    alertsByPump: { indexName: 'alertsByPump', partitionKey: 'ppk', sortKey: 'psk' },
    /** Attribute group holding the six measures. */
    dataAttribute: 'd',
    /** Attribute group holding the alert details (present only on alerting rows). */
    alertAttribute: 'a',
  },
  stats: {
    byDate: { indexName: 'statsByDate', partitionKey: 'date', sortKey: 'pump' },
  },
  catalog: {
    dayPrefix: 'DAY#',
    pendingPartition: 'PENDING',
  },
  /** Name of the TTL attribute (epoch seconds) on readings and stats. */
  ttlAttribute: 'expiresAt',
} as const;

/** The seed's alert rule: pressure below 5 psi. */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [{ name: 'low-psi', field: 'psi', op: '<', threshold: 5.0 }];

/** Settings of the Kinesis → consumer event-source mapping, shared by the CDK stack and the local runner. */
export interface EventSourceSettings {
  /** Records per invocation (1–10000). */
  readonly batchSize: number;
  /** Seconds to gather records before invoking (0–300). */
  readonly maxBatchingWindowSeconds: number;
  /** Concurrent batches per shard (1–10). */
  readonly parallelizationFactor: number;
  /** Split a failing batch in two before retrying. */
  readonly bisectBatchOnError: boolean;
  /** Retries of a failing batch before it goes to the on-failure destination (0–10000). */
  readonly retryAttempts: number;
  /** Records older than this go to the on-failure destination (60–604800 seconds). */
  readonly maxRecordAgeSeconds: number;
  /** Report partial batch failures (`batchItemFailures`). */
  readonly reportBatchItemFailures: boolean;
  /** Where a new mapping starts reading. */
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export const DEFAULT_EVENT_SOURCE: EventSourceSettings = {
  batchSize: 100,
  // No batching window (Lambda's default for streams): records are aggregated already (a record carries up to a
  // few thousand readings), so waiting for more records would only add latency — up to the whole window when a live
  // feed packed per shard sends a few records a second.
  maxBatchingWindowSeconds: 0,
  parallelizationFactor: 1,
  bisectBatchOnError: true,
  retryAttempts: 10,
  maxRecordAgeSeconds: 86_400,
  reportBatchItemFailures: true,
  startingPosition: 'TRIM_HORIZON',
};

/** Names of the custom metrics the handlers emit (CloudWatch Embedded Metric Format) and the dashboard shows. */
export const METRIC_NAMES = {
  readingsStored: 'ReadingsStored',
  alerts: 'Alerts',
  badLines: 'BadLines',
  psiMin: 'PsiMin',
  psiAvg: 'PsiAvg',
  floAvg: 'FloAvg',
  rollupRuns: 'RollupRuns',
  /** Consumer batches that ended with a record to retry (a write failed after its retries). */
  batchFailures: 'BatchFailures',
  /** Consumer batches cut short near the invocation deadline (see CONSUMER_DEADLINE). */
  batchCutShort: 'BatchCutShort',
} as const;

/** Rollup schedule (EventBridge cron expressions, UTC). */
export const SCHEDULE = {
  /** Daily run for the previous UTC day: 00:15 UTC. */
  daily: { minute: '15', hour: '0' },
  /** Hourly run for days marked as touched late. */
  pending: { minute: '30', hour: '*' },
} as const;

/**
 * When the consumer cuts a batch short. Near its timeout an invocation stops starting reading writes and returns the
 * first unwritten record as its batch item failure, so Lambda (or local mode, on Ctrl-C) resumes from there instead
 * of killing the invocation and redoing the whole batch. The reserve covers one DynamoDB request in flight (10 s
 * request timeout, see store/clients.ts) plus the catalog markers and metrics; it never exceeds a quarter of the
 * time the invocation started with, so a short timeout still makes progress.
 */
export const CONSUMER_DEADLINE = {
  /** Milliseconds kept in hand before the timeout. */
  reserveMs: 12_000,
  /** Largest share of the invocation's starting time the reserve may take. */
  maxReserveShare: 0.25,
} as const;

/** Limits of the input format and of the AWS services we write to. */
export const LIMITS = {
  /** A CSV line longer than this (bytes, UTF-8) is rejected. */
  maxLineBytes: 1024,
  /** DynamoDB BatchWriteItem maximum items per call. */
  batchWriteItems: 25,
  /** Kinesis PutRecords maximum records per call. */
  putRecordsMaxRecords: 500,
  /** Kinesis PutRecords maximum request payload (data + partition keys). */
  putRecordsMaxBytes: 5 * 1024 * 1024,
  /** Kinesis maximum record size (data + partition key). */
  kinesisMaxRecordBytes: 1024 * 1024,
  /** SQS SendMessageBatch maximum entries. */
  sqsBatchEntries: 10,
} as const;

/**
 * Replay and redrive (`wellwatch replay …`, `wellwatch redrive deadletters`): how the operators' commands read the
 * stream back, hand records to the consumer and hold queue messages while they work on them.
 */
export const REPLAY = {
  /**
   * Records per consumer invocation when replaying: the event source's batch size, so a replayed batch is the size
   * the consumer was tested and sized for (and, at 64 KiB records, far below Lambda's 6 MB payload limit).
   */
  invokeBatchSize: DEFAULT_EVENT_SOURCE.batchSize,
  /** Kinesis GetRecords limit per call while reading a range back (the service maximum is 10,000). */
  readPageRecords: 1_000,
  /**
   * Seconds an on-failure or dead-letter message stays invisible to other readers while a replay or redrive works on
   * it (SQS VisibilityTimeout). Long enough for a range of a few thousand records; a message not deleted in that
   * time becomes visible again, so an interrupted run loses nothing.
   */
  visibilityTimeoutSeconds: 900,
  /** Seconds `redrive deadletters` waits for the consumer to store or reject the re-sent lines. */
  redriveWaitSeconds: 300,
} as const;

/** Runtime configuration of wellwatch, resolved once. */
export interface WellwatchConfig {
  /** Deployment name (several deployments per account and region); absent for the default one. */
  readonly deployment?: string;
  /** Names of the deployment's resources; the table and stream names below start from these. */
  readonly names: DeploymentNames;
  readonly streamName: string;
  readonly readingsTable: string;
  readonly statsTable: string;
  readonly catalogTable: string;
  /** SQS queue URL for bad lines, or `file:///abs/path.jsonl` for the local dead-letter store. */
  readonly deadLetterUrl?: string;
  readonly alertRules: readonly AlertRule[];
  /** Offset of the sensors' clock from UTC, `±HH:MM`; readings are converted to UTC. */
  readonly sourceUtcOffset: string;
  /** Days to keep readings and stats (TTL); 0 = forever. */
  readonly retentionDays: number;
  /** Bytes of CSV packed into one Kinesis record by the producer. */
  readonly producerRecordBytes: number;
  readonly eventSource: EventSourceSettings;
  /** Maximum concurrent DynamoDB BatchWriteItem calls per invocation. */
  readonly writeConcurrency: number;
  /** Maximum attempts per BatchWriteItem chunk (first try included). */
  readonly writeMaxAttempts: number;
  /** Base delay of the exponential backoff, milliseconds. */
  readonly writeBaseDelayMs: number;
  /** Endpoint overrides (local mode); absent in AWS. */
  readonly endpoints: { readonly kinesis?: string; readonly dynamodb?: string; readonly sqs?: string };
  readonly region: string;
}

/** Environment variables read by {@link loadConfig}. */
export const ENV = {
  /** Deployment name: the default for every resource name (see deploymentNames). */
  deployment: 'WELLWATCH_DEPLOYMENT',
  streamName: 'WELLWATCH_STREAM',
  readingsTable: 'WELLWATCH_READINGS_TABLE',
  statsTable: 'WELLWATCH_STATS_TABLE',
  catalogTable: 'WELLWATCH_CATALOG_TABLE',
  deadLetterUrl: 'WELLWATCH_DEAD_LETTER_URL',
  alertRules: 'WELLWATCH_ALERT_RULES',
  sourceUtcOffset: 'WELLWATCH_SOURCE_UTC_OFFSET',
  retentionDays: 'WELLWATCH_RETENTION_DAYS',
  producerRecordBytes: 'WELLWATCH_PRODUCER_RECORD_BYTES',
  writeConcurrency: 'WELLWATCH_WRITE_CONCURRENCY',
  kinesisEndpoint: 'WELLWATCH_KINESIS_ENDPOINT',
  dynamodbEndpoint: 'WELLWATCH_DYNAMODB_ENDPOINT',
  sqsEndpoint: 'WELLWATCH_SQS_ENDPOINT',
  /** `off` (default) disables V8 allocation-site pretenuring in the handlers' process; see lambdas/runtime/v8-tuning.ts. */
  v8Pretenuring: 'WELLWATCH_V8_PRETENURING',
} as const;

/** Thrown for invalid configuration values; names the setting, its range and the value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function intSetting(name: string, raw: string | number | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer ${min}–${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

const OFFSET_RE = /^[+-](?:[01]\d|2[0-3]):[0-5]\d$/;

/**
 * Parses alert rules from JSON: `[{"name":"low-psi","field":"psi","op":"<","threshold":5}]`.
 *
 * @throws ConfigError naming the rule and the field that is wrong.
 */
export function parseAlertRules(json: string): AlertRule[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new ConfigError(`alert rules must be JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new ConfigError('alert rules must be a JSON array of {name, field, op, threshold}');
  const fields = ['hz', 'disp', 'flo', 'sedPPM', 'psi', 'chlPPM'];
  const ops = ['<', '<=', '>', '>='];
  return data.map((r: any, i: number) => {
    if (typeof r !== 'object' || r === null) throw new ConfigError(`alert rule ${i} must be an object`);
    if (typeof r.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(r.name)) {
      throw new ConfigError(`alert rule ${i}: name must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(r.name)}`);
    }
    if (!fields.includes(r.field)) throw new ConfigError(`alert rule ${r.name}: field must be one of ${fields.join(', ')}, got ${JSON.stringify(r.field)}`);
    if (!ops.includes(r.op)) throw new ConfigError(`alert rule ${r.name}: op must be one of ${ops.join(' ')}, got ${JSON.stringify(r.op)}`);
    if (typeof r.threshold !== 'number' || !Number.isFinite(r.threshold)) {
      throw new ConfigError(`alert rule ${r.name}: threshold must be a finite number, got ${JSON.stringify(r.threshold)}`);
    }
    return { name: r.name, field: r.field, op: r.op, threshold: r.threshold } as AlertRule;
  });
}

/**
 * Resolves the configuration: explicit overrides, then environment variables, then defaults.
 *
 * @example
 * const cfg = loadConfig({ endpoints: { dynamodb: 'http://127.0.0.1:4567' } });
 */
export function loadConfig(overrides: Partial<WellwatchConfig> = {}, env: NodeJS.ProcessEnv = process.env): WellwatchConfig {
  const offset = overrides.sourceUtcOffset ?? env[ENV.sourceUtcOffset] ?? '+00:00';
  if (!OFFSET_RE.test(offset)) throw new ConfigError(`sourceUtcOffset must look like +HH:MM or -HH:MM, got ${JSON.stringify(offset)}`);
  const rules = overrides.alertRules ?? (env[ENV.alertRules] ? parseAlertRules(env[ENV.alertRules]!) : DEFAULT_ALERT_RULES);
  const names = deploymentNames(overrides.deployment ?? env[ENV.deployment]);
  return {
    ...(names.deployment !== undefined ? { deployment: names.deployment } : {}),
    names,
    streamName: overrides.streamName ?? env[ENV.streamName] ?? names.streamName,
    readingsTable: overrides.readingsTable ?? env[ENV.readingsTable] ?? names.readingsTable,
    statsTable: overrides.statsTable ?? env[ENV.statsTable] ?? names.statsTable,
    catalogTable: overrides.catalogTable ?? env[ENV.catalogTable] ?? names.catalogTable,
    deadLetterUrl: overrides.deadLetterUrl ?? env[ENV.deadLetterUrl],
    alertRules: rules,
    sourceUtcOffset: offset,
    retentionDays: intSetting('retentionDays', overrides.retentionDays ?? env[ENV.retentionDays], 0, 0, 36_500),
    producerRecordBytes: intSetting(
      'producerRecordBytes',
      overrides.producerRecordBytes ?? env[ENV.producerRecordBytes],
      64 * 1024,
      256,
      LIMITS.kinesisMaxRecordBytes - 256,
    ),
    eventSource: { ...DEFAULT_EVENT_SOURCE, ...(overrides.eventSource ?? {}) },
    writeConcurrency: intSetting('writeConcurrency', overrides.writeConcurrency ?? env[ENV.writeConcurrency], 8, 1, 64),
    writeMaxAttempts: intSetting('writeMaxAttempts', overrides.writeMaxAttempts, 8, 1, 20),
    writeBaseDelayMs: intSetting('writeBaseDelayMs', overrides.writeBaseDelayMs, 50, 1, 10_000),
    endpoints: {
      kinesis: overrides.endpoints?.kinesis ?? env[ENV.kinesisEndpoint],
      dynamodb: overrides.endpoints?.dynamodb ?? env[ENV.dynamodbEndpoint],
      sqs: overrides.endpoints?.sqs ?? env[ENV.sqsEndpoint],
    },
    region: overrides.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
  };
}
