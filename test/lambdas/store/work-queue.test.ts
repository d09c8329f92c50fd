/**
 * The planner's SQS sink, against an SQS client whose answers the test scripts (as the dead-letter sink's tests do):
 * batches of 10, partial failures sent again, retryable errors retried, the rest one clear error.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { fakeSqs } from '../../helpers/fake-sqs';
import { createSqsWorkQueue } from '../../../lambdas/store/work-queue';

const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/wellwatch-rollup-work';
const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `b00-${String(i).padStart(5, '0')}`, body: `{"n":${i}}` }));
const noSleep = { sleep: async () => undefined };

describe('SQS work queue sink', () => {
  it('sends in batches of at most 10 and sends again only the entries SQS reported failed', async () => {
    const sent: string[][] = [];
    let failOnce = true;
    const sqs = fakeSqs(async (command) => {
      const entries = command.input.Entries!;
      sent.push(entries.map((e) => e.MessageBody!));
      expect(command.input.QueueUrl).toBe(url);
      if (failOnce && entries.length === 10) {
        failOnce = false;
        return { Successful: entries.slice(1).map((e) => ({ Id: e.Id })), Failed: [{ Id: entries[0]!.Id, Code: 'InternalError', SenderFault: false }] };
      }
      return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    await createSqsWorkQueue(sqs, url, noSleep).send(messages(23));
    expect(sent.map((b) => b.length)).toEqual([10, 1, 10, 3]);
    expect(sent[1]).toEqual(['{"n":0}']);
    expect(new Set(sent.flat()).size).toBe(23);
  });

  it('retries a throttled request and gives up with one clear error after the bounded attempts', async () => {
    let calls = 0;
    const throttled = fakeSqs(async () => {
      calls++;
      throw Object.assign(new Error('slow down'), { name: 'RequestThrottled', $metadata: { httpStatusCode: 403 } });
    });
    await expect(createSqsWorkQueue(throttled, url, { ...noSleep, maxAttempts: 3 }).send(messages(2))).rejects.toThrow(
      `2 rollup work item(s) not sent to ${url} after 3 attempts: `,
    );
    expect(calls).toBe(3);
    const denied = fakeSqs(async () => {
      throw Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    });
    await expect(createSqsWorkQueue(denied, url, noSleep).send(messages(1))).rejects.toThrow(`rollup work items not sent to ${url}: `);
  });

  it("gives up naming the first failed entry's code and message, as SQS reported them", async () => {
    const failing = (entry: Record<string, unknown>) =>
      fakeSqs(async (command) => ({ Successful: [], Failed: command.input.Entries!.map((e, n) => ({ ...(n === 0 ? entry : { Code: 'Other', Message: 'later' }), Id: e.Id, SenderFault: false })) }));
    const messageOf = async (sqs: SQSClient) => ((await createSqsWorkQueue(sqs, url, { ...noSleep, maxAttempts: 2 }).send(messages(2)).catch((e: unknown) => e)) as Error).message;
    expect(await messageOf(failing({ Code: 'InternalError', Message: 'boom' }))).toBe(`2 rollup work item(s) not sent to ${url} after 2 attempts: InternalError: boom`);
    // Code and Message are optional in the SDK's type: a bare entry still says it failed.
    expect(await messageOf(failing({}))).toBe(`2 rollup work item(s) not sent to ${url} after 2 attempts: error: `);
  });

  it('keeps the SDK error as the cause of a non-retryable failure', async () => {
    const denied = Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const sqs = fakeSqs(async () => {
      throw denied;
    });
    const error = (await createSqsWorkQueue(sqs, url, noSleep).send(messages(1)).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(`rollup work items not sent to ${url}: `);
    expect(error.cause).toBe(denied);
  });

  it('stops without sleeping once a batch went through, even on its last attempt', async () => {
    let calls = 0;
    let sleeps = 0;
    const sqs = fakeSqs(async (command) => {
      const entries = command.input.Entries!;
      calls++;
      return calls === 1 ? { Successful: [], Failed: [{ Id: entries[0]!.Id, Code: 'InternalError', SenderFault: false }] } : { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    const sleep = async () => {
      sleeps++;
    };
    await createSqsWorkQueue(sqs, url, { sleep, maxAttempts: 2 }).send(messages(1));
    expect({ calls, sleeps }).toEqual({ calls: 2, sleeps: 1 });
  });
});
