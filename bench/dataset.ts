/**
 * The benchmark's data: seed-format lines from the project's deterministic generator, held as text blocks.
 *
 * Every section reads the same lines. They are kept as a few hundred newline-joined blocks of ~1,000 lines (about
 * 48 KiB each, the size of a well-filled Kinesis record) rather than as a million separate strings or objects: the
 * whole set costs ~50 MB of string data, nothing per line survives between passes, and a block is exactly what the
 * consumer receives — one record's payload.
 */
import { generateReadings, type GeneratorOptions } from '../lambdas/core/generator';

/** Generator options of the main data set: 1,042 pumps for one day ≈ 1,000,000 lines. */
export const MAIN_DATASET: GeneratorOptions = { pumps: 1042, days: 1, seed: 20140310, start: '2014-03-10' };

/** Lines per text block. */
export const LINES_PER_BLOCK = 1000;

/** The data set as text blocks plus its counts. */
export interface Dataset {
  readonly options: GeneratorOptions;
  /** Newline-joined lines, no trailing newline, {@link LINES_PER_BLOCK} lines each (the last may be shorter). */
  readonly blocks: readonly string[];
  readonly lines: number;
  /** UTF-8 bytes of all lines, newlines excluded. */
  readonly bytes: number;
  /** Milliseconds the generator took. */
  readonly generateMs: number;
}

/**
 * Generates a data set into text blocks, streaming the generator (never more than one block of lines in an array).
 *
 * @example
 * const data = buildDataset(MAIN_DATASET);
 * for (const block of data.blocks) handle(block);
 */
export function buildDataset(options: GeneratorOptions, linesPerBlock = LINES_PER_BLOCK): Dataset {
  const started = performance.now();
  const blocks: string[] = [];
  let current: string[] = [];
  let lines = 0;
  let bytes = 0;
  for (const line of generateReadings(options)) {
    current.push(line);
    lines++;
    bytes += line.length; // generated lines are ASCII
    if (current.length === linesPerBlock) {
      blocks.push(current.join('\n'));
      current = [];
    }
  }
  if (current.length > 0) blocks.push(current.join('\n'));
  return { options, blocks, lines, bytes, generateMs: performance.now() - started };
}

/**
 * Iterates the lines of text blocks one block at a time (an array of ≤ 1,000 lines per step).
 *
 * @example
 * for (const lines of blockLines(data.blocks)) for (const line of lines) producer.add(line, 'bench', ++n);
 */
export function* blockLines(blocks: readonly string[]): Generator<string[]> {
  for (const block of blocks) yield block.split('\n');
}

/**
 * Today's UTC day, `YYYY-MM-DD`.
 *
 * Sections that run through the consumer use live-dated data so that it writes what a live deployment writes (no
 * "late data" pending markers).
 *
 * @example
 * todayUtc(new Date('2026-11-24T15:00:00Z')); // → '2026-11-24'
 */
export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}
