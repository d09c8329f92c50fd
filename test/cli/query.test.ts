/**
 * `wellwatch query --local`: what it prints, compared with the items stored in a real dynalite and with the
 * dead-letter file, at full precision, in both formats; and which rows the inclusive --from/--to bounds keep.
 *
 * The local mode is found the way the CLI finds it (`<data-dir>/local.json`), pointing at an in-process dynalite.
 * Expected values come from the raw stored attributes (DynamoDB number strings), never from the project's decoders.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { parse as parseCsv } from 'csv-parse/sync';
import { bufferedIO } from '../../cli/io';
import { queryCommand } from '../../cli/query';
import { UsageError } from '../../cli/errors';
import { MEASURES, type DailyStats, type DeadLetter, type EvaluatedReading, type MeasureValues } from '../../lambdas/core/types';
import { createReadingStore } from '../../lambdas/store/reading-store';
import { createStatsStore } from '../../lambdas/store/stats-store';
import { createCatalogStore, forgetWrittenMarkers } from '../../lambdas/store/catalog-store';
import { ENV } from '../../lambdas/config';
import { writeLocalInfo } from '../../local/discovery';
import { scanTable, startDynalite, type DynaliteHandle } from '../helpers/dynalite';

type Item = Record<string, AttributeValue>;

/** Values whose shortest decimal text is long, tiny, negative or integral: any rounding shows. */
const AWKWARD: MeasureValues[] = [
  { hz: 0.30000000000000004, disp: 1.7300000000000002, flo: 2042, sedPPM: 0.000123, psi: 85, chlPPM: 1.94 },
  { hz: 10.27, disp: -3.25, flo: 881, sedPPM: 12345.678901234567, psi: 4.999999999999999, chlPPM: 0.1 },
  { hz: 9.007199254740991, disp: 6.2, flo: 0, sedPPM: 7, psi: 2, chlPPM: 2.0000000000000004 },
];

function reading(pump: string, day: string, time: string, values: MeasureValues, alerts: string[] = []): EvaluatedReading {
  return { pump, day, time, ts: `${day}T${time}Z`, values, alerts };
}

const READINGS: EvaluatedReading[] = [
  reading('ALPHA', '2014-03-10', '00:00:00', AWKWARD[0]!),
  reading('ALPHA', '2014-03-10', '05:59:59', AWKWARD[1]!, ['low-psi']),
  reading('ALPHA', '2014-03-10', '06:00:00', AWKWARD[2]!, ['low-psi', 'high-flo']),
  reading('BRAVO', '2014-03-10', '06:00:00', AWKWARD[1]!, ['low-psi']),
  reading('ALPHA', '2014-03-10', '06:00:01', AWKWARD[0]!),
  reading('CHARLIE', '2014-03-10', '07:30:00', AWKWARD[2]!, ['low-psi']),
  reading('BRAVO', '2014-03-10', '07:30:00', AWKWARD[0]!, ['low-psi']),
  reading('ALPHA', '2014-03-10', '07:30:00', AWKWARD[1]!),
  reading('BRAVO', '2014-03-10', '07:30:01', AWKWARD[2]!, ['low-psi']),
  reading('ALPHA', '2014-03-10', '23:59:59', AWKWARD[2]!, ['low-psi']),
  reading('ALPHA', '2014-03-11', '00:00:00', AWKWARD[1]!, ['low-psi']),
];

function stats(pump: string, date: string, count: number, base: number): DailyStats {
  const measures = {} as DailyStats['measures'];
  MEASURES.forEach((m, i) => {
    measures[m] = { min: -base - i / 7, max: base * 3 + i / 3, avg: base + (i + 1) / 9 };
  });
  return { pump, date, count, measures };
}

const STATS: DailyStats[] = [
  stats('ALPHA', '2014-03-09', 1, 0.1),
  stats('ALPHA', '2014-03-10', 1440, 1 / 3),
  stats('BRAVO', '2014-03-10', 7, 2.5),
  stats('ALPHA', '2014-03-11', 12, 1e-4),
  stats('BRAVO', '2014-03-12', 3, 1000.0000000000001),
];

