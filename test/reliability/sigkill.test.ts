/**
 * `wellwatch local` killed with SIGKILL while ingesting, restarted on the same data dir.
 *
 * Local mode runs as a child process (`node bin/wellwatch.js local --data-dir D --port 0`, LevelDB on disk). A
 * generated file is pushed with `wellwatch push --local`; as soon as the consumer has finished a first batch (and
 * records are still waiting) the process is killed with SIGKILL. The checkpoint file as the dead process left it
 * says which records were done. After a restart on the same dir the consumer must process exactly the records
 * after that checkpoint — no more (no reprocessing storm), no fewer (nothing lost) — and in the end every pushed
 * reading must be in the table exactly once. This is done twice: once on the first process, once on a restarted one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../lambdas/config';
import { generateReadings } from '../../lambdas/core/generator';
import { dynamoClient } from '../../lambdas/store/clients';
import { readLocalInfo, type LocalInfo } from '../../local/discovery';
import { bufferedIO } from '../../cli/io';
import { pushCommand } from '../../cli/push';
import { fetchLocalStatus, totalBacklog, waitForLocalIdle, type LocalStatus } from '../../cli/status';
import { localKinesisClient, readAllRecords } from '../helpers/kinesalite';
import { scanAll } from '../helpers/table-snapshot';
import { expectRun } from '../helpers/seed-oracle';

const FULL = process.env.WELLWATCH_RELIABILITY_FULL === '1';
const PUMPS = FULL ? 26 : 8;
const DAYS = 2;
const KILLS = 2;
const REPO = path.resolve(__dirname, '../..');

interface Child {
  readonly process: ChildProcess;
  readonly info: LocalInfo;
  readonly output: string[];
}

/** Starts `wellwatch local` in a child process and waits until it has published its endpoints. */
async function startChild(dataDir: string): Promise<Child> {
  const child = spawn(process.execPath, ['bin/wellwatch.js', 'local', '--data-dir', dataDir, '--port', '0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`wellwatch local exited early (${child.exitCode ?? child.signalCode}):\n${output.join('')}`);
    try {
      const info = readLocalInfo(dataDir);
      if (info.pid === child.pid) return { process: child, info, output };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`wellwatch local did not start within 90 s:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Checkpointed sequence number per shard, as the file on disk says. */
function checkpointsOnDisk(dataDir: string): Map<string, string> {
  const file = path.join(dataDir, 'checkpoints.json');
  const out = new Map<string, string>();
  if (!fs.existsSync(file)) return out;
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { streams: Record<string, { shards: Record<string, { sequenceNumber?: string }> }> };
  for (const stream of Object.values(data.streams)) {
    for (const [shard, cp] of Object.entries(stream.shards)) if (cp.sequenceNumber) out.set(shard, cp.sequenceNumber);
  }
  return out;
}

describe('local mode killed with SIGKILL mid-ingest', () => {
  let dir: string;
  let child: Child | undefined;
  const cycles: { pushed: number; recordsInStream: number; doneAtKill: number; reprocessedAfterRestart: number; statusAtKill: LocalStatus }[] = [];
  let readingsStored = 0;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-kill-'));
  });

  afterAll(async () => {
    if (child) {
      child.process.kill('SIGTERM');
      await exited(child.process);
    }
    console.log(`sigkill: ${cycles.length} kills, ${readingsStored} readings stored exactly once; ${JSON.stringify(cycles.map(({ statusAtKill: _s, ...c }) => c))}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('resumes from the checkpoint after each kill and stores every pushed reading exactly once', async () => {
    // Four parts of the input; each kill cycle pushes parts until the kill lands mid-ingest (usually the first one:
    // the spare parts only matter when the consumer catches up with a push before the kill).
    const lines = [...generateReadings({ pumps: PUMPS * 2, days: DAYS, seed: 13 })];
    const quarter = Math.ceil(lines.length / 4);
    const parts = [0, 1, 2, 3].map((i) => {
      const part = lines.slice(i * quarter, (i + 1) * quarter);
      const file = path.join(dir, `part-${i}.csv`);
      fs.writeFileSync(file, part.join('\n') + '\n');
      return { file, lines: part };
    });
    const pushed: string[] = [];

    child = await startChild(dir);
    for (let kill = 0; kill < KILLS; kill++) {
      let count = 0;
      let status: LocalStatus | undefined;
      while (status === undefined) {
        const part = parts.shift();
        if (!part) throw new Error('the consumer caught up with every push before the kill; generate more data');
        const io = bufferedIO();
        // Small records packed per pump (many queues, so the push outruns the consumer), so the consumer needs several
        // batches per shard and a kill lands between them.
        expect(await pushCommand([part.file, '--local', '--data-dir', dir, '--quiet', '--record-bytes', '1024', '--pack', 'pump'], io)).toBe(0);
        pushed.push(...part.lines);
        count += part.lines.length;
        // Kill as soon as a batch is done and checkpointed on disk while records are still waiting (a batch counted
        // in memory whose checkpoint is not yet written would make the kill land before any progress is durable).
        for (;;) {
          const s = await fetchLocalStatus(child.info.apiUrl);
          if (Number(s.counters?.records ?? 0) > 0 && totalBacklog(s) > 0 && checkpointsOnDisk(dir).size > 0) {
            status = s;
            break;
          }
          if (s.idle && totalBacklog(s) === 0) break; // caught up: push the next part
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      child.process.kill('SIGKILL');
      await exited(child.process);
      expect(child.process.signalCode).toBe('SIGKILL');
      const atKill = checkpointsOnDisk(dir);

      child = await startChild(dir);
      await waitForLocalIdle(child.info.apiUrl, { timeoutMs: 300_000 });
      const after = await fetchLocalStatus(child.info.apiUrl);

      // Records after the on-disk checkpoints are exactly what the restarted consumer processed.
      const stream = await readAllRecords(localKinesisClient(child.info.kinesisEndpoint), loadConfig({}, {}).streamName);
      let inStream = 0;
      let notDone = 0;
      for (const [shard, records] of stream) {
        inStream += records.length;
        const cp = atKill.get(shard);
        notDone += cp === undefined ? records.length : records.filter((r) => BigInt(r.sequenceNumber) > BigInt(cp)).length;
      }
      const reprocessed = Number(after.counters?.records ?? -1);
      cycles.push({ pushed: count, recordsInStream: inStream, doneAtKill: inStream - notDone, reprocessedAfterRestart: reprocessed, statusAtKill: status });
      expect(notDone).toBeGreaterThan(0);
      expect(notDone).toBeLessThan(inStream);
      expect(reprocessed).toBe(notDone);
      expect(after.counters?.failedBatches).toBe(0);
    }

    // Every pushed reading exactly once, nothing else.
    const expected = expectRun(pushed);
    const cfg = loadConfig({ endpoints: { dynamodb: child.info.dynamodbEndpoint } }, {});
    const items = await scanAll(dynamoClient(cfg), cfg.readingsTable);
    const seen = new Map<string, number>();
    for (const item of items) seen.set(`${item.pump!.S}#${item.ts!.S}`, (seen.get(`${item.pump!.S}#${item.ts!.S}`) ?? 0) + 1);
    const lost = [...expected.readings.keys()].filter((k) => !seen.has(k)).length;
    const duplicated = [...seen.values()].filter((n) => n > 1).length;
    const unexpected = [...seen.keys()].filter((k) => !expected.readings.has(k)).length;
    expect({ lost, duplicated, unexpected, stored: items.length }).toEqual({ lost: 0, duplicated: 0, unexpected: 0, stored: expected.readings.size });
    readingsStored = items.length;
    expect(fs.existsSync(path.join(dir, 'failed-batches.jsonl')) ? fs.readFileSync(path.join(dir, 'failed-batches.jsonl'), 'utf8') : '').toBe('');
  }, FULL ? 600_000 : 180_000); // 51 s at load 19 on 2 cores; the full size has 3x the pumps
});
