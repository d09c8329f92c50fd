import { EMF_MAX_METRICS, EMF_MAX_VALUES, METRIC_UNITS, createMetrics, type Metrics } from '../../../lambdas/core/metrics';
import { WellwatchError } from '../../../lambdas/core/errors';
import { NAMES } from '../../../lambdas/config';

const T = Date.UTC(2014, 2, 10, 1, 1);

function capture(): { metrics: Metrics; lines: string[]; docs: () => Record<string, any>[] } {
  const lines: string[] = [];
  const metrics = createMetrics({ namespace: NAMES.metricNamespace, service: NAMES.serviceName, sink: (l) => lines.push(l), now: () => T });
  return { metrics, lines, docs: () => lines.map((l) => JSON.parse(l)) };
}

/**
 * Checks a document against the EMF specification: a root `_aws` with an integer `Timestamp` and a
 * `CloudWatchMetrics` array of directives; each directive has a `Namespace`, `Dimensions` (arrays of dimension
 * names, each a string member of the root) and `Metrics` (≤ 100 entries of `{Name, Unit}`, each name a root member
 * holding a number or an array of ≤ 100 numbers).
 */
function expectValidEmf(doc: Record<string, any>): void {
  expect(Object.keys(doc._aws).sort()).toEqual(['CloudWatchMetrics', 'Timestamp']);
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  expect(Array.isArray(doc._aws.CloudWatchMetrics)).toBe(true);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(typeof directive.Namespace).toBe('string');
    expect(directive.Namespace.length).toBeGreaterThan(0);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const dim of set) expect(typeof doc[dim]).toBe('string');
    }
    expect(directive.Metrics.length).toBeLessThanOrEqual(EMF_MAX_METRICS);
    for (const m of directive.Metrics) {
      expect(Object.keys(m).sort()).toEqual(['Name', 'Unit']);
      expect(METRIC_UNITS).toContain(m.Unit);
      const v = doc[m.Name];
      const values = Array.isArray(v) ? v : [v];
      expect(values.length).toBeGreaterThan(0);
      expect(values.length).toBeLessThanOrEqual(EMF_MAX_VALUES);
      for (const x of values) expect(Number.isFinite(x)).toBe(true);
    }
  }
}

