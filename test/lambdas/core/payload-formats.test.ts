/**
 * The consumer reads every payload format the same way: KPL aggregates (ours and the AWS reference
 * implementation's), newline-batched records and single-line records of the same lines become the same readings,
 * the same DynamoDB items, and — through the real consumer handler against dynalite — the same stored items.
 *
 * Records are built the way producers really build them: our producer engine (its packing code, with a fake
 * PutRecords that keeps what it is given), `aws-kinesis-agg` (one line per user record, mixed pumps per aggregate,
 * as the KPL does), and a plain one-line-per-record producer, half of whose lines end with a newline.
 */
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { PutRecordsCommandInput, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { Producer, type PayloadFormat } from '../../../cli/producer';
import { DEFAULT_ALERT_RULES, FLEET_KEYS } from '../../../lambdas/config';
import { createConsumerHandler } from '../../../lambdas/consumer/handler';
import { generateReadings } from '../../../lambdas/core/generator';
import { decodePayload, ingestRecord } from '../../../lambdas/core/ingest';
import { isAggregated } from '../../../lambdas/core/kpl';
import { pumpBucket } from '../../../lambdas/core/buckets';
import { pumpRegistryPartition, readingItem, type Item } from '../../../lambdas/core/keys';
import { compileRules } from '../../../lambdas/core/rules';
import { startDynalite } from '../../helpers/dynalite';
import { kinesisEvent } from '../../helpers/kinesis-event';

/** One Kinesis record as a producer hands it to PutRecords. */
interface ProducedRecord {
  readonly partitionKey: string;
  readonly data: Buffer;
}

/** The parts of aws-kinesis-agg (the AWS reference implementation) used here. */
interface AwsKinesisAgg {
  aggregate(
    records: { partitionKey: string; data: Buffer }[],
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: (err?: Error) => void) => void,
    afterAll: () => void,
    onError: (err: Error) => void,
  ): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg: AwsKinesisAgg = require('aws-kinesis-agg');

/** The generated day, and a clock on that same day so the consumer writes no late-data markers. */
const DAY = '2014-03-10';
const CLOCK = () => new Date(`${DAY}T23:59:00.000Z`);

/** 4 pumps, ~3 hours; every 40th reading gets a low pressure so alert items (with index keys) are in the mix. */
function sampleLines(): string[] {
  const lines: string[] = [];
  for (const line of generateReadings({ pumps: 4, days: 1, seed: 7, start: DAY })) {
    if (lines.length === 480) break;
    const f = line.split(',');
    if (lines.length % 40 === 0) f[7] = '2';
    lines.push(f.join(','));
  }
  return lines;
}

async function viaProducer(lines: readonly string[], format: PayloadFormat): Promise<ProducedRecord[]> {
  const records: ProducedRecord[] = [];
  const putRecords = async (input: PutRecordsCommandInput): Promise<PutRecordsCommandOutput> => {
    const entries = input.Records ?? [];
    for (const e of entries) records.push({ partitionKey: e.PartitionKey!, data: Buffer.from(e.Data!) });
    return { $metadata: {}, FailedRecordCount: 0, Records: entries.map((_, i) => ({ SequenceNumber: String(records.length + i), ShardId: 'shardId-000000000000' })) };
  };
  // Small budgets so that every pump spans several records and an aggregate holds several multi-line user records.
  const producer = new Producer({ streamName: 'test', putRecords, format, recordBytes: 2048, userRecordBytes: 256, lingerMs: 60_000 });
  lines.forEach((line, i) => {
    const wait = producer.add(line, 'sample', i + 1);
    if (wait) throw new Error('the producer asked to wait on a tiny input');
  });
  await producer.close();
  return records;
}

function viaReferenceKpl(lines: readonly string[]): Promise<ProducedRecord[]> {
  return new Promise((resolve, reject) => {
    const out: ProducedRecord[] = [];
    const users = lines.map((line) => ({ partitionKey: line.slice(0, line.indexOf(',')), data: Buffer.from(line, 'utf8') }));
    // Feed in slices so that several aggregates come out.
    const slices: (typeof users)[] = [];
    for (let i = 0; i < users.length; i += 100) slices.push(users.slice(i, i + 100));
    const next = (): void => {
      const slice = slices.shift();
      if (!slice) {
        resolve(out);
        return;
      }
      agg.aggregate(
        slice,
        (encoded, done) => {
          out.push({ partitionKey: encoded.partitionKey, data: Buffer.from(encoded.data) });
          done();
        },
        next,
        reject,
      );
    };
    next();
  });
}

function viaSingleLines(lines: readonly string[]): ProducedRecord[] {
  return lines.map((line, i) => ({ partitionKey: line.slice(0, line.indexOf(',')), data: Buffer.from(i % 2 === 0 ? line : `${line}\n`, 'utf8') }));
}

/** Items sorted by their key, for comparisons that must not depend on record order. */
function byKey(items: readonly Item[]): Item[] {
  const key = (item: Item) => `${(item.pk as { S: string }).S}\u0000${(item.sk as { S: string }).S}`;
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

async function scanAll(client: { send: (c: ScanCommand) => Promise<{ Items?: Record<string, AttributeValue>[]; LastEvaluatedKey?: Record<string, AttributeValue> }> }, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) items.push(item as Item);
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

describe('payload formats', () => {
  const lines = sampleLines();
  const rules = compileRules(DEFAULT_ALERT_RULES);
  const formats: Record<string, ProducedRecord[]> = {};

  beforeAll(async () => {
    formats['KPL (wellwatch producer)'] = await viaProducer(lines, 'kpl');
    formats['KPL (aws-kinesis-agg)'] = await viaReferenceKpl(lines);
    formats['line-batched'] = await viaProducer(lines, 'lines');
    formats['single-line'] = viaSingleLines(lines);
  });

  it('builds each format as intended', () => {
    const ours = formats['KPL (wellwatch producer)']!;
    const reference = formats['KPL (aws-kinesis-agg)']!;
    const batched = formats['line-batched']!;
    const single = formats['single-line']!;
    expect(ours.every((r) => isAggregated(r.data))).toBe(true);
    expect(reference.every((r) => isAggregated(r.data))).toBe(true);
    expect(batched.some((r) => isAggregated(r.data) || !r.data.includes('\n'))).toBe(false);
    expect(single.some((r) => isAggregated(r.data))).toBe(false);
    // Several records per pump for the packed formats, one per line for single-line records.
    for (const records of [ours, reference, batched]) {
      expect(records.length).toBeGreaterThan(4);
      expect(records.length).toBeLessThan(lines.length / 5);
    }
    expect(single).toHaveLength(lines.length);
    expect(lines.filter((l) => l.split(',')[7] === '2').length).toBeGreaterThan(5);
  });

  it.each(['KPL (wellwatch producer)', 'KPL (aws-kinesis-agg)', 'line-batched', 'single-line'])('%s carries every line exactly once', (name) => {
    const decoded = formats[name]!.flatMap((r) => decodePayload(r.data));
    expect([...decoded].sort()).toEqual([...lines].sort());
  });

  it('ingestRecord turns every format into the same readings and items', () => {
    const now = CLOCK();
    const itemsOf = (records: readonly ProducedRecord[]): Item[] =>
      byKey(
        records.flatMap((r, i) => {
          const result = ingestRecord({ data: r.data, shardId: 'shardId-000000000000', sequenceNumber: String(i), partitionKey: r.partitionKey }, { rules, now });
          expect(result.deadLetters).toEqual([]);
          expect(result.skipped).toBe(0);
          return result.readings.map((reading) => readingItem(reading));
        }),
      );
    const expected = itemsOf(formats['single-line']!);
    expect(expected).toHaveLength(lines.length);
    expect(expected.filter((item) => item.a !== undefined).length).toBeGreaterThan(5);
    expect(itemsOf(formats['KPL (wellwatch producer)']!)).toEqual(expected);
    expect(itemsOf(formats['KPL (aws-kinesis-agg)']!)).toEqual(expected);
    expect(itemsOf(formats['line-batched']!)).toEqual(expected);
  });

  it('the consumer handler stores the same items from every format', async () => {
    const stored: Record<string, { readings: Item[]; catalog: Item[] }> = {};
    for (const [name, records] of Object.entries(formats)) {
      const db = await startDynalite();
      try {
        const consume = createConsumerHandler(db.cfg, { dynamo: db.client, clock: CLOCK, metricsSink: () => undefined, log: () => undefined });
        // Batches of at most 100 records, the default batch size of the event source.
        for (let i = 0; i < records.length; i += 100) {
          const event = kinesisEvent(records.slice(i, i + 100).map((r) => ({ data: r.data, partitionKey: r.partitionKey })));
          await expect(consume(event)).resolves.toEqual({ batchItemFailures: [] });
        }
        stored[name] = { readings: byKey(await scanAll(db.client, db.cfg.readingsTable)), catalog: byKey(await scanAll(db.client, db.cfg.catalogTable)) };
      } finally {
        await db.close();
      }
    }
    const now = CLOCK();
    const expected = byKey(
      lines.map((line, i) => {
        const result = ingestRecord({ data: Buffer.from(line), shardId: 's', sequenceNumber: String(i), partitionKey: 'p' }, { rules, now });
        return readingItem(result.readings[0]!);
      }),
    );
    const reference = stored['single-line']!;
    expect(reference.readings).toEqual(expected);
    // A day marker and one pump-day marker per pump (in the pump's bucket), nothing pending (the clock is on the
    // data's day).
    const pumps = ['COHUTTA', 'CONASAUGA', 'COOSAWATTEE', 'ETOWAH'];
    expect(reference.catalog.map((item) => `${(item.pk as { S: string }).S}|${(item.sk as { S: string }).S}`)).toEqual([
      ...pumps.map((pump) => `DAY#${DAY}#${pumpBucket(pump, FLEET_KEYS.buckets)}|${pump}`),
      `DAYS|${DAY}`,
      // …and the pump registry: one item per pump seen.
      ...pumps.map((pump) => `${pumpRegistryPartition(pump)}|${pump}`),
    ].sort());
    for (const name of ['KPL (wellwatch producer)', 'KPL (aws-kinesis-agg)', 'line-batched']) {
      expect(stored[name]!.readings).toEqual(reference.readings);
      expect(stored[name]!.catalog).toEqual(reference.catalog);
    }
  });
});
