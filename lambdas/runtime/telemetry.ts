/**
 * Logging and metrics of the Lambda handlers, through Powertools for AWS Lambda (TypeScript) Logger and Metrics.
 *
 * Logs are structured JSON lines (level, message, timestamp, service, and after `addContext` the request id, the
 * function name and the cold-start flag); metrics are CloudWatch Embedded Metric Format lines written by
 * Powertools' Metrics, one per invocation, in the `Wellwatch` namespace with the `service` dimension. Both write to
 * stdout in Lambda. Local mode and tests pass sinks instead: the subclasses below hand each finished line to the
 * sink through Powertools' own extension points (the protected `printLog`, the public `serializeMetrics`), so the
 * lines are exactly those Lambda would print.
 *
 * Not in `lambdas/core`: the core stays pure and free of runtime libraries.
 */
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { NAMES } from '../config';

/** Where finished lines go instead of stdout. */
export type LineSink = (line: string) => void;

class SinkLogger extends Logger {
  readonly #sink: LineSink;

  constructor(options: ConstructorParameters<typeof Logger>[0], sink: LineSink) {
    super(options);
    this.#sink = sink;
  }

  protected override printLog(_logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    this.#sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

class SinkMetrics extends Metrics {
  readonly #sink: LineSink;

  constructor(options: ConstructorParameters<typeof Metrics>[0], sink: LineSink) {
    super(options);
    this.#sink = sink;
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics() && !this.isDisabled()) this.#sink(JSON.stringify(this.serializeMetrics()));
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}

/**
 * A handler's logger for a service name (the deployment's `names.serviceName`).
 *
 * @example
 * const logger = handlerLogger(cfg.names.serviceName);
 * logger.addContext(context); // request id, cold start
 * logger.warn('bad lines rejected', { count: 3 });
 */
export function handlerLogger(serviceName: string, sink?: LineSink): Logger {
  const options = { serviceName };
  return sink ? new SinkLogger(options, sink) : new Logger(options);
}

/**
 * A handler's metrics in the `Wellwatch` namespace with the `service` dimension.
 *
 * @example
 * const metrics = handlerMetrics(cfg.names.serviceName);
 * count(metrics, METRIC_NAMES.readingsStored, 42);
 * metrics.publishStoredMetrics();
 */
export function handlerMetrics(serviceName: string, sink?: LineSink): Metrics {
  const options = { namespace: NAMES.metricNamespace, serviceName };
  return sink ? new SinkMetrics(options, sink) : new Metrics(options);
}

/**
 * Adds a count (unit `Count`). A zero is published too: a batch with no dead letters is worth graphing.
 *
 * @example
 * count(metrics, METRIC_NAMES.badLines, letters.length);
 */
export function count(metrics: Metrics, name: string, n: number): void {
  if (Number.isFinite(n)) metrics.addMetric(name, MetricUnit.Count, n);
}

/**
 * Records a value without a unit (pressure, flow). Non-finite values are dropped: EMF rejects them, and a metric
 * must never fail an invocation.
 *
 * @example
 * gauge(metrics, METRIC_NAMES.psiMin, summary.psi.min);
 */
export function gauge(metrics: Metrics, name: string, value: number): void {
  if (Number.isFinite(value)) metrics.addMetric(name, MetricUnit.NoUnit, value);
}
