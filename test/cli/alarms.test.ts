/**
 * `wellwatch alarms` and `wellwatch pumps` against a real local mode: readings pushed through the stream, alarms
 * raised by the consumer, operator actions through the CLI, and their audit trail and notifications.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bufferedIO } from '../../cli/io';
import { startLocal, type LocalRuntime } from '../../local';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require('../../bin/wellwatch.ts') as typeof import('../../bin/wellwatch');

process.env.AWS_EC2_METADATA_DISABLED = 'true';

describe('wellwatch alarms / pumps (local mode)', () => {
  let dir: string;
  let runtime: LocalRuntime;
  const notified: string[] = [];

  async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const io = bufferedIO();
    const code = await main([...argv, '--local', '--data-dir', dir], io);
    return { code, out: io.outLines, err: io.errLines };
  }

  function csvRows(out: string[]): Record<string, string>[] {
    const [header, ...rows] = out;
    const cols = header!.split(',');
    return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i]!, v])));
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-cli-alarms-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, schedule: false, log: () => undefined, notify: (l) => notified.push(l) });
    // COHUTTA fails at 01:03 and stays failed; ETOWAH fails once and recovers.
    const lines = [
      'COHUTTA,3/10/14,1:01,10.27,1.73,881,1.56,85,1.94',
      'COHUTTA,3/10/14,1:02,10.27,1.73,881,1.56,85,1.94',
      'COHUTTA,3/10/14,1:03,10.27,1.73,881,1.56,0,1.94',
      'COHUTTA,3/10/14,1:04,10.27,1.73,881,1.56,0,1.94',
      'ETOWAH,3/10/14,1:01,10.27,1.73,881,1.56,2,1.94',
      'ETOWAH,3/10/14,1:02,10.27,1.73,881,1.56,80,1.94',
    ];
    const file = path.join(dir, 'feed.csv');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const pushed = await run('push', file, '--wait');
    expect(pushed.code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists alarms with exactly the documented csv columns, open ones with --open', async () => {
    const all = await run('alarms');
    expect(all.code).toBe(0);
    expect(all.out[0]).toBe('id,pump,rule,kind,severity,state,acknowledged,shelved_until,first_time,raised_time,last_time,count,worst_value,cleared_time');
    expect(csvRows(all.out)).toEqual([
      expect.objectContaining({ id: 'ETOWAH.low-psi.20140310T010100Z', state: 'CLEARED', acknowledged: 'false', count: '1', worst_value: '2', cleared_time: '2014-03-10T01:02:00Z' }),
      expect.objectContaining({ id: 'COHUTTA.low-psi.20140310T010300Z', kind: 'threshold', severity: 'major', state: 'ACTIVE', first_time: '2014-03-10T01:03:00Z', last_time: '2014-03-10T01:04:00Z', count: '2', worst_value: '0', cleared_time: '' }),
    ]);
    expect(csvRows((await run('alarms', '--open')).out).map((r) => r.id)).toEqual(['COHUTTA.low-psi.20140310T010300Z']);
    expect(csvRows((await run('alarms', '--pump', 'ETOWAH')).out).map((r) => r.id)).toEqual(['ETOWAH.low-psi.20140310T010100Z']);
    expect(notified.filter((l) => l.includes('COHUTTA'))).toEqual([expect.stringContaining('[MAJOR] raised: COHUTTA low-psi')]);
  });

  it('acknowledges, shelves, unshelves and takes the pump out of service, with the audit trail to show for it', async () => {
    const id = 'COHUTTA.low-psi.20140310T010300Z';
    expect((await run('alarms', 'ack', id, '--by', 'ana', '--note', 'crew dispatched')).out).toEqual([`${id}: acknowledged`]);
    expect((await run('alarms', 'ack', id, '--by', 'ana')).out).toEqual([`${id}: nothing to do (already acknowledged)`]);
    expect((await run('alarms', 'shelve', id, '--until', '2099-01-01T00:00:00Z', '--by', 'bo')).code).toBe(0);
    expect(csvRows((await run('alarms', '--open')).out)[0]).toMatchObject({ state: 'SHELVED', acknowledged: 'true', shelved_until: '2099-01-01T00:00:00Z' });
    expect((await run('alarms', 'unshelve', id, '--by', 'bo')).code).toBe(0);
    expect((await run('pumps', 'out-of-service', 'COHUTTA', '--by', 'cy', '--note', 'pump pulled')).out).toEqual(['COHUTTA: out-of-service (1 open alarm(s) noted)']);
    expect(csvRows((await run('alarms', '--open')).out)[0]).toMatchObject({ state: 'OUT_OF_SERVICE' });
    expect((await run('pumps', 'in-service', 'COHUTTA', '--by', 'cy')).code).toBe(0);
    expect(csvRows((await run('alarms', '--open')).out)[0]).toMatchObject({ state: 'ACTIVE' });

    const history = await run('alarms', 'history', id);
    expect(history.out[0]).toBe('at,action,by,note,until');
    expect(history.out.slice(1).map((l) => l.split(',').slice(1, 3).join(' '))).toEqual([
      'raised ',
      'acknowledged ana',
      'shelved bo',
      'unshelved bo',
      'out-of-service cy',
      'in-service cy',
    ]);
    const lines = fs.readFileSync(path.join(dir, 'notifications.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((n) => n.alarm === id).map((n) => n.type)).toEqual(['raised', 'acknowledged', 'shelved', 'unshelved']);
  });

  it('refuses an unknown or closed alarm with one clear line and exit code 1', async () => {
    const unknown = await run('alarms', 'ack', 'NOPE.low-psi.20140310T010300Z', '--by', 'ana');
    expect(unknown).toMatchObject({ code: 1, err: ['wellwatch alarms: no such alarm: NOPE.low-psi.20140310T010300Z'] });
    const malformed = await run('alarms', 'history', 'bogus');
    expect(malformed.code).toBe(1);
    expect(malformed.err[0]).toMatch(/no such alarm: "bogus" is not an alarm id/);
    const closed = await run('alarms', 'ack', 'ETOWAH.low-psi.20140310T010100Z', '--by', 'ana');
    expect(closed).toMatchObject({ code: 1, err: [expect.stringContaining('is closed')] });
    expect((await run('alarms', 'ack', 'ETOWAH.low-psi.20140310T010100Z')).code).toBe(2);
  });
});
