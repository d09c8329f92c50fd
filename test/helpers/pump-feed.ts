/**
 * Synthetic pump feeds for the consumer's alarm tests: reading lines per minute, cut into Kinesis events the way
 * Lambda delivers them, and interleaved across pumps the way a sharded stream may deliver them.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { kinesisEvent } from './kinesis-event';

/** One reading line and the pump it belongs to (its partition key). */
export interface FeedLine {
  readonly pump: string;
  readonly text: string;
}

/** A reading line of `pump` at minute `m` after 2014-03-10 00:00 UTC, with `psi` as given and the other measures fixed. */
export function feedLine(pump: string, m: number, psi: number | string): FeedLine {
  const day = 10 + Math.floor(m / 1440);
  const mod = m % 1440;
  return { pump, text: `${pump},3/${day}/14,${Math.floor(mod / 60)}:${String(mod % 60).padStart(2, '0')},10.27,1.73,881,1.56,${psi},1.94` };
}

/** The text of {@link feedLine}: a reading line of `pump` at minute `m` after 2014-03-10 00:00 UTC. */
export function readingLine(pump: string, m: number, psi: number | string): string {
  return feedLine(pump, m, psi).text;
}

/** Cuts lines (one per record) into events of `size` records from one shard. */
export function eventsOf(lines: readonly FeedLine[], size: number, shardId = 'shardId-000000000000'): KinesisStreamEvent[] {
  const out: KinesisStreamEvent[] = [];
  for (let i = 0; i < lines.length; i += size) {
    out.push(kinesisEvent(lines.slice(i, i + size).map((l) => ({ data: `${l.text}\n`, partitionKey: l.pump })), { shardId }));
  }
  return out;
}

/** A deterministic shuffle that keeps each pump's own order (Kinesis orders records per partition key). */
export function interleave(lines: readonly FeedLine[], seed: number): FeedLine[] {
  const queues = new Map<string, FeedLine[]>();
  for (const l of lines) (queues.get(l.pump) ?? queues.set(l.pump, []).get(l.pump)!).push(l);
  const out: FeedLine[] = [];
  let x = seed;
  while (out.length < lines.length) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const live = [...queues.values()].filter((q) => q.length > 0);
    out.push(live[x % live.length]!.shift()!);
  }
  return out;
}
