/**
 * The dynalite tap's half inside the emulators' worker thread (local mode's default, see local/emulators.ts).
 *
 * Load it there with `startLocal({ emulatorPreload: [TAP_THREAD_MODULE] })`; {@link openTap} on the main thread then
 * drives it over a `BroadcastChannel`: `start` creates a {@link tapDynamo} in this thread (where dynalite's HTTP
 * server is, so the diagnostics channels see it), stored items are posted back with their moment as epoch
 * milliseconds (threads have different `performance` origins), and `close` answers with the final counts — after
 * every stored message, as the channel keeps order.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { TAP_CHANNEL, tapDynamo, type DynamoTap, type TapCommand, type TapReply } from './dynamo-tap';

const channel = new BroadcastChannel(TAP_CHANNEL);
channel.unref();
let tap: DynamoTap | undefined;

const reply = (message: TapReply): void => channel.postMessage(message);

channel.onmessage = (event: unknown) => {
  const command = (event as { data: TapCommand }).data;
  if (command.cmd === 'start') {
    tap?.close();
    tap = tapDynamo({
      port: command.port,
      config: command.config,
      ...(command.wantStored ? { onStored: (table, items, at) => reply({ stored: { table, items, atEpochMs: performance.timeOrigin + at } }) } : {}),
    });
    reply({ started: true });
  } else if (command.cmd === 'close') {
    const stats = tap?.stats ?? { requests: {}, writes: {} };
    tap?.close();
    tap = undefined;
    reply({ closed: stats });
  }
};
