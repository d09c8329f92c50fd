/**
 * A tiny CloudWatch Embedded Metric Format (EMF) emitter.
 *
 * A Lambda function publishes metrics by printing one JSON line to stdout; CloudWatch Logs extracts them
 * asynchronously, so publishing costs no API call and no latency. The line looks like
 *
 * ```json
 * {"_aws":{"Timestamp":1394413260000,"CloudWatchMetrics":[{"Namespace":"Wellwatch","Dimensions":[["service"]],
 *   "Metrics":[{"Name":"ReadingsStored","Unit":"Count"}]}]},"service":"wellwatch","ReadingsStored":42}
 * ```
 *
 * Everything recorded during one invocation is batched into one line at {@link Metrics.flush} (more lines only
 * past EMF's 100-metrics-per-directive limit). See
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { WellwatchError } from './errors';

/** The units CloudWatch accepts. */
export const METRIC_UNITS = [
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
] as const;
/** One CloudWatch metric unit. */
export type MetricUnit = (typeof METRIC_UNITS)[number];

/** EMF allows at most this many metrics per directive and this many values per metric. */
export const EMF_MAX_METRICS = 100;
export const EMF_MAX_VALUES = 100;

/** Name of the single dimension every metric carries. */
export const SERVICE_DIMENSION = 'service';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** CloudWatch namespace, e.g. `Wellwatch`. */
  readonly namespace: string;
  /** Value of the `service` dimension, e.g. `wellwatch`. */
  readonly service: string;
  /**
   * Where each EMF line goes.
   *
   * @default - `console.log`, which Lambda forwards to CloudWatch Logs
   */
  readonly sink?: (line: string) => void;
  /**
   * Clock for the `Timestamp` field (epoch milliseconds), read at flush time.
   *
   * @default - `Date.now`
   */
  readonly now?: () => number;
}

/** Collects metrics of one invocation and writes them as EMF. */
export interface Metrics {
  /** Adds `n` (default 1) to a counter; counters with the same name are summed until flush. Unit `Count`. */
  count(name: string, n?: number): void;
  /** Records a value; several values of the same name are kept (EMF value arrays). */
  gauge(name: string, value: number, unit?: MetricUnit): void;
  /** Writes everything recorded since the last flush and forgets it; writes nothing when nothing was recorded. */
  flush(): void;
}

interface Entry {
  readonly unit: MetricUnit;
  /** `undefined` for a gauge; the running sum for a counter. */
  sum: number | undefined;
  readonly values: number[];
}

const RESERVED = new Set(['_aws', SERVICE_DIMENSION]);

/**
 * Creates an EMF emitter with the `service` dimension.
 *
 * Non-finite values (NaN, ±Infinity) are dropped: EMF rejects them and a metric must never fail an invocation.
 *
 * @throws WellwatchError for an empty or reserved metric name, or a name reused with another unit.
 * @example
 * const metrics = createMetrics({ namespace: NAMES.metricNamespace, service: NAMES.serviceName });
 * metrics.count('ReadingsStored', readings.length);
 * metrics.gauge('BatchMaxPsi', 87, 'None');
 * metrics.flush(); // one JSON line on stdout
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { namespace, service } = options;
  const sink = options.sink ?? ((line: string) => console.log(line));
  const now = options.now ?? Date.now;
  let entries = new Map<string, Entry>();

  const entry = (name: string, unit: MetricUnit, counter: boolean): Entry => {
    let e = entries.get(name);
    if (e === undefined) {
      if (name.length === 0 || name.length > 255 || RESERVED.has(name)) {
        throw new WellwatchError(`metric name must be 1–255 characters and not _aws or service, got ${JSON.stringify(name)}`);
      }
      e = { unit, sum: counter ? 0 : undefined, values: [] };
      entries.set(name, e);
    } else if (e.unit !== unit || (e.sum !== undefined) !== counter) {
      throw new WellwatchError(
        `metric ${name} already recorded as ${e.sum !== undefined ? 'a counter' : 'a gauge'} in ${e.unit}, ` +
          `now ${counter ? 'a counter' : 'a gauge'} in ${unit}`,
      );
    }
    return e;
  };

  const flush = (): void => {
    // A gauge whose only values were non-finite has nothing to publish.
    const all = [...entries].filter(([, e]) => e.sum !== undefined || e.values.length > 0);
    entries = new Map();
    if (all.length === 0) return;
    const timestamp = now();
    for (let i = 0; i < all.length; i += EMF_MAX_METRICS) {
      const chunk = all.slice(i, i + EMF_MAX_METRICS);
      const doc: Record<string, unknown> = {
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [[SERVICE_DIMENSION]],
              Metrics: chunk.map(([name, e]) => ({ Name: name, Unit: e.unit })),
            },
          ],
        },
        [SERVICE_DIMENSION]: service,
      };
      for (const [name, e] of chunk) {
        doc[name] = e.sum !== undefined ? e.sum : e.values.length === 1 ? e.values[0] : e.values;
      }
      sink(JSON.stringify(doc));
    }
  };

  return {
    count(name, n = 1) {
      const e = entry(name, 'Count', true);
      if (Number.isFinite(n)) e.sum! += n;
    },
    gauge(name, value, unit = 'None') {
      const e = entry(name, unit, false);
      if (!Number.isFinite(value)) return;
      if (e.values.length === EMF_MAX_VALUES) flush();
      entry(name, unit, false).values.push(value);
    },
    flush,
  };
}
