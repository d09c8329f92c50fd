/**
 * `wellwatch replay` in AWS hands records to the deployed consumer through Lambda Invoke (`lambdaInvoker`). Behind a
 * fake Lambda endpoint on loopback runs the real consumer handler against dynalite, so the test checks what the
 * function receives (a Kinesis event as the event source mapping builds it, with the role read once from
 * GetFunctionConfiguration), that the readings land, and how the answer is read: a partial batch response by
 * Lambda's rules, a function error as a failure of the whole batch.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { KinesisStreamEvent } from 'aws-lambda';
import { lambdaInvoker } from '../../cli/consumer-invoker';
import { createConsumerHandler } from '../../lambdas/consumer/handler';
import { forgetWrittenMarkers } from '../../lambdas/store/catalog-store';
import { queryReadings } from '../../lambdas/store/queries';
import type { ReplayRecord } from '../../local/event-source/types';
import { startDynalite, type DynaliteHandle } from '../helpers/dynalite';
import { collect } from '../helpers/intercept';

const ROLE = 'arn:aws:iam::123456789012:role/wellwatch-consumer-role';
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/wellwatch-readings';
const SHARD = 'shardId-000000000002';

/** One record per line, sequence numbers increasing as on a shard. */
function records(lines: string[]): ReplayRecord[] {
  return lines.map((line, i) => ({
    sequenceNumber: (49590338271490256608559692538361571095921575989136588898n + BigInt(i) * 1_048_576n).toString(),
    partitionKey: line.split(',')[0]!,
    data64: Buffer.from(`${line}\n`).toString('base64'),
    arrivalMs: 1_394_413_260_000 + i,
  }));
}

type Answer = 'consumer' | { status: number; body: unknown; headers?: Record<string, string> };

describe('lambdaInvoker: replayed records through the deployed consumer (Lambda Invoke)', () => {
  let db: DynaliteHandle;
  let server: http.Server;
  let lambda: LambdaClient;
  let answer: Answer = 'consumer';
  const requests: { method: string; url: string; body: string; invocationType?: string }[] = [];

  beforeAll(async () => {
    forgetWrittenMarkers();
    db = await startDynalite();
    const consumer = createConsumerHandler(db.cfg, { dynamo: db.client, metricsSink: () => undefined, log: () => undefined });
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const invocationType = req.headers['x-amz-invocation-type'] as string | undefined;
        requests.push({ method: req.method!, url: req.url!, body, ...(invocationType ? { invocationType } : {}) });
        const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
        };
        if (req.url!.endsWith('/configuration')) return reply(200, { FunctionName: 'wellwatch-consumer', Role: ROLE });
        if (answer !== 'consumer') return reply(answer.status, answer.body, answer.headers);
        consumer(JSON.parse(body) as KinesisStreamEvent).then(
          (response) => reply(200, response),
          (e: Error) => reply(200, { errorType: e.name, errorMessage: e.message }, { 'x-amz-function-error': 'Unhandled' }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    lambda = new LambdaClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterEach(() => {
    requests.length = 0;
  });
  afterAll(async () => {
    lambda?.destroy();
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
  });

  it('sends the event the event source would send, and the consumer stores the readings', async () => {
    answer = 'consumer';
    const invoker = lambdaInvoker(lambda, 'wellwatch-consumer', { region: 'us-east-1', streamArn: STREAM_ARN });
    expect(invoker.description).toBe('lambda:wellwatch-consumer');
    const batch = records(['COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94', 'COHUTTA,3/10/14,1:02,10.3,1.7,879,1.5,86,1.9']);
    expect(await invoker.invoke(SHARD, batch)).toEqual({});
    expect(await invoker.invoke(SHARD, records(['ETOWAH,3/10/14,1:05,10.1,1.6,870,1.4,3.5,1.8']))).toEqual({});

    // The role is read once; each batch is one synchronous (RequestResponse) invocation of the named function, whose
    // answer is the consumer's own: an asynchronous one would answer 202 with no partial batch response to read.
    expect(requests.map((r) => `${r.method} ${r.url} ${r.invocationType ?? '-'}`)).toEqual([
      'GET /2015-03-31/functions/wellwatch-consumer/configuration -',
      'POST /2015-03-31/functions/wellwatch-consumer/invocations RequestResponse',
      'POST /2015-03-31/functions/wellwatch-consumer/invocations RequestResponse',
    ]);
    const event = JSON.parse(requests[1]!.body) as KinesisStreamEvent;
    expect(event.Records).toHaveLength(2);
    expect(event.Records[1]).toEqual({
      kinesis: { kinesisSchemaVersion: '1.0', partitionKey: 'COHUTTA', sequenceNumber: batch[1]!.sequenceNumber, data: batch[1]!.data64, approximateArrivalTimestamp: batch[1]!.arrivalMs / 1000 },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${SHARD}:${batch[1]!.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: ROLE,
      awsRegion: 'us-east-1',
      eventSourceARN: STREAM_ARN,
    });
    expect((await collect(queryReadings(db.client, db.cfg, { pump: 'COHUTTA' }))).map((r) => r.ts)).toEqual(['2014-03-10T01:01:00Z', '2014-03-10T01:02:00Z']);
    const etowah = await collect(queryReadings(db.client, db.cfg, { pump: 'ETOWAH' }));
    expect(etowah.map((r) => [r.ts, r.alerts])).toEqual([['2014-03-10T01:05:00Z', ['low-psi']]]);
  });

  it('resumes from the lowest record a partial batch response names, and fails the whole batch on a bad identifier', async () => {
    const batch = records(['A,3/10/14,1:01,1,1,1,1,50,1', 'B,3/10/14,1:01,1,1,1,1,50,1', 'C,3/10/14,1:01,1,1,1,1,50,1']);
    const invoker = lambdaInvoker(lambda, 'wellwatch-consumer', { region: 'us-east-1', streamArn: STREAM_ARN });
    answer = { status: 200, body: { batchItemFailures: [{ itemIdentifier: batch[2]!.sequenceNumber }, { itemIdentifier: batch[1]!.sequenceNumber }] } };
    expect((await invoker.invoke(SHARD, batch)).failedAt).toBe(1);
    answer = { status: 200, body: { batchItemFailures: [{ itemIdentifier: '' }] } };
    expect((await invoker.invoke(SHARD, batch)).failedAt).toBe(0);
  });

  it("fails the whole batch on a function error, with the function's message", async () => {
    const invoker = lambdaInvoker(lambda, 'wellwatch-consumer', { region: 'us-east-1', streamArn: STREAM_ARN });
    answer = { status: 200, body: { errorType: 'Error', errorMessage: 'Task timed out after 300.00 seconds' }, headers: { 'x-amz-function-error': 'Unhandled' } };
    expect(await invoker.invoke(SHARD, records(['A,3/10/14,1:01,1,1,1,1,50,1']))).toEqual({ failedAt: 0, error: 'the consumer failed: Task timed out after 300.00 seconds' });
    // A function error whose payload is not JSON still fails the batch, named by the error kind.
    answer = { status: 200, body: 'Runtime exited with error: signal: killed', headers: { 'x-amz-function-error': 'Unhandled' } };
    expect(await invoker.invoke(SHARD, records(['A,3/10/14,1:01,1,1,1,1,50,1']))).toEqual({ failedAt: 0, error: 'the consumer failed: Unhandled' });
  });
});
