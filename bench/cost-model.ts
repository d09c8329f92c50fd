/**
 * Section 5 — what a million readings cost in AWS (us-east-1, list prices), from what this run measured.
 *
 * Nothing here is measured; everything it multiplies is: records and bytes from section 2 (the producer's real
 * packing), consumer and rollup wall time per reading from sections 3 and 4 (local mode: the DynamoDB side is
 * dynalite on a shared 2-core machine, slower than DynamoDB, so Lambda GB-seconds are an upper bound), and
 * DynamoDB writes counted at dynalite in section 3 (billed with DynamoDB's item-size and index rules). Memory,
 * batch size, batching window and the minimum shard count come from the deployed defaults (`lib/defaults.ts`, read
 * by deploy-defaults.ts, and `lambdas/config.ts`).
 *
 * Kinesis provisioned shard-hours depend on the load, so they are priced at a stated sustained load with the
 * stream sized to it (never below the stack's default shard count). Not modelled: storage (DynamoDB GB-months,
 * Kinesis retention beyond 24 h), CloudWatch logs and metrics, data transfer, the dead-letter queue.
 */
import { DEFAULT_EVENT_SOURCE, PRICES, ROLLUP_FANOUT, SERVICE_LIMITS } from '../lambdas/config';
import type { DeployDefaults } from './deploy-defaults';
import { round } from './stats';

/** us-east-1 list prices: one set for the benchmark and the sizing model, with their sources, in lambdas/config.ts. */
export { PRICES };

/** Readings of one pump-day at the reporting rate (one reading per 60 s): what a rollup work item multiplies. */
export const READINGS_PER_PUMP_DAY = 1_440;

/**
 * The rollup fan-out's requests per work item (ROLLUP_FANOUT, lambdas/rollup/planner.ts and worker.ts): the planner
 * sends it in a SendMessageBatch of 10 (0.1 request), Lambda's poller receives it and deletes it (2; empty long polls
 * between runs are not counted); the task record is put by the planner and updated by the worker (2 WRU, a day item's
 * record being under 1 KB), and the worker reads it and its pump range back (2 strongly consistent reads of ≤ 4 KB).
 */
export const FANOUT_PER_WORK_ITEM = { sqsRequests: 0.1 + 2, taskRecordWru: 2, taskRecordRru: 2 } as const;

/** Sustained load at which shard-hours are priced: the load-test example (`--rate 20000`). */
export const REFERENCE_LOAD_PER_SECOND = 20_000;

/** The Kinesis and consumer figures of one way of sending readings. */
export interface ScenarioInput {
  readonly name: string;
  readonly description: string;
  readonly readingsPerRecord: number;
  readonly bytesPerRecord: number;
  readonly putPayloadUnitsPerMillion: number;
  readonly onDemandIngestGbPerMillion: number;
  readonly payloadGbPerMillion: number;
  /** Readings/s one shard takes under both write limits. */
  readonly shardReadingsPerSecond: number;
  /** Measured consumer wall time per reading, ms. */
  readonly handlerMsPerReading: number;
  /** Where {@link handlerMsPerReading} was measured. */
  readonly handlerMeasuredIn: string;
  readonly batchSize: number;
}

/** Figures shared by all scenarios (the same readings end up in the same tables). */
export interface CommonInput {
  readonly loadPerSecond: number;
  /** Write request units per reading: readings table + its indexes + catalog + stats (+ index). */
  readonly wruPerReading: { readonly readings: number; readonly alertIndexes: number; readonly catalog: number; readonly stats: number };
  /** Mean billed size of a reading item, bytes (for the rollup's strongly consistent reads). */
  readonly readingItemBytes: number;
  /** Measured rollup wall time per reading, ms. */
  readonly rollupMsPerReading: number;
  /** Readings per pump-day, for the rollup fan-out's per-work-item costs. @default READINGS_PER_PUMP_DAY */
  readonly readingsPerPumpDay?: number;
}

/** One priced line. */
export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
}

/** One scenario's cost per million readings. */
export interface ScenarioCost {
  readonly name: string;
  readonly description: string;
  readonly shards: number;
  readonly readingsPerInvocation: number;
  readonly lines: CostLine[];
  /** Total with a provisioned stream. */
  readonly totalProvisionedUsd: number;
  /** Kinesis part with an on-demand stream instead (replaces shard-hours and PUT units). */
  readonly onDemandKinesisUsd: number;
  readonly totalOnDemandUsd: number;
}

