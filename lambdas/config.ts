/**
 * The single source of truth for wellwatch's names, key formats, rules and event-source settings.
 *
 * The CDK stack, the Lambda handlers, the CLI and local mode all read this module, so a table name or a batch
 * size is written exactly once. Precedence: explicit option > environment variable > default.
 * Pure TypeScript, no AWS imports.
 */
import { ConfigError } from './core/errors';
import type { AlertRule } from './core/types';
import { alarmFieldsOf, SEVERITIES } from './core/alarm-rules';
import { MEASURES, type Measure } from './core/types';
import { BASELINE_KINDS, DETECTOR_KINDS, type DetectorSpec } from './core/detectors/types';

/** Names of the AWS resources (physical names in local mode; logical prefixes in AWS). */
export const NAMES = {
  stackName: 'Wellwatch',
  streamName: 'wellwatch-readings',
  readingsTable: 'wellwatch-readings',
  statsTable: 'wellwatch-stats',
  catalogTable: 'wellwatch-catalog',
  alarmsTable: 'wellwatch-alarms',
  deadLetterQueue: 'wellwatch-dead-letters',
  failedBatchQueue: 'wellwatch-failed-batches',
  // Ops notifications (issue 8): the SNS topic every alarm notifies, and the prefix of the functions' log groups
  // (`/wellwatch/consumer`, `/wellwatch/rollup`), named so the logs key policy can name them.
  alarmTopic: 'wellwatch-alarms',
  logGroupPrefix: '/wellwatch',
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
    alarmsTable: suffix(NAMES.alarmsTable),
    deadLetterQueue: suffix(NAMES.deadLetterQueue),
    failedBatchQueue: suffix(NAMES.failedBatchQueue),
    alarmTopic: suffix(NAMES.alarmTopic),
    logGroupPrefix: `/${prefix}`,
    serviceName: prefix,
    consumerFunction: suffix(NAMES.consumerFunction),
  };
}

/**
 * Key schema of every table and index. Attribute names are short because they are paid for on every item.
 *
 * - readings: `pk = PUMP#YYYY-MM-DD`, `sk = HH:MM:SS` (one partition per pump-day)
 * - readings GSI `alertsByDay` (sparse, only alerting rows): `apk = YYYY-MM-DD#<bucket>`, `ask = <ts>#<pump>`
 * - readings GSI `alertsByPump` (sparse): `ppk = PUMP`, `psk = <ts>`
 * - stats: `pk = PUMP`, `sk = YYYY-MM-DD`; GSI `statsByDate`: `dpk = YYYY-MM-DD#<bucket>`, `pump`
 * - catalog: `pk = DAY#YYYY-MM-DD#<b>` / `sk = PUMP` (pump-days that exist) and `pk = PENDING#<b>` /
 *   `sk = YYYY-MM-DD#PUMP` (pump-days that received late data and need a re-rollup), where
 *   `b = pumpBucket(PUMP, FLEET_KEYS.buckets)`: write-sharded, readers Query every bucket and merge; and
 *   `pk = ROLLUP#<scope>` (rollup run records, see ROLLUP_FANOUT)
 */
export const KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  separator: '#',
  readings: {
    /**
     * Alerts of all pumps by day: `apk = <day>#<bucket>`, bucket = `pumpBucket(pump, FLEET_KEYS.buckets)`, so an alert
     * storm spreads over FLEET_KEYS.buckets index keys; readers Query every bucket and merge on `ask`.
     */
    alertsByDay: { indexName: 'alertsByDay', partitionKey: 'apk', sortKey: 'ask' },
    alertsByPump: { indexName: 'alertsByPump', partitionKey: 'ppk', sortKey: 'psk' },
    /** Attribute group holding the six measures. */
    dataAttribute: 'd',
    /** Attribute group holding the alert details (present only on alerting rows). */
    alertAttribute: 'a',
  },
  stats: {
    /**
     * Stats of all pumps by day. The partition attribute `dpk = <date>#<bucket>` (not `date` itself): a rollup
     * writing a million rows of one day would otherwise send every one to a single index key.
     */
    byDate: { indexName: 'statsByDate', partitionKey: 'dpk', sortKey: 'pump' },
    /**
     * Input watermark of a stats row: when the rollup that wrote it started reading the pump-day's readings (ISO,
     * ms). A rollup writes only if its watermark is not older than the row's (see StatsStore.putIfNewer).
     */
    inputWatermark: 'iw',
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
  /**
   * Where a new mapping starts reading: every record kept (`TRIM_HORIZON`), new records only (`LATEST`), or records
   * that arrived at or after {@link startingPositionTimestamp} (`AT_TIMESTAMP`). Applies to every shard listed when
   * the mapping first starts, children of earlier splits included; shards created later are read whole.
   */
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  /** With `AT_TIMESTAMP`: the time to start from, epoch seconds (as Lambda's `StartingPositionTimestamp`). */
  readonly startingPositionTimestamp?: number;
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
  /** Alarm transitions (raised, cleared, latched, acknowledged, shelved, unshelved) made by the consumer or the check. */
  alarmTransitions: 'AlarmTransitions',
} as const;

/**
 * Names of the other custom metrics the handlers emit (same namespace and dimension as {@link METRIC_NAMES}), which
 * the dashboard does not show: for ad-hoc graphs and investigations.
 */
export const DETAIL_METRIC_NAMES = {
  /** Records in a consumer batch. */
  batchRecords: 'BatchRecords',
  /** Readings decoded from a consumer batch (stored or not). */
  batchReadings: 'BatchReadings',
  /** Pending markers written for pump-days of earlier days (late data). */
  lateTouches: 'LateTouches',
  /** Highest pressure, highest and lowest flow of a batch (the others are in METRIC_NAMES). */
  psiMax: 'PsiMax',
  floMax: 'FloMax',
  floMin: 'FloMin',
  /** Pump-days a rollup run recomputed, readings it aggregated, and pump-days it failed on. */
  rollupPumpDays: 'RollupPumpDays',
  rollupReadings: 'RollupReadings',
  rollupFailures: 'RollupFailures',
} as const;

/** The dimension every metric carries: Powertools Metrics' `service` dimension, valued with the deployment's serviceName. */
export const SERVICE_DIMENSION = 'service';

