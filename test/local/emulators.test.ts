/**
 * The emulators on this thread and in a worker thread: same wire protocols, same persistence, clean errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { loadConfig } from '../../lambdas/config';
import { dynamoClient, kinesisClient } from '../../lambdas/store/clients';
import { ensureStream, startEmulators, type EmulatorThread, type Emulators } from '../../local/emulators';

function configFor(emu: Emulators) {
  return loadConfig({ region: 'us-east-1', endpoints: { kinesis: emu.kinesisEndpoint, dynamodb: emu.dynamodbEndpoint } });
}

async function writeAndRead(emu: Emulators, table: string, create: boolean): Promise<string | undefined> {
  const dynamo = dynamoClient(configFor(emu));
  try {
    if (create) {
      await dynamo.send(
        new CreateTableCommand({
          TableName: table,
          KeySchema: [{ AttributeName: 'k', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'k', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await new Promise((r) => setTimeout(r, 50));
      await dynamo.send(new PutItemCommand({ TableName: table, Item: { k: { S: 'a' }, v: { S: 'kept' } } }));
    }
    const got = await dynamo.send(new GetItemCommand({ TableName: table, Key: { k: { S: 'a' } } }));
    return got.Item?.v?.S;
  } finally {
    dynamo.destroy();
  }
}

describe.each<EmulatorThread>(['inline', 'worker'])('startEmulators (thread: %s)', (thread) => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-emu-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('serves Kinesis and DynamoDB on 127.0.0.1 and keeps LevelDB data across a restart', async () => {
    const first = await startEmulators({ dataDir: dir, thread });
    expect(first.thread).toBe(thread);
    expect(first.kinesisEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.storage).toEqual({ kinesis: path.join(dir, 'kinesis'), dynamodb: path.join(dir, 'dynamodb') });
    try {
      const kinesis = kinesisClient(configFor(first));
      await ensureStream(kinesis, 'stream', 3);
      const shards = await kinesis.send(new ListShardsCommand({ StreamName: 'stream' }));
      kinesis.destroy();
      expect(shards.Shards).toHaveLength(3);
      expect(await writeAndRead(first, 'things', true)).toBe('kept');
    } finally {
      await first.stop();
      await first.stop(); // idempotent
    }
    const second = await startEmulators({ dataDir: dir, thread });
    try {
      expect(await writeAndRead(second, 'things', false)).toBe('kept');
    } finally {
      await second.stop();
    }
  });
});

describe('startEmulators in a worker thread', () => {
  test('reports a preload module that cannot load, naming it', async () => {
    await expect(startEmulators({ memory: true, thread: 'worker', threadPreload: ['/nonexistent/observer.ts'] })).rejects.toThrow(
      /cannot load \/nonexistent\/observer\.ts in the emulator thread/,
    );
  });

  test('runs preload modules in the emulators thread before they start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-emu-'));
    const marker = path.join(dir, 'marker.txt');
    const module = path.join(dir, 'observer.js');
    fs.writeFileSync(module, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, String(require('node:worker_threads').isMainThread));\n`);
    const emu = await startEmulators({ memory: true, thread: 'worker', threadPreload: [module] });
    try {
      expect(fs.readFileSync(marker, 'utf8')).toBe('false');
    } finally {
      await emu.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects preload modules without a worker and unknown thread values', async () => {
    await expect(startEmulators({ memory: true, threadPreload: ['/x.js'] })).rejects.toThrow(/threadPreload needs thread: worker/);
    await expect(startEmulators({ memory: true, thread: 'process' as EmulatorThread })).rejects.toThrow(/thread must be 'inline' or 'worker', got "process"/);
  });

  test('calls onThreadFailure when the thread dies after start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-emu-'));
    const module = path.join(dir, 'crash.js');
    // The thread blows up when told to, after it is ready (a timer could fire before a slow start finished).
    const channelName = `wellwatch-crash-${process.pid}-${Date.now()}`;
    fs.writeFileSync(
      module,
      `const c = new (require('node:worker_threads').BroadcastChannel)(${JSON.stringify(channelName)});\n` +
        "c.unref();\nc.onmessage = () => setImmediate(() => { throw new Error('emulator exploded'); });\n",
    );
    const failures: string[] = [];
    const emu = await startEmulators({ memory: true, thread: 'worker', threadPreload: [module], onThreadFailure: (m) => failures.push(m) });
    const trigger = new BroadcastChannel(channelName);
    trigger.postMessage('go');
    trigger.close();
    try {
      for (let i = 0; i < 100 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(failures.join('\n')).toMatch(/emulator exploded/);
    } finally {
      await emu.stop(); // resolves although the thread is gone
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
