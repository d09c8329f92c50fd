/**
 * Key schemas of tables and their global secondary indexes, and what a write or a read costs on which key.
 *
 * Pure. The proxy learns each schema from DescribeTable, so it follows whatever keys the tables carry (today's or
 * the sharded ones) without a list of its own.
 *
 * A write costs units on the table's partition key and on every index the item lands in: "For a table write to
 * succeed, the provisioned throughput settings for the table and global secondary indexes must have enough write
 * capacity to accommodate the write; otherwise, the write will be throttled" (AWS whitepaper "Comparing the Use of
 * Amazon DynamoDB and Apache HBase for NoSQL", Global Secondary Index Considerations), and "If an update to the table
 * changes the value of an indexed key attribute (from A to B), two writes are required, one to delete the previous
 * item from the index and another write to put the new item into the index" (Developer Guide, GSI.html#GSI.Writes).
 * An index entry is the projected item: all
 * of it for ALL, the table's and the index's keys for KEYS_ONLY, plus the named attributes for INCLUDE.
 */
import { itemSize, writeUnits, type WireItem, type WireValue } from './units';
import type { Charge } from './key-meter';

/** A global secondary index as far as metering goes. */
export interface IndexSchema {
  readonly name: string;
  readonly arn: string;
  readonly hashKey: string;
  readonly rangeKey?: string;
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly nonKeyAttributes: readonly string[];
}

/** A table as far as metering goes. */
export interface TableSchema {
  readonly table: string;
  readonly arn: string;
  readonly hashKey: string;
  readonly rangeKey?: string;
  readonly indexes: readonly IndexSchema[];
}

interface KeySchemaElement {
  readonly AttributeName: string;
  readonly KeyType: string;
}

/** The part of a DescribeTable answer (wire JSON) the schema is read from. */
export interface TableDescription {
  readonly TableName: string;
  readonly TableArn?: string;
  readonly KeySchema: readonly KeySchemaElement[];
  readonly GlobalSecondaryIndexes?: readonly {
    readonly IndexName: string;
    readonly IndexArn?: string;
    readonly KeySchema: readonly KeySchemaElement[];
    readonly Projection?: { readonly ProjectionType?: string; readonly NonKeyAttributes?: readonly string[] };
  }[];
}

const keyOf = (schema: readonly KeySchemaElement[], type: 'HASH' | 'RANGE') => schema.find((k) => k.KeyType === type)?.AttributeName;

/**
 * Reads a table's schema from its DescribeTable description.
 *
 * @example
 * schemaFromDescription((await describe('wellwatch-readings')).Table);
 */
export function schemaFromDescription(d: TableDescription): TableSchema {
  const arn = d.TableArn ?? `arn:aws:dynamodb:us-east-1:000000000000:table/${d.TableName}`;
  return {
    table: d.TableName,
    arn,
    hashKey: keyOf(d.KeySchema, 'HASH')!,
    ...(keyOf(d.KeySchema, 'RANGE') ? { rangeKey: keyOf(d.KeySchema, 'RANGE')! } : {}),
    indexes: (d.GlobalSecondaryIndexes ?? []).map((i) => ({
      name: i.IndexName,
      arn: i.IndexArn ?? `${arn}/index/${i.IndexName}`,
      hashKey: keyOf(i.KeySchema, 'HASH')!,
      ...(keyOf(i.KeySchema, 'RANGE') ? { rangeKey: keyOf(i.KeySchema, 'RANGE')! } : {}),
      projection: (i.Projection?.ProjectionType ?? 'ALL') as IndexSchema['projection'],
      nonKeyAttributes: i.Projection?.NonKeyAttributes ?? [],
    })),
  };
}

/**
 * The text of a key attribute value (`S` and `N` as they are, `B` base64), or undefined when it is not a scalar.
 *
 * @example
 * keyText({ S: 'DAY#2026-12-01' }); // → 'DAY#2026-12-01'
 */
export function keyText(v: WireValue | undefined): string | undefined {
  if (!v) return undefined;
  if ('S' in v) return String(v.S);
  if ('N' in v) return String(v.N);
  if ('B' in v) return String(v.B);
  return undefined;
}

/** The resource name of an index in the meter: `table/index`. */
export function indexResource(schema: TableSchema, index: IndexSchema): string {
  return `${schema.table}/${index.name}`;
}

function indexEntry(schema: TableSchema, index: IndexSchema, item: WireItem): WireItem | undefined {
  const hash = item[index.hashKey];
  if (keyText(hash) === undefined || (index.rangeKey !== undefined && keyText(item[index.rangeKey]) === undefined)) return undefined;
  if (index.projection === 'ALL') return item;
  const keep = new Set([schema.hashKey, schema.rangeKey, index.hashKey, index.rangeKey, ...(index.projection === 'INCLUDE' ? index.nonKeyAttributes : [])]);
  return Object.fromEntries(Object.entries(item).filter(([k]) => keep.has(k)));
}

function fullKey(index: IndexSchema, item: WireItem): string {
  return `${keyText(item[index.hashKey])}\u0000${index.rangeKey ? keyText(item[index.rangeKey]) : ''}`;
}

