/**
 * The local dashboard: one self-contained HTML page (inline CSS and script, no external assets).
 *
 * It polls the local API with `fetch` every few seconds: `/api/status` (shards, checkpoints, backlog, counters,
 * schedule) and `/api/summary` (latest stats per pump, recent alerts, dead-letter and failed-batch counts).
 * Everything is rendered with `textContent`, never `innerHTML`, so pump ids and dead-letter text cannot inject
 * markup.
 */

/** Milliseconds between two refreshes of the dashboard. */
export const DASHBOARD_REFRESH_MS = 3_000;

/**
 * The dashboard page.
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
<style>
  :root { --fg:#1d2733; --muted:#66707d; --line:#dde3ea; --bg:#f7f9fb; --ok:#1a7f37; --warn:#b35900; --bad:#c62828; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: baseline; gap: 1rem; padding: .8rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.1rem; margin: 0; }
  header .muted { font-size: .85rem; }
  main { padding: 1rem 1.2rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; overflow-x: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: .95rem; margin: 0 0 .6rem; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { font-weight: 600; color: var(--muted); font-size: .8rem; }
  td.num { text-align: right; }
  .muted { color: var(--muted); }
  .pill { display: inline-block; padding: 0 .5rem; border-radius: 9px; font-size: .8rem; color: #fff; }
  .ok { background: var(--ok); } .busy { background: var(--warn); } .bad { background: var(--bad); }
  .kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
  .err { color: var(--bad); }
  code { font-size: .8rem; }
</style>
</head>
<body>
<header><h1>wellwatch local</h1><span id="state" class="pill busy">loading</span><span class="muted" id="updated"></span><span class="muted err" id="error"></span></header>
<main>
  <section>
    <h2>Stream</h2>
    <table><thead><tr><th>shard</th><th>state</th><th class="num">backlog</th><th>checkpoint</th></tr></thead><tbody id="shards"></tbody></table>
  </section>
  <section>
    <h2>Consumer</h2>
    <div class="kv" id="counters"></div>
    <h2 style="margin-top:.8rem">Rollup schedule</h2>
    <div class="kv" id="schedule"></div>
  </section>
  <section class="wide">
    <h2>Latest daily stats per pump <span class="muted" id="statsNote"></span></h2>
    <table><thead><tr><th>pump</th><th>date</th><th class="num">count</th><th class="num">psi min</th><th class="num">psi avg</th><th class="num">psi max</th><th class="num">hz avg</th><th class="num">flo avg</th><th class="num">sedPPM avg</th><th class="num">chlPPM avg</th></tr></thead><tbody id="stats"></tbody></table>
  </section>
  <section class="wide">
    <h2>Recent alerts <span class="muted" id="alertsNote"></span></h2>
    <table><thead><tr><th>time (UTC)</th><th>pump</th><th>rules</th><th class="num">psi</th><th class="num">hz</th><th class="num">flo</th></tr></thead><tbody id="alerts"></tbody></table>
  </section>
</main>
<script>
"use strict";
const REFRESH_MS = ${Number(refreshMs)};
const $ = (id) => document.getElementById(id);
function cell(text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; }
function row(cells) { const tr = document.createElement("tr"); for (const c of cells) tr.appendChild(c); return tr; }
function fill(id, rows, empty, cols) {
  const body = $(id); body.replaceChildren();
  if (!rows.length) { const td = cell(empty, "muted"); td.colSpan = cols; body.appendChild(row([td])); return; }
  for (const r of rows) body.appendChild(r);
}
function kv(id, pairs) {
  const el = $(id); el.replaceChildren();
  for (const [k, v] of pairs) { const a = document.createElement("span"); a.className = "muted"; a.textContent = k; const b = document.createElement("span"); b.textContent = v; el.append(a, b); }
}
function num(v, digits) { return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : ""; }
async function getJson(path) {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(path + ": " + (body && body.error ? body.error : res.status));
  return body;
}
async function refresh() {
  try {
    const [status, summary] = await Promise.all([getJson("/api/status?backlogLimit=10000"), getJson("/api/summary")]);
    const state = $("state");
    state.textContent = status.idle ? "idle" : "processing";
    state.className = "pill " + (status.idle ? "ok" : "busy");
    fill("shards", status.shards.map((s) => row([cell(s.shardId), cell(s.state), cell(s.backlog + (s.backlogTruncated ? "+" : ""), "num"), cell(s.checkpoint ? "…" + s.checkpoint.slice(-12) : "—", "muted")])), "no shards", 4);
    const c = status.counters;
    kv("counters", [["batches", c.batches], ["records", c.records], ["failed invocations", c.failures], ["retries", c.retries], ["bisections", c.bisections],
      ["failed batches", c.failedBatches + " (" + c.discardedRecords + " records)"], ["dead letters", summary.deadLetters]]);
    kv("schedule", status.schedule.next.map((n) => [n.rule, n.at]).concat(status.schedule.lastRun ? [["last run", status.schedule.lastRun.rule + " at " + status.schedule.lastRun.startedAt + (status.schedule.lastRun.error ? " — failed: " + status.schedule.lastRun.error : "")]] : []));
    $("statsNote").textContent = summary.latestDay ? "(data up to " + summary.latestDay + ")" : "";
    fill("stats", summary.pumps.map((p) => {
      const s = p.stats;
      if (!s) return row([cell(p.pump), cell("no rollup yet", "muted"), cell(""), cell(""), cell(""), cell(""), cell(""), cell(""), cell(""), cell("")]);
      const m = s.measures;
      return row([cell(s.pump), cell(s.date), cell(String(s.count), "num"), cell(num(m.psi.min, 1), "num"), cell(num(m.psi.avg, 1), "num"), cell(num(m.psi.max, 1), "num"),
        cell(num(m.hz.avg, 2), "num"), cell(num(m.flo.avg, 0), "num"), cell(num(m.sedPPM.avg, 3), "num"), cell(num(m.chlPPM.avg, 3), "num")]);
    }), "no data yet — push some readings", 10);
    $("alertsNote").textContent = summary.alertsFrom ? "(since " + summary.alertsFrom + ", newest first)" : "";
    fill("alerts", summary.recentAlerts.map((a) => row([cell(a.ts), cell(a.pump), cell(a.alerts.join(", ")), cell(num(a.values.psi, 1), "num"), cell(num(a.values.hz, 2), "num"), cell(num(a.values.flo, 0), "num")])), "no alerts", 6);
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    $("error").textContent = "";
  } catch (e) {
    $("error").textContent = String(e && e.message ? e.message : e);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
</script>
</body>
</html>
`;
}