function letter(i: number, raw: string): DeadLetter {
  return {
    raw,
    rawLength: raw.length,
    reason: `bad line ${i}, "quoted"`,
    code: 'field-count',
    lineInRecord: i + 1,
    shardId: 'shardId-000000000001',
    sequenceNumber: `4959033827149025660855969253836157109592157598913658889${i}`,
    partitionKey: 'ALPHA',
    rejectedAt: `2014-03-10T12:00:0${i}.000Z`,
  };
}

const LETTERS: DeadLetter[] = [letter(0, 'ALPHA,3/10/14,1:05,10.27'), letter(1, 'say "hi",\r\nsecond line'), letter(2, '')];

/** The readings CSV row of a stored item, from its raw attributes. */
function readingRow(item: Item): string[] {
  const rules = item.a?.M?.rules?.L?.map((r) => r.S!) ?? [];
  return [item.pump!.S!, item.ts!.S!, ...MEASURES.map((m) => item.d!.M![m]!.N!), rules.join('|')];
}

/** The readings JSON object of a stored item, from its raw attributes. */
function readingObject(item: Item): Record<string, unknown> {
  const o: Record<string, unknown> = { pump: item.pump!.S!, ts: item.ts!.S! };
  for (const m of MEASURES) o[m] = Number(item.d!.M![m]!.N!);
  o.alerts = item.a?.M?.rules?.L?.map((r) => r.S!) ?? [];
  return o;
}

const STAT_COLUMNS = MEASURES.flatMap((m) => [`${m}_min`, `${m}_max`, `${m}_avg`]);

function statsRow(item: Item): string[] {
  return [item.pump!.S!, item.date!.S!, item.count!.N!, ...STAT_COLUMNS.map((c) => item[c]!.N!)];
}

function statsObject(item: Item): Record<string, unknown> {
  const o: Record<string, unknown> = { pump: item.pump!.S!, date: item.date!.S!, count: Number(item.count!.N!) };
  for (const c of STAT_COLUMNS) o[c] = Number(item[c]!.N!);
  return o;
}

