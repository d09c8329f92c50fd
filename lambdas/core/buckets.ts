/**
 * Write-sharding of keys that many pumps share.
 *
 * A key written by every pump (a day's catalog of pump-days, a day's alerts, the pending pump-days, the pump
 * registry) would take a whole fleet's writes on one partition, and DynamoDB serves at most 1,000 write units and
 * 3,000 read units per second per partition key (see FLEET_KEYS in config.ts). Such keys carry a bucket instead:
 * `FNV-1a(pump) mod buckets`, so each bucket takes `1 / buckets` of the rate and every reader fans out over the
 * buckets (one Query each, never a Scan).
 */

/**
 * The write-sharding bucket of a pump: FNV-1a (32-bit) of its id modulo `buckets`.
 *
 * Stable across processes and releases (it decides where items live), cheap, and spreads similar ids.
 *
 * @example
 * pumpBucket('COHUTTA', 16); // → a number in 0..15, always the same one
 */
export function pumpBucket(pump: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < pump.length; i++) {
    h ^= pump.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % buckets;
}

/**
 * Every bucket number of a key sharded over `buckets`, ascending: what a fan-out reader queries.
 *
 * @example
 * allBuckets(4); // → [0, 1, 2, 3]
 */
export function allBuckets(buckets: number): number[] {
  return Array.from({ length: buckets }, (_, b) => b);
}
