/**
 * consumer-health: the CloudWatch and SQS requests `wellwatch status` makes in AWS mode, read back from fake clients
 * (no emulator speaks CloudWatch or SQS here), and how each failure stays on its own row.
 */
import { GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { consumerHealth, consumerLag, describeHealth, queueDepth, LAG_LOOKBACK_MINUTES, type Sender } from '../../cli/consumer-health';
import { loadConfig } from '../../lambdas/config';

function recorder(answer: (command: { input: Record<string, unknown> }) => unknown): Sender & { commands: { input: Record<string, unknown> }[] } {
  const commands: { input: Record<string, unknown> }[] = [];
  return {
    commands,
    send: async (c) => {
      const command = c as { input: Record<string, unknown> };
      commands.push(command);
      const a = answer(command);
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

const NOW = new Date('2026-11-24T10:05:30Z');

describe('consumerLag', () => {
  it('asks for the stream iterator age, maximum per minute, over the lookback ending at the next whole minute', async () => {
    const cw = recorder(() => ({ MetricDataResults: [{ Id: 'age', Timestamps: [], Values: [] }] }));
    await consumerLag(cw, 'my-stream', NOW);
    expect(cw.commands).toHaveLength(1);
    expect(cw.commands[0]).toBeInstanceOf(GetMetricDataCommand);
    const input = cw.commands[0]!.input as unknown as GetMetricDataCommandInput;
    expect(input.EndTime).toEqual(new Date('2026-11-24T10:06:00Z'));
    expect(input.StartTime).toEqual(new Date(Date.parse('2026-11-24T10:06:00Z') - LAG_LOOKBACK_MINUTES * 60_000));
    expect(input.MetricDataQueries).toEqual([
      {
        Id: 'age',
        MetricStat: {
          Metric: { Namespace: 'AWS/Kinesis', MetricName: 'GetRecords.IteratorAgeMilliseconds', Dimensions: [{ Name: 'StreamName', Value: 'my-stream' }] },
          Period: 60,
          Stat: 'Maximum',
        },
      },
    ]);
  });

  it('takes the newest datapoint whatever order CloudWatch returns', async () => {
    const cw = recorder(() => ({
      MetricDataResults: [{ Id: 'age', Timestamps: [new Date('2026-11-24T10:01:00Z'), new Date('2026-11-24T10:03:00Z'), new Date('2026-11-24T10:02:00Z')], Values: [5, 7, 9] }],
    }));
    expect(await consumerLag(cw, 's', NOW)).toEqual({ iteratorAgeMs: 7, minute: '2026-11-24T10:03:00.000Z' });
  });

  it('says no data when no minute has a datapoint, and unavailable (with the error name) when the call fails', async () => {
    expect(await consumerLag(recorder(() => ({ MetricDataResults: [] })), 's', NOW)).toEqual({ iteratorAgeMs: null, lookbackMinutes: LAG_LOOKBACK_MINUTES });
    const denied = Object.assign(new Error('User: arn:aws:iam::1:user/x is not authorized to perform: cloudwatch:GetMetricData'), { name: 'AccessDenied' });
    expect(await consumerLag(recorder(() => denied), 's', NOW)).toEqual({
      unavailable: 'AccessDenied: User: arn:aws:iam::1:user/x is not authorized to perform: cloudwatch:GetMetricData',
    });
  });
});

describe('queueDepth', () => {
  it('resolves the queue URL by name, then reads both approximate counts', async () => {
    const sqs = recorder((c) =>
      'QueueName' in c.input ? { QueueUrl: 'https://q/dl' } : { Attributes: { ApproximateNumberOfMessages: '7', ApproximateNumberOfMessagesNotVisible: '1' } },
    );
    expect(await queueDepth(sqs, 'dl', 'bad lines')).toEqual({ queue: 'dl', purpose: 'bad lines', visible: 7, inFlight: 1 });
    expect(sqs.commands[1]).toBeInstanceOf(GetQueueAttributesCommand);
    expect(sqs.commands[1]!.input).toEqual({ QueueUrl: 'https://q/dl', AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] });
  });

  it('uses a configured URL without looking it up, and reports a missing queue as unavailable', async () => {
    const sqs = recorder(() => ({ Attributes: { ApproximateNumberOfMessages: '0' } }));
    expect(await queueDepth(sqs, 'dl', 'bad lines', 'https://q/configured')).toEqual({ queue: 'dl', purpose: 'bad lines', visible: 0, inFlight: 0 });
    expect(sqs.commands.map((c) => c.input)).toEqual([{ QueueUrl: 'https://q/configured', AttributeNames: expect.any(Array) }]);
    const missing = Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
    expect(await queueDepth(recorder(() => missing), 'dl', 'bad lines')).toEqual({
      queue: 'dl',
      purpose: 'bad lines',
      unavailable: 'QueueDoesNotExist: The specified queue does not exist.',
    });
    expect(await queueDepth(recorder(() => ({ Attributes: {} })), 'dl', 'bad lines', 'u')).toMatchObject({ unavailable: 'no ApproximateNumberOfMessages attribute' });
  });
});

describe('consumerHealth', () => {
  it('keeps one failing lookup from hiding the others', async () => {
    const cfg = loadConfig({}, {});
    const health = await consumerHealth(
      cfg,
      {
        cloudWatch: recorder(() => new Error('socket hang up')),
        sqs: recorder((c) => ('QueueName' in c.input ? { QueueUrl: `u/${String(c.input.QueueName)}` } : { Attributes: { ApproximateNumberOfMessages: '3' } })),
      },
      NOW,
    );
    expect(describeHealth(health)).toEqual([
      'consumer lag: unavailable (socket hang up)',
      'bad lines: 3 waiting in wellwatch-dead-letters',
      'failed batches: 3 waiting in wellwatch-failed-batches',
    ]);
  });

  it.each(['http://127.0.0.1:1', 'http://localstack:4566'])('never builds AWS clients when the config points at emulators (%s)', async (endpoint) => {
    const cfg = loadConfig({ endpoints: { kinesis: endpoint, dynamodb: endpoint } }, {});
    const health = await consumerHealth(cfg, {}, NOW);
    expect(health.lag).toEqual({ unavailable: expect.stringMatching(/^not asked: .*CloudWatch/) });
    expect(health.queues.every((q) => 'unavailable' in q && /^not asked: .*SQS/.test(q.unavailable))).toBe(true);
  });

  it('describes no data and quiet queues in words', () => {
    expect(
      describeHealth({
        lag: { iteratorAgeMs: null, lookbackMinutes: 15 },
        queues: [{ queue: 'fb', purpose: 'failed batches', visible: 0, inFlight: 0 }],
      }),
    ).toEqual(['consumer lag: no iterator-age data in the last 15 min (nothing read the stream)', 'failed batches: 0 waiting in fb']);
  });
});
