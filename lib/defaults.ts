/**
 * Opinionated defaults of the wellwatch CDK constructs, as plain objects in one place.
 *
 * Names, keys, the event-source settings and the schedule live in `lambdas/config.ts` because the handlers, the CLI
 * and local mode need them too; this file holds only what the infrastructure alone decides: capacity, runtime
 * sizing, retention and alarm thresholds. Every construct prop's `@default` points here.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { CONSUMER_FUNCTION } from '../lambdas/config';

/** Capacity modes of the sensor stream. */
export const STREAM_MODES = {
  provisioned: 'provisioned',
  onDemand: 'on-demand',
} as const;
/** One capacity mode of the sensor stream. */
export type StreamModeName = (typeof STREAM_MODES)[keyof typeof STREAM_MODES];

/** Kinesis stream defaults and the limits the constructor validates against. */
export const STREAM_DEFAULTS = {
  mode: STREAM_MODES.provisioned as StreamModeName,
  shardCount: 2,
  /** Kinesis keeps records at least 24 hours; longer retention is billed extra. */
  retentionHours: 24,
  minShards: 1,
  /** Default per-stream shard quota of most regions. */
  maxShards: 500,
  minRetentionHours: 24,
  /** 365 days. */
  maxRetentionHours: 8760,
} as const;

/** Lambda settings shared by the consumer and the rollup function. */
export const FUNCTION_DEFAULTS = {
  runtime: lambda.Runtime.NODEJS_22_X,
  architecture: lambda.Architecture.ARM_64,
  /** esbuild target matching {@link FUNCTION_DEFAULTS.runtime}. */
  bundleTarget: 'node22',
  memorySizeMb: 512,
  minMemorySizeMb: 128,
  maxMemorySizeMb: 10_240,
  maxTimeoutSeconds: 900,
  /** A year: what the Control Tower control CT.CLOUDWATCH.PR.2 asks of a production log group. */
  logRetention: logs.RetentionDays.ONE_YEAR,
} as const;

/** Log group settings of the functions (issue 8: Control Tower controls CT.CLOUDWATCH.PR.2 and PR.3). */
export const LOG_DEFAULTS = {
  /**
   * The retention periods CloudWatch Logs accepts, in days. The API reference of PutRetentionPolicy: "Possible values
   * are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653."
   */
  retentionDays: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
  /** Shortest retention CT.CLOUDWATCH.PR.2 accepts; a shorter one is acknowledged in code, naming the setting. */
  minCompliantDays: 365,
} as const;

/** Lambda limits of the opt-in VPC placement (`wellwatch:vpc`). */
export const VPC_DEFAULTS = {
  /** Lambda's VpcConfig takes at most 16 subnet ids. */
  maxSubnets: 16,
  /** The functions only call AWS APIs (DynamoDB, SQS, CloudWatch) over HTTPS. */
  egressPort: 443,
} as const;

/** Consumer function defaults. */
export const CONSUMER_DEFAULTS = {
  /** The consumer's timeout lives with the runner's in `lambdas/config.ts` (CONSUMER_FUNCTION): local mode enforces it too. */
  timeout: Duration.seconds(CONSUMER_FUNCTION.timeoutSeconds),
  /** SQS keeps a message at most 14 days; dead letters and failed batches are kept that long. */
  queueRetention: Duration.days(14),
} as const;

/** Rollup function defaults. */
export const ROLLUP_DEFAULTS = {
  /** A daily run reads every reading of a day (about 1 440 per pump), so it gets more time than the consumer. */
  timeout: Duration.minutes(5),
} as const;

/** Storage defaults. */
export const STORAGE_DEFAULTS = {
  /** Tables hold the only copy of the readings: keep them when the stack is deleted. */
  removalPolicy: RemovalPolicy.RETAIN,
} as const;

/** Alarm thresholds. */
export const ALARM_DEFAULTS = {
  /** Records older than this mean the consumer is falling behind. */
  iteratorAgeMs: 5 * 60 * 1000,
  /** Period over which alarm statistics are computed. */
  period: Duration.minutes(5),
} as const;

/** Names of the custom metrics the handlers emit (defined with the rest of the names in `lambdas/config.ts`). */
export { METRIC_NAMES } from '../lambdas/config';

/** CDK context keys read by `bin/app.ts` (`npx cdk synth -c wellwatch:shards=4`). */
export const CONTEXT_KEYS = {
  deployment: 'wellwatch:deployment',
  shards: 'wellwatch:shards',
  /** Pumps in the fleet: shards and warm throughput from the sizing model (lambdas/core/sizing.ts). */
  pumps: 'wellwatch:pumps',
  streamMode: 'wellwatch:streamMode',
  retentionHours: 'wellwatch:retentionHours',
  alarmEmail: 'wellwatch:alarmEmail',
  /** Days the functions' log groups keep events; one of LOG_DEFAULTS.retentionDays. */
  logRetentionDays: 'wellwatch:logRetentionDays',
  /** Opt-in VPC placement of the functions: `vpc-ID:subnet-A,subnet-B` or `{"vpcId": …, "subnetIds": […]}`. */
  vpc: 'wellwatch:vpc',
} as const;

/** Query API defaults (issue 11). */
export const QUERY_API_DEFAULTS = {
  /** A page reads at most API_LIMITS.maxItemsRead items; a few seconds at most, well inside API Gateway's 30 s. */
  timeout: Duration.seconds(20),
  /** Steady-state requests per second across the API (stage throttling). */
  rateLimit: 50,
  /** Burst of requests above the rate. */
  burstLimit: 100,
  /** p99 latency above which the latency alarm fires. */
  latencyThreshold: Duration.seconds(3),
  /** 5xx responses per alarm period above which the error alarm fires. */
  serverErrorThreshold: 0,
  /** Name of the stage's access-log group within the deployment's log prefix: `/wellwatch[-NAME]/api-access`. */
  accessLogName: 'api-access',
} as const;
