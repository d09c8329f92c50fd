import type { SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { ROLLUP_FANOUT } from '../../lambdas/config';
import { LocalWorkQueue } from '../../local/work-queue';

const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `m${i}`, body: `body-${i}` }));

describe('LocalWorkQueue', () => {
  it('delivers every message once, deletes it after a successful invocation and keeps to maxConcurrency', async () => {
    const seen: string[] = [];
    let running = 0;
    let peak = 0;
    const queue = new LocalWorkQueue({
      maxConcurrency: 3,
      handler: async (event) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        seen.push(...event.Records.map((r) => r.body));
        running--;
        return { batchItemFailures: [] };
      },
    });
    queue.start();
    await queue.send(messages(20));
    await queue.drained();
    await queue.stop();
    expect(seen.sort()).toEqual(messages(20).map((m) => m.body).sort());
    expect(peak).toBe(3);
    expect(queue.stats()).toMatchObject({ sent: 20, deleted: 20, queued: 0, invocations: 20, redeliveries: 0, peakConcurrency: 3 });
  });

  it('returns only the messages named in batchItemFailures, after the visibility timeout, with a higher receive count', async () => {
    const received: { body: string; count: string; at: number }[] = [];
    let failOnce = true;
    const queue = new LocalWorkQueue({
      batchSize: 3,
      visibilityTimeoutMs: 80,
      functionTimeoutMs: 80,
      handler: async (event): Promise<SQSBatchResponse> => {
        for (const r of event.Records) received.push({ body: r.body, count: r.attributes.ApproximateReceiveCount, at: Date.now() });
        const bad = failOnce ? event.Records.filter((r) => r.body === 'body-1') : [];
        failOnce = false;
        return { batchItemFailures: bad.map((r) => ({ itemIdentifier: r.messageId })) };
      },
    });
    queue.start();
    const sentAt = Date.now();
    await queue.send(messages(3));
    await queue.drained();
    await queue.stop();
    expect(received.map((r) => `${r.body}:${r.count}`)).toEqual(['body-0:1', 'body-1:1', 'body-2:1', 'body-1:2']);
    expect(received[3]!.at - sentAt).toBeGreaterThanOrEqual(75);
    expect(queue.stats()).toMatchObject({ deleted: 3, redeliveries: 1, deadLettered: 0 });
  });

  it('returns the whole batch when the invocation throws, and dead-letters a message after maxReceiveCount receives', async () => {
    const counts: string[] = [];
    const queue = new LocalWorkQueue({
      batchSize: 2,
      maxReceiveCount: 3,
      visibilityTimeoutMs: 10,
      functionTimeoutMs: 10,
      handler: async (event: SQSEvent) => {
        counts.push(...event.Records.map((r) => `${r.body}:${r.attributes.ApproximateReceiveCount}`));
        if (event.Records.some((r) => r.body === 'body-0')) throw new Error('poison');
      },
    });
    queue.start();
    await queue.send(messages(2));
    await queue.drained();
    await queue.stop();
    // Both messages share the failing batch, so both come back; both reach the dead-letter queue after 3 receives.
    expect(counts).toEqual(['body-0:1', 'body-1:1', 'body-0:2', 'body-1:2', 'body-0:3', 'body-1:3']);
    expect(queue.deadLetters().map((d) => `${d.body}:${d.receiveCount}`)).toEqual(['body-0:3', 'body-1:3']);
    expect(queue.stats()).toMatchObject({ deleted: 0, deadLettered: 2, queued: 0 });
  });

  it('fails the whole batch when batchItemFailures names a message that is not in it', async () => {
    let calls = 0;
    const queue = new LocalWorkQueue({
      visibilityTimeoutMs: 10,
      functionTimeoutMs: 10,
      handler: async () => (++calls === 1 ? { batchItemFailures: [{ itemIdentifier: 'nope' }] } : { batchItemFailures: [] }),
    });
    queue.start();
    await queue.send(messages(1));
    await queue.drained();
    await queue.stop();
    expect(calls).toBe(2);
    expect(queue.stats()).toMatchObject({ failedInvocations: 1, deleted: 1 });
  });

  it('counts an invocation past the function timeout as failed', async () => {
    let calls = 0;
    const queue = new LocalWorkQueue({
      visibilityTimeoutMs: 40,
      functionTimeoutMs: 20,
      handler: async () => {
        if (++calls === 1) await new Promise((r) => setTimeout(r, 60));
        return { batchItemFailures: [] };
      },
    });
    queue.start();
    await queue.send(messages(1));
    await queue.drained();
    await queue.stop();
    expect(calls).toBe(2);
    expect(queue.stats()).toMatchObject({ failedInvocations: 1, deleted: 1, redeliveries: 1 });
  });

  it('delivers duplicates to other invocations when asked, and deletes each message once', async () => {
    const bodies: string[] = [];
    const queue = new LocalWorkQueue({
      duplicateEvery: 2,
      handler: async (event) => {
        bodies.push(...event.Records.map((r) => r.body));
        await new Promise((r) => setTimeout(r, 5));
        return { batchItemFailures: [] };
      },
    });
    queue.start();
    await queue.send(messages(6));
    await queue.drained();
    await queue.stop();
    expect(new Set(bodies).size).toBe(6);
    expect(bodies.length).toBeGreaterThan(6);
    expect(queue.stats()).toMatchObject({ sent: 6, deleted: 6 });
    expect(queue.stats().duplicates).toBeGreaterThan(0);
  });

  it('settles while a failed message waits out its visibility timeout, and holds delivery until started', async () => {
    let calls = 0;
    const queue = new LocalWorkQueue({
      handler: async () => {
        calls++;
        throw new Error('down');
      },
    });
    await queue.send(messages(1));
    expect(calls).toBe(0);
    queue.start();
    await queue.settled();
    expect(calls).toBe(1);
    expect(queue.stats()).toMatchObject({ queued: 1, inFlight: 1 });
    await queue.stop();
  });

  it('defaults to the fan-out config and refuses a function timeout beyond the visibility timeout', () => {
    expect(() => new LocalWorkQueue({ handler: async () => undefined, functionTimeoutMs: 2_000, visibilityTimeoutMs: 1_000 })).toThrow(
      'functionTimeoutMs (2000) must not exceed visibilityTimeoutMs (1000)',
    );
    expect(() => new LocalWorkQueue({ handler: async () => undefined, maxConcurrency: 0 })).toThrow('maxConcurrency must be an integer 1–1000, got 0');
    // The defaults are the deployed ones: a worker timeout of ROLLUP_FANOUT.workerTimeoutSeconds fits the visibility timeout.
    expect(() => new LocalWorkQueue({ handler: async () => undefined, functionTimeoutMs: ROLLUP_FANOUT.workerTimeoutSeconds * 1000 + 1 })).not.toThrow();
    expect(() => new LocalWorkQueue({ handler: async () => undefined, functionTimeoutMs: ROLLUP_FANOUT.workerTimeoutSeconds * ROLLUP_FANOUT.visibilityTimeoutFactor * 1000 + 1 })).toThrow(
      /must not exceed visibilityTimeoutMs/,
    );
  });
});
