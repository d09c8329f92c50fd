/** Item sizes, capacity units and per-key write charges, by DynamoDB's documented rules. */
import { itemSize, readUnits, writeUnits } from '../../../local/partition-limits/units';
import { applyUpdate, queryPartition, schemaFromDescription, writeCharges } from '../../../local/partition-limits/schema';

const schema = schemaFromDescription({
  TableName: 'alarms',
  TableArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/alarms',
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  GlobalSecondaryIndexes: [
    { IndexName: 'open', KeySchema: [{ AttributeName: 'ob', KeyType: 'HASH' }, { AttributeName: 'os', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
  ],
});

describe('item size and units', () => {
  test('counts names and values: strings by UTF-8 bytes, numbers by two digits a byte plus one, maps 3 plus 1 per element', () => {
    expect(itemSize({ pk: { S: 'DAY#2026-12-01' }, sk: { S: 'COHUTTA' } })).toBe(2 + 14 + 2 + 7);
    expect(itemSize({ n: { N: '1234.5' } })).toBe(1 + 3 + 1);
    expect(itemSize({ n: { N: '0.00100' } })).toBe(1 + 1 + 1);
    expect(itemSize({ d: { M: { psi: { N: '85' } } } })).toBe(1 + 3 + 1 + 3 + 2);
    expect(itemSize({ é: { S: 'é' } })).toBe(4);
  });

  test('rounds writes up per KB and reads per 4 KB, halving eventually consistent reads', () => {
    expect([writeUnits(0), writeUnits(1024), writeUnits(1025)]).toEqual([1, 1, 2]);
    expect([readUnits(0, true), readUnits(4097, true), readUnits(4097, false)]).toEqual([1, 2, 1]);
  });
});

describe('write charges', () => {
  const open = { pk: { S: 'A#1' }, sk: { S: 'state' }, ob: { S: 'O#3' }, os: { S: 't1' }, note: { S: 'x'.repeat(2_000) } };

  test('a KEYS_ONLY index entry costs the size of the keys, not of the item', () => {
    expect(writeCharges(schema, open, undefined).map((c) => [c.resource, c.key, c.units])).toEqual([
      ['alarms', 'A#1', 2],
      ['alarms/open', 'O#3', 1],
    ]);
  });

  test('moving an item to another index key costs a delete on the old key and a put on the new one', () => {
    const moved = { ...open, ob: { S: 'O#7' } };
    expect(writeCharges(schema, moved, open).filter((c) => c.index).map((c) => c.key)).toEqual(['O#7', 'O#3']);
    const closed = { pk: open.pk, sk: open.sk };
    expect(writeCharges(schema, closed, open).filter((c) => c.index).map((c) => c.key)).toEqual(['O#3']);
    expect(writeCharges(schema, open, open).filter((c) => c.index)).toHaveLength(1);
  });

  test('an update applies plain SET, if_not_exists and REMOVE to top-level attributes', () => {
    const after = applyUpdate(
      { pk: { S: 'A' }, ob: { S: 'O#1' }, v: { N: '1' } },
      'SET #ob = :ob, #f = if_not_exists(#f, :f), #v = #v + :one REMOVE #x',
      { '#ob': 'ob', '#f': 'first', '#v': 'v', '#x': 'ob2' },
      { ':ob': { S: 'O#2' }, ':f': { S: 'now' }, ':one': { N: '1' } },
    );
    expect(after).toEqual({ pk: { S: 'A' }, ob: { S: 'O#2' }, first: { S: 'now' }, v: { N: '1' } });
  });

  test("finds a Query's partition key value on either side of the equality", () => {
    expect(queryPartition('pk', '#p = :p AND #s BETWEEN :a AND :b', { '#p': 'pk', '#s': 'sk' }, { ':p': { S: 'DAYS' } })).toBe('DAYS');
    expect(queryPartition('apk', ':d = apk', {}, { ':d': { S: '2026-12-01#3' } })).toBe('2026-12-01#3');
    expect(queryPartition('pk', '#s = :s', { '#s': 'sk' }, { ':s': { S: 'x' } })).toBeUndefined();
  });
});