/** Rollup schedule (EventBridge cron expressions, UTC). */
export const SCHEDULE = {
  /** Daily run for the previous UTC day: 00:15 UTC. */
  daily: { minute: '15', hour: '0' },
  /** Hourly run for days marked as touched late. */
  pending: { minute: '30', hour: '*' },
} as const;

/**
 * Settings of the AWS SDK clients the handlers build (see store/clients.ts). They bound the longest a single
 * DynamoDB or SQS call can take, which the consumer's deadline reserve must cover.
 */
export const SDK_CLIENT = {
  /** Milliseconds to establish a TCP/TLS connection. */
  connectionTimeoutMs: 3_000,
  /**
   * Milliseconds for one request and its response: a stuck connection costs one bounded attempt. The consumer's
   * deadline reserve is derived from it (see CONSUMER_DEADLINE).
   */
  requestTimeoutMs: 10_000,
  /**
   * Attempts of the SDK's own retry strategy for DynamoDB and SQS (first try included): the batch writer and the
   * dead-letter sink run their own bounded backoff on top, and stacking both would multiply the worst case.
   */
  storeMaxAttempts: 2,
  /** Attempts of the SDK's own retry strategy for the other clients (Kinesis, CloudWatch). */
  defaultMaxAttempts: 3,
} as const;

/**
 * The consumer function: its timeout, read by the CDK stack (the function's Timeout) and by the local runner (an
 * invocation still running then is a function error, as in Lambda).
 */
export const CONSUMER_FUNCTION = {
  /**
   * Seconds (1–900). A batch of 100 records of 64 KiB parses and writes in a few seconds; the rest is headroom for
   * backoff and for the deadline reserve (42 s, see CONSUMER_DEADLINE), which must fit within 40 % of it.
   */
  timeoutSeconds: 120,
} as const;

/** Worst case of one DynamoDB (or SQS) call the SDK settings allow: every attempt runs to its request timeout. */
export const WORST_STORE_CALL_MS = SDK_CLIENT.storeMaxAttempts * SDK_CLIENT.requestTimeoutMs;

/**
 * When the consumer cuts a batch short. Near its timeout an invocation stops starting writes and returns the first
 * unfinished record as its batch item failure, so Lambda (or local mode, on Ctrl-C) resumes from there instead of
 * killing the invocation and redoing the whole batch.
 *
 * Two reserves, because the writes come in two steps. Reading and dead-letter writes stop starting once less than
 * `readingsReserveMs` is left: a call started just before may still take the worst case the SDK settings allow
 * (`storeMaxAttempts × requestTimeoutMs`, 20 s), and the catalog markers of what was stored need one more such call
 * after it. Catalog markers stop starting once less than `markersReserveMs` is left: one worst-case call. Each adds
 * 2 s for the SDK's backoff between its attempts, the response and the metrics. A reserve never exceeds a share of
 * the time the invocation started with, so a short timeout still makes progress; the default timeout is chosen so
 * that the share (120 s × 0.4 = 48 s) still covers both reserves whole.
 */
export const CONSUMER_DEADLINE = {
  /** Milliseconds kept in hand when reading and dead-letter writes stop starting. */
  readingsReserveMs: 2 * WORST_STORE_CALL_MS + 2_000,
  /** Milliseconds kept in hand when catalog-marker writes stop starting. */
  markersReserveMs: WORST_STORE_CALL_MS + 2_000,
  /** Largest share of the invocation's starting time a reserve may take. */
  maxReserveShare: 0.4,
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
   * the consumer was tested and sized for. Large records make a batch smaller: an invocation stays within Lambda's
   * 6 MB payload limit (cli/replay-session.ts).
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
  /** Alarm layer settings (see ALARMS). */
  readonly alarms: AlarmSettings;
  /** Early-warning detectors, one spec per measure (see DEFAULT_DETECTORS, `WELLWATCH_DETECTORS`). */
  readonly detectors: readonly DetectorSpec[];
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
  /** Early-warning detectors as JSON (see parseDetectorSpecs). */
  detectors: 'WELLWATCH_DETECTORS',
  sourceUtcOffset: 'WELLWATCH_SOURCE_UTC_OFFSET',
  retentionDays: 'WELLWATCH_RETENTION_DAYS',
  producerRecordBytes: 'WELLWATCH_PRODUCER_RECORD_BYTES',
  writeConcurrency: 'WELLWATCH_WRITE_CONCURRENCY',
  kinesisEndpoint: 'WELLWATCH_KINESIS_ENDPOINT',
  dynamodbEndpoint: 'WELLWATCH_DYNAMODB_ENDPOINT',
  sqsEndpoint: 'WELLWATCH_SQS_ENDPOINT',
  alarmsTable: 'WELLWATCH_ALARMS_TABLE',
  /** SNS topic ARN for alarm notifications, or `file:///abs/notifications.jsonl` (local mode). */
  alarmNotifications: 'WELLWATCH_ALARM_NOTIFICATIONS',
  noDataMinutes: 'WELLWATCH_NO_DATA_MINUTES',
  alarmBuckets: 'WELLWATCH_ALARM_BUCKETS',
  /** `off` disables the alarm layer in the consumer (readings and alerts are still stored). */
  alarmLayer: 'WELLWATCH_ALARMS',
  /** `off` (default) disables V8 allocation-site pretenuring in the handlers' process; see lambdas/runtime/v8-tuning.ts. */
  v8Pretenuring: 'WELLWATCH_V8_PRETENURING',
} as const;

// ConfigError lives with the rest of the error hierarchy (lambdas/core/errors.ts); re-exported for existing imports.
export { ConfigError };

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
    return { name: r.name, field: r.field, op: r.op, threshold: r.threshold, ...alarmFieldsOf(r, `alert rule ${r.name}`) } as AlertRule;
  });
}

/** What {@link loadConfig} accepts: any configuration field, the alarm settings field by field. */
export type ConfigOverrides = Partial<Omit<WellwatchConfig, 'alarms'>> & { readonly alarms?: Partial<AlarmSettings> };

