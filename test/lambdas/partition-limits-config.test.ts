/** PARTITION_LIMITS in config.ts: the scale factor and burst of local mode's partition-limit proxy. */
import { ConfigError } from '../../lambdas/core/errors';
import { FLEET_KEYS, loadPartitionLimits } from '../../lambdas/config';

describe('loadPartitionLimits', () => {
  test('is off unless a factor is given', () => {
    expect(loadPartitionLimits({}, {})).toBeUndefined();
    expect(loadPartitionLimits({}, { WELLWATCH_PARTITION_LIMITS: 'off' })).toBeUndefined();
  });

  test("divides DynamoDB's per-key limits by the factor, option over environment", () => {
    expect(loadPartitionLimits({ factor: 100 }, { WELLWATCH_PARTITION_LIMITS: '10' })).toEqual({
      factor: 100,
      burstSeconds: 1,
      writeUnitsPerSecond: FLEET_KEYS.partitionWriteUnitsPerSecond / 100,
      readUnitsPerSecond: FLEET_KEYS.partitionReadUnitsPerSecond / 100,
    });
    expect(loadPartitionLimits({}, { WELLWATCH_PARTITION_LIMITS: '10', WELLWATCH_PARTITION_BURST_SECONDS: '2.5' })).toMatchObject({ factor: 10, burstSeconds: 2.5, writeUnitsPerSecond: 100 });
  });

  test('rejects a factor below 1 or not a number, and a burst that is not positive, naming the value', () => {
    expect(() => loadPartitionLimits({ factor: '0.5' }, {})).toThrow(new ConfigError('partition-limits factor must be a number ≥ 1, got "0.5"'));
    expect(() => loadPartitionLimits({ factor: 'ten' }, {})).toThrow(ConfigError);
    expect(() => loadPartitionLimits({ factor: 10, burstSeconds: 0 }, {})).toThrow('partition-limits burst must be a number of seconds > 0, got 0');
  });
});
