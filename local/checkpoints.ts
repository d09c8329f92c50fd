/**
 * Per-shard checkpoints of the local event-source runner, persisted in `<dataDir>/checkpoints.json`.
 *
 * A checkpoint is the sequence number of the last record of a shard that is done (processed, or handed to the
 * on-failure destination). The runner resumes with `AFTER_SEQUENCE_NUMBER`, so a restart neither loses nor
 * re-delivers records. The file is replaced atomically (temp file + rename): a crash leaves the previous or the
 * new version, never a torn one. Concurrent commits from several shards coalesce into one write.
 *
 * Checkpoints belong to one incarnation of a stream: kinesalite sequence numbers of a deleted and re-created
 * stream mean nothing to the new one, so the stream's creation time is stored and a mismatch discards them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InternalError, WellwatchError } from '../lambdas/core/errors';

/** Where one shard stands. */
export interface ShardCheckpoint {
  /** Last sequence number that is done; absent when nothing of the shard is done yet. */
  readonly sequenceNumber?: string;
  /** The shard is closed and every record of it is done (its children may start). */
  readonly finished?: boolean;
  /** ISO time of the last change. */
  readonly updatedAt: string;
}

/** Content of `checkpoints.json`. */
export interface CheckpointFile {
  readonly version: 1;
  readonly streams: Record<string, { readonly createdAt?: string; readonly mappingStartedAt?: string; readonly shards: Record<string, ShardCheckpoint> }>;
}

/** What is kept per stream. */
interface StreamEntry {
  createdAt?: string;
  /** When the mapping first started on this stream incarnation (ISO): later starts are restarts. */
  mappingStartedAt?: string;
  shards: Record<string, ShardCheckpoint>;
}

/** Options of {@link CheckpointStore}. */
export interface CheckpointStoreOptions {
  /**
   * The JSON file; the directory is created on first write.
   *
   * @default - memory only (nothing survives the process)
   */
  readonly file?: string;
  /** Where to report a failed write (the runner keeps going; a restart would then re-deliver some records). */
  readonly log?: (line: string) => void;
}

/**
 * Checkpoints of every shard of one stream, kept in memory and mirrored to a file.
 *
 * @example
 * const store = new CheckpointStore({ file: path.join(dataDir, 'checkpoints.json') });
 * store.bindStream('wellwatch-readings', '2024-01-01T00:00:00.000Z');
 * await store.commit('shardId-000000000000', { sequenceNumber: '4959…' });
 */
export class CheckpointStore {
  readonly file: string | undefined;
  private data: { version: 1; streams: Record<string, StreamEntry> };
  private streamName: string | undefined;
  private version = 0;
  private written = 0;
  private chain: Promise<void> = Promise.resolve();
  private readonly log: (line: string) => void;

  constructor(options: CheckpointStoreOptions = {}) {
    this.file = options.file ? path.resolve(options.file) : undefined;
    this.log = options.log ?? (() => undefined);
    this.data = { version: 1, streams: {} };
    if (this.file && fs.existsSync(this.file)) {
      const text = fs.readFileSync(this.file, 'utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new WellwatchError(`checkpoint file ${this.file} is not valid JSON (${(e as Error).message}); move it away to start over`);
      }
      const p = parsed as Partial<CheckpointFile>;
      if (p.version !== 1 || typeof p.streams !== 'object' || p.streams === null) {
        throw new WellwatchError(`checkpoint file ${this.file} has an unknown format (expected {"version":1,"streams":{…}})`);
      }
      this.data = { version: 1, streams: JSON.parse(JSON.stringify(p.streams)) };
    }
  }

  /**
   * Selects the stream the following calls refer to; drops its checkpoints when the stream was re-created.
   *
   * Returns `true` when stored checkpoints were discarded.
   *
   * @example
   * if (store.bindStream(name, createdAt)) log('stream was re-created; checkpoints reset');
   */
  bindStream(streamName: string, createdAt?: string): boolean {
    this.streamName = streamName;
    const existing = this.data.streams[streamName];
    if (!existing) {
      this.data.streams[streamName] = { createdAt, shards: {} };
      return false;
    }
    if (createdAt && existing.createdAt && existing.createdAt !== createdAt) {
      const had = Object.keys(existing.shards).length > 0;
      this.data.streams[streamName] = { createdAt, shards: {} };
      void this.persist();
      return had;
    }
    if (createdAt && !existing.createdAt) this.data.streams[streamName] = { ...existing, createdAt };
    return false;
  }

  private stream(): StreamEntry {
    if (!this.streamName) throw new InternalError('CheckpointStore.bindStream must be called first');
    return this.data.streams[this.streamName];
  }

  /**
   * When the mapping first started on the bound stream (ISO), or undefined on its very first start. A shard without
   * a checkpoint at a restart then resumes from that time with LATEST (see `shardStart`).
   */
  mappingStartedAt(): string | undefined {
    return this.stream().mappingStartedAt;
  }

  /**
   * Remembers the mapping's first start; resolves once on disk.
   *
   * @example
   * if (!store.mappingStartedAt()) await store.markMappingStarted(new Date().toISOString());
   */
  markMappingStarted(at: string): Promise<void> {
    this.stream().mappingStartedAt ??= at;
    return this.persist();
  }

  /** The checkpoint of a shard, if any. */
  get(shardId: string): ShardCheckpoint | undefined {
    return this.stream().shards[shardId];
  }

  /** All checkpoints of the bound stream. */
  all(): Readonly<Record<string, ShardCheckpoint>> {
    return { ...this.stream().shards };
  }

  /**
   * Records progress of a shard; resolves once the change is on disk (immediately without a file).
   *
   * A failed write is logged, not thrown: the records are processed either way, and the next successful write
   * carries the change.
   *
   * @example
   * await store.commit(shardId, { sequenceNumber: last.sequenceNumber });
   */
  commit(shardId: string, update: { sequenceNumber?: string; finished?: boolean }): Promise<void> {
    const shards = this.stream().shards;
    const prev = shards[shardId];
    shards[shardId] = {
      sequenceNumber: update.sequenceNumber ?? prev?.sequenceNumber,
      ...((update.finished ?? prev?.finished) ? { finished: true } : {}),
      updatedAt: new Date().toISOString(),
    };
    return this.persist();
  }

  /**
   * Forgets the checkpoint of a shard (it will start from the mapping's starting position again).
   *
   * @example
   * await store.clear('shardId-000000000000');
   */
  clear(shardId: string): Promise<void> {
    delete this.stream().shards[shardId];
    return this.persist();
  }

  /** Resolves when every change made so far is on disk. */
  flush(): Promise<void> {
    return this.chain;
  }

  private persist(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const target = ++this.version;
    this.chain = this.chain.then(async () => {
      if (this.written >= target) return; // an earlier write already carried this change
      const v = this.version;
      const text = `${JSON.stringify(this.data, null, 2)}\n`;
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        await fs.promises.writeFile(tmp, text);
        await fs.promises.rename(tmp, file);
        this.written = v;
      } catch (e) {
        this.log(`checkpoint write to ${file} failed: ${(e as Error).message}`);
      }
    });
    return this.chain;
  }
}