/**
 * Resolves the configuration: explicit overrides, then environment variables, then defaults.
 *
 * @example
 * const cfg = loadConfig({ endpoints: { dynamodb: 'http://127.0.0.1:4567' } });
 */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): WellwatchConfig {
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
    alarms: alarmSettings(overrides.alarms, env, env[ENV.alarmsTable] ?? names.alarmsTable),
    detectors: overrides.detectors ?? (env[ENV.detectors] ? parseDetectorSpecs(env[ENV.detectors]!) : DEFAULT_DETECTORS),
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

/*
 * ---------------------------------------------------------------------------------------------------------------
 * Alarms (issue 9): one alarm per (pump, rule) with an ISA-18.2 lifecycle, no-data detection and notifications.
 *
 * Table `wellwatch-alarms` (pk/sk strings like every wellwatch table):
 * - `P#<pump>` / `S#<rule>` — the versioned state of one (pump, rule) (`v` version, `st` the state as JSON);
 *   written only with a condition on `v`, so two consumers racing cannot open two alarms.
 * - `P#<pump>` / `E#<rule>#<raised time>` — a closed alarm with its audit trail (archive; never changes).
 * - `B#<bucket>` / `<pump>` — per-pump item: newest reading time persisted (`ls`, amortised), open no-data alarm
 *   (`nd`), out-of-service (`oos`), no-data interval override (`ndm`). Bucketed so the scheduled no-data check
 *   reads all pumps with one Query per bucket.
 * - `N#<transition id>` / `N` — "notification sent" marker (conditional put; TTL), at most one notification per
 *   transition.
 * - `L#<shard id>` / `L` — which consumer container last processed a shard (its cache of quiet states is
 *   trusted only while nobody else touched the shard).
 * GSIs (sparse): `openAlarms` `ob = O#<bucket>`, `os = <raised>#<pump>#<rule>` on state items with an open alarm or
 * pending side effects; `alarmHistory` `hb = H#<bucket>`, `hs = <raised>#<pump>#<rule>` on archived alarms.
 * `<bucket>` = FNV-1a(pump) mod `buckets`: no key is shared by all pumps, every reader fans out over the buckets.
 * `buckets` defaults to FLEET_KEYS.buckets (32; it was 16): after a stall or a fleet's first start every pump's `ls`
 * falls due in the same minute and stays aligned (one write per pump each interval, all within one reading
 * interval), 16,667 writes/s at 1,000,000 pumps — 1,042/s per bucket over 16, above the 1,000 WCU/s a partition
 * takes, 521/s over 32. The rates of every alarm key are in the README's data-model section.
 * ---------------------------------------------------------------------------------------------------------------
 */

/** Key layout of the alarms table. */
export const ALARM_KEYS = {
  statePrefix: 'P#',
  stateSortPrefix: 'S#',
  archiveSortPrefix: 'E#',
  pumpPrefix: 'B#',
  markerPrefix: 'N#',
  markerSort: 'N',
  leasePrefix: 'L#',
  leaseSort: 'L',
  openAlarms: { indexName: 'openAlarms', partitionKey: 'ob', sortKey: 'os', prefix: 'O#' },
  alarmHistory: { indexName: 'alarmHistory', partitionKey: 'hb', sortKey: 'hs', prefix: 'H#' },
} as const;

/** Open pump alarms per severity, gauged by the scheduled alarm check every 5 minutes (one metric per severity). */
export const OPEN_ALARM_METRICS = {
  critical: 'OpenAlarmsCritical',
  major: 'OpenAlarmsMajor',
  minor: 'OpenAlarmsMinor',
  advisory: 'OpenAlarmsAdvisory',
} as const;

/** Defaults of the alarm layer. */
export const ALARM_DEFAULTS = {
  /** Expected interval between a pump's readings; silence longer than this raises `no-data`. */
  noDataMinutes: 30,
  /**
   * The consumer persists a pump's newest reading time only when it advanced by this share of the no-data interval
   * (once per pump per batch at most): with 30 minutes, one small write per pump per 30 minutes instead of one per
   * reading (at 0.5 the alarm layer cost 12 % of a live feed instead of 9 %, `npm run bench:alarms`). The no-data
   * check confirms a candidate against the readings table before raising, so the lag never raises a false alarm;
   * a pump silent since R is still raised at the first check after R + interval.
   */
  lastSeenRefreshShare: 1,
  /** Days a notification marker is kept (longer than any retry or replay of the same transition). */
  markerTtlDays: 30,
  /** The no-data check runs every 5 minutes (EventBridge rate; the local scheduler uses the same fields). */
  noDataSchedule: { minute: '*/5', hour: '*' },
} as const;

/** Resolved alarm settings. */
export interface AlarmSettings {
  /** Evaluate alarms in the consumer. */
  readonly enabled: boolean;
  readonly table: string;
  /** SNS topic ARN or `file:///…jsonl`; absent: notifications are logged only. */
  readonly notifications?: string;
  readonly noDataMinutes: number;
  readonly lastSeenRefreshShare: number;
  readonly buckets: number;
}

function alarmSettings(overrides: Partial<AlarmSettings> | undefined, env: NodeJS.ProcessEnv, table: string): AlarmSettings {
  const enabledRaw = env[ENV.alarmLayer];
  if (enabledRaw !== undefined && enabledRaw !== '' && enabledRaw !== 'on' && enabledRaw !== 'off') {
    throw new ConfigError(`${ENV.alarmLayer} must be on or off, got ${JSON.stringify(enabledRaw)}`);
  }
  const share = overrides?.lastSeenRefreshShare ?? ALARM_DEFAULTS.lastSeenRefreshShare;
  if (!(share > 0 && share <= 1)) throw new ConfigError(`lastSeenRefreshShare must be in (0, 1], got ${share}`);
  const notifications = overrides?.notifications ?? env[ENV.alarmNotifications];
  return {
    enabled: overrides?.enabled ?? enabledRaw !== 'off',
    table: overrides?.table ?? table,
    ...(notifications ? { notifications } : {}),
    noDataMinutes: intSetting('noDataMinutes', overrides?.noDataMinutes ?? env[ENV.noDataMinutes], ALARM_DEFAULTS.noDataMinutes, 1, 10_080),
    lastSeenRefreshShare: share,
    // Write-sharding buckets of the per-pump items and both alarm indexes: FLEET_KEYS.buckets unless set (issue 13:
    // 16 put a per-pump `ls` burst over the partition limit at 1,000,000 pumps; the rates are worked out at FLEET_KEYS).
    buckets: intSetting('alarmBuckets', overrides?.buckets ?? env[ENV.alarmBuckets], FLEET_KEYS.buckets, 1, 1_000),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Early-warning detectors (issue 10): per-measure defaults, the default set, and `WELLWATCH_DETECTORS` parsing.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Per-measure defaults of a detector spec; an entry of `WELLWATCH_DETECTORS` names a measure and overrides any of
 * these. Units are readings (a pump reports every 1–2 minutes, so 960 readings ≈ one day) and baseline spreads.
 *
 * Why these values (tuned on generated data with `npm run bench -- --only early-warning`, seeds apart from the ones
 * reported; see bench/early-warning.ts):
 * - psi and hz are flat on a healthy pump: a flat baseline, CUSUM drift and step. Readings a minute or two apart are
 *   strongly correlated (a noise excursion lasts tens of readings), so the textbook CUSUM (slack 0.5, threshold ~5)
 *   fires on noise all day: with slack 0.5 and threshold 60 the tuning seeds gave 1,700 false warnings per 1,000
 *   healthy pump-days. Slack 1.25 spreads and threshold 150 spread-readings gave none, with every episode warned:
 *   a sustained 2-spread shift fires in ~200 readings (~5 h), a 5-spread one in ~40.
 * - disp and flo follow the daily demand cycle: a daily baseline (hourly slots, learnt over the first day) and CUSUM
 *   drift only; the step check would mistake the cycle's morning ramp for a step.
 * - sedPPM and chlPPM are slow water-quality sensors unrelated to pump wear; they are not in the default set.
 * - A warm-up of 240 readings (~6 h) learns a flat baseline well enough that its error is a fraction of a spread;
 *   a daily one needs every hour of the day seen, about one day.
 * - `stoppedAtOrBelow`: psi 5 is the threshold rule's own limit, so a stop or a low-pressure blip is left to it.
 */
export const DETECTOR_DEFAULTS: Readonly<Record<Measure, DetectorSpec>> = (() => {
  const flat = {
    detectors: ['drift', 'step'],
    baseline: 'flat',
    warmupReadings: 240,
    halfLifeReadings: 1440,
    driftSlack: 1.25,
    driftThreshold: 150,
    stepSpreads: 4,
    stepReadings: 5,
    clearSpreads: 1,
    clearReadings: 60,
    relearnAfterStopMinutes: 240,
    severity: 'advisory',
  } as const;
  const daily = { ...flat, detectors: ['drift'], baseline: 'daily', warmupReadings: 960 } as const;
  return {
    hz: { ...flat, measure: 'hz', stoppedAtOrBelow: 0.5, minSpread: 0.01 },
    disp: { ...daily, measure: 'disp', stoppedAtOrBelow: 0.05, minSpread: 0.01 },
    flo: { ...daily, measure: 'flo', stoppedAtOrBelow: 1, minSpread: 1 },
    sedPPM: { ...flat, measure: 'sedPPM', stoppedAtOrBelow: -1, minSpread: 0.01 },
    psi: { ...flat, measure: 'psi', stoppedAtOrBelow: 5, minSpread: 0.5 },
    chlPPM: { ...flat, measure: 'chlPPM', stoppedAtOrBelow: -1, minSpread: 0.01 },
  };
})();

/** The detectors that run by default: pressure and frequency (flat), displacement (daily baseline). */
export const DEFAULT_DETECTORS: readonly DetectorSpec[] = [DETECTOR_DEFAULTS.psi, DETECTOR_DEFAULTS.hz, DETECTOR_DEFAULTS.disp];

/** Numeric fields of a detector spec with their allowed ranges and whether they must be integers. */
const DETECTOR_NUMBERS: Record<string, { min: number; max: number; int: boolean }> = {
  warmupReadings: { min: 10, max: 100_000, int: true },
  halfLifeReadings: { min: 10, max: 1_000_000, int: true },
  driftSlack: { min: 0, max: 10, int: false },
  driftThreshold: { min: 1, max: 100_000, int: false },
  stepSpreads: { min: 0.5, max: 100, int: false },
  stepReadings: { min: 1, max: 10_000, int: true },
  clearSpreads: { min: 0.1, max: 100, int: false },
  clearReadings: { min: 1, max: 100_000, int: true },
  stoppedAtOrBelow: { min: -1e9, max: 1e9, int: false },
  relearnAfterStopMinutes: { min: 1, max: 525_600, int: true },
  minSpread: { min: 1e-9, max: 1e9, int: false },
};

/**
 * Parses early-warning detector specs from JSON: a list of `{measure, …overrides}`, each completed from
 * {@link DETECTOR_DEFAULTS} for its measure. The list replaces the default set (like the alert rules).
 *
 * @throws ConfigError naming the entry and the field that is wrong.
 * @example
 * parseDetectorSpecs('[{"measure":"psi","driftThreshold":80},{"measure":"flo","detectors":["drift"]}]');
 */
export function parseDetectorSpecs(json: string): DetectorSpec[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new ConfigError(`detectors must be JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new ConfigError('detectors must be a JSON array of {measure, detectors?, baseline?, …}');
  const seen = new Set<string>();
  return data.map((d: any, i: number) => {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new ConfigError(`detector ${i} must be an object`);
    if (!(MEASURES as readonly string[]).includes(d.measure)) {
      throw new ConfigError(`detector ${i}: measure must be one of ${MEASURES.join(', ')}, got ${JSON.stringify(d.measure)}`);
    }
    const label = `detector ${d.measure}`;
    if (seen.has(d.measure)) throw new ConfigError(`${label}: measure given twice (one entry per measure)`);
    seen.add(d.measure);
    const spec: Record<string, unknown> = { ...DETECTOR_DEFAULTS[d.measure as Measure] };
    for (const [key, value] of Object.entries(d)) {
      if (key === 'measure') continue;
      if (!(key in spec)) throw new ConfigError(`${label}: unknown field ${JSON.stringify(key)} (fields: ${Object.keys(spec).join(', ')})`);
      const range = DETECTOR_NUMBERS[key];
      if (range !== undefined) {
        if (typeof value !== 'number' || !Number.isFinite(value) || value < range.min || value > range.max || (range.int && !Number.isInteger(value))) {
          throw new ConfigError(`${label}: ${key} must be ${range.int ? 'an integer' : 'a number'} ${range.min}–${range.max}, got ${JSON.stringify(value)}`);
        }
      } else if (key === 'detectors') {
        if (!Array.isArray(value) || value.length === 0 || value.some((k) => !(DETECTOR_KINDS as readonly string[]).includes(k)) || new Set(value).size !== value.length) {
          throw new ConfigError(`${label}: detectors must be a non-empty list of distinct ${DETECTOR_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
        }
      } else if (key === 'baseline') {
        if (!(BASELINE_KINDS as readonly string[]).includes(value as string)) {
          throw new ConfigError(`${label}: baseline must be one of ${BASELINE_KINDS.join(', ')}, got ${JSON.stringify(value)}`);
        }
      } else if (key === 'severity') {
        if (!(SEVERITIES as readonly string[]).includes(value as string)) {
          throw new ConfigError(`${label}: severity must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(value)}`);
        }
      }
      spec[key] = value;
    }
    const result = spec as unknown as DetectorSpec;
    return result;
  });
}