describe('createMetrics', () => {
  it('writes everything of one invocation as a single EMF line with the service dimension', () => {
    const { metrics, lines, docs } = capture();
    metrics.count('ReadingsStored', 40);
    metrics.count('ReadingsStored', 2);
    metrics.count('DeadLetters');
    metrics.gauge('BatchMaxPsi', 87);
    metrics.gauge('WriteLatency', 12.5, 'Milliseconds');
    expect(lines).toEqual([]);
    metrics.flush();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const [doc] = docs();
    expectValidEmf(doc!);
    expect(doc).toEqual({
      _aws: {
        Timestamp: T,
        CloudWatchMetrics: [
          {
            Namespace: 'Wellwatch',
            Dimensions: [['service']],
            Metrics: [
              { Name: 'ReadingsStored', Unit: 'Count' },
              { Name: 'DeadLetters', Unit: 'Count' },
              { Name: 'BatchMaxPsi', Unit: 'None' },
              { Name: 'WriteLatency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: 'wellwatch',
      ReadingsStored: 42,
      DeadLetters: 1,
      BatchMaxPsi: 87,
      WriteLatency: 12.5,
    });
  });

  it('writes nothing when nothing was recorded, and starts afresh after a flush', () => {
    const { metrics, lines, docs } = capture();
    metrics.flush();
    expect(lines).toEqual([]);
    metrics.count('A', 1);
    metrics.flush();
    metrics.flush();
    metrics.count('B', 2);
    metrics.flush();
    expect(docs().map((d) => [d.A, d.B])).toEqual([
      [1, undefined],
      [undefined, 2],
    ]);
  });

  it('publishes a zero count (a batch with no dead letters is worth graphing)', () => {
    const { metrics, docs } = capture();
    metrics.count('DeadLetters', 0);
    metrics.flush();
    expect(docs()[0]!.DeadLetters).toBe(0);
  });

  it('keeps repeated gauge values as an EMF value array', () => {
    const { metrics, docs } = capture();
    metrics.gauge('BatchSize', 10, 'Count');
    metrics.gauge('BatchSize', 20, 'Count');
    metrics.flush();
    expect(docs()[0]!.BatchSize).toEqual([10, 20]);
    expectValidEmf(docs()[0]!);
  });

  it('drops non-finite values, and omits a gauge that had only those', () => {
    const { metrics, lines, docs } = capture();
    metrics.gauge('AvgPsi', NaN);
    metrics.count('Infinite', Infinity);
    metrics.flush();
    expect(docs()).toEqual([expect.objectContaining({ Infinite: 0 })]);
    expect(lines[0]).not.toContain('AvgPsi');
    metrics.gauge('AvgPsi', NaN);
    metrics.flush();
    expect(lines).toHaveLength(1);
  });

  it('splits more than 100 metrics into several valid lines', () => {
    const { metrics, docs } = capture();
    for (let i = 0; i < 150; i++) metrics.count(`M${i}`, i);
    metrics.flush();
    const all = docs();
    expect(all).toHaveLength(2);
    all.forEach(expectValidEmf);
    expect(all.map((d) => d._aws.CloudWatchMetrics[0].Metrics.length)).toEqual([100, 50]);
    expect(all[1]!.M149).toBe(149);
  });

  it('flushes early rather than exceed 100 values of one metric', () => {
    const { metrics, docs } = capture();
    for (let i = 0; i < 150; i++) metrics.gauge('Latency', i, 'Milliseconds');
    metrics.flush();
    const all = docs();
    all.forEach(expectValidEmf);
    expect(all.map((d) => d.Latency.length)).toEqual([100, 50]);
  });

  it('rejects reserved names and a name reused with another unit or kind', () => {
    const { metrics } = capture();
    expect(() => metrics.count('service')).toThrow(WellwatchError);
    expect(() => metrics.count('_aws')).toThrow(WellwatchError);
    expect(() => metrics.count('')).toThrow(WellwatchError);
    expect(() => metrics.count('x'.repeat(256))).toThrow('metric name must be 1–255 characters and not _aws or service, got "' + 'x'.repeat(256) + '"');
    expect(() => metrics.count('x'.repeat(255))).not.toThrow();
    metrics.count('Stored');
    expect(() => metrics.gauge('Stored', 1, 'Count')).toThrow('metric Stored already recorded as a counter in Count, now a gauge in Count');
    metrics.gauge('Latency', 1, 'Milliseconds');
    expect(() => metrics.gauge('Latency', 1, 'Seconds')).toThrow('metric Latency already recorded as a gauge in Milliseconds, now a gauge in Seconds');
    expect(() => metrics.count('Latency')).toThrow('metric Latency already recorded as a gauge in Milliseconds, now a counter in Count');
  });

  it('prints exactly one line for exactly 100 metrics, and nothing when nothing was recorded', () => {
    const { metrics, lines } = capture();
    metrics.flush();
    expect(lines).toEqual([]);
    for (let i = 0; i < EMF_MAX_METRICS; i++) metrics.count(`M${i}`, i);
    metrics.flush();
    expect(lines).toHaveLength(1);
  });

  it('writes to console.log by default', () => {
    const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const metrics = createMetrics({ namespace: 'Wellwatch', service: 'wellwatch' });
      metrics.count('X', 3);
      metrics.flush();
      expect(spy).toHaveBeenCalledTimes(1);
      expect(JSON.parse(spy.mock.calls[0]![0] as string)).toMatchObject({ X: 3, service: 'wellwatch' });
    } finally {
      spy.mockRestore();
    }
  });
});
