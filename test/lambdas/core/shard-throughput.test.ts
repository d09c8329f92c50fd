/**
 * A shard's packing and consumer throughput in the sizing model, against hand-computed figures.
 */
import { readingsPerRecord, shardConsumer } from '../../../lambdas/core/shard-throughput';

describe('readingsPerRecord and shardConsumer', () => {
  it('fills a record to the byte budget when the shard is busy, and to the linger otherwise', () => {
    expect(readingsPerRecord(100_000, 65_536)).toBe(Math.floor(65_536 / 50.3)); // 1,302: full
    expect(readingsPerRecord(100, 65_536)).toBeCloseTo(20, 6); // 100/s × 0.2 s
    expect(readingsPerRecord(1, 65_536)).toBe(1); // never less than one reading
  });

  it('bounds a batch by Lambda\'s 6 MB payload when records are large', () => {
    // 1,302 readings × 50.3 B = 65,491 B/record → base64 87,321 + 400 → 6 MB / 87,721 = 71 records.
    expect(shardConsumer(1_302, 100, 8).records).toBe(71);
    expect(shardConsumer(10, 100, 8).records).toBe(100);
  });
});
