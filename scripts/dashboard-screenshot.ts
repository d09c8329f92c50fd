/**
 * Screenshots the local dashboard with one pump selected (for the README): `node bin/run-ts.js
 * scripts/dashboard-screenshot.ts http://127.0.0.1:4680 COHUTTA docs/dashboard.png [range]`.
 *
 * Start `wellwatch demo --port 4680` first; it keeps serving the demo data until Ctrl-C.
 */
import { chromium } from 'playwright-core';

async function main(): Promise<void> {
  const [url, pump, out, range = '24h'] = process.argv.slice(2);
  if (!url || !pump || !out) throw new Error('usage: dashboard-screenshot.ts <url> <pump> <out.png> [6h|24h|7d|30d|90d]');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${url}/#${encodeURIComponent(pump)}`);
    await page.waitForSelector(`#pumps li[data-pump="${pump}"]`, { timeout: 30_000 });
    // Function predicates, not strings: the page's CSP forbids eval.
    // (serialised into the page: everything the predicates use must be inside them)
    await page.waitForFunction(() => Number((globalThis as any).document.querySelector('#charts').getAttribute('data-points')) > 0, undefined, { timeout: 30_000 });
    if (range !== '24h') {
      await page.click(`#ranges button[data-range="${range}"]`);
      const before = await page.$eval('#rangeNote', (e: any) => e.textContent);
      await page.waitForFunction((b) => (globalThis as any).document.querySelector('#rangeNote').textContent !== b, before, { timeout: 30_000 });
    }
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
