/**
 * Sizing props of the stack from the sizing model (`-c wellwatch:pumps=N`): the stream's shard count and the
 * tables' and indexes' warm throughput, from the same `planFleet` that `wellwatch plan` prints.
 */
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { EventSourceSettings } from '../lambdas/config';
import { planFleet, type FleetPlan } from '../lambdas/core/sizing';

/** Warm throughput per table (`readings`, `stats`, `catalog`, `alarms`) or index (`alertsByDay`, …), by name. */
export type WarmThroughputByName = Readonly<Partial<Record<string, dynamodb.WarmThroughput>>>;

/** What the stack takes from a plan. */
export interface FleetSizing {
  /** The plan it came from (for outputs and tests). */
  readonly plan: FleetPlan;
  /** Shards the fleet needs. */
  readonly shardCount: number;
  /** Warm throughput of every table and index whose modelled peak exceeds a new on-demand table's default. */
  readonly warmThroughput: WarmThroughputByName;
}

/**
 * Sizes the stack for a fleet of `pumps` reporting at the default interval.
 *
 * @example
 * const sizing = fleetSizing(1_000_000, { retentionDays: 90 });
 * new SensorStream(this, 'Sensors', { shardCount: sizing.shardCount });
 */
export function fleetSizing(pumps: number, options: { retentionDays?: number; eventSource?: EventSourceSettings } = {}): FleetSizing {
  const plan = planFleet({ pumps, ...options });
  const warm: Record<string, dynamodb.WarmThroughput> = {};
  for (const t of plan.dynamodb.tables) {
    if (t.warmThroughput !== undefined) warm[t.index ?? t.table] = t.warmThroughput;
  }
  return { plan, shardCount: plan.shards.needed, warmThroughput: warm };
}
