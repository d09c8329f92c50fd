/**
 * The local dashboard: an HTML shell plus one script and one stylesheet bundled from the repo with esbuild.
 *
 * The script (local/dashboard/app.js) and uPlot (from npm) are bundled on first request, in memory, and cached for
 * the life of the server: no CDN, no build step to forget, and it works offline. The page talks only to this
 * server: the query API (`/pumps`, `/pumps/{pump}/readings`, `/alerts`, `/stats`) and the local `/api/status`.
 * Everything is rendered with `textContent`, never `innerHTML`, so pump ids cannot inject markup.
 */
import * as path from 'node:path';

/** Milliseconds between two refreshes of the dashboard (pushed readings show within about this long). */
export const DASHBOARD_REFRESH_MS = 2_000;

/** The bundled script and stylesheet. */
export interface DashboardAssets {
  readonly js: string;
  readonly css: string;
}

/**
 * Bundles the dashboard's script and stylesheet (uPlot included), minified.
 *
 * @example
 * const { js, css } = await dashboardAssets();
 */
export async function dashboardAssets(): Promise<DashboardAssets> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const out = await esbuild.build({
    entryPoints: [path.join(__dirname, 'dashboard', 'app.js')],
    bundle: true,
    minify: true,
    write: false,
    format: 'iife',
    target: ['es2020'],
    outdir: 'assets',
    logLevel: 'silent',
    legalComments: 'none',
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
  const css = out.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  return { js, css };
}

/**
 * The dashboard page: a shell that loads `/assets/dashboard.css` and `/assets/dashboard.js`.
 *
 * @example
 * res.setHeader('content-type', 'text/html; charset=utf-8');
 * res.end(dashboardHtml());
 */
export function dashboardHtml(refreshMs: number = DASHBOARD_REFRESH_MS): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wellwatch — local</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body data-refresh-ms="${Number(refreshMs)}">
<header>
  <h1>wellwatch</h1><span id="state" class="pill busy">loading</span>
  <span class="muted" id="counts"></span><span class="muted" id="updated"></span><span class="err" id="error"></span>
</header>
<main>
  <aside>
    <h2>Pumps</h2>
    <ul id="pumps" class="pumps"><li class="muted">no pumps yet — push some readings</li></ul>
  </aside>
  <div class="detail">
    <section>
      <div class="bar">
        <h2 id="title">Select a pump</h2>
        <div id="ranges" class="ranges" role="group" aria-label="range"></div>
      </div>
      <div class="muted" id="rangeNote"></div>
      <div id="charts" class="charts" data-points="0"></div>
    </section>
    <section>
      <div class="bar">
        <h2>Open alarms <span class="muted" id="alarmsNote"></span></h2>
        <div class="muted"><label><input type="checkbox" id="allAlarms"> all pumps</label>
          <label>as <input id="by" value="operator" size="10" maxlength="64" aria-label="acknowledge as"></label></div>
      </div>
      <table><thead><tr><th>raised (UTC)</th><th>pump</th><th>rule</th><th>severity</th><th>state</th><th class="num">count</th><th class="num">worst</th><th></th></tr></thead><tbody id="alarms"></tbody></table>
    </section>
    <section>
      <h2>Latest alerts <span class="muted" id="alertsNote"></span></h2>
      <table><thead><tr><th>time (UTC)</th><th>rules</th><th class="num">psi</th><th class="num">hz</th><th class="num">flo</th></tr></thead><tbody id="alerts"></tbody></table>
    </section>
    <section>
      <h2>Daily statistics <span class="muted" id="statsNote"></span></h2>
      <table><thead><tr><th>date</th><th class="num">count</th><th class="num">psi min</th><th class="num">psi avg</th><th class="num">psi max</th><th class="num">hz avg</th><th class="num">flo avg</th><th class="num">sedPPM avg</th><th class="num">chlPPM avg</th></tr></thead><tbody id="stats"></tbody></table>
    </section>
  </div>
</main>
<script src="/assets/dashboard.js"></script>
</body>
</html>
`;
}
