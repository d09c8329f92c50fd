/**
 * The consumer handler's own cost per batch, without the network: decoding, bookkeeping, logging and metrics.
 *
 * The handler runs over batches of 100 Kinesis records (the mapping's default batch size) of 1,000 generated
 * lines each, with stores that answer at once (every write succeeds), a logger sink and a metrics sink that drop
 * their lines. What is left is the handler's CPU time per batch; comparing it before and after a change to its
 * telemetry (Powertools Logger and Metrics instead of the hand-written EMF writer) shows that change's per-batch
 * overhead. Passes are interleaved with a bare decode loop (`decodeBatch` only) so background load hits both alike.
 *
 * Run: `node bin/run-ts.js bench/consumer-overhead.ts [--batches 20] [--rounds 7]`. Not part of `npm run bench`
 * (it repeats what section 1 measures for the core) and never asserted by a test.
 */
import { performance } from 'node:perf_hooks';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createConsumerHandler } from '../lambdas/consumer/handler';
import { decodeBatch } from '../lambdas/consumer/decode-batch';
import { DEFAULT_ALERT_RULES, loadConfig } from '../lambdas/config';
import { compileRules } from '../lambdas/core/rules';
import type { CatalogStore } from '../lambdas/store/catalog-store';
import type { DeadLetterSink } from '../lambdas/store/dead-letter-sink';
import type { ReadingStore } from '../lambdas/store/reading-store';
import { buildDataset, MAIN_DATASET } from './dataset';
import { median } from './stats';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const batchesPerPass = arg('batches', 10);
  const rounds = arg('rounds', 7);
  const dataset = buildDataset(MAIN_DATASET);
  const events: KinesisStreamEvent[] = [];
  for (let b = 0; b * 100 < dataset.blocks.length && events.length < batchesPerPass; b++) {
    const blocks = dataset.blocks.slice(b * 100, b * 100 + 100);
    events.push({
      Records: blocks.map((text, i) => ({
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: `p${i}`,
          sequenceNumber: String(10n ** 20n + BigInt(b * 100 + i)),
          data: Buffer.from(text).toString('base64'),
          approximateArrivalTimestamp: 1_394_413_260,
        },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `shardId-000000000000:${10n ** 20n + BigInt(b * 100 + i)}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/bench',
        awsRegion: 'us-east-1',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/bench',
      })),
    });
  }
  const readings: ReadingStore = { table: 'bench', put: async () => ({ failed: [], retries: 0 }), dayValues: async function* () {} };
  const catalog = {
    table: 'bench',
    markTouched: async () => ({ failed: [], written: 0, pending: 0 }),
  } as unknown as CatalogStore;
  const deadLetters: DeadLetterSink = { description: 'bench', send: async () => ({ failed: [] }) };
  const cfg = loadConfig({}, {});
  const drop = (): void => undefined;
  const handler = createConsumerHandler(cfg, { readings, catalog, deadLetters, metricsSink: drop, log: drop, clock: () => new Date('2014-03-11T00:00:00Z') });
  const context = {
    awsRequestId: 'bench',
    functionName: 'wellwatch-consumer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:wellwatch-consumer',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 100_000,
  } as never;
  const rules = compileRules(DEFAULT_ALERT_RULES);

  const handlerMs: number[] = [];
  const decodeMs: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    let t = performance.now();
    for (const event of events) await handler(event, context);
    const h = (performance.now() - t) / events.length;
    t = performance.now();
    for (const event of events) decodeBatch(event.Records, { parse: { utcOffsetMinutes: 0 }, rules, now: new Date() });
    const d = (performance.now() - t) / events.length;
    if (round > 0) {
      handlerMs.push(h);
      decodeMs.push(d);
    }
  }
  const h = median(handlerMs);
  const d = median(decodeMs);
  const readingsPerBatch = events[0]!.Records.length * 1000;
  process.stdout.write(
    `${JSON.stringify({
      batches: events.length,
      readingsPerBatch,
      rounds,
      handlerMsPerBatch: +h.toFixed(3),
      decodeOnlyMsPerBatch: +d.toFixed(3),
      overheadMsPerBatch: +(h - d).toFixed(3),
      handlerPasses: handlerMs.map((x) => +x.toFixed(2)),
      decodePasses: decodeMs.map((x) => +x.toFixed(2)),
    })}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
