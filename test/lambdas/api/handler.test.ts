/**
 * The query API on both of its hosts: the Lambda handler given API Gateway payload 2.0 events, and the local server
 * over HTTP (which converts requests into the same events). One table of cases runs against each; the data lives in
 * real emulators (local mode in memory), and every aggregate is checked against an independent computation from the
 * readings the test wrote, including after late data and a re-rollup.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createApiHandler, type ApiHandler } from '../../../lambdas/api/handler';
import { loadApiSettings } from '../../../lambdas/config';
import type { AlarmKind, AlarmPolicy, Severity } from '../../../lambdas/core/alarm-rules';
import { evaluateAlarm } from '../../../lambdas/core/alarm-state';
import { READING_CSV_HEADER, STATS_CSV_HEADER } from '../../../lambdas/core/format';
import { createAlarmStore } from '../../../lambdas/store/alarm-store';
import { createNotifier } from '../../../lambdas/store/notifier';
import { MEASURES, type EvaluatedReading, type MeasureValues } from '../../../lambdas/core/types';
import { createRollupHandler } from '../../../lambdas/rollup/handler';
import { createCatalogStore } from '../../../lambdas/store/catalog-store';
import { dynamoClient } from '../../../lambdas/store/clients';
import { createReadingStore } from '../../../lambdas/store/reading-store';
import { startLocal, type LocalRuntime } from '../../../local';
import { apiGatewayEvent } from '../../helpers/api-gateway-event';

const PUMPS = ['ALPHA', 'BRAVO', 'CHARLIE'];
const DAYS = ['2014-03-10', '2014-03-11', '2014-03-12'];
/** Days the rollup has run for; the last day is left to the raw tail. */
const ROLLED = DAYS.slice(0, 2);
const STEP_SECONDS = 180;

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function reading(pump: string, ms: number, values: MeasureValues): EvaluatedReading {
  const ts = new Date(ms).toISOString().slice(0, 19) + 'Z';
  return { pump, day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values, alerts: values.psi < 5 ? ['low-psi'] : [] };
}

function values(rand: () => number): MeasureValues {
  const blip = rand() < 0.03;
  return {
    hz: Math.round((9 + rand() * 2) * 100) / 100,
    disp: Math.round((1 + rand()) * 100) / 100,
    flo: Math.round(700 + rand() * 300),
    sedPPM: Math.round(rand() * 300) / 100,
    psi: blip ? Math.round(rand() * 400) / 100 : Math.round((60 + rand() * 40) * 10) / 10,
    chlPPM: Math.round((1 + rand()) * 100) / 100,
  };
}

/** Every pump reports every 3 minutes, a few seconds off the minute, over the three days. */
function generate(): EvaluatedReading[] {
  const out: EvaluatedReading[] = [];
  PUMPS.forEach((pump, p) => {
    const rand = mulberry(11 + p);
    const start = Date.parse(`${DAYS[0]}T00:00:00Z`);
    for (let k = 0; k < (DAYS.length * 86_400) / STEP_SECONDS; k++) out.push(reading(pump, start + (k * STEP_SECONDS + ((k * 37 + p) % 50)) * 1000, values(rand)));
  });
  return out;
}

const SIZE = { '1m': 60, '5m': 300, '1h': 3_600, '1d': 86_400 } as const;

/** The independent oracle: buckets by plain arithmetic over the readings, avg = plain sum / count. */
function oracle(readings: readonly EvaluatedReading[], pump: string, resolution: keyof typeof SIZE, fromMs: number, toMs: number) {
  const size = SIZE[resolution] * 1000;
  const lo = Math.floor(fromMs / size) * size;
  const hi = Math.floor(toMs / size) * size;
  const buckets = new Map<number, EvaluatedReading[]>();
  for (const r of readings) {
    if (r.pump !== pump) continue;
    const b = Math.floor(Date.parse(r.ts) / size) * size;
    if (b < lo || b > hi) continue;
    if (!buckets.has(b)) buckets.set(b, []);
    buckets.get(b)!.push(r);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, rs]) => ({
      ts: new Date(b).toISOString().slice(0, 19) + 'Z',
      count: rs.length,
      measures: Object.fromEntries(
        MEASURES.map((m) => {
          const xs = rs.map((r) => r.values[m]);
          return [m, { min: Math.min(...xs), max: Math.max(...xs), avg: xs.reduce((s, x) => s + x, 0) / xs.length }];
        }),
      ) as Record<string, { min: number; max: number; avg: number }>,
    }));
}

