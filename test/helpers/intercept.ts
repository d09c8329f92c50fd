/**
 * Small helpers shared by the store and handler tests.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** What `client.send` looks like to an interceptor. */
export type Send = (command: any) => Promise<any>;

/**
 * Replaces `client.send` with `fn`, which may call the real send through `next`; returns a function restoring it.
 *
 * @example
 * const restore = intercept(client, (cmd, next) => (cmd instanceof BatchWriteItemCommand ? throttle() : next(cmd)));
 */
export function intercept(client: DynamoDBClient, fn: (command: any, next: Send) => Promise<any>): () => void {
  const original = client.send;
  const next: Send = (command) => (original as unknown as Send).call(client, command);
  (client as unknown as { send: Send }).send = (command) => fn(command, next);
  return () => {
    (client as unknown as { send: typeof original }).send = original;
  };
}

/** Drains an async iterable into an array. */
export async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}
