import { BucketBuilder, PumpDayAggregator, bucketCount, bucketStart, chooseResolution } from '../../../lambdas/core/series';

const v = (psi: number) => ({ hz: 1, disp: 1, flo: 1, sedPPM: 1, psi, chlPPM: 1 });
const at = (ts: string) => Date.parse(ts);

describe('series buckets', () => {
  it('aligns buckets on UTC boundaries and counts whole buckets', () => {
    expect(bucketStart(at('2014-03-10T05:07:12Z'), '5m')).toBe(at('2014-03-10T05:05:00Z'));
    expect(bucketStart(at('2014-03-10T05:07:12Z'), '1d')).toBe(at('2014-03-10T00:00:00Z'));
    expect(bucketCount(at('2014-03-10T00:00:00Z'), at('2014-03-10T23:59:59Z'), '1h')).toBe(24);
    expect(bucketCount(at('2014-03-10T00:59:59Z'), at('2014-03-10T01:00:00Z'), '1h')).toBe(2);
  });

  it('counts one bucket for a single instant and none for a range that ends before it starts', () => {
    expect(bucketCount(at('2014-03-10T05:07:12Z'), at('2014-03-10T05:07:12Z'), '1h')).toBe(1);
    // Reversed within one bucket, and across several: nothing.
    expect(bucketCount(at('2014-03-10T05:07:12Z'), at('2014-03-10T05:07:11Z'), '1h')).toBe(0);
    expect(bucketCount(at('2014-03-10T05:07:12Z'), at('2014-03-10T01:00:00Z'), '1h')).toBe(0);
  });

  it('chooses the finest resolution that fits the point budget', () => {
    const day = [at('2014-03-10T00:00:00Z'), at('2014-03-10T23:59:59Z')] as const;
    expect(chooseResolution(...day, 1440)).toBe('1m');
    expect(chooseResolution(...day, 1000)).toBe('5m');
    expect(chooseResolution(...day, 24)).toBe('1h');
    expect(chooseResolution(at('2014-01-01T00:00:00Z'), at('2014-03-31T23:59:59Z'), 2500)).toBe('1h');
    expect(chooseResolution(at('2014-01-01T00:00:00Z'), at('2014-03-31T23:59:59Z'), 10)).toBe('1d');
  });

  it('emits each bucket when the next one starts, and refuses readings going back in time', () => {
    const b = new BucketBuilder('1m');
    expect(b.add(at('2014-03-10T05:00:10Z'), v(1))).toBeUndefined();
    expect(b.add(at('2014-03-10T05:00:50Z'), v(3))).toBeUndefined();
    const done = b.add(at('2014-03-10T05:02:00Z'), v(5));
    expect(done).toMatchObject({ ts: '2014-03-10T05:00:00Z', count: 2, measures: { psi: { min: 1, max: 3, avg: 2 } } });
    expect(() => b.add(at('2014-03-10T05:01:00Z'), v(1))).toThrow(/ascending time/);
    expect(b.flush()).toMatchObject({ ts: '2014-03-10T05:02:00Z', count: 1 });
    expect(b.flush()).toBeUndefined();
  });

  it('aggregates a pump-day into its daily row and one row per hour with readings', () => {
    const agg = new PumpDayAggregator('A', '2014-03-10');
    agg.add('05:00:00', v(2));
    agg.add('05:59:59', v(4));
    agg.add('23:00:00', v(9));
    expect(agg.daily()).toMatchObject({ pump: 'A', date: '2014-03-10', count: 3, measures: { psi: { min: 2, max: 9, avg: 5 } } });
    expect(agg.hourly().map((h) => [h.date, h.count, h.measures.psi.avg])).toEqual([
      ['2014-03-10T05', 2, 3],
      ['2014-03-10T23', 1, 9],
    ]);
    expect(() => agg.add('24:00:00', v(1))).toThrow(/HH:MM:SS/);
  });

  it('refuses a time with anything before or after HH:MM:SS', () => {
    const agg = new PumpDayAggregator('A', '2014-03-10');
    for (const time of ['105:00:00', 'x05:00:00', '05:00:00Z', '05:00:000']) expect(() => agg.add(time, v(1))).toThrow(/HH:MM:SS/);
    expect(agg.count).toBe(0);
  });

  it('lists the hours ascending whatever order the readings came in', () => {
    const agg = new PumpDayAggregator('A', '2014-03-10');
    for (const time of ['23:10:00', '05:00:00', '12:30:00', '00:00:01', '09:00:00']) agg.add(time, v(1));
    expect(agg.hourly().map((h) => h.date)).toEqual(['2014-03-10T00', '2014-03-10T05', '2014-03-10T09', '2014-03-10T12', '2014-03-10T23']);
  });
});