function expectBucketsClose(actual: any[], expected: ReturnType<typeof oracle>): void {
  expect(actual.map((b) => [b.ts, b.count])).toEqual(expected.map((b) => [b.ts, b.count]));
  let worst = 0;
  actual.forEach((b, i) => {
    for (const m of MEASURES) {
      expect(b.measures[m].min).toBe(expected[i]!.measures[m]!.min);
      expect(b.measures[m].max).toBe(expected[i]!.measures[m]!.max);
      const e = expected[i]!.measures[m]!.avg;
      worst = Math.max(worst, Math.abs(b.measures[m].avg - e) / Math.max(Math.abs(e), 1e-300));
    }
  });
  expect(worst).toBeLessThanOrEqual(1e-9);
}

interface Reply {
  readonly status: number;
  readonly type: string;
  readonly nextCursorHeader: string | null;
  readonly text: string;
  readonly body: any;
}

/** A request body and its headers (alarm actions). */
interface Send {
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

type Host = (method: string, pathAndQuery: string, send?: Send) => Promise<Reply>;

let dir: string;
let runtime: LocalRuntime;
let dynamo: DynamoDBClient;
let lambda: ApiHandler;
let readings: EvaluatedReading[];

const viaLambda: Host = async (method, pathAndQuery, send = {}) => {
  const res = await lambda(apiGatewayEvent(method, pathAndQuery, { ...(send.body !== undefined ? { body: send.body } : {}), ...(send.headers ? { headers: send.headers } : {}) }));
  const headers = (res.headers ?? {}) as Record<string, string>;
  const type = String(headers['content-type'] ?? '');
  const text = res.body ?? '';
  return { status: res.statusCode ?? 200, type, nextCursorHeader: headers['x-next-cursor'] ?? null, text, body: type.startsWith('application/json') ? JSON.parse(text) : text };
};

const viaHttp: Host = async (method, pathAndQuery, send = {}) => {
  const res = await fetch(`${runtime.apiUrl}${pathAndQuery}`, { method, ...(send.body !== undefined ? { body: send.body } : {}), ...(send.headers ? { headers: send.headers } : {}) });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, nextCursorHeader: res.headers.get('x-next-cursor'), text, body: type.startsWith('application/json') ? JSON.parse(text) : text };
};

/** Follows nextCursor to the last page; returns every page's body. */
async function allPages(host: Host, pathAndQuery: string): Promise<any[]> {
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = pathAndQuery.includes('?') ? '&' : '?';
    const res = await host('GET', cursor ? `${pathAndQuery}${sep}cursor=${encodeURIComponent(cursor)}` : pathAndQuery);
    expect(res.status).toBe(200);
    pages.push(res.body);
    cursor = res.body.nextCursor;
    expect(pages.length).toBeLessThan(100);
  } while (cursor);
  return pages;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-api-'));
  runtime = await startLocal({ dataDir: dir, port: 0, memory: true, shards: 1, schedule: false, log: () => undefined });
  dynamo = dynamoClient(runtime.config);
  readings = generate();
  expect((await createReadingStore(dynamo, runtime.config).put(readings)).failed).toEqual([]);
  const pumpDays = PUMPS.flatMap((pump) => DAYS.map((day) => ({ pump, day })));
  expect((await createCatalogStore(dynamo, runtime.config).markTouched(pumpDays, DAYS[0]!)).failed).toEqual([]);
  await createRollupHandler(runtime.config, { dynamo, metricsSink: () => undefined })({ from: ROLLED[0], to: ROLLED[1] });
  lambda = createApiHandler(runtime.config, loadApiSettings({ cursorSecret: 'test-secret-'.padEnd(40, 'x') }), { dynamo });
  for (const a of ALARMS) await seedAlarm(a.pump, a.rule, a.kind, a.severity, a.values);
});

/** Alarms written through the alarm store (one per (pump, rule)); `values` are psi readings, one a minute from `start`. */
const ALARMS: { pump: string; rule: string; kind: AlarmKind; severity: Severity; values: { start: string; psi: number[] } }[] = [
  { pump: 'BRAVO', rule: 'low-psi', kind: 'threshold', severity: 'major', values: { start: '2014-03-11T05:00:00Z', psi: [2, 1, 80] } },
  { pump: 'ALPHA', rule: 'low-psi', kind: 'threshold', severity: 'major', values: { start: '2014-03-12T10:00:00Z', psi: [0, 0, 0] } },
  { pump: 'CHARLIE', rule: 'psi-trend', kind: 'early-warning', severity: 'minor', values: { start: '2014-03-12T11:00:00Z', psi: [3] } },
  // One per host for the actions, raised in 2015 so that the listings bounded by `to=2014-12-31` never see them.
  { pump: 'ACTL', rule: 'low-psi', kind: 'threshold', severity: 'critical', values: { start: '2015-01-01T00:00:00Z', psi: [0] } },
  { pump: 'ACTH', rule: 'low-psi', kind: 'threshold', severity: 'critical', values: { start: '2015-01-01T00:00:00Z', psi: [0] } },
];
const ALARM_IDS = { bravo: 'BRAVO.low-psi.20140311T050000Z', alpha: 'ALPHA.low-psi.20140312T100000Z', charlie: 'CHARLIE.psi-trend.20140312T110000Z' };

