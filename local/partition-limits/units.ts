/**
 * DynamoDB item sizes and capacity units, as DynamoDB computes them.
 *
 * Pure. Sizes follow the Developer Guide, "DynamoDB item sizes and formats": "The total size of an item is the sum
 * of the lengths of its attribute names and values"; strings and binaries count their UTF-8 / raw bytes, a number
 * "(1 byte per two significant digits) + (1 byte)", null and Boolean 1 byte, a List or Map "3 bytes of overhead"
 * plus 1 byte per element. Units follow "Read/write capacity mode": one write unit per 1 KB written (rounded up),
 * one read unit per 4 KB read strongly consistent, half of that eventually consistent; a Query sums the sizes of
 * the items it returns and rounds up once.
 */

/** A DynamoDB attribute value in the JSON wire format (`{ S: 'x' }`, `{ M: { … } }`, …). */
export type WireValue = Readonly<Record<string, unknown>>;
/** A DynamoDB item in the JSON wire format. */
export type WireItem = Readonly<Record<string, WireValue>>;

/** Bytes of one write unit and of one (strongly consistent) read unit. */
export const UNIT_BYTES = { write: 1024, read: 4096 } as const;

function utf8(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Size of a number: one byte per two significant digits plus one (leading and trailing zeroes trimmed). */
function numberSize(n: string): number {
  const digits = n.replace(/^[+-]/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/**
 * Size in bytes of one attribute value, without its name.
 *
 * @example
 * valueSize({ S: 'abc' }); // → 3
 */
export function valueSize(v: WireValue): number {
  if ('S' in v) return utf8(String(v.S));
  if ('N' in v) return numberSize(String(v.N));
  if ('B' in v) return Buffer.from(String(v.B), 'base64').length;
  if ('BOOL' in v || 'NULL' in v) return 1;
  if ('SS' in v) return (v.SS as string[]).reduce((a, s) => a + utf8(s), 0);
  if ('NS' in v) return (v.NS as string[]).reduce((a, s) => a + numberSize(s), 0);
  if ('BS' in v) return (v.BS as string[]).reduce((a, s) => a + Buffer.from(s, 'base64').length, 0);
  if ('L' in v) return 3 + (v.L as WireValue[]).reduce((a, e) => a + 1 + valueSize(e), 0);
  if ('M' in v) return 3 + Object.entries(v.M as WireItem).reduce((a, [k, e]) => a + 1 + utf8(k) + valueSize(e), 0);
  return 0;
}

/**
 * Size in bytes of an item: the sum of its attribute names and values.
 *
 * @example
 * itemSize({ pk: { S: 'DAY#2026-12-01' }, sk: { S: 'COHUTTA' } }); // → 2 + 14 + 2 + 7 = 25
 */
export function itemSize(item: WireItem): number {
  let n = 0;
  for (const [name, v] of Object.entries(item)) n += utf8(name) + valueSize(v);
  return n;
}

/**
 * Write units of writing an item of `bytes` bytes: one per started KB, at least one.
 *
 * @example
 * writeUnits(1025); // → 2
 */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / UNIT_BYTES.write));
}

/**
 * Read units of reading `bytes` bytes in one request: one per started 4 KB (at least one), half when eventually
 * consistent.
 *
 * @example
 * readUnits(5000, false); // → 1 (two 4 KB units, halved)
 */
export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / UNIT_BYTES.read));
  return consistent ? units : units / 2;
}
