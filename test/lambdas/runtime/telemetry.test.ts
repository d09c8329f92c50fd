/**
 * The handlers' telemetry through Powertools: EMF lines valid by the specification with our namespace, the service
 * dimension and the units we mean; structured JSON logs with the request id and the cold-start flag.
 */
import type { Context } from 'aws-lambda';
import { METRIC_NAMES, NAMES, SERVICE_DIMENSION } from '../../../lambdas/config';
import { count, gauge, handlerLogger, handlerMetrics } from '../../../lambdas/runtime/telemetry';

/** CloudWatch's metric units (EMF `Unit`). */
const UNITS = ['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None'];

/**
 * Checks a document against the EMF specification: a root `_aws` with an integer `Timestamp` and a
 * `CloudWatchMetrics` array of directives; each directive has a `Namespace`, `Dimensions` (arrays of dimension
 * names, each a string member of the root) and `Metrics` (≤ 100 entries of `{Name, Unit}`, each name a root member
 * holding a number or an array of ≤ 100 numbers).
 */
function expectValidEmf(doc: Record<string, any>): void {
  expect(Object.keys(doc._aws).sort()).toEqual(['CloudWatchMetrics', 'Timestamp']);
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toBe(NAMES.metricNamespace);
    for (const set of directive.Dimensions) for (const dim of set) expect(typeof doc[dim]).toBe('string');
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const m of directive.Metrics) {
      expect(UNITS).toContain(m.Unit);
      const values = Array.isArray(doc[m.Name]) ? doc[m.Name] : [doc[m.Name]];
      expect(values.length).toBeGreaterThan(0);
      expect(values.length).toBeLessThanOrEqual(100);
      for (const x of values) expect(Number.isFinite(x)).toBe(true);
    }
  }
}

function capture() {
  const lines: string[] = [];
  const metrics = handlerMetrics('wellwatch-test', (l) => lines.push(l));
  return { metrics, lines, docs: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

describe('handlerMetrics', () => {
  it('writes one invocation as a single EMF line with the namespace, the service dimension and the units', () => {
    const { metrics, lines, docs } = capture();
    count(metrics, METRIC_NAMES.readingsStored, 42);
    count(metrics, METRIC_NAMES.badLines, 0); // a zero is worth graphing
    gauge(metrics, METRIC_NAMES.psiMin, 3.5);
    expect(lines).toEqual([]);
    metrics.publishStoredMetrics();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const [doc] = docs();
    expectValidEmf(doc!);
    expect(doc!._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Wellwatch',
        Dimensions: [[SERVICE_DIMENSION]],
        Metrics: [
          { Name: 'ReadingsStored', Unit: 'Count' },
          { Name: 'BadLines', Unit: 'Count' },
          { Name: 'PsiMin', Unit: 'None' },
        ],
      },
    ]);
    expect(doc).toMatchObject({ [SERVICE_DIMENSION]: 'wellwatch-test', ReadingsStored: 42, BadLines: 0, PsiMin: 3.5 });
  });

  it('writes nothing when nothing was recorded, and starts afresh after a publish', () => {
    const { metrics, lines, docs } = capture();
    metrics.publishStoredMetrics();
    expect(lines).toEqual([]);
    count(metrics, METRIC_NAMES.alerts, 1);
    metrics.publishStoredMetrics();
    count(metrics, METRIC_NAMES.alerts, 2);
    metrics.publishStoredMetrics();
    expect(docs().map((d) => d.Alerts)).toEqual([1, 2]);
  });

  it('keeps repeated values of one metric as an EMF value array', () => {
    const { metrics, docs } = capture();
    gauge(metrics, METRIC_NAMES.psiAvg, 1);
    gauge(metrics, METRIC_NAMES.psiAvg, 2);
    metrics.publishStoredMetrics();
    expect(docs()[0]!.PsiAvg).toEqual([1, 2]);
  });

  it('drops non-finite values, which EMF rejects', () => {
    const { metrics, docs } = capture();
    gauge(metrics, METRIC_NAMES.psiMin, Number.NaN);
    gauge(metrics, METRIC_NAMES.floAvg, Number.POSITIVE_INFINITY);
    count(metrics, METRIC_NAMES.readingsStored, Number.NaN);
    count(metrics, METRIC_NAMES.alerts, 1);
    metrics.publishStoredMetrics();
    const [doc] = docs();
    expectValidEmf(doc!);
    expect(doc!._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual(['Alerts']);
  });

  it('splits more than 100 metrics into several valid lines', () => {
    const { metrics, docs } = capture();
    for (let i = 0; i < 150; i++) count(metrics, `M${i}`, i);
    metrics.publishStoredMetrics();
    const all = docs();
    expect(all.length).toBeGreaterThan(1);
    for (const d of all) expectValidEmf(d);
    expect(all.flatMap((d) => d._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name))).toHaveLength(150);
  });
});

describe('handlerLogger', () => {
  const afterTest: (() => void)[] = [];
  afterEach(() => afterTest.splice(0).forEach((f) => f()));

  const context = {
    awsRequestId: 'req-1',
    functionName: 'wellwatch-consumer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:wellwatch-consumer',
    memoryLimitInMB: '512',
  } as Context;

  it('writes structured JSON with level, message, service, fields, the request id and the cold-start flag', () => {
    // Lambda sets this for on-demand execution environments; Powertools reports a cold start only then.
    const saved = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    afterTest.push(() => {
      if (saved === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
      else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = saved;
    });
    const lines: string[] = [];
    const logger = handlerLogger('wellwatch-test', (l) => lines.push(l));
    logger.addContext(context);
    logger.error('readings not written after retries', { failed: 2, of: 6 });
    logger.addContext({ ...context, awsRequestId: 'req-2' });
    logger.warn('bad lines rejected', { count: 1 });
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).toMatchObject({
      level: 'ERROR',
      message: 'readings not written after retries',
      service: 'wellwatch-test',
      failed: 2,
      of: 6,
      function_request_id: 'req-1',
      function_name: 'wellwatch-consumer',
      cold_start: true,
    });
    expect(typeof first.timestamp).toBe('string');
    expect(second).toMatchObject({ level: 'WARN', function_request_id: 'req-2', cold_start: false });
  });
});
