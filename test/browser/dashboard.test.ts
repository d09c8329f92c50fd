/**
 * The local dashboard in a real browser: Debian's chromium driven by playwright-core, against local mode with the
 * real consumer. Readings are pushed through the stream while the page is open; the test waits for them to show,
 * selects a pump, and checks what the chart drew and what the tables hold. Screenshots go to test-output/.
 *
 * Without chromium the test is skipped on a developer machine but FAILS in CI (CI=true): .ci/run installs it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { kinesisClient } from '../../lambdas/store/clients';
import { startLocal, type LocalRuntime } from '../../local';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = path.join(__dirname, '..', '..', 'test-output');
const haveChromium = fs.existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const run = haveChromium || inCi ? it : it.skip;

/** A CSV line of the seed format at a UTC instant (minute resolution). */
function line(pump: string, ms: number, psi: number): string {
  const d = new Date(ms);
  const date = `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${String(d.getUTCFullYear()).slice(2)}`;
  const time = `${d.getUTCHours()}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  const k = Math.floor(ms / 60_000);
  return `${pump},${date},${time},${(9.5 + (k % 7) / 10).toFixed(2)},1.7,${800 + (k % 90)},1.5,${psi},1.9`;
}

async function push(runtime: LocalRuntime, lines: readonly string[]): Promise<void> {
  const client = kinesisClient(runtime.config);
  try {
    for (let i = 0; i < lines.length; i += 400) {
      const chunk = lines.slice(i, i + 400);
      const out = await client.send(
        new PutRecordsCommand({ StreamName: runtime.config.streamName, Records: chunk.map((l) => ({ PartitionKey: l.split(',')[0], Data: Buffer.from(l) })) }),
      );
      expect(out.FailedRecordCount ?? 0).toBe(0);
    }
  } finally {
    client.destroy();
  }
}

describe('local dashboard in chromium', () => {
  let dir: string;
  let runtime: LocalRuntime | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    await runtime?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  run('shows pushed readings, draws the selected pump and fills its tables', async () => {
    if (!haveChromium) throw new Error(`chromium is missing at ${CHROMIUM} (CI=true): .ci/run installs it with apt-get`);
    fs.mkdirSync(OUTPUT, { recursive: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-browser-'));
    runtime = await startLocal({ dataDir: dir, port: 0, memory: true, shards: 1, schedule: false, log: () => undefined });

    // Three hours of ALPHA and BRAVO, one reading a minute, ending two minutes ago (ALPHA has 3 low-pressure
    // readings, BRAVO's latest reading is one), and before them ALPHA every 30 minutes over the two days before.
    const end = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000;
    const minutes = 180;
    const start = end - (minutes - 1) * 60_000;
    const alphaAlerts = new Set([30, 90, 150]);
    const alpha: number[] = [];
    const lines: string[] = [];
    for (let ms = Date.parse(new Date(start).toISOString().slice(0, 10)) - 2 * 86_400_000; ms < start - 60_000; ms += 30 * 60_000) {
      alpha.push(ms);
      lines.push(line('ALPHA', ms, 75));
    }
    for (let i = minutes - 1; i >= 0; i--) {
      const ms = end - i * 60_000;
      alpha.push(ms);
      lines.push(line('ALPHA', ms, alphaAlerts.has(i) ? 2 : 80 + (i % 9)));
      lines.push(line('BRAVO', ms, i === 0 ? 3 : 70 + (i % 5)));
    }
    await push(runtime, lines);
    await runtime.waitForIdle({ timeoutMs: 60_000 });
    // Daily statistics of the days before today, as the 00:15 UTC rollup writes them.
    const today = new Date().toISOString().slice(0, 10);
    const days = [...new Set(alpha.map((ms) => new Date(ms).toISOString().slice(0, 10)))].filter((d) => d < today);
    for (const date of days) {
      const res = await fetch(`${runtime.apiUrl}/api/rollup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ date }) });
      expect(res.status).toBe(200);
    }
    /**
     * Buckets the chart must draw: distinct buckets of ALPHA's readings in the range the page asks for, from
     * `anchor - span + 1 s` to its latest reading (the anchor). The API serves whole buckets, so the range starts at
     * the bucket holding `from`: with the anchor on a half hour, the 30-minute reading one span before it counts too.
     */
    const expectedPoints = (spanMs: number, bucketMs: number): number => {
      const anchor = Math.max(...alpha);
      const first = Math.floor((anchor - spanMs + 1000) / bucketMs) * bucketMs;
      return new Set(alpha.filter((ms) => ms >= first && ms <= anchor).map((ms) => Math.floor(ms / bucketMs))).size;
    };

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
    await page.goto(runtime.apiUrl + '/');

    // The pump list shows both pumps with their status colours.
    await page.waitForSelector('#pumps li[data-pump="BRAVO"]', { timeout: 15_000 });
    expect(await page.$$eval('#pumps li[data-pump]', (els: any[]) => els.map((e) => [e.getAttribute('data-pump'), e.getAttribute('data-status')]))).toEqual([
      ['ALPHA', 'ok'], // its three low-pressure readings raised alarms that cleared with the next reading
      ['BRAVO', 'alarm'], // its latest reading raised a low-psi alarm that is still active
    ]);

    // Select ALPHA: the 24 h default range at 1-minute buckets draws one point per reading.
    await page.click('#pumps li[data-pump="ALPHA"]');
    await page.waitForSelector(`#charts[data-points="${expectedPoints(86_400_000, 60_000)}"]`, { timeout: 15_000 });
    expect(await page.$eval('#charts', (e: any) => e.getAttribute('data-resolution'))).toBe('1m');
    expect(await page.$eval('#charts', (e: any) => e.getAttribute('data-alerts'))).toBe(String(alphaAlerts.size));
    expect(await page.$$eval('#charts canvas', (els) => els.length)).toBe(3);
    expect(await page.$$eval('#alerts tr', (els) => els.length)).toBe(alphaAlerts.size);
    expect(await page.$$eval('#stats tr', (els: any[]) => els.map((e) => e.querySelector('td')?.textContent))).toEqual([...days].reverse());
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-alpha-24h.png'), fullPage: true });

    // Readings pushed while the page is open show up by themselves (polling).
    await push(runtime, [line('ALPHA', end + 60_000, 81), line('ALPHA', end + 120_000, 1)]);
    alpha.push(end + 60_000, end + 120_000);
    await page.waitForSelector(`#charts[data-points="${expectedPoints(86_400_000, 60_000)}"]`, { timeout: 15_000 });
    // A function predicate, not a string: the page's CSP forbids eval.
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#alerts tr').length === 4, undefined, { timeout: 15_000 });

    // The range picker: 90 days is served from hourly buckets.
    await page.click('#ranges button[data-range="90d"]');
    await page.waitForSelector('#charts[data-resolution="1h"]', { timeout: 15_000 });
    expect(await page.$eval('#charts', (e: any) => Number(e.getAttribute('data-points')))).toBe(expectedPoints(90 * 86_400_000, 3_600_000));
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-alpha-90d.png'), fullPage: true });

    // Alarms: CHARLIE reads psi 0 several times; the alarm is listed, drawn on its chart, and acknowledged in the page.
    const charlie = [1, 2, 3, 4, 5].map((k) => end - (6 - k) * 60_000);
    await push(runtime, charlie.map((ms) => line('CHARLIE', ms, 0)));
    await page.waitForSelector('#pumps li[data-pump="CHARLIE"][data-status="alarm"]', { timeout: 15_000 });
    await page.click('#pumps li[data-pump="CHARLIE"]');
    const id = `CHARLIE.low-psi.${new Date(charlie[0]!).toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
    await page.waitForSelector(`#alarms tr[data-alarm="${id}"][data-state="ACTIVE"][data-acknowledged="false"]`, { timeout: 15_000 });
    expect(await page.$$eval('#alarms tr[data-alarm]', (els: any[]) => els.map((e) => e.getAttribute('data-alarm')))).toEqual([id]);
    await page.waitForSelector('#charts[data-alarms="1"]', { timeout: 15_000 });
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-charlie-alarm.png'), fullPage: true });
    await page.fill('#by', 'browser-test');
    await page.click(`#alarms button[data-ack="${id}"]`);
    await page.waitForSelector(`#alarms tr[data-alarm="${id}"][data-acknowledged="true"]`, { timeout: 15_000 });
    const shown = (await (await fetch(`${runtime.apiUrl}/alarms/${id}`)).json()) as any;
    expect(shown).toMatchObject({ state: 'ACTIVE', acknowledged: true });
    expect(shown.trail.map((e: any) => [e.action, e.by ?? null])).toEqual([['raised', null], ['acknowledged', 'browser-test']]);
    // "All pumps" lists BRAVO's open alarm too.
    await page.check('#allAlarms');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#alarms tr[data-alarm]').length >= 2, undefined, { timeout: 15_000 });
    await page.screenshot({ path: path.join(OUTPUT, 'dashboard-alarms-acknowledged.png'), fullPage: true });
    expect(failures).toEqual([]);
  });
});