/** Result of section 5. */
export interface CostModelResult {
  readonly prices: typeof PRICES;
  readonly assumptions: {
    readonly loadPerSecond: number;
    readonly minShards: number;
    readonly memoryMb: number;
    readonly batchSize: number;
    readonly maxBatchingWindowSeconds: number;
  };
  readonly scenarios: ScenarioCost[];
  readonly targetUsd: number;
  readonly defaultMeetsTarget: boolean;
  /** Why the default costs what it costs (largest items), in words. */
  readonly verdict: string;
}

/** Lambda's invocation payload limit (6 MB) and the base64 growth of record data. */
const INVOKE_PAYLOAD_BYTES = SERVICE_LIMITS.lambdaInvokePayloadBytes;
const EVENT_RECORD_OVERHEAD_BYTES = SERVICE_LIMITS.lambdaEventRecordOverheadBytes;

/** Lambda polls each shard of a Kinesis stream at a base rate of once per second (standard iterators). */
export const LAMBDA_BASE_POLL_SECONDS = SERVICE_LIMITS.lambdaBasePollSeconds;

function priceScenario(s: ScenarioInput, common: CommonInput, memoryMb: number, minShards: number, windowSeconds: number): ScenarioCost {
  const M = 1e6;
  const load = common.loadPerSecond;
  const hoursPerMillion = M / (load * 3600);
  const shards = Math.max(minShards, Math.ceil(load / s.shardReadingsPerSecond));
  const recordsPerShardSecond = load / shards / s.readingsPerRecord;
  const byPayload = Math.max(1, Math.floor(INVOKE_PAYLOAD_BYTES / ((s.bytesPerRecord * 4) / 3 + EVENT_RECORD_OVERHEAD_BYTES)));
  // Records gathered per invocation: what a shard receives while Lambda gathers — the batching window, but at least
  // the poller's base rate of one poll per shard per second (with no window, each poll's records are one batch).
  const gatherSeconds = Math.max(windowSeconds, LAMBDA_BASE_POLL_SECONDS);
  const recordsPerBatch = Math.max(1, Math.min(s.batchSize, byPayload, recordsPerShardSecond * gatherSeconds));
  const readingsPerInvocation = recordsPerBatch * s.readingsPerRecord;
  const invocationsPerMillion = M / readingsPerInvocation;
  const gb = memoryMb / 1024;
  const consumerGbSeconds = ((s.handlerMsPerReading * M) / 1000) * gb;
  const rollupGbSeconds = ((common.rollupMsPerReading * M) / 1000) * gb;
  const w = common.wruPerReading;
  const rru = (common.readingItemBytes * M) / 4096; // strongly consistent Query: 4 KB per unit of data read
  // The rollup fan-out: a million readings are this many pump-days, cut into work items of taskPumpDays.
  const workItems = M / (common.readingsPerPumpDay ?? READINGS_PER_PUMP_DAY) / ROLLUP_FANOUT.taskPumpDays;
  const workerInvocations = workItems / ROLLUP_FANOUT.batchSize;
  const { kinesis, lambda, dynamodb, sqs } = PRICES;
  const lines: CostLine[] = [
    { item: 'Kinesis shard-hours (provisioned)', quantity: shards * hoursPerMillion, unit: 'shard-h', usd: shards * hoursPerMillion * kinesis.shardHour },
    { item: 'Kinesis PUT payload units', quantity: s.putPayloadUnitsPerMillion, unit: 'units', usd: (s.putPayloadUnitsPerMillion / M) * kinesis.putPayloadUnitsPerMillion },
    { item: 'Lambda consumer requests', quantity: invocationsPerMillion, unit: 'requests', usd: (invocationsPerMillion / M) * lambda.requestsPerMillion },
    { item: 'Lambda consumer duration', quantity: consumerGbSeconds, unit: 'GB-s', usd: consumerGbSeconds * lambda.gbSecondArm64 },
    { item: 'Lambda rollup duration', quantity: rollupGbSeconds, unit: 'GB-s', usd: rollupGbSeconds * lambda.gbSecondArm64 },
    { item: 'DynamoDB writes: readings', quantity: w.readings * M, unit: 'WRU', usd: w.readings * dynamodb.writeRequestUnitsPerMillion },
    { item: 'DynamoDB writes: alert indexes', quantity: w.alertIndexes * M, unit: 'WRU', usd: w.alertIndexes * dynamodb.writeRequestUnitsPerMillion },
    { item: 'DynamoDB writes: catalog + stats', quantity: (w.catalog + w.stats) * M, unit: 'WRU', usd: (w.catalog + w.stats) * dynamodb.writeRequestUnitsPerMillion },
    { item: 'DynamoDB reads: rollup', quantity: rru, unit: 'RRU', usd: (rru / M) * dynamodb.readRequestUnitsPerMillion },
    { item: 'SQS requests: rollup work items', quantity: workItems * FANOUT_PER_WORK_ITEM.sqsRequests, unit: 'requests', usd: ((workItems * FANOUT_PER_WORK_ITEM.sqsRequests) / M) * sqs.requestsPerMillion },
    { item: 'Lambda rollup worker requests', quantity: workerInvocations, unit: 'requests', usd: (workerInvocations / M) * lambda.requestsPerMillion },
    {
      item: 'DynamoDB: rollup task records',
      quantity: workItems * (FANOUT_PER_WORK_ITEM.taskRecordWru + FANOUT_PER_WORK_ITEM.taskRecordRru),
      unit: 'WRU+RRU',
      usd: ((workItems * FANOUT_PER_WORK_ITEM.taskRecordWru) / M) * dynamodb.writeRequestUnitsPerMillion + ((workItems * FANOUT_PER_WORK_ITEM.taskRecordRru) / M) * dynamodb.readRequestUnitsPerMillion,
    },
  ].map((l) => ({ ...l, quantity: round(l.quantity), usd: round(l.usd, 4) }));
  const total = lines.reduce((n, l) => n + l.usd, 0);
  const provisionedKinesis = lines[0]!.usd + lines[1]!.usd;
  const onDemandKinesis =
    hoursPerMillion * kinesis.onDemandStreamHour + s.onDemandIngestGbPerMillion * kinesis.onDemandIngestPerGb + s.payloadGbPerMillion * kinesis.onDemandRetrievalPerGb;
  return {
    name: s.name,
    description: s.description,
    shards,
    readingsPerInvocation: round(readingsPerInvocation),
    lines,
    totalProvisionedUsd: round(total, 4),
    onDemandKinesisUsd: round(onDemandKinesis, 4),
    totalOnDemandUsd: round(total - provisionedKinesis + onDemandKinesis, 4),
  };
}