async function seedAlarm(pump: string, rule: string, kind: AlarmKind, severity: Severity, values: { start: string; psi: number[] }): Promise<void> {
  const policy: AlarmPolicy = { rule, kind, severity, forReadings: 1, forSeconds: 0, clearForReadings: 1, latch: false, notify: true, worse: 'lower' };
  const t0 = Date.parse(values.start);
  const samples = values.psi.map((psi, i) => ({ pump, rule, kind, severity, ts: new Date(t0 + i * 60_000).toISOString().slice(0, 19) + 'Z', value: psi, raise: psi < 5, clear: psi >= 5 }));
  const store = createAlarmStore(dynamo, runtime.config);
  const out = await store.update({ pump, rule, kind }, (s) => evaluateAlarm(s, samples, policy));
  await store.deliver(out.state, createNotifier(runtime.config)); // archives a closed one
}

afterAll(async () => {
  dynamo?.destroy();
  await runtime?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Refusals: [name, method, path, status, code, parameter]. */
const REFUSALS: [string, string, string, number, string, string | undefined][] = [
  ['an unknown parameter', 'GET', '/pumps?pump=ALPHA', 400, 'unknown-parameter', 'pump'],
  ['a repeated parameter', 'GET', '/stats?pump=ALPHA&pump=BRAVO', 400, 'repeated-parameter', 'pump'],
  ['a limit of 0', 'GET', '/pumps?limit=0', 400, 'bad-parameter', 'limit'],
  ['a limit that is not a number', 'GET', '/alerts?limit=ten', 400, 'bad-parameter', 'limit'],
  ['a limit above the page cap', 'GET', '/pumps/ALPHA/readings?limit=10001', 400, 'bad-parameter', 'limit'],
  ['an unknown format', 'GET', '/stats?format=xml', 400, 'bad-parameter', 'format'],
  ['a malformed pump in the query', 'GET', '/alerts?pump=AL%20PHA', 400, 'bad-parameter', 'pump'],
  ['a malformed pump in the path', 'GET', '/pumps/AL%20PHA/readings', 400, 'bad-parameter', 'pump'],
  ['a malformed from', 'GET', '/pumps/ALPHA/readings?from=yesterday', 400, 'bad-parameter', 'from'],
  ['an impossible day', 'GET', '/stats?from=2014-02-30', 400, 'bad-parameter', 'from'],
  ['a malformed to', 'GET', '/alerts?to=soon', 400, 'bad-parameter', 'to'],
  ['from after to', 'GET', '/pumps/ALPHA/readings?from=2014-03-12&to=2014-03-10', 400, 'bad-parameter', 'from'],
  ['an unknown resolution', 'GET', '/pumps/ALPHA/readings?resolution=2m', 400, 'bad-parameter', 'resolution'],
  ['points with a resolution', 'GET', '/pumps/ALPHA/readings?resolution=1h&points=10', 400, 'bad-parameter', 'points'],
  ['points of 0', 'GET', '/pumps/ALPHA/readings?points=0', 400, 'bad-parameter', 'points'],
  ['a raw range over 31 days', 'GET', '/pumps/ALPHA/readings?resolution=raw&from=2014-02-01&to=2014-03-12', 400, 'range-too-long', 'from'],
  ['a 5m range over 31 days', 'GET', '/pumps/ALPHA/readings?resolution=5m&from=2014-02-01&to=2014-03-12', 400, 'range-too-long', 'from'],
  ['an hourly range over ten years', 'GET', '/pumps/ALPHA/readings?resolution=1h&from=2000-01-01&to=2014-03-12', 400, 'range-too-long', 'from'],
  ['an unknown measure', 'GET', '/pumps/ALPHA/readings?measures=psi,temp', 400, 'bad-parameter', 'measures'],
  ['a repeated measure', 'GET', '/pumps/ALPHA/readings?measures=psi,psi', 400, 'bad-parameter', 'measures'],
  ['a malformed cursor', 'GET', '/pumps?cursor=abc', 400, 'bad-cursor', 'cursor'],
  ['an unknown pump in the path', 'GET', '/pumps/NOPE/readings', 404, 'unknown-pump', 'pump'],
  ['an unknown pump in /alerts', 'GET', '/alerts?pump=NOPE', 404, 'unknown-pump', 'pump'],
  ['an unknown pump in /stats', 'GET', '/stats?pump=NOPE', 404, 'unknown-pump', 'pump'],
  ['a path under /pumps that is no route', 'GET', '/pumps/ALPHA', 404, 'not-found', undefined],
  ['a POST', 'POST', '/pumps', 405, 'method-not-allowed', undefined],
  ['an unknown alarm parameter', 'GET', '/alarms?rule=low-psi', 400, 'unknown-parameter', 'rule'],
  ['an unknown alarm kind', 'GET', '/alarms?kind=smoke', 400, 'bad-parameter', 'kind'],
  ['an unknown severity', 'GET', '/alarms?severity=huge', 400, 'bad-parameter', 'severity'],
  ['open that is not a boolean', 'GET', '/alarms?open=yes', 400, 'bad-parameter', 'open'],
  ['a malformed alarm from', 'GET', '/alarms?from=2014-02-30', 400, 'bad-parameter', 'from'],
  ['an alarm limit above the cap', 'GET', '/alarms?limit=100000', 400, 'bad-parameter', 'limit'],
  ['a malformed alarm pump', 'GET', '/alarms?pump=A%20B', 400, 'bad-parameter', 'pump'],
  ['a cursor of another alarm query', 'GET', '/alarms?cursor=abc.def', 400, 'bad-cursor', 'cursor'],
  ['a malformed alarm id', 'GET', '/alarms/not-an-id', 400, 'bad-parameter', 'id'],
  ['an unknown alarm', 'GET', '/alarms/ALPHA.low-psi.20000101T000000Z', 404, 'unknown-alarm', 'id'],
  ['csv for one alarm', 'GET', `/alarms/${'ALPHA.low-psi.20140312T100000Z'}?format=csv`, 400, 'bad-parameter', 'format'],
  ['an unknown alarm action', 'POST', '/alarms/ALPHA.low-psi.20140312T100000Z/delete', 404, 'not-found', undefined],
  ['a GET of an alarm action', 'GET', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', 405, 'method-not-allowed', undefined],
  ['a POST on the alarm list', 'POST', '/alarms', 405, 'method-not-allowed', undefined],
  ['an action body that is not JSON', 'POST', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', 415, 'unsupported-media-type', 'body'],
];

const JSON_TYPE = { 'content-type': 'application/json' };

/** Refused alarm actions (JSON bodies): [name, path, body, status, code, field]. */
const ACTION_REFUSALS: [string, string, string, number, string, string][] = [
  ['an ack without by', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', '{"note":"x"}', 400, 'missing-field', 'by'],
  ['an empty by', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', '{"by":" "}', 400, 'bad-field', 'by'],
  ['an unknown body field', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', '{"by":"ana","until":"2099-01-01T00:00:00Z"}', 400, 'unknown-field', 'until'],
  ['a body that is not an object', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', '["ana"]', 400, 'bad-body', 'body'],
  ['malformed JSON', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', '{by:ana}', 400, 'bad-json', 'body'],
  ['a shelve without until', '/alarms/ALPHA.low-psi.20140312T100000Z/shelve', '{"by":"ana"}', 400, 'missing-field', 'until'],
  ['a shelve until in the past', '/alarms/ALPHA.low-psi.20140312T100000Z/shelve', '{"by":"ana","until":"2014-01-01T00:00:00Z"}', 400, 'bad-field', 'until'],
  ['a shelve until that is no time', '/alarms/ALPHA.low-psi.20140312T100000Z/shelve', '{"by":"ana","until":"tomorrow"}', 400, 'bad-field', 'until'],
  ['a note too long', '/alarms/ALPHA.low-psi.20140312T100000Z/ack', JSON.stringify({ by: 'ana', note: 'x'.repeat(501) }), 400, 'bad-field', 'note'],
  ['an ack of an unknown alarm', '/alarms/ALPHA.low-psi.20000101T000000Z/ack', '{"by":"ana"}', 404, 'unknown-alarm', 'id'],
  ['an ack of a closed alarm', '/alarms/BRAVO.low-psi.20140311T050000Z/ack', '{"by":"ana"}', 409, 'alarm-closed', 'id'],
];

describe.each([
  ['the Lambda handler (API Gateway events)', () => viaLambda],
  ['the local server (HTTP)', () => viaHttp],
])('query API via %s', (_name, hostOf) => {
  let host: Host;
  beforeAll(() => {
    host = hostOf();
  });

  it.each(REFUSALS)('refuses %s', async (_case, method, pathAndQuery, status, code, parameter) => {
    const res = await host(method, pathAndQuery);
    expect(res.status).toBe(status);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ code, error: expect.any(String) });
    expect(res.body.parameter).toBe(parameter);
  });

  it.each(ACTION_REFUSALS)('refuses %s', async (_case, pathAndQuery, body, status, code, field) => {
    const res = await host('POST', pathAndQuery, { body, headers: JSON_TYPE });
    expect([res.status, res.body.code, res.body.parameter]).toEqual([status, code, field]);
  });

  it('lists alarms by raised time, open ones, by pump, kind and severity, page by page', async () => {
    const all = await allPages(host, '/alarms?to=2014-12-31&limit=2');
    expect(all.map((p) => p.count)).toEqual([2, 1]);
    const items = all.flatMap((p) => p.items);
    expect(items.map((a: any) => [a.id, a.state])).toEqual([
      [ALARM_IDS.bravo, 'CLEARED'],
      [ALARM_IDS.alpha, 'ACTIVE'],
      [ALARM_IDS.charlie, 'ACTIVE'],
    ]);
    expect(items[0]).toEqual({
      id: ALARM_IDS.bravo, pump: 'BRAVO', rule: 'low-psi', kind: 'threshold', severity: 'major', state: 'CLEARED', acknowledged: false, shelved_until: null,
      first_time: '2014-03-11T05:00:00Z', raised_time: '2014-03-11T05:00:00Z', last_time: '2014-03-11T05:01:00Z', count: 2, worst_value: 1, cleared_time: '2014-03-11T05:02:00Z', detail: null,
    });
    const ids = async (q: string) => (await host('GET', `/alarms?to=2014-12-31&${q}`)).body.items.map((a: any) => a.id);
    expect(await ids('open')).toEqual([ALARM_IDS.alpha, ALARM_IDS.charlie]);
    expect(await ids('open=false&pump=BRAVO')).toEqual([ALARM_IDS.bravo]);
    expect(await ids('open=true&pump=BRAVO')).toEqual([]);
    expect(await ids('kind=early-warning')).toEqual([ALARM_IDS.charlie]);
    expect(await ids('severity=major')).toEqual([ALARM_IDS.bravo, ALARM_IDS.alpha]);
    expect(await ids('from=2014-03-12')).toEqual([ALARM_IDS.alpha, ALARM_IDS.charlie]);
  });

  it('answers alarms as CSV with the CLI columns, the cursor in a header', async () => {
    const res = await host('GET', '/alarms?to=2014-12-31&limit=1&format=csv');
    expect(res.type).toMatch(/^text\/csv/);
    const lines = res.text.trimEnd().split('\n');
    expect(lines[0]).toBe('id,pump,rule,kind,severity,state,acknowledged,shelved_until,first_time,raised_time,last_time,count,worst_value,cleared_time');
    expect(lines[1]).toBe(`${ALARM_IDS.bravo},BRAVO,low-psi,threshold,major,CLEARED,false,,2014-03-11T05:00:00Z,2014-03-11T05:00:00Z,2014-03-11T05:01:00Z,2,1,2014-03-11T05:02:00Z`);
    expect(res.nextCursorHeader).toEqual(expect.any(String));
    const next = await host('GET', `/alarms?to=2014-12-31&limit=1&format=csv&cursor=${encodeURIComponent(res.nextCursorHeader!)}`);
    expect(next.text.split('\n')[1]!.split(',')[0]).toBe(ALARM_IDS.alpha);
    const wrongScope = await host('GET', `/alarms?limit=1&cursor=${encodeURIComponent(res.nextCursorHeader!)}`);
    expect([wrongScope.status, wrongScope.body.code]).toEqual([400, 'bad-cursor']);
  });

  it('shows one alarm, open or archived, with its audit trail', async () => {
    const open = await host('GET', `/alarms/${ALARM_IDS.alpha}`);
    expect(open.status).toBe(200);
    expect(open.body).toMatchObject({ id: ALARM_IDS.alpha, state: 'ACTIVE', count: 3, trail: [expect.objectContaining({ at: '2014-03-12T10:00:00Z', action: 'raised' })] });
    const closed = await host('GET', `/alarms/${encodeURIComponent(ALARM_IDS.bravo)}`);
    expect(closed.body).toMatchObject({ id: ALARM_IDS.bravo, state: 'CLEARED', trail: [expect.objectContaining({ action: 'raised' }), expect.objectContaining({ at: '2014-03-11T05:02:00Z', action: 'cleared' })] });
  });

  it('lists every pump with its latest reading, page by page to the last page', async () => {
    const pages = await allPages(host, '/pumps?limit=2');
    expect(pages.map((p) => p.count)).toEqual([2, 1]);
    expect(pages[1].nextCursor).toBeNull();
    const items = pages.flatMap((p) => p.items);
    expect(items.map((p: any) => p.pump)).toEqual(PUMPS);
    for (const item of items) {
      const last = readings.filter((r) => r.pump === item.pump).at(-1)!;
      expect(item.lastReading).toEqual({ ts: last.ts, ...last.values, alerts: last.alerts });
    }
    // From the alarm layer: ALPHA's low-psi alarm is active, and outranks silence; BRAVO's alarm closed and CHARLIE
    // has only an early warning, which a silent pump outranks (2014 is long past the staleness window).
    expect(items.map((p: any) => [p.pump, p.status, p.openAlarms])).toEqual([
      ['ALPHA', 'alarm', 1],
      ['BRAVO', 'no-data', 0],
      ['CHARLIE', 'no-data', 1],
    ]);
  });

  it('pages raw readings in time order to the last page, each reading once', async () => {
    const pages = await allPages(host, `/pumps/BRAVO/readings?resolution=raw&from=${DAYS[1]}T06:00:00Z&to=${DAYS[1]}T18:00:00Z&limit=70`);
    const expected = readings.filter((r) => r.pump === 'BRAVO' && r.ts >= `${DAYS[1]}T06:00:00Z` && r.ts <= `${DAYS[1]}T18:00:00Z`);
    expect(pages.length).toBe(Math.ceil(expected.length / 70));
    expect(pages.at(-1).nextCursor).toBeNull();
    expect(pages.flatMap((p) => p.items)).toEqual(expected.map((r) => ({ ts: r.ts, ...r.values, alerts: r.alerts })));
  });

  it.each(['1m', '5m', '1h', '1d'] as const)('matches an independent computation at resolution %s over rolled-up days and the raw tail', async (resolution) => {
    const from = `${DAYS[0]}T07:10:00Z`;
    const to = `${DAYS[2]}T20:00:00Z`;
    const pages = await allPages(host, `/pumps/ALPHA/readings?resolution=${resolution}&from=${from}&to=${to}`);
    expect(pages[0].resolution).toBe(resolution);
    expectBucketsClose(
      pages.flatMap((p) => p.items),
      oracle(readings, 'ALPHA', resolution, Date.parse(from), Date.parse(to)),
    );
  });

  it('reads precomputed hours for rolled-up days instead of their readings', async () => {
    const res = await host('GET', `/pumps/CHARLIE/readings?resolution=1h&from=${ROLLED[0]}&to=${ROLLED[1]}`);
    expect(res.body.count).toBe(48);
    // 48 hourly items, the last-rolled-day lookup, nothing else: 960 readings are not touched.
    expect(res.body.itemsRead).toBeLessThanOrEqual(50);
  });

  it('returns only the measures asked for, in JSON and CSV', async () => {
    const q = `/pumps/ALPHA/readings?resolution=1h&from=${DAYS[0]}&to=${DAYS[0]}&measures=flo,psi`;
    const full = (await host('GET', `/pumps/ALPHA/readings?resolution=1h&from=${DAYS[0]}&to=${DAYS[0]}`)).body.items;
    const some = (await host('GET', q)).body.items;
    expect(some).toEqual(full.map((b: any) => ({ ts: b.ts, count: b.count, measures: { flo: b.measures.flo, psi: b.measures.psi } })));
    const text = (await host('GET', `${q}&format=csv`)).text.split('\n');
    expect(text[0]).toBe('ts,count,flo_min,flo_max,flo_avg,psi_min,psi_max,psi_avg');
    const raw = (await host('GET', `/pumps/ALPHA/readings?resolution=raw&from=${DAYS[0]}&to=${DAYS[0]}&limit=3&measures=hz`)).body.items;
    const first = readings.filter((r) => r.pump === 'ALPHA').slice(0, 3);
    expect(raw).toEqual(first.map((r) => ({ ts: r.ts, hz: r.values.hz, alerts: r.alerts })));
  });

  it('chooses the finest resolution that fits the point budget', async () => {
    const day = await host('GET', `/pumps/ALPHA/readings?from=${DAYS[0]}&to=${DAYS[0]}&points=100`);
    expect([day.body.resolution, day.body.count]).toEqual(['1h', 24]);
    const three = await host('GET', `/pumps/ALPHA/readings?from=${DAYS[0]}&to=${DAYS[2]}`);
    expect(three.body.resolution).toBe('5m'); // 864 five-minute buckets fit the default 1,000 points
  });

  it('answers CSV on lists, with the cursor in a header', async () => {
    const stats = await host('GET', '/stats?pump=ALPHA&format=csv');
    expect(stats.type).toMatch(/^text\/csv/);
    const lines = stats.text.trimEnd().split('\n');
    expect(lines[0]).toBe(STATS_CSV_HEADER);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(ROLLED.map((d) => `ALPHA,${d}`));
    const raw = await host('GET', `/pumps/ALPHA/readings?resolution=raw&from=${DAYS[0]}&to=${DAYS[0]}&limit=10&format=csv`);
    expect(raw.text.trimEnd().split('\n')).toHaveLength(11);
    expect(raw.text.split('\n')[0]).toBe(READING_CSV_HEADER);
    expect(raw.nextCursorHeader).toMatch(/\./);
    const pumps = await host('GET', '/pumps?format=csv');
    expect(pumps.text.trimEnd().split('\n').map((l) => l.split(',').slice(0, 3).join(','))).toEqual(['pump,status,open_alarms', 'ALPHA,alarm,1', 'BRAVO,no-data,0', 'CHARLIE,no-data,1']);
  });

  it('lists alerts of all pumps by time then pump, and of one pump, page by page', async () => {
    const all = (await allPages(host, `/alerts?from=${DAYS[0]}&to=${DAYS[2]}&limit=7`)).flatMap((p) => p.items);
    const expected = readings.filter((r) => r.alerts.length > 0).sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.pump < b.pump ? -1 : 1));
    expect(expected.length).toBeGreaterThan(20);
    expect(all.map((a: any) => `${a.ts} ${a.pump} ${a.psi}`)).toEqual(expected.map((r) => `${r.ts} ${r.pump} ${r.values.psi}`));
    const bravo = (await allPages(host, '/alerts?pump=BRAVO&limit=5')).flatMap((p) => p.items);
    expect(bravo.map((a: any) => a.ts)).toEqual(expected.filter((r) => r.pump === 'BRAVO').map((r) => r.ts));
  });

  it('lists daily stats of all pumps by date then pump, page by page', async () => {
    const rows = (await allPages(host, `/stats?from=${DAYS[0]}&to=${DAYS[2]}&limit=4`)).flatMap((p) => p.items);
    expect(rows.map((s: any) => `${s.date} ${s.pump}`)).toEqual(ROLLED.flatMap((d) => PUMPS.map((p) => `${d} ${p}`)));
    for (const s of rows) expectBucketsClose([{ ts: `${s.date}T00:00:00Z`, ...s }], oracle(readings, s.pump, '1d', Date.parse(s.date), Date.parse(s.date)));
  });

  it('refuses a cursor that was altered or belongs to another query', async () => {
    const first = await host('GET', `/pumps/ALPHA/readings?resolution=raw&from=${DAYS[0]}&to=${DAYS[0]}&limit=5`);
    const cursor: string = first.body.nextCursor;
    const [pos, tag] = cursor.split('.') as [string, string];
    const forged = `${Buffer.from('2014-03-10T12:00:00Z').toString('base64url')}.${tag}`;
    for (const bad of [forged, `${pos}.${tag.slice(0, -1)}${tag.endsWith('A') ? 'B' : 'A'}`]) {
      const res = await host('GET', `/pumps/ALPHA/readings?resolution=raw&from=${DAYS[0]}&to=${DAYS[0]}&limit=5&cursor=${encodeURIComponent(bad)}`);
      expect([res.status, res.body.code, res.body.parameter]).toEqual([400, 'bad-cursor', 'cursor']);
    }
    const other = await host('GET', `/pumps/BRAVO/readings?resolution=raw&from=${DAYS[0]}&to=${DAYS[0]}&limit=5&cursor=${encodeURIComponent(cursor)}`);
    expect([other.status, other.body.code]).toEqual([400, 'bad-cursor']);
  });
});

describe.each([
  ['the Lambda handler (API Gateway events)', () => viaLambda, 'ACTL'],
  ['the local server (HTTP)', () => viaHttp, 'ACTH'],
])('alarm actions via %s', (_name, hostOf, actPump) => {
  it('acknowledges, shelves and unshelves an alarm, idempotently, with the audit trail and notifications', async () => {
    const host = hostOf();
    const id = `${actPump}.low-psi.20150101T000000Z`;
    const post = (action: string, body: unknown) => host('POST', `/alarms/${id}/${action}`, { body: JSON.stringify(body), headers: JSON_TYPE });
    const ack = await post('ack', { by: 'ana', note: 'crew dispatched' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ transitions: ['acknowledged'], alarm: { id, state: 'ACTIVE', acknowledged: true } });
    expect((await post('ack', { by: 'ana' })).body).toMatchObject({ transitions: [], alarm: { acknowledged: true } });
    const shelved = await post('shelve', { by: 'bo', until: '2099-01-01T00:00:00Z', note: 'known' });
    expect(shelved.body).toMatchObject({ transitions: ['shelved'], alarm: { state: 'SHELVED', shelved_until: '2099-01-01T00:00:00Z' } });
    expect((await host('GET', `/alarms?open&pump=${actPump}`)).body.items.map((a: any) => a.state)).toEqual(['SHELVED']);
    expect((await post('unshelve', { by: 'bo' })).body).toMatchObject({ transitions: ['unshelved'], alarm: { state: 'ACTIVE', shelved_until: null } });
    expect((await post('unshelve', { by: 'bo' })).body.transitions).toEqual([]);
    const shown = await host('GET', `/alarms/${id}`);
    expect(shown.body.trail.map((e: any) => [e.action, e.by ?? null, e.note ?? null])).toEqual([
      ['raised', null, null],
      ['acknowledged', 'ana', 'crew dispatched'],
      ['shelved', 'bo', 'known'],
      ['unshelved', 'bo', null],
    ]);
    // Every transition reached the notification destination once (notifications.jsonl in local mode).
    const lines = fs.readFileSync(path.join(dir, 'notifications.jsonl'), 'utf8').split('\n').filter((l) => l.includes(id)).map((l) => JSON.parse(l).type);
    expect(lines).toEqual(['raised', 'acknowledged', 'shelved', 'unshelved']); // unshelving an active alarm notifies again
  });
});

describe('query API with a small read budget', () => {
  /** A Lambda host whose requests may read only `maxItemsRead` items each. */
  const budgetHost =
    (maxItemsRead: number): Host =>
    async (method, pathAndQuery) => {
      const small = createApiHandler(runtime.config, { cursorSecret: 'budget-secret-'.padEnd(40, 'x'), maxItemsRead, staleAfterMinutes: 60 }, { dynamo });
      const res = await small(apiGatewayEvent(method, pathAndQuery));
      return { status: res.statusCode!, type: 'application/json', nextCursorHeader: null, text: res.body!, body: JSON.parse(res.body!) };
    };

  it('stops each request at the budget and resumes from the cursor, every item exactly once', async () => {
    const host = budgetHost(150);
    const raw = await allPages(host, `/pumps/BRAVO/readings?resolution=raw&from=${DAYS[0]}&to=${DAYS[2]}&limit=10000`);
    expect(raw.length).toBeGreaterThan(5);
    for (const page of raw) expect(page.itemsRead).toBeLessThanOrEqual(150);
    expect(raw.flatMap((p) => p.items).map((r: any) => r.ts)).toEqual(readings.filter((r) => r.pump === 'BRAVO').map((r) => r.ts));
    for (const resolution of ['5m', '1h'] as const) {
      const pages = await allPages(host, `/pumps/BRAVO/readings?resolution=${resolution}&from=${DAYS[0]}&to=${DAYS[2]}&limit=10000`);
      for (const page of pages) expect(page.itemsRead).toBeLessThanOrEqual(150);
      expectBucketsClose(
        pages.flatMap((p) => p.items),
        oracle(readings, 'BRAVO', resolution, Date.parse(DAYS[0]!), Date.parse(`${DAYS[2]}T23:59:59Z`)),
      );
    }
    const alerts = (await allPages(budgetHost(100), `/alerts?limit=10000`)).flatMap((p) => p.items);
    expect(alerts).toHaveLength(readings.filter((r) => r.alerts.length > 0).length);
  });

  it('walks a long run of empty days with empty pages that still move the cursor', async () => {
    const pages = await allPages(budgetHost(10), `/pumps/ALPHA/readings?resolution=5m&from=2014-02-12&to=${DAYS[0]}T00:30:00Z`);
    expect(pages.length).toBeGreaterThan(2);
    expect(pages[0].items).toEqual([]);
    expectBucketsClose(
      pages.flatMap((p) => p.items),
      oracle(readings, 'ALPHA', '5m', Date.parse('2014-02-12'), Date.parse(`${DAYS[0]}T00:30:00Z`)),
    );
  });
});

describe('query API after late data', () => {
  it('serves hours and days recomputed from every reading once the pending re-rollup has run', async () => {
    const rand = mulberry(99);
    const late = Array.from({ length: 40 }, (_, k) => reading('ALPHA', Date.parse(`${DAYS[0]}T05:00:00Z`) + (k * 89 + 1) * 1000, values(rand))); // all inside 05:00–05:59
    const fresh = late.filter((l) => !readings.some((r) => r.pump === l.pump && r.ts === l.ts));
    expect((await createReadingStore(dynamo, runtime.config).put(fresh)).failed).toEqual([]);
    // The consumer marks a pump-day touched after its day as pending; the pending rollup recomputes it.
    expect((await createCatalogStore(dynamo, runtime.config).markTouched([{ pump: 'ALPHA', day: DAYS[0]! }], DAYS[2]!)).pending).toBe(1);
    const result = await createRollupHandler(runtime.config, { dynamo, metricsSink: () => undefined })({ mode: 'pending' });
    expect(result.pendingCleared).toBe(1);
    const all = [...readings, ...fresh].sort((a, b) => (a.ts < b.ts ? -1 : 1));
    for (const resolution of ['1h', '1d'] as const) {
      const pages = await allPages(viaLambda, `/pumps/ALPHA/readings?resolution=${resolution}&from=${DAYS[0]}&to=${DAYS[1]}`);
      expectBucketsClose(
        pages.flatMap((p) => p.items),
        oracle(all, 'ALPHA', resolution, Date.parse(DAYS[0]!), Date.parse(`${DAYS[1]}T23:59:59Z`)),
      );
    }
    const hour5 = (await viaHttp('GET', `/pumps/ALPHA/readings?resolution=1h&from=${DAYS[0]}T05:00:00Z&to=${DAYS[0]}T05:59:59Z`)).body.items[0];
    expect(hour5.count).toBe(20 + fresh.length);
  });
});