/**
 * Early warnings in the consumer (issue 10): where the detectors' state lives and how often it is persisted.
 *
 * The state of a pump's detectors is one item of the alarms table, `P#<pump>` / `D#detectors` (`cp` the checkpoint
 * as JSON, `lt` its lastTs in epoch ms). The alarms table rather than the catalog: the state belongs to the alarm
 * layer (it decides `early-warning` alarms, sits in the same partition as the pump's alarm states, and the consumer
 * already reads and writes that table), while the catalog is the rollup's work list. One partition per pump, so no
 * key is hot. Written only with `lt < :new`, so of two containers the one with the older state cannot regress it.
 */
export const EARLY_WARNING = {
  /** Sort key of a pump's detector checkpoint (partition `P#<pump>`, beside its alarm states). */
  checkpointSort: 'D#detectors',
  /**
   * Accepted readings of a pump between two checkpoints. At one reading a minute a checkpoint every 1,000 readings
   * (~17 h) costs one ~2 KB write per 1,000 readings (+0.2 % of a live feed's cost, `npm run bench -- --only
   * alarms`), and a cold start replays at most ~1,000 stored readings per pump (a few Query pages).
   */
  checkpointReadings: 1000,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Serving (issue 11): the query API, the hourly series and the pump registry.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Keys of the precomputed hourly series, kept in the stats table beside the daily rows.
 *
 * One item per pump-hour: `pk = PUMP#1h`, `sk = YYYY-MM-DDTHH`, with `count` and the same flat `hz_min` … `chlPPM_avg`
 * attributes as a daily row. A pump id cannot contain `#`, so these partitions never meet a daily row's `pk = PUMP`;
 * they carry no `date` attribute, so the sparse `statsByDate` index never sees them. A 90-day hourly chart is one
 * Query over one partition (≤ 2,160 items of ~400 bytes), instead of 130,000 readings over 90 partitions.
 */
export const SERIES_KEYS = {
  /** Suffix of a pump's hourly partition key: `COHUTTA#1h`. */
  hourlySuffix: `${KEYS.separator}1h`,
} as const;

/**
 * The pump registry in the catalog: `pk = PUMPS#<bucket>`, `sk = PUMP`, one item per pump ever seen.
 *
 * Written by the catalog's `markTouched` (which the consumer already calls) once per pump per warm container, like
 * the day markers, so it costs a write per pump per cold start, not per reading. The items are spread over
 * FLEET_KEYS.buckets partitions (`pumpBucket(pump, FLEET_KEYS.buckets)`, issue 13; 8 partitions before) so a fleet
 * of cold starts — a million pumps within one reading interval — does not converge on a few keys; listing every
 * pump is one Query per bucket, merged, never a Scan.
 */
export const PUMP_REGISTRY = {
  partitionPrefix: 'PUMPS#',
} as const;

/**
 * Write-sharding of fleet-wide keys (see lambdas/core/buckets.ts): every key that all pumps, all alerts or all
 * pending pump-days would share carries `pumpBucket(pump, buckets)`, and readers fan out over the buckets.
 *
 * Why 32: DynamoDB serves at most 1,000 WCU/s and 3,000 RCU/s per partition, and a partition key's items share one
 * partition ("each individual partition is limited to 1000 write units per second and 3000 read units per second",
 * DynamoDB Developer Guide, "Understanding DynamoDB warm throughput in different scenarios"). At 1,000,000 pumps reporting every 60 s, every pump's first reading after
 * midnight writes a day marker within one interval: 16,700 writes/s, ~520/s per bucket over 32 buckets (about half
 * the limit, room for hash imbalance and bursts). A reader pays 32 Queries instead of one.
 *
 * Fixed for the life of a deployment: writers and readers must agree, so changing it moves keys that existing
 * items do not follow (a migration, not a setting). `wellwatch plan` reports the fleet size it carries.
 */
export const FLEET_KEYS = {
  buckets: 32,
  /** DynamoDB's per-partition-key limits the bucket count is sized against. */
  partitionWriteUnitsPerSecond: 1_000,
  partitionReadUnitsPerSecond: 3_000,
} as const;

/**
 * Local mode's partition-limit proxy (local/partition-limits): DynamoDB's per-partition-key limits, divided by a
 * scale factor, enforced in front of dynalite.
 *
 * With factor F, every partition key takes FLEET_KEYS.partitionWriteUnitsPerSecond / F write units and
 * partitionReadUnitsPerSecond / F read units per second, so a fleet F times smaller, reporting at the real interval,
 * puts the same load on each key relative to its limit as the full fleet does on DynamoDB (10,000 pumps at F = 100
 * stand for 1,000,000). Off unless set: `wellwatch local --partition-limits F` or WELLWATCH_PARTITION_LIMITS=F.
 *
 * The burst (seconds of capacity one key's bucket holds) absorbs the arrival jitter of a small fleet: its per-key
 * counts per second vary √F times more, relative to their mean, than the full fleet's, which DynamoDB sees smoothed.
 */
export const PARTITION_LIMITS = {
  factorEnv: 'WELLWATCH_PARTITION_LIMITS',
  burstEnv: 'WELLWATCH_PARTITION_BURST_SECONDS',
  /** @default 1 - a key's bucket holds one second of its limit */
  defaultBurstSeconds: 1,
} as const;

/** Resolved settings of the partition-limit proxy. */
export interface PartitionLimitSettings {
  /** The scale factor the limits are divided by (≥ 1). */
  readonly factor: number;
  readonly burstSeconds: number;
  readonly writeUnitsPerSecond: number;
  readonly readUnitsPerSecond: number;
}

/**
 * Resolves the partition-limit settings (option > WELLWATCH_PARTITION_LIMITS / _BURST_SECONDS > off); undefined
 * when no factor is set.
 *
 * @throws ConfigError when the factor is not a number ≥ 1 or the burst not a number > 0.
 * @example
 * loadPartitionLimits({ factor: 100 }); // → { factor: 100, burstSeconds: 1, writeUnitsPerSecond: 10, readUnitsPerSecond: 30 }
 */
export function loadPartitionLimits(
  overrides: { readonly factor?: number | string; readonly burstSeconds?: number | string } = {},
  env: NodeJS.ProcessEnv = process.env,
): PartitionLimitSettings | undefined {
  const rawFactor = overrides.factor ?? env[PARTITION_LIMITS.factorEnv];
  if (rawFactor === undefined || rawFactor === '' || rawFactor === 'off') return undefined;
  const factor = Number(rawFactor);
  if (!Number.isFinite(factor) || factor < 1) throw new ConfigError(`partition-limits factor must be a number ≥ 1, got ${JSON.stringify(rawFactor)}`);
  const rawBurst = overrides.burstSeconds ?? env[PARTITION_LIMITS.burstEnv] ?? PARTITION_LIMITS.defaultBurstSeconds;
  const burstSeconds = Number(rawBurst);
  if (!Number.isFinite(burstSeconds) || burstSeconds <= 0) throw new ConfigError(`partition-limits burst must be a number of seconds > 0, got ${JSON.stringify(rawBurst)}`);
  return {
    factor,
    burstSeconds,
    writeUnitsPerSecond: FLEET_KEYS.partitionWriteUnitsPerSecond / factor,
    readUnitsPerSecond: FLEET_KEYS.partitionReadUnitsPerSecond / factor,
  };
}

/**
 * The rollup's fan-out (issue 13): a planner lists a day's pump-days per bucket and enqueues work items on an SQS
 * queue; a worker Lambda rolls up each item's pump-days. Read by the planner, the worker, the CDK construct
 * (lib/rollup-fanout.ts) and the local queue (local/work-queue.ts), so AWS and local mode run with the same numbers.
 *
 * Chosen over a Step Functions distributed map because the same queue semantics (at-least-once delivery, visibility
 * timeout, receive count and dead-letter queue, partial batch failure, bounded concurrency) can be run locally, and
 * there is no Step Functions emulator here.
 */
export const ROLLUP_FANOUT = {
  /**
   * Pump-days per work item, at most. At 1,000,000 pumps: ~5,000 items a day over 32 buckets. An item of 200
   * pump-days × 1,440 readings reads ~290,000 readings, well inside one worker invocation; a pending item carries its
   * markers in the message (~80 bytes each, 16 KB), far below SQS's message size limit.
   */
  taskPumpDays: 200,
  /** Messages per worker invocation (SQS event source BatchSize): one item already bounds the work. */
  batchSize: 1,
  /**
   * Concurrent worker invocations (the SQS event source's ScalingConfig.MaximumConcurrency, 2–1000; the local queue's
   * concurrent handler calls). 10 workers × the worker's own write concurrency stays far below the tables' limits.
   */
  maxConcurrency: 10,
  /** Worker timeout, seconds; the queue's visibility timeout is {@link visibilityTimeoutFactor} times it. */
  workerTimeoutSeconds: 300,
  /**
   * "set the source queue's visibility timeout to at least six times the configuration timeout on your function"
   * (AWS Lambda Developer Guide, "Creating and configuring an Amazon SQS event source mapping").
   */
  visibilityTimeoutFactor: 6,
  /** Receives of one message before SQS moves it to the dead-letter queue (maxReceiveCount). */
  maxReceiveCount: 5,
  /** Catalog partition prefix of the run records: `ROLLUP#<day>` and `ROLLUP#pending` (see core/rollup-tasks.ts). */
  runPrefix: 'ROLLUP#',
  /** Scope of the pending (late data) runs. */
  pendingScope: 'pending',
  /** Work queue name suffix (`wellwatch-rollup-work`, its dead-letter queue `wellwatch-rollup-work-dlq`). */
  queueName: 'wellwatch-rollup-work',
  /** Environment variable holding the work queue URL (planner) in AWS. */
  queueUrlEnv: 'WELLWATCH_ROLLUP_QUEUE_URL',
  /** Environment variable of the CLI naming the planner function (AWS mode). @default - from the deployment name */
  plannerFunctionEnv: 'WELLWATCH_ROLLUP_PLANNER',
  /** Planner function name suffix (`wellwatch-rollup-planner`). */
  plannerFunction: 'wellwatch-rollup-planner',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Sizing (issue 13): `wellwatch plan` and `cdk synth -c wellwatch:pumps=N` size a deployment from one model
// (lambdas/core/sizing.ts). Its prices, the service limits it sizes against and the figures it assumes live here;
// the benchmark measures the assumed figures again and reports measured ÷ assumed (`npm run bench -- --only plan`).
// ---------------------------------------------------------------------------------------------------------------

/**
 * us-east-1 list prices, as looked up on 2026-11-24. The benchmark's cost model (bench/cost-model.ts) and the
 * sizing model price with these same constants.
 *
 * - Kinesis Data Streams provisioned: $0.015 per shard-hour, $0.014 per million 25 KB PUT payload units
 *   (https://aws.amazon.com/kinesis/data-streams/pricing/).
 * - Kinesis on-demand (standard): $0.04 per stream-hour, $0.08 per GB ingested with every record rounded up to the
 *   next 1 KB, $0.04 per GB retrieved (same page; its prices are rendered dynamically, so the figures were
 *   cross-checked against the AWS Price List usage types OnDemand-StreamHour / OnDemand-BilledIncomingBytes /
 *   OnDemand-BilledOutgoingBytes).
 * - Lambda arm64: $0.20 per million requests, $0.0000133334 per GB-second (https://aws.amazon.com/lambda/pricing/).
 * - DynamoDB on-demand (standard table class): $0.625 per million write request units and $0.125 per million
 *   read request units, the prices since the 50 % on-demand cut of 1 November 2024
 *   (https://aws.amazon.com/dynamodb/pricing/on-demand/; AWS News Blog post on on-demand pricing, updated
 *   31 January 2025); storage $0.25 per GB-month beyond the first 25 GB (same page, "Data storage").
 * - SQS standard queue: $0.40 per million requests beyond the free tier, each 64 KB chunk of a payload one request
 *   (https://aws.amazon.com/sqs/pricing/); the rollup fan-out's work queue.
 */
export const PRICES = {
  asOf: '2026-11-24',
  region: 'us-east-1',
  kinesis: {
    shardHour: 0.015,
    putPayloadUnitsPerMillion: 0.014,
    putPayloadUnitBytes: 25 * 1024,
    onDemandStreamHour: 0.04,
    onDemandIngestPerGb: 0.08,
    onDemandRetrievalPerGb: 0.04,
    onDemandRecordRoundingBytes: 1024,
  },
  lambda: {
    requestsPerMillion: 0.2,
    gbSecondArm64: 0.0000133334,
  },
  dynamodb: {
    writeRequestUnitsPerMillion: 0.625,
    readRequestUnitsPerMillion: 0.125,
    storagePerGbMonth: 0.25,
  },
  sqs: {
    requestsPerMillion: 0.4,
  },
} as const;

/** Service limits the sizing model (and the benchmark) size against. */
export const SERVICE_LIMITS = {
  /** Kinesis: a shard takes up to 1,000 records/s and 1 MiB/s of writes (Kinesis Data Streams Developer Guide, "Quotas and limits"). */
  kinesisShardRecordsPerSecond: 1_000,
  kinesisShardBytesPerSecond: 1024 * 1024,
  /** Lambda's invocation payload limit (6 MB, synchronous), which bounds the records of one Kinesis batch. */
  lambdaInvokePayloadBytes: 6 * 1024 * 1024,
  /** Bytes an event record adds around its data (ids, ARNs, timestamps); the data itself grows by 4/3 (base64). */
  lambdaEventRecordOverheadBytes: 400,
  /** Lambda polls each shard of a Kinesis stream at a base rate of once per second (standard iterators). */
  lambdaBasePollSeconds: 1,
  /**
   * "New on-demand tables start with a warm throughput of 12,000 read units per second and 4,000 write units per
   * second" (DynamoDB Developer Guide, "Understanding DynamoDB warm throughput in different scenarios"; AWS shows
   * the same for a new on-demand GSI). Above these a new table throttles until it has scaled, unless its
   * WarmThroughput is raised ("pre-warming").
   */
  dynamoWarmWriteUnitsPerSecond: 4_000,
  dynamoWarmReadUnitsPerSecond: 12_000,
  /** "Every item in DynamoDB requires 100 bytes of storage overhead for indexing" (Developer Guide, "DynamoDB item sizes and formats"). */
  dynamoItemOverheadBytes: 100,
  /** One write unit per started KB; one read unit per started 4 KB read strongly consistent (half eventually consistent). */
  dynamoWriteUnitBytes: 1024,
  dynamoReadUnitBytes: 4096,
} as const;

/**
 * What the sizing model assumes, with where each figure comes from. The measured ones are re-measured by the
 * benchmark (`npm run bench -- --only plan` reports measured ÷ assumed); update them from its results.
 */
export const SIZING = {
  /** Report interval of a pump when none is given, seconds (the issue's scale numbers: 1 reading / 60 s). */
  defaultIntervalSeconds: 60,
  /**
   * Bytes a reading takes in the producer's KPL records, framing and partition keys included: 50.3 measured by
   * bench section 2 (kpl, 2026-11-30, `producer.modes[kpl].bytesPerReading`).
   */
  bytesPerReading: 50.3,
  /**
   * Consumer wall time per reading, ms: 0.262 measured by bench section 3 (`localE2e.handlerMsPerReading`, 2026-11-30).
   * Measured in local mode, so it includes dynalite's own write time on a shared 2-core machine: an upper bound for
   * Lambda, where the model adds DynamoDB's latency on top ({@link SIZING.dynamoBatchWriteLatencyMs}).
   */
  consumerMsPerReading: 0.262,
  /** Rollup wall time per reading, ms: 0.0286 measured by bench section 3 (`localE2e.rollupMsPerReading`). */
  rollupMsPerReading: 0.0286,
  /**
   * Stated latency of one DynamoDB BatchWriteItem of 25 small items from Lambda in the same region, ms (DynamoDB
   * answers single-item requests in single-digit milliseconds; a 25-item batch is taken as 10 ms). The consumer
   * runs `writeConcurrency` such calls at once, so a batch of R readings waits ⌈R / (25 × writeConcurrency)⌉ times.
   */
  dynamoBatchWriteLatencyMs: 10,
  /** Mean readings-table item, bytes: 117.7 measured by bench section 3 (`localE2e.readingItemBytes`) → 1 WRU. */
  readingItemBytes: 118,
  /** Mean stats item (daily row or hourly row), bytes: 299 measured by bench section 3 (411,415 B / 1,375 items). */
  statsItemBytes: 300,
  /** Stats items a rollup writes per pump-day: one daily row and 24 hourly rows (bench section 3: 1,375 for 55). */
  statsItemsPerPumpDay: 25,
  /** Catalog items written per pump-day: the day marker and the registry item (bench section 3: 111 for 55). */
  catalogWritesPerPumpDay: 2,
  /** Mean catalog item, bytes (bench section 3: 4,489 B / 111 items). */
  catalogItemBytes: 40,
  /**
   * Share of readings that alert in steady state (each writes both sparse alert indexes): 3.1 % measured on the
   * generator's data by bench section 3 (`localE2e.alertingShare`). `--alert-share` overrides it.
   */
  alertShare: 0.031,
  /** Share of the fleet below the alert threshold in an alert storm (the issue's field-wide power cut). */
  alertStormShare: 0.1,
  /**
   * The alarm layer's writes and reads per reading: 96,200 WRU and 10,217 RRU per million readings measured by
   * `npm run bench:alarms -- --only cost` (2026-11-30, live feed of 10,000 pumps at 1/min; README "Alarm cost").
   */
  alarmWruPerReading: 0.0962,
  alarmRruPerReading: 0.0102,
  /**
   * Write units of one alarm raised (alert storm): the state item (≤ 2 KB, 2 WRU), its keys-only `openAlarms`
   * index entry (1) and the notification marker (1).
   */
  alarmWruPerRaise: 4,
  /** Largest items a query API request reads (API_LIMITS.maxItemsRead), at the stage's steady request rate. */
  apiRequestsPerSecond: 50,
  /** Query API wall time per request, ms: the 90-day hourly chart's p50 in bench section 7 is ~100 ms; 1 s is the planning figure for a 25,000-item page. */
  apiMsPerRequest: 1_000,
  /** Lambda memory of the functions, MB (= FUNCTION_DEFAULTS.memorySizeMb in lib/defaults.ts; a test keeps them equal). */
  functionMemoryMb: 512,
  /**
   * Most rollup workers at once: the fan-out's ScalingConfig.MaximumConcurrency ({@link ROLLUP_FANOUT}). The plan
   * runs the workers needed to finish within {@link SIZING.rollupWindowMinutes}, at most these; their write burst
   * on the stats table is what its warm throughput is sized for.
   */
  rollupWorkers: ROLLUP_FANOUT.maxConcurrency,
  /** The daily rollup should finish within this many minutes; the plan says how many workers that takes. */
  rollupWindowMinutes: 60,
  /**
   * Highest share of a shard's consumer capacity the live feed may use: the rest is how fast a backlog drains
   * (at 0.7 a one-hour outage is caught up in ~2.3 hours).
   */
  consumerUtilisation: 0.7,
  /** Warm throughput is set to the modelled peak × this, rounded up to 1,000 units, when the peak exceeds the default. */
  warmHeadroom: 1.2,
  /** Storage and monthly cost of a deployment that keeps everything (retention 0) are shown after this many days. */
  unboundedRetentionDays: 365,
  /** Hours in a month, as AWS prices monthly figures. */
  hoursPerMonth: 730,
} as const;

/** Milliseconds the producer keeps a record open for more lines (`wellwatch push --linger`'s default). */
export const PRODUCER_LINGER_MS = 200;

/** Query API limits and defaults: what one request may ask for and read. */
export const API_LIMITS = {
  /** Items (readings or buckets) per page when `limit` is absent. */
  defaultPageSize: 1_000,
  /**
   * Largest `limit` accepted. A bucket is ~310 bytes of JSON and a raw reading ~150, so a full page stays near 3 MB,
   * inside Lambda's 6 MB response payload limit.
   */
  maxPageSize: 10_000,
  /** Largest span of a raw (or 1m/5m, computed from raw) request, days. */
  maxRawDays: 31,
  /** Largest span of an hourly or daily request, days (about ten years). */
  maxAggregateDays: 3_660,
  /** Point budget of a chart when neither `resolution` nor `points` is given. */
  defaultPoints: 1_000,
  /** Largest `points`. */
  maxPoints: 10_000,
  /**
   * Items one request may read from DynamoDB. A request that reaches it returns what it has with a cursor, so no
   * request — whatever its range — reads more (90 days at 1h is ~2,200 items; a raw day of 1-Hz data 86,400).
   */
  maxItemsRead: 25_000,
  /** Pumps per page of `/pumps` (each costs a few small Queries for its latest reading). */
  defaultPumpsPage: 100,
  maxPumpsPage: 500,
  /** A pump whose latest reading is older than this (before the request time) is `no-data`. */
  staleAfterMinutes: 60,
  /** Recent days `/pumps` looks through for a pump's latest reading. */
  latestLookbackDays: 31,
} as const;

/** Environment variables of the query API. */
export const API_ENV = {
  /**
   * Secret (≥ 32 characters) that signs pagination cursors (HMAC-SHA256). In AWS the stack generates one in Secrets
   * Manager and passes it in; local mode makes a random one per process unless this is set.
   */
  cursorSecret: 'WELLWATCH_API_CURSOR_SECRET',
} as const;

/** Settings of the query API, resolved like {@link loadConfig}: explicit option > environment > default. */
export interface ApiSettings {
  /** Secret of the cursor HMAC (see {@link API_ENV.cursorSecret}). */
  readonly cursorSecret: string;
  /** Items one request may read (see {@link API_LIMITS.maxItemsRead}). */
  readonly maxItemsRead: number;
  /** Minutes after which a pump without readings is `no-data`. */
  readonly staleAfterMinutes: number;
}

/**
 * Resolves the query API's settings.
 *
 * @throws ConfigError when the cursor secret is missing or shorter than 32 characters, or a number is out of range.
 * @example
 * const api = loadApiSettings({ cursorSecret: randomBytes(32).toString('hex') });
 */
export function loadApiSettings(overrides: Partial<ApiSettings> = {}, env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const secret = overrides.cursorSecret ?? env[API_ENV.cursorSecret];
  if (secret === undefined || secret.length < 32) {
    throw new ConfigError(`${API_ENV.cursorSecret} must be set to a secret of at least 32 characters (it signs pagination cursors), got ${secret === undefined ? 'nothing' : `${secret.length} characters`}`);
  }
  return {
    cursorSecret: secret,
    maxItemsRead: intSetting('maxItemsRead', overrides.maxItemsRead, API_LIMITS.maxItemsRead, 100, 1_000_000),
    staleAfterMinutes: intSetting('staleAfterMinutes', overrides.staleAfterMinutes, API_LIMITS.staleAfterMinutes, 1, 525_600),
  };
}
