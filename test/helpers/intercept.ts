/**
 * Small helpers shared by the store and handler tests.
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';

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

/**
 * Runs `fn` while recording the input of every Query sent through `client`, then restores `send`. `fn` sees the
 * inputs as they arrive; `edit` may change each answer (`n`: the Query's index); `onSend` runs before every command.
 *
 * @example
 * const { out, sent } = await recordQueries(ddb, () => collect(queryAll(ddb, input)));
 */
export async function recordQueries<T>(
  client: DynamoDBClient,
  fn: (sent: readonly QueryCommandInput[]) => Promise<T>,
  edit: (out: any, n: number) => any = (out) => out,
  onSend: () => void = () => undefined,
): Promise<{ out: T; sent: QueryCommandInput[] }> {
  const sent: QueryCommandInput[] = [];
  const restore = intercept(client, async (command, next) => {
    if (command instanceof QueryCommand) sent.push(command.input);
    onSend();
    return edit(await next(command), sent.length - 1);
  });
  try {
    return { out: await fn(sent), sent };
  } finally {
    restore();
  }
}

/**
 * Runs `fn` while recording every command sent through `client` (any kind, in order), then restores `send`.
 *
 * @example
 * const { out, sent } = await recordCommands(ddb, () => collect(queryAlerts(ddb, cfg, {})));
 * expect(sent.some((c) => c instanceof ScanCommand)).toBe(false);
 */
export async function recordCommands<T>(client: DynamoDBClient, fn: () => Promise<T>): Promise<{ out: T; sent: any[] }> {
  const sent: any[] = [];
  const restore = intercept(client, (command, next) => {
    sent.push(command);
    return next(command);
  });
  try {
    return { out: await fn(), sent };
  } finally {
    restore();
  }
}
