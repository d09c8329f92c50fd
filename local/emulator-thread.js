'use strict';
/**
 * Entry of the emulators' worker thread (see emulators.ts, `thread: 'worker'`).
 *
 * Plain JavaScript so it starts without a TypeScript loader; it registers tsx for emulators.ts and for the modules
 * in `threadPreload`. Messages: the parent sends `'stop'`; this thread answers `{ ready }` or `{ error }` once, and
 * `{ stopped: true }` after closing the servers.
 */
const { parentPort, workerData } = require('node:worker_threads');
require('tsx/cjs');

const { threadPreload = [], ...options } = workerData;
const messageOf = (e) => (e && e.message ? e.message : String(e));

/**
 * Loads the preload modules; on failure posts one `{ error }` naming them and answers false. No rethrow: the thread's
 * uncaught error would race that message to the parent and could arrive first, without the file names.
 */
function preload() {
  try {
    for (const file of threadPreload) require(file);
    return true;
  } catch (e) {
    parentPort.postMessage({ error: `cannot load ${threadPreload.join(', ')} in the emulator thread: ${messageOf(e)}` });
    return false;
  }
}

if (preload()) start();

function start() {
  const { startEmulators } = require('./emulators.ts');

  startEmulators(options).then(
    (emulators) => {
      parentPort.on('message', (message) => {
        if (message !== 'stop') return;
        emulators.stop().then(
          () => parentPort.postMessage({ stopped: true }),
          () => parentPort.postMessage({ stopped: true }),
        );
      });
      parentPort.postMessage({
        ready: { kinesisEndpoint: emulators.kinesisEndpoint, dynamodbEndpoint: emulators.dynamodbEndpoint, storage: emulators.storage },
      });
    },
    (e) => parentPort.postMessage({ error: messageOf(e) }),
  );
}
