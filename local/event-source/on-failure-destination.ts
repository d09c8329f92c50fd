/**
 * The mapping's on-failure destination in local mode: a JSONL file of Lambda-shaped on-failure records.
 *
 * [OFD] "Each record sent to the destination is a JSON document containing metadata about the failed invocation."
 * Without a file the records are only logged (a mapping without a destination still discards and moves on).
 *
 * Appends go through the file's lock (lambdas/store/jsonl-file.ts): `wellwatch replay failed-batches` removes
 * replayed records from this file through local mode's API, and a removal's rewrite must never lose an append.
 */
import * as path from 'node:path';
import { appendJsonLines } from '../../lambdas/store/jsonl-file';
import type { FailedBatchRecord } from './lambda-events';

/**
 * Appends on-failure records to a JSON Lines file.
 *
 * @example
 * const destination = new OnFailureDestination('/tmp/wellwatch/failed-batches.jsonl');
 * await destination.send(record);
 */
export class OnFailureDestination {
  readonly file: string | undefined;

  constructor(file: string | undefined) {
    this.file = file ? path.resolve(file) : undefined;
  }

  /** Appends one record (one line) under the file's lock; rejects when the file cannot be written. */
  async send(record: FailedBatchRecord): Promise<void> {
    if (!this.file) return;
    await appendJsonLines(this.file, [record]);
  }
}