describe('wellwatch query --local', () => {
  let db: DynaliteHandle;
  let dir: string;
  let readingItems: Item[];
  let statsItems: Item[];

  beforeAll(async () => {
    forgetWrittenMarkers();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ww-query-'));
    db = await startDynalite();
    const deadLetterFile = path.join(dir, 'dead-letters.jsonl');
    fs.writeFileSync(deadLetterFile, LETTERS.map((l) => JSON.stringify(l)).join('\n') + '\n\n');
    writeLocalInfo(dir, {
      pid: process.pid,
      kinesisEndpoint: 'http://127.0.0.1:1',
      dynamodbEndpoint: db.endpoint,
      apiUrl: 'http://127.0.0.1:1',
      deadLetterUrl: pathToFileURL(deadLetterFile).href,
      dataDir: dir,
      startedAt: new Date().toISOString(),
    });
    expect((await createReadingStore(db.client, db.cfg).put(READINGS)).failed).toEqual([]);
    const statsStore = createStatsStore(db.client, db.cfg);
    for (const row of STATS) expect(await statsStore.putIfNewer(row, '2014-03-13T00:00:00.000Z')).toBe('written');
    const pumpDays = [...new Set([...READINGS.map((r) => `${r.pump} ${r.day}`), ...STATS.map((s) => `${s.pump} ${s.date}`)])].map((k) => {
      const [pump, day] = k.split(' ') as [string, string];
      return { pump, day };
    });
    expect((await createCatalogStore(db.client, db.cfg).markTouched(pumpDays, '2014-03-13', new Date('2014-03-13T00:00:00Z'))).failed).toEqual([]);
    readingItems = await scanTable(db.client, db.cfg.readingsTable);
    statsItems = await scanTable(db.client, db.cfg.statsTable);
    expect(readingItems).toHaveLength(READINGS.length);
    expect(statsItems).toHaveLength(STATS.length);
  });
  afterAll(async () => {
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function query(...argv: string[]): Promise<string[]> {
    const io = bufferedIO();
    expect(await queryCommand([...argv, '--local', '--data-dir', dir], io)).toBe(0);
    expect(io.errLines).toEqual([]);
    return io.outLines;
  }

  async function csv(...argv: string[]): Promise<string[][]> {
    return parseCsv((await query(...argv, '--format', 'csv')).join('\n'), { relaxColumnCount: false }) as string[][];
  }

  async function json(...argv: string[]): Promise<unknown[]> {
    return JSON.parse((await query(...argv, '--format', 'json')).join('\n')) as unknown[];
  }

  /** Stored reading items of one pump in time order, optionally only alerting ones. */
  const storedReadings = (pump: string | undefined, alertsOnly = false): Item[] =>
    readingItems
      .filter((i) => (pump === undefined || i.pump!.S === pump) && (!alertsOnly || i.a !== undefined))
      .sort((a, b) => (a.ts!.S! < b.ts!.S! ? -1 : a.ts!.S! > b.ts!.S! ? 1 : a.pump!.S! < b.pump!.S! ? -1 : 1));

  const READING_HEADER = ['pump', 'ts', ...MEASURES, 'alerts'];
  const STATS_HEADER = ['pump', 'date', 'count', ...STAT_COLUMNS];

  it('prints a pump\'s readings as CSV and JSON with every stored digit', async () => {
    const expected = storedReadings('ALPHA');
    expect(expected.length).toBeGreaterThan(3);
    expect(await csv('readings', '--pump', 'ALPHA')).toEqual([READING_HEADER, ...expected.map(readingRow)]);
    expect(await json('readings', '--pump', 'ALPHA')).toEqual(expected.map(readingObject));
    // Full precision: the printed text reads back as exactly the stored double.
    const printed = (await csv('readings', '--pump', 'ALPHA')).slice(1);
    expect(printed.map((r) => r[2])).toContain('0.30000000000000004');
    expect(printed.map((r) => r[5])).toContain('12345.678901234567');
  });

  it('prints alerts of all pumps ordered by time then pump, and of one pump, in both formats', async () => {
    const all = storedReadings(undefined, true);
    expect(all.length).toBe(READINGS.filter((r) => r.alerts.length > 0).length);
    expect(await csv('alerts')).toEqual([READING_HEADER, ...all.map(readingRow)]);
    expect(await json('alerts')).toEqual(all.map(readingObject));
    const bravo = storedReadings('BRAVO', true);
    expect(await csv('alerts', '--pump', 'BRAVO')).toEqual([READING_HEADER, ...bravo.map(readingRow)]);
    expect(await json('alerts', '--pump', 'BRAVO')).toEqual(bravo.map(readingObject));
    // Two alerts on one reading are joined in one field.
    expect((await csv('alerts', '--pump', 'ALPHA')).map((r) => r[8])).toContain('low-psi|high-flo');
  });

  it('prints stats of all pumps ordered by date then pump, and of one pump, in both formats', async () => {
    const byDate = [...statsItems].sort((a, b) => (a.date!.S! + a.pump!.S! < b.date!.S! + b.pump!.S! ? -1 : 1));
    expect(await csv('stats')).toEqual([STATS_HEADER, ...byDate.map(statsRow)]);
    expect(await json('stats')).toEqual(byDate.map(statsObject));
    const alpha = byDate.filter((i) => i.pump!.S === 'ALPHA');
    expect(await csv('stats', '--pump', 'ALPHA')).toEqual([STATS_HEADER, ...alpha.map(statsRow)]);
    expect(await json('stats', '--pump', 'ALPHA')).toEqual(alpha.map(statsObject));
    expect((await csv('stats', '--pump', 'ALPHA'))[2]![STATS_HEADER.indexOf('hz_avg')]).toBe(String(1 / 3 + 1 / 9));
  });

  it('prints dead letters from the local file as CSV (quoted where needed) and as JSON, up to --limit', async () => {
    const columns = ['rejectedAt', 'code', 'reason', 'shardId', 'sequenceNumber', 'lineInRecord', 'raw'] as const;
    const rows = LETTERS.map((l) => columns.map((c) => String(l[c] ?? '')));
    expect(await csv('deadletters')).toEqual([[...columns], ...rows]);
    expect(await json('deadletters')).toEqual(LETTERS);
    expect(await json('deadletters', '--limit', '2')).toEqual(LETTERS.slice(0, 2));
    expect(await csv('deadletters', '--limit', '1')).toEqual([[...columns], rows[0]]);
  });

  it('keeps readings exactly at --from and --to and drops those one second outside', async () => {
    const times = async (...bounds: string[]) => (await json('readings', '--pump', 'ALPHA', ...bounds)).map((r) => (r as { ts: string }).ts);
    expect(await times('--from', '2014-03-10T05:59:59Z', '--to', '2014-03-10T07:30:00Z')).toEqual([
      '2014-03-10T05:59:59Z',
      '2014-03-10T06:00:00Z',
      '2014-03-10T06:00:01Z',
      '2014-03-10T07:30:00Z',
    ]);
    expect(await times('--from', '2014-03-10T06:00:00Z', '--to', '2014-03-10T06:00:00Z')).toEqual(['2014-03-10T06:00:00Z']);
    expect(await times('--from', '2014-03-10T06:00:00', '--to', '2014-03-10T06:00')).toEqual(['2014-03-10T06:00:00Z']);
    // A day as a bound covers the whole day, 00:00:00 and 23:59:59 included, and nothing of the next day.
    expect(await times('--from', '2014-03-10', '--to', '2014-03-10')).toEqual(
      READINGS.filter((r) => r.pump === 'ALPHA' && r.day === '2014-03-10').map((r) => r.ts).sort(),
    );
    expect(await times('--from', '2014-03-10T23:59:59Z', '--to', '2014-03-11')).toEqual(['2014-03-10T23:59:59Z', '2014-03-11T00:00:00Z']);
    // A timestamp --from with a day --to: from that instant to the end of the day (the texts compare the other way).
    expect(await times('--from', '2014-03-10T07:30:00Z', '--to', '2014-03-10')).toEqual(['2014-03-10T07:30:00Z', '2014-03-10T23:59:59Z']);
    expect(await times('--to', '2014-03-10T00:00:00Z')).toEqual(['2014-03-10T00:00:00Z']);
    expect(await times('--from', '2014-03-11T00:00:00Z')).toEqual(['2014-03-11T00:00:00Z']);
  });

  it('keeps alerts exactly at --from and --to, across all pumps and for one pump', async () => {
    const alerts = async (...args: string[]) => (await json('alerts', ...args)).map((r) => `${(r as { ts: string }).ts} ${(r as { pump: string }).pump}`);
    // Two pumps alert exactly at --from (06:00:00) and two exactly at --to (07:30:00); 05:59:59 and 07:30:01 are outside.
    expect(await alerts('--from', '2014-03-10T06:00:00Z', '--to', '2014-03-10T07:30:00Z')).toEqual([
      '2014-03-10T06:00:00Z ALPHA',
      '2014-03-10T06:00:00Z BRAVO',
      '2014-03-10T07:30:00Z BRAVO',
      '2014-03-10T07:30:00Z CHARLIE',
    ]);
    expect(await alerts('--from', '2014-03-10T06:00:00Z', '--to', '2014-03-10T06:00:00Z')).toEqual(['2014-03-10T06:00:00Z ALPHA', '2014-03-10T06:00:00Z BRAVO']);
    expect(await alerts('--from', '2014-03-10T23:59:59Z')).toEqual(['2014-03-10T23:59:59Z ALPHA', '2014-03-11T00:00:00Z ALPHA']);
    expect(await alerts('--to', '2014-03-10T05:59:59Z')).toEqual(['2014-03-10T05:59:59Z ALPHA']);
    expect(await alerts('--from', '2014-03-10', '--to', '2014-03-10')).toHaveLength(READINGS.filter((r) => r.day === '2014-03-10' && r.alerts.length).length);
    expect(await alerts('--pump', 'BRAVO', '--from', '2014-03-10T06:00:00Z', '--to', '2014-03-10T07:30:00Z')).toEqual([
      '2014-03-10T06:00:00Z BRAVO',
      '2014-03-10T07:30:00Z BRAVO',
    ]);
    expect(await alerts('--pump', 'ALPHA', '--from', '2014-03-10T05:59:59Z', '--to', '2014-03-11T00:00:00Z')).toEqual([
      '2014-03-10T05:59:59Z ALPHA',
      '2014-03-10T06:00:00Z ALPHA',
      '2014-03-10T23:59:59Z ALPHA',
      '2014-03-11T00:00:00Z ALPHA',
    ]);
  });

  it('keeps stats of the --from and --to days, for all pumps and for one pump', async () => {
    const days = async (...args: string[]) => (await json('stats', ...args)).map((s) => `${(s as { date: string }).date} ${(s as { pump: string }).pump}`);
    expect(await days('--from', '2014-03-10', '--to', '2014-03-11')).toEqual(['2014-03-10 ALPHA', '2014-03-10 BRAVO', '2014-03-11 ALPHA']);
    expect(await days('--from', '2014-03-10', '--to', '2014-03-10')).toEqual(['2014-03-10 ALPHA', '2014-03-10 BRAVO']);
    expect(await days('--pump', 'ALPHA', '--from', '2014-03-09', '--to', '2014-03-10')).toEqual(['2014-03-09 ALPHA', '2014-03-10 ALPHA']);
    expect(await days('--from', '2014-03-12')).toEqual(['2014-03-12 BRAVO']);
    expect(await days('--to', '2014-03-09')).toEqual(['2014-03-09 ALPHA']);
  });

  it('prints only the header (or an empty array) when nothing matches', async () => {
    expect(await query('readings', '--pump', 'NOBODY')).toEqual([READING_HEADER.join(',')]);
    expect(await json('alerts', '--from', '2014-03-12', '--to', '2014-03-12')).toEqual([]);
  });

  it('rejects --from after --to and a stats bound that is not a day, with one clear line', async () => {
    await expect(queryCommand(['alerts', '--from', '2014-03-11', '--to', '2014-03-10', '--local', '--data-dir', dir], bufferedIO())).rejects.toThrow(
      new UsageError('--from 2014-03-11 is after --to 2014-03-10'),
    );
    await expect(queryCommand(['stats', '--from', '2014-03-10T00:00:00Z', '--local', '--data-dir', dir], bufferedIO())).rejects.toThrow(UsageError);
  });
});

/**
 * SQS as `ReceiveMessage` with `VisibilityTimeout: 0` behaves: nothing is hidden from the next receive, so every
 * call may return the same messages again (the API reference: VisibilityTimeout is "the duration that the received
 * messages are hidden from subsequent retrieve requests"). Speaks the AWS JSON 1.0 protocol the SDK uses.
 */
async function sqsThatRepeats(bodies: readonly string[]): Promise<{ url: string; receives: () => number; close: () => Promise<void> }> {
  let receives = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target !== 'AmazonSQS.ReceiveMessage') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ __type: 'InvalidAction', message: target }));
        return;
      }
      const input = JSON.parse(body) as { MaxNumberOfMessages?: number; VisibilityTimeout?: number };
      expect(input.VisibilityTimeout).toBe(0);
      receives++;
      const Messages = bodies.slice(0, input.MaxNumberOfMessages ?? 1).map((b, i) => ({
        MessageId: `m-${i}`,
        ReceiptHandle: `r-${receives}-${i}`,
        Body: b,
        MD5OfBody: createHash('md5').update(b).digest('hex'),
      }));
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ Messages }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    receives: () => receives,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('wellwatch query deadletters (AWS queue)', () => {
  it('prints each queued letter once although every peek returns them again', async () => {
    const sqs = await sqsThatRepeats(LETTERS.map((l) => JSON.stringify(l)));
    const saved = { ...process.env };
    process.env[ENV.sqsEndpoint] = sqs.url;
    process.env[ENV.deadLetterUrl] = `${sqs.url}/123456789012/wellwatch-dead-letters`;
    process.env.AWS_REGION = 'us-east-1';
    try {
      const io = bufferedIO();
      expect(await queryCommand(['deadletters', '--format', 'json'], io)).toBe(0);
      expect(JSON.parse(io.outLines.join('\n'))).toEqual(LETTERS);
      expect(sqs.receives()).toBeLessThanOrEqual(4);
    } finally {
      process.env = saved;
      await sqs.close();
    }
  });
});
