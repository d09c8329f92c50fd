/**
 * The operators' SQS queues (`wellwatch replay failed-batches` and `redrive deadletters` in AWS): take every message
 * while holding it, delete what was dealt with, give the rest back at once.
 *
 * No SQS emulator speaks the SDK's current (JSON) protocol in-process, so `QueueModel` answers the four calls with
 * SQS's documented semantics (SQS API reference): ReceiveMessage "retrieves one or more messages (up to 10)"; a
 * received message "is considered to be in flight after it is received from a queue by a consumer, but not yet
 * deleted from the queue", invisible for its visibility timeout; ChangeMessageVisibility "changes the visibility
 * timeout of a specified message in a queue to a new value … The minimum is 0 seconds". Every call and every
 * message's state is checked against that model.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { queueUrlOf, sqsQueue, UnknownQueueError } from '../../cli/operator-queues';
import { LIMITS, REPLAY } from '../../lambdas/config';
import { fakeSqs } from '../helpers/fake-sqs';

const URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/wellwatch-failed-batches';

interface Stored {
  readonly body: string;
  visibleAt: number;
  handle?: string;
}

/** An SQS queue in memory, answering GetQueueUrl, ReceiveMessage, DeleteMessageBatch and ChangeMessageVisibilityBatch. */
class QueueModel {
  readonly messages: Stored[] = [];
  readonly calls: { name: string; input: any }[] = [];
  /** Receipt handles whose delete the model reports failed. */
  readonly refuseDelete = new Set<string>();
  private handles = 0;

  constructor(bodies: string[]) {
    for (const body of bodies) this.messages.push({ body, visibleAt: 0 });
  }

  visible(): string[] {
    return this.messages.filter((m) => m.visibleAt <= Date.now()).map((m) => m.body);
  }

  client(): SQSClient {
    return fakeSqs<unknown>(async (command) => this.answer(command));
  }

  private answer(command: unknown): unknown {
    const input = (command as { input: any }).input;
    this.calls.push({ name: (command as object).constructor.name, input });
    if (command instanceof GetQueueUrlCommand) {
      if (input.QueueName !== 'wellwatch-failed-batches') throw Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
      return { QueueUrl: URL };
    }
    if (command instanceof ReceiveMessageCommand) {
      expect(input.MaxNumberOfMessages).toBeLessThanOrEqual(10);
      const now = Date.now();
      const got = this.messages.filter((m) => m.visibleAt <= now).slice(0, input.MaxNumberOfMessages);
      for (const m of got) {
        m.visibleAt = now + input.VisibilityTimeout * 1000;
        m.handle = `h${++this.handles}`;
      }
      return { Messages: got.map((m) => ({ Body: m.body, ReceiptHandle: m.handle })) };
    }
    const byHandle = (h: string) => this.messages.find((m) => m.handle === h);
    if (command instanceof DeleteMessageBatchCommand) {
      expect(input.Entries.length).toBeLessThanOrEqual(LIMITS.sqsBatchEntries);
      const Successful: { Id: string }[] = [];
      const Failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
      for (const e of input.Entries) {
        const m = byHandle(e.ReceiptHandle);
        if (m === undefined || this.refuseDelete.has(e.ReceiptHandle)) {
          Failed.push({ Id: e.Id, Code: 'ReceiptHandleIsInvalid', Message: 'The input receipt handle is invalid.', SenderFault: true });
          continue;
        }
        this.messages.splice(this.messages.indexOf(m), 1);
        Successful.push({ Id: e.Id });
      }
      return { Successful, Failed };
    }
    if (command instanceof ChangeMessageVisibilityBatchCommand) {
      expect(input.Entries.length).toBeLessThanOrEqual(LIMITS.sqsBatchEntries);
      for (const e of input.Entries) byHandle(e.ReceiptHandle)!.visibleAt = Date.now() + e.VisibilityTimeout * 1000;
      return { Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id })), Failed: [] };
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  }
}

const bodies = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ n: i }));
const idOf = (b: { n: number }) => `m${b.n}`;

describe('queueUrlOf', () => {
  it('passes a URL through, looks a name up, and refuses a malformed or unknown name clearly', async () => {
    const model = new QueueModel([]);
    const sqs = model.client();
    expect(await queueUrlOf(sqs, URL)).toBe(URL);
    expect(model.calls).toEqual([]);
    expect(await queueUrlOf(sqs, 'wellwatch-failed-batches')).toBe(URL);
    await expect(queueUrlOf(sqs, 'no such/queue')).rejects.toThrow(UnknownQueueError);
    expect(model.calls).toHaveLength(1);
    await expect(queueUrlOf(sqs, 'wellwatch-staging-failed-batches')).rejects.toThrow(
      'queue wellwatch-staging-failed-batches does not exist in this account and region (check --deployment, --region or --queue)',
    );
  });
});

describe('sqsQueue', () => {
  it('takes every message, holding each for the replay visibility timeout, and gives unreadable ones back at once', async () => {
    const model = new QueueModel([...bodies(23), 'not json', ...bodies(2).map((b) => b.replace('{', '{"x":1,'))]);
    const queue = sqsQueue(model.client(), URL, idOf);
    expect(queue.description).toBe(`sqs:${URL}`);
    const held = await queue.receiveAll();
    expect(held.map((m) => m.id)).toEqual([...bodies(23).map((_, i) => `m${i}`), 'm0', 'm1']);
    expect(held.every((m) => m.receiptHandle !== undefined)).toBe(true);
    const receives = model.calls.filter((c) => c.name === 'ReceiveMessageCommand').map((c) => c.input);
    expect(receives.every((r) => r.VisibilityTimeout === REPLAY.visibilityTimeoutSeconds && r.MaxNumberOfMessages === 10)).toBe(true);
    // Received until the queue answered empty twice: 26 messages in 3 receives, then 2 empty ones.
    expect(receives).toHaveLength(5);
    // Only the message that is not JSON is visible again: another operator would get it, and nothing else.
    expect(model.visible()).toEqual(['not json']);
  });

  it('deletes in batches of at most 10 and says which delete SQS refused', async () => {
    const model = new QueueModel(bodies(25));
    const queue = sqsQueue(model.client(), URL, idOf);
    const held = await queue.receiveAll();
    expect(await queue.delete(held.slice(0, 21))).toBe(21);
    expect(model.calls.filter((c) => c.name === 'DeleteMessageBatchCommand').map((c) => c.input.Entries.length)).toEqual([10, 10, 1]);
    expect(model.messages.map((m) => m.body)).toEqual(bodies(25).slice(21));
    model.refuseDelete.add(held[23]!.receiptHandle!);
    await expect(queue.delete(held.slice(21))).rejects.toThrow(`could not delete 1 message(s) from ${URL}: ReceiptHandleIsInvalid The input receipt handle is invalid.`);
    expect(model.messages.map((m) => m.body)).toEqual([bodies(25)[23]]);
  });

  it('releases held messages at once, so the next run takes them again', async () => {
    const model = new QueueModel(bodies(12));
    const queue = sqsQueue(model.client(), URL, idOf);
    const held = await queue.receiveAll();
    expect(model.visible()).toEqual([]);
    await queue.release(held.slice(2));
    expect(model.calls.filter((c) => c.name === 'ChangeMessageVisibilityBatchCommand').map((c) => c.input.Entries.map((e: any) => e.VisibilityTimeout))).toEqual([Array(10).fill(0)]);
    expect(model.visible()).toEqual(bodies(12).slice(2));
    expect((await queue.receiveAll()).map((m) => m.id)).toEqual(bodies(12).slice(2).map((_, i) => `m${i + 2}`));
  });
});
