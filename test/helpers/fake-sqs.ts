/**
 * An SQS client whose every `send` is answered by the test (no SQS emulator runs in-process). Its endpoint is a
 * closed local port, so a call that escaped the fake would fail rather than reach anything.
 */
import { SQSClient, type SendMessageBatchCommand } from '@aws-sdk/client-sqs';

/**
 * @example
 * const sqs = fakeSqs(async (command) => ({ Successful: command.input.Entries!.map((e) => ({ Id: e.Id })), Failed: [] }));
 */
export function fakeSqs<C = SendMessageBatchCommand>(answer: (command: C) => Promise<unknown>): SQSClient {
  const client = new SQSClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  (client as unknown as { send: (c: C) => Promise<unknown> }).send = answer;
  return client;
}
