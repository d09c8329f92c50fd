/**
 * The fix file of `wellwatch redrive deadletters --fix FILE`: corrected lines keyed by the dead letter they replace.
 *
 * JSON Lines (or one JSON array), one object per corrected line:
 * `{"shardId":"shardId-000000000001","sequenceNumber":"4959…","lineInRecord":3,"line":"COHUTTA,3/10/14,1:01,…"}`.
 * The other fields of a dead letter (`raw`, `reason`, `code`, …) may stay in the object, so the output of
 * `wellwatch query deadletters --format json` with a `line` added to each entry is a valid fix file. Anything else
 * is refused with the entry's number, before anything is sent.
 */
import * as fs from 'node:fs/promises';
import { WellwatchError } from '../lambdas/core/errors';
import { deadLetterId } from '../lambdas/core/message-ids';

/** Fields a fix entry may carry: its key, its line, and what a dead letter holds. */
const ALLOWED = new Set(['shardId', 'sequenceNumber', 'lineInRecord', 'line', 'raw', 'rawLength', 'reason', 'code', 'partitionKey', 'rejectedAt']);

/** A fix file that cannot be used (unreadable, malformed, or naming letters that do not exist). */
export class FixFileError extends WellwatchError {
  constructor(message: string) {
    super(message);
    this.name = 'FixFileError';
  }
}

/**
 * Reads a fix file into dead-letter id → corrected line.
 *
 * @throws FixFileError naming the file, the entry and what is wrong with it.
 * @example
 * const fixes = await readFixFile('fixes.jsonl'); // Map { 'shardId-000000000001:4959…:3' => 'COHUTTA,…' }
 */
export async function readFixFile(file: string): Promise<Map<string, string>> {
  const text = await fs.readFile(file, 'utf8');
  let entries: unknown[];
  const trimmed = text.trim();
  try {
    entries = trimmed.startsWith('[') ? (JSON.parse(trimmed) as unknown[]) : trimmed.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  } catch (e) {
    throw new FixFileError(`${file}: not JSON Lines or a JSON array: ${(e as Error).message}`);
  }
  const fixes = new Map<string, string>();
  entries.forEach((entry, i) => {
    const where = `${file}: entry ${i + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new FixFileError(`${where} must be an object`);
    const e = entry as Record<string, unknown>;
    const unknown = Object.keys(e).filter((k) => !ALLOWED.has(k));
    if (unknown.length) throw new FixFileError(`${where} has unknown field(s) ${unknown.join(', ')} (a fix is {shardId, sequenceNumber, lineInRecord, line})`);
    if (typeof e.shardId !== 'string' || typeof e.sequenceNumber !== 'string' || !/^\d{1,128}$/.test(e.sequenceNumber)) {
      throw new FixFileError(`${where} needs shardId and sequenceNumber (a string of digits) of the dead letter it fixes`);
    }
    if (e.lineInRecord !== undefined && (!Number.isInteger(e.lineInRecord) || (e.lineInRecord as number) < 1)) {
      throw new FixFileError(`${where}: lineInRecord must be a whole number ≥ 1, got ${JSON.stringify(e.lineInRecord)}`);
    }
    if (typeof e.line !== 'string' || e.line.trim() === '' || /[\r\n]/.test(e.line)) throw new FixFileError(`${where}: line must be one non-empty corrected CSV line`);
    const id = deadLetterId({ shardId: e.shardId, sequenceNumber: e.sequenceNumber, lineInRecord: e.lineInRecord as number | undefined });
    if (fixes.has(id)) throw new FixFileError(`${where} fixes ${id} a second time`);
    fixes.set(id, e.line);
  });
  if (fixes.size === 0) throw new FixFileError(`${file} holds no fixes`);
  return fixes;
}