/**
 * The write charges of changing an item from `before` to `after` (either absent: a put of a new item, a delete).
 *
 * The table pays for the larger of the two images; each index pays one write for the new entry and one for
 * removing the old entry when the item leaves the index or moves to another index key.
 *
 * @example
 * writeCharges(schema, readingItem, undefined); // table key, plus the alert indexes when the reading alerts
 */
export function writeCharges(schema: TableSchema, after: WireItem | undefined, before: WireItem | undefined): Charge[] {
  const image = after ?? before;
  if (!image) return [];
  const tableKey = keyText(image[schema.hashKey]);
  if (tableKey === undefined) return [];
  const charges: Charge[] = [
    {
      resource: schema.table,
      key: tableKey,
      direction: 'write',
      units: writeUnits(Math.max(after ? itemSize(after) : 0, before ? itemSize(before) : 0)),
      arn: schema.arn,
      index: false,
    },
  ];
  for (const index of schema.indexes) {
    const resource = indexResource(schema, index);
    const newEntry = after ? indexEntry(schema, index, after) : undefined;
    const oldEntry = before ? indexEntry(schema, index, before) : undefined;
    if (newEntry) charges.push({ resource, key: keyText(after![index.hashKey])!, direction: 'write', units: writeUnits(itemSize(newEntry)), arn: index.arn, index: true });
    if (oldEntry && (!newEntry || fullKey(index, after!) !== fullKey(index, before!))) {
      charges.push({ resource, key: keyText(before![index.hashKey])!, direction: 'write', units: writeUnits(itemSize(oldEntry)), arn: index.arn, index: true });
    }
  }
  return charges;
}

/** Splits a clause list at top-level commas (not inside function parentheses). */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(s.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

/** The clauses of an update expression by action (SET, REMOVE, ADD, DELETE). */
function clauses(expression: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\b(SET|REMOVE|ADD|DELETE)\b/gi;
  const marks: { action: string; at: number; end: number }[] = [];
  for (let m = re.exec(expression); m; m = re.exec(expression)) marks.push({ action: m[1]!.toUpperCase(), at: m.index, end: m.index + m[0].length });
  marks.forEach((mark, i) => (out[mark.action] = expression.slice(mark.end, marks[i + 1]?.at ?? expression.length)));
  return out;
}

/**
 * The item an UpdateItem leaves behind, as far as top-level attributes go: `name = :v`, `name = if_not_exists(name,
 * :v)` and `REMOVE name` are applied; anything else (arithmetic, nested paths, list_append) keeps the old value —
 * enough to know which index keys the item ends up under, which is what metering needs.
 *
 * @example
 * applyUpdate({ pk: { S: 'A' } }, 'SET #s = :s REMOVE #x', { '#s': 'state', '#x': 'x' }, { ':s': { S: 'open' } });
 */
export function applyUpdate(
  before: WireItem,
  expression: string | undefined,
  names: Readonly<Record<string, string>> = {},
  values: Readonly<Record<string, WireValue>> = {},
): WireItem {
  const item: Record<string, WireValue> = { ...before };
  if (!expression) return item;
  const name = (token: string) => (token.startsWith('#') ? names[token] : token);
  const c = clauses(expression);
  for (const assignment of splitTopLevel(c.SET ?? '')) {
    const m = /^([#\w]+)\s*=\s*(.+)$/.exec(assignment);
    if (!m) continue;
    const target = name(m[1]!);
    const rhs = m[2]!.trim();
    if (!target) continue;
    const plain = /^(:\w+)$/.exec(rhs);
    const ifNotExists = /^if_not_exists\s*\(\s*([#\w]+)\s*,\s*(:\w+)\s*\)$/.exec(rhs);
    if (plain && values[plain[1]!]) item[target] = values[plain[1]!]!;
    else if (ifNotExists && values[ifNotExists[2]!] && item[name(ifNotExists[1]!) ?? ''] === undefined) item[target] = values[ifNotExists[2]!]!;
  }
  for (const path of splitTopLevel(c.REMOVE ?? '')) {
    const target = name(path);
    if (target) delete item[target];
  }
  return item;
}

/**
 * The partition key value a Query's key condition names (`#pk = :pk` or `pk = :pk`, either side), or undefined.
 *
 * @example
 * queryPartition('pk', '#p = :p AND #s > :t', { '#p': 'pk', '#s': 'sk' }, { ':p': { S: 'DAYS' } }); // → 'DAYS'
 */
export function queryPartition(
  hashKey: string,
  condition: string | undefined,
  names: Readonly<Record<string, string>> = {},
  values: Readonly<Record<string, WireValue>> = {},
): string | undefined {
  if (!condition) return undefined;
  const re = /([#:]?\w+)\s*=\s*([#:]?\w+)/g;
  for (let m = re.exec(condition); m; m = re.exec(condition)) {
    const [a, b] = [m[1]!, m[2]!];
    const [attr, value] = a.startsWith(':') ? [b, a] : [a, b];
    const resolved = attr.startsWith('#') ? names[attr] : attr;
    if (resolved === hashKey && value.startsWith(':')) return keyText(values[value]);
  }
  return undefined;
}
