/**
 * The producer under Kinesis faults: PutRecords partial failures, throttling, 5xx, dropped connections and answers
 * that arrive after the client gave up. Every accepted line must reach the stream, and each pump's lines must be
 * in input order (a retried record may appear twice in a row when Kinesis stored it but the answer was lost —
 * Kinesis is at-least-once, and the consumer's writes are idempotent — but never out of order).
 *
 * The faults come from the fault proxy in front of kinesalite (real HTTP, real SDK client, the push command's
 * client settings); one deterministic test wraps the `PutRecordsFn` seam to pin down head-of-line behaviour.
 */
import type { PutRecordsCommandInput, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { loadConfig } from '../../lambdas/config';
import { generateReadings } from '../../lambdas/core/generator';
import { deaggregate, isAggregated } from '../../lambdas/core/kpl';
import { kinesisClient } from '../../lambdas/store/clients';
import { produce, putRecordsWith, type PayloadFormat, type PutRecordsFn } from '../../cli/producer';
import { realmSafeErrors, startFaultProxy } from '../helpers/fault-proxy';
import { readAllRecords, startKinesalite } from '../helpers/kinesalite';

const FULL = process.env.WELLWATCH_RELIABILITY_FULL === '1';
const LINES = FULL ? 60_000 : 12_000;

// Per-test limit: the slowest took 11 s on a 2-core machine at load 19; the full size sends 5x the lines.
jest.setTimeout(FULL ? 300_000 : 60_000);

/** The lines of one Kinesis record's data, KPL-aware. */
function linesOf(data: Buffer): string[] {
  const parts = isAggregated(data) ? deaggregate(data).map((u) => u.data) : [data];
  return parts.flatMap((p) => p.toString('utf8').split('\n'));
}

const figures: string[] = [];
afterAll(() => console.log(`producer faults:\n${figures.join('\n')}`));

describe('producer under PutRecords faults (fault proxy in front of kinesalite)', () => {
  it.each(['kpl', 'lines'] as const)('%s: sends every line, keeps each pump in order, gives up on nothing', async (format: PayloadFormat) => {
    const k = await startKinesalite({ shards: 4 });
    const proxy = await startFaultProxy({ target: k.endpoint, rate: 0.25, seed: format === 'kpl' ? 1 : 2, delayMs: 1_500, operations: ['PutRecords'] });
    try {
      // The push command's client: no SDK retries (the producer retries), a request timeout below the proxy's delay.
      const client = kinesisClient(loadConfig({ endpoints: { kinesis: proxy.endpoint }, streamName: k.streamName }, {}), { maxAttempts: 1, requestTimeoutMs: 700 });
      realmSafeErrors(client);
      const pumps = 24;
      const lines = [...generateReadings({ pumps, days: Math.ceil(LINES / (pumps * 960)), seed: 9 })].slice(0, LINES);
      const stats = await produce([{ name: 'input.csv', lines }], {
        streamName: k.streamName,
        putRecords: putRecordsWith(client),
        format,
        recordBytes: 1024,
        lingerMs: 20,
        concurrency: 4,
        maxAttempts: 12,
        baseDelayMs: 10,
        maxDelayMs: 200,
      });
      client.destroy();
      expect({ failed: stats.failed, accepted: stats.accepted, sent: stats.sent }).toEqual({ failed: 0, accepted: lines.length, sent: lines.length });

      // Per pump, in shard order: collapse a record repeated back to back (stored, answer lost, sent again).
      const byPump = new Map<string, string[]>();
      let duplicates = 0;
      const lastRecord = new Map<string, string>();
      for (const records of (await readAllRecords(k.client, k.streamName)).values()) {
        for (const r of records) {
          const text = r.data.toString('base64');
          if (lastRecord.get(r.partitionKey) === text) {
            duplicates++;
            continue;
          }
          lastRecord.set(r.partitionKey, text);
          const seq = byPump.get(r.partitionKey) ?? [];
          for (const line of linesOf(r.data)) seq.push(line);
          byPump.set(r.partitionKey, seq);
        }
      }
      const expected = new Map<string, string[]>();
      for (const line of lines) {
        const pump = line.slice(0, line.indexOf(','));
        const seq = expected.get(pump) ?? [];
        seq.push(line);
        expected.set(pump, seq);
      }
      expect([...byPump.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [pump, seq] of expected) expect(byPump.get(pump)).toEqual(seq);

      const s = proxy.stats;
      expect(s.faulted / s.requests).toBeGreaterThanOrEqual(0.15);
      expect(s.byKind.partial).toBeGreaterThan(0);
      expect(s.byKind.throughput + s.byKind.throttling).toBeGreaterThan(0);
      expect(s.withheldEntries).toBeGreaterThan(0);
      expect(stats.retriedEntries).toBeGreaterThan(0);
      if (s.byKind.delay === 0) expect(duplicates).toBe(0);
      figures.push(
        `  ${format}: ${lines.length} lines in ${stats.records} records, ${stats.calls} PutRecords calls; faults ${s.faulted} of ${s.requests} calls ${JSON.stringify(s.byKind)}, ` +
          `${s.withheldEntries} entries failed inside calls; ${stats.retriedEntries} entries retried; ${duplicates} records stored twice (answer lost); lost 0, out of order 0`,
      );
    } finally {
      await proxy.close();
      await k.close();
    }
  });

  it('holds back a pump behind its failing record while other pumps go on', async () => {
    const k = await startKinesalite({ shards: 1 });
    try {
      const real = putRecordsWith(k.client);
      const calls: { pumps: string[]; failed: string[] }[] = [];
      let failuresLeft = 5;
      // Entries of pump SLOW fail (as throttled) the first 5 times they are sent; everything else is stored.
      const flaky: PutRecordsFn = async (input: PutRecordsCommandInput): Promise<PutRecordsCommandOutput> => {
        const entries = input.Records ?? [];
        const failHere = entries.map((e) => e.PartitionKey === 'SLOW' && failuresLeft > 0);
        if (failHere.some(Boolean)) failuresLeft--;
        const kept = entries.filter((_, i) => !failHere[i]);
        const out = kept.length > 0 ? await real({ ...input, Records: kept }) : { Records: [], FailedRecordCount: 0, $metadata: {} };
        let j = 0;
        const records = entries.map((_, i) => (failHere[i] ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' } : out.Records![j++]!));
        calls.push({ pumps: entries.map((e) => e.PartitionKey!), failed: entries.filter((_, i) => failHere[i]).map((e) => e.PartitionKey!) });
        return { ...out, Records: records, FailedRecordCount: failHere.filter(Boolean).length };
      };
      const lines: string[] = [];
      for (let m = 0; m < 300; m++) {
        const t = `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
        lines.push(`SLOW,3/10/14,${t},1,1,1,1,1,1`, `FAST,3/10/14,${t},1,1,1,1,1,1`);
      }
      const stats = await produce([{ name: 'x', lines }], { streamName: k.streamName, putRecords: flaky, format: 'lines', recordBytes: 512, lingerMs: 5, concurrency: 4, baseDelayMs: 1, maxDelayMs: 5 });
      expect(stats.failed).toBe(0);
      // Never two records of one pump in one call, never a pump in two calls at once (calls are sequential here
      // only per pump: each call carries at most one record of SLOW).
      for (const c of calls) expect(c.pumps.filter((p) => p === 'SLOW').length).toBeLessThanOrEqual(1);
      expect(calls.filter((c) => c.failed.length > 0)).toHaveLength(5);
      const stored = [...(await readAllRecords(k.client, k.streamName)).values()].flat();
      const slow = stored.filter((r) => r.partitionKey === 'SLOW').flatMap((r) => linesOf(r.data));
      const fast = stored.filter((r) => r.partitionKey === 'FAST').flatMap((r) => linesOf(r.data));
      expect(slow).toEqual(lines.filter((l) => l.startsWith('SLOW')));
      expect(fast).toEqual(lines.filter((l) => l.startsWith('FAST')));
      // FAST was not held back by SLOW's failures: some FAST record was stored before SLOW's first one.
      expect(stored.findIndex((r) => r.partitionKey === 'FAST')).toBeLessThan(stored.findIndex((r) => r.partitionKey === 'SLOW'));
    } finally {
      await k.close();
    }
  });
});
