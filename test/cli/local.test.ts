/**
 * `wellwatch local` as a script drives it (a real child process): pinned emulator ports, `local.json` as the ready
 * signal — absent until everything listens, then complete on first sight, gone after stop — and emulators that take
 * any credentials and region.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { NAMES } from '../../lambdas/config';

const REPO = path.resolve(__dirname, '../..');
const FIELDS = ['pid', 'kinesisEndpoint', 'dynamodbEndpoint', 'apiUrl', 'deadLetterUrl', 'dataDir', 'startedAt'];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('wellwatch local (child process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let exit: Promise<number | null>;
  let stderr = '';
  let kinesisPort: number;
  let dynamodbPort: number;
  /** Every content of local.json seen while polling from the moment the process started. */
  const seen: string[] = [];
  let info: Record<string, unknown>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-cli-local-'));
    [kinesisPort, dynamodbPort] = [await freePort(), await freePort()];
    child = spawn(
      process.execPath,
      [path.join(REPO, 'bin/wellwatch.js'), 'local', '--data-dir', dir, '--port', '0', '--kinesis-port', String(kinesisPort), '--dynamodb-port', String(dynamodbPort), '--shards', '1'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.resume();
    exit = new Promise((resolve) => child!.on('exit', (code) => resolve(code)));
    const file = path.join(dir, 'local.json');
    const deadline = Date.now() + 60_000;
    // Poll as a script would, as fast as it reasonably can: every read must be the whole file or no file.
    for (;;) {
      try {
        seen.push(fs.readFileSync(file, 'utf8'));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      if (Date.now() > deadline) throw new Error(`local.json did not appear within 60 s; stderr:\n${stderr}`);
      if (child.exitCode !== null) throw new Error(`wellwatch local exited with ${child.exitCode}; stderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    info = JSON.parse(seen[0]!) as Record<string, unknown>;
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes local.json only complete: the first content a poller sees has every field', () => {
    expect(Object.keys(info).sort()).toEqual([...FIELDS].sort());
    expect(info.pid).toBe(child!.pid);
  });

  it('listens on the pinned emulator ports', () => {
    expect(info.kinesisEndpoint).toBe(`http://127.0.0.1:${kinesisPort}`);
    expect(info.dynamodbEndpoint).toBe(`http://127.0.0.1:${dynamodbPort}`);
  });

  it('is ready when local.json appears: the stream, the tables and the API answer at once', async () => {
    const res = await fetch(`${info.apiUrl as string}/api/status`);
    expect(res.status).toBe(200);
    // Any credentials and any region: the emulators check neither.
    const credentials = { accessKeyId: 'anything', secretAccessKey: 'at-all' };
    // The SDK v3 Kinesis client speaks HTTP/2 by default; kinesalite speaks HTTP/1.1 only (the README says so).
    const kinesis = new KinesisClient({ endpoint: info.kinesisEndpoint as string, region: 'ap-southeast-2', credentials, requestHandler: new NodeHttpHandler() });
    const dynamo = new DynamoDBClient({ endpoint: info.dynamodbEndpoint as string, region: 'eu-north-1', credentials });
    try {
      expect((await kinesis.send(new ListStreamsCommand({}))).StreamNames).toContain(NAMES.streamName);
      expect((await dynamo.send(new ListTablesCommand({}))).TableNames).toEqual(expect.arrayContaining([NAMES.readingsTable, NAMES.statsTable]));
    } finally {
      kinesis.destroy();
      dynamo.destroy();
    }
  });

  it('withdraws local.json and the lock on SIGTERM and exits 0', async () => {
    child!.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(fs.existsSync(path.join(dir, 'local.json'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'local.lock'))).toBe(false);
  });
});