/**
 * Prices the scenarios per million readings; the first scenario is the default configuration.
 *
 * @example
 * const cost = runCostModel([defaultScenario, onePerRecord], common, readDeployDefaults());
 */
export function runCostModel(scenarios: readonly ScenarioInput[], common: CommonInput, defaults: DeployDefaults, targetUsd = 0.7): CostModelResult {
  const memoryMb = defaults.memorySizeMb;
  const minShards = defaults.shardCount;
  const windowSeconds = DEFAULT_EVENT_SOURCE.maxBatchingWindowSeconds;
  const priced = scenarios.map((s) => priceScenario(s, common, memoryMb, minShards, windowSeconds));
  const def = priced[0]!;
  const sorted = [...def.lines].sort((a, b) => b.usd - a.usd);
  const top = sorted.slice(0, 3).map((l) => `${l.item} $${l.usd.toFixed(4)} (${Math.round((l.usd / def.totalProvisionedUsd) * 100)} %)`);
  const meets = def.totalProvisionedUsd <= targetUsd;
  const verdict =
    `${meets ? 'meets' : 'misses'} the $${targetUsd.toFixed(2)} target at $${def.totalProvisionedUsd.toFixed(4)} per million readings; ` +
    `largest items: ${top.join(', ')}. Every reading is one DynamoDB item (${common.readingItemBytes.toFixed(0)} B, so one WRU), ` +
    `so $${PRICES.dynamodb.writeRequestUnitsPerMillion} of every million is the floor of this design; alerting readings add one WRU per alert index.`;
  return {
    prices: PRICES,
    assumptions: { loadPerSecond: common.loadPerSecond, minShards, memoryMb, batchSize: DEFAULT_EVENT_SOURCE.batchSize, maxBatchingWindowSeconds: windowSeconds },
    scenarios: priced,
    targetUsd,
    defaultMeetsTarget: meets,
    verdict,
  };
}
