/**
 * A real Kinesis API for tests: kinesalite in memory, in this process, on 127.0.0.1 and an ephemeral port.
 *
 * Tests talk to it over HTTP through the AWS SDK exactly like the CLI talks to AWS, so request shapes, limits and
 * error codes are the emulator's, not a mock's.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** A running in-memory kinesalite with one stream. */
export interface KinesaliteHandle {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly streamName: string;
  readonly region: string;
  /** A client for the emulator (dummy credentials, HTTP/1.1). */
  readonly client: KinesisClient;
  /** Stops the server and frees the in-memory store. */
  close(): Promise<void>;
}

/** One record read back from a shard, in shard order. */
export interface StoredRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Buffer;
}

/** Options of {@link startKinesalite}. */
export interface StartKinesaliteOptions {
  /** @default 2 */
  readonly shards?: number;
  /** @default 'wellwatch-readings' */
  readonly streamName?: string;
  /** Create the stream. @default true */
  readonly createStream?: boolean;
}

/** Builds a Kinesis client for a local endpoint with dummy credentials. */
export function localKinesisClient(endpoint: string, region = 'us-east-1'): KinesisClient {
  return new KinesisClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
  });
}

/**
 * Starts kinesalite in memory on 127.0.0.1:0 and creates a stream with `shards` shards, waiting until it is ACTIVE.
 *
 * @example
 * const k = await startKinesalite({ shards: 2 });
 * try { … k.endpoint … } finally { await k.close(); }
 */
export async function startKinesalite(options: StartKinesaliteOptions = {}): Promise<KinesaliteHandle> {
  const shards = options.shards ?? 2;
  const streamName = options.streamName ?? 'wellwatch-readings';
  const region = 'us-east-1';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const kinesalite = require('kinesalite') as (opts: Record<string, unknown>) => Server;
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localKinesisClient(endpoint, region);
  const close = async (): Promise<void> => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    if (options.createStream !== false) await createStream(client, streamName, shards);
  } catch (e) {
    await close();
    throw e;
  }
  return { endpoint, streamName, region, client, close };
}

/**
 * Creates a stream and waits until it is ACTIVE.
 *
 * @example
 * await createStream(k.client, 'other-stream', 3);
 */
export async function createStream(client: KinesisClient, streamName: string, shards: number): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shards }));
  for (let i = 0; ; i++) {
    const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (i > 200) throw new Error(`stream ${streamName} not ACTIVE after 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Reads every record of every shard from TRIM_HORIZON to the end, in shard order.
 *
 * @example
 * const byShard = await readAllRecords(k.client, k.streamName);
 */
export async function readAllRecords(client: KinesisClient, streamName: string): Promise<Map<string, StoredRecord[]>> {
  const out = new Map<string, StoredRecord[]>();
  const { Shards = [] } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  for (const shard of Shards) {
    const shardId = shard.ShardId!;
    const records: StoredRecord[] = [];
    let iterator = (
      await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        records.push({ shardId, sequenceNumber: r.SequenceNumber!, partitionKey: r.PartitionKey!, data: Buffer.from(r.Data!) });
      }
      if (!page.Records?.length && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
    out.set(shardId, records);
  }
  return out;
}

/** A stored record decoded: its lines, and the partition keys of its KPL user records (empty for plain records). */
export interface DecodedRecord extends StoredRecord {
  readonly lines: string[];
  readonly userRecordKeys: string[];
  /** KPL user records with their lines (empty for plain records). */
  readonly userRecords: { readonly partitionKey: string; readonly lines: string[] }[];
  readonly aggregated: boolean;
}

/**
 * Decodes stored records: KPL aggregates are deaggregated (checksum verified), every payload split into lines.
 *
 * @example
 * const records = decodeRecords(await readAllRecords(k.client, k.streamName));
 */
export function decodeRecords(byShard: Map<string, StoredRecord[]>): DecodedRecord[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { deaggregate, isAggregated } = require('../../lambdas/core/kpl') as typeof import('../../lambdas/core/kpl');
  const out: DecodedRecord[] = [];
  for (const records of byShard.values()) {
    for (const r of records) {
      if (isAggregated(r.data)) {
        const users = deaggregate(r.data).map((u) => ({ partitionKey: u.partitionKey, lines: u.data.toString('utf8').split('\n') }));
        out.push({
          ...r,
          aggregated: true,
          userRecordKeys: users.map((u) => u.partitionKey),
          userRecords: users,
          lines: users.flatMap((u) => u.lines),
        });
      } else {
        out.push({ ...r, aggregated: false, userRecordKeys: [], userRecords: [], lines: r.data.toString('utf8').split('\n') });
      }
    }
  }
  return out;
}
