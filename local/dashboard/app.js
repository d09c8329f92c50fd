// The local dashboard's script (bundled with uPlot by local/dashboard.ts). Plain browser JavaScript: the page talks
// to the query API (/pumps, /pumps/{pump}/readings, /alerts, /stats, /alarms and its POST actions) and the local
// /api/status, and renders with textContent only.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './app.css';

const REFRESH_MS = Number(document.body.dataset.refreshMs) || 2000;
/** Range picker: label and span in milliseconds. */
const RANGES = [
  ['6h', 6 * 3600e3],
  ['24h', 24 * 3600e3],
  ['7d', 7 * 86400e3],
  ['30d', 30 * 86400e3],
  ['90d', 90 * 86400e3],
];
/** Point budget of a chart: enough for 1-minute buckets over a day and hourly buckets over 90 days. */
const POINTS = 2500;
/** Pages of one series followed at most (a page holds up to 1,000 points). */
const MAX_PAGES = 4;
const CHARTS = [
  { measure: 'psi', label: 'pressure (psi)', color: '#1f6feb' },
  { measure: 'flo', label: 'flow', color: '#2da44e' },
  { measure: 'hz', label: 'frequency (hz)', color: '#8250df' },
];

const state = { pump: null, range: '24h', pumps: [], loadedKey: '', loading: false, plots: [] };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) tr.appendChild(c);
  return tr;
}
function cell(text, cls) {
  return el('td', text, cls);
}
function fill(id, rows, empty, cols) {
  const body = $(id);
  body.replaceChildren();
  if (!rows.length) {
    const td = cell(empty, 'muted');
    td.colSpan = cols;
    body.appendChild(row([td]));
    return;
  }
  for (const r of rows) body.appendChild(r);
}
function num(v, digits) {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : '';
}
function iso(ms) {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/**
 * Acknowledges an alarm through the query API. The JSON content type is what the API insists on for a POST: a
 * cross-site form cannot send it without a CORS preflight, which the local server never grants (CSRF guard).
 */
async function postJson(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) });
  const out = await res.json();
  if (!res.ok) throw new Error(path + ': ' + (out && out.error ? out.error : res.status));
  return out;
}

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(path.split('?')[0] + ': ' + (body && body.error ? body.error : res.status));
  return body;
}

/** Follows nextCursor for up to `maxPages` pages; returns the first body with every page's items. */
async function allPages(path, maxPages) {
  let body = await getJson(path);
  const items = body.items.slice();
  for (let n = 1; body.nextCursor && n < maxPages; n++) {
    body = await getJson(path + '&cursor=' + encodeURIComponent(body.nextCursor));
    items.push(...body.items);
  }
  return { ...body, items, truncated: Boolean(body.nextCursor) };
}

function renderRanges() {
  const box = $('ranges');
  box.replaceChildren();
  for (const [label] of RANGES) {
    const b = el('button', label);
    b.type = 'button';
    b.dataset.range = label;
    b.setAttribute('aria-pressed', String(label === state.range));
    b.addEventListener('click', () => {
      state.range = label;
      renderRanges();
      void loadPump(true);
    });
    box.appendChild(b);
  }
}

function renderPumps() {
  const list = $('pumps');
  list.replaceChildren();
  if (!state.pumps.length) {
    list.appendChild(el('li', 'no pumps yet — push some readings', 'muted'));
    return;
  }
  for (const p of state.pumps) {
    const li = document.createElement('li');
    li.dataset.pump = p.pump;
    li.dataset.status = p.status;
    li.setAttribute('aria-selected', String(p.pump === state.pump));
    li.append(el('span', undefined, 'dot ' + p.status), el('span', p.pump, 'name'), el('span', p.status, 'status'));
    const r = p.lastReading;
    li.appendChild(el('span', r ? r.ts.replace('T', ' ').replace('Z', '') + ' · psi ' + num(r.psi, 1) : 'no recent readings', 'sub'));
    li.addEventListener('click', () => {
      state.pump = p.pump;
      location.hash = encodeURIComponent(p.pump);
      renderPumps();
      void loadPump(true);
      loadAlarms().catch((e) => ($('error').textContent = String(e && e.message ? e.message : e)));
    });
    list.appendChild(li);
  }
}

/** A uPlot plugin drawing a red tick at each alert time. */
function alertMarks(times) {
  return {
    hooks: {
      draw: (u) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.strokeStyle = 'rgba(198,40,40,0.55)';
        ctx.lineWidth = Math.max(1, devicePixelRatio);
        for (const t of times) {
          const x = Math.round(u.valToPos(t, 'x', true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

/** A uPlot plugin shading each alarm from raised to cleared (or to the right edge while it is open). */
function alarmSpans(spans) {
  return {
    hooks: {
      drawClear: (u) => {
        const { ctx } = u;
        const { left, top, width, height } = u.bbox;
        ctx.save();
        for (const s of spans) {
          const x0 = Math.max(left, u.valToPos(s.from, 'x', true));
          const x1 = Math.min(left + width, s.to === null ? left + width : u.valToPos(s.to, 'x', true));
          if (x1 < left || x0 > left + width) continue;
          ctx.fillStyle = s.open ? 'rgba(198,40,40,0.13)' : 'rgba(179,89,0,0.10)';
          ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
        }
        ctx.restore();
      },
    },
  };
}

function drawCharts(series, alerts, fromMs, toMs, alarms) {
  for (const p of state.plots) p.destroy();
  state.plots = [];
  const box = $('charts');
  box.replaceChildren();
  const raw = series.resolution === 'raw';
  const xs = series.items.map((i) => Date.parse(i.ts) / 1000);
  const alertTimes = alerts.map((a) => Date.parse(a.ts) / 1000);
  const spans = alarms.map((a) => ({ from: Date.parse(a.raised_time) / 1000, to: a.cleared_time ? Date.parse(a.cleared_time) / 1000 : null, open: a.state !== 'CLEARED' }));
  const width = Math.max(320, box.clientWidth - 8);
  for (const c of CHARTS) {
    box.appendChild(el('div', c.label + (raw ? '' : ' — ' + series.resolution + ' buckets: avg, band min…max'), 'chart-title'));
    const holder = el('div', undefined, 'chart');
    holder.dataset.measure = c.measure;
    box.appendChild(holder);
    const data = raw
      ? [xs, series.items.map((i) => i[c.measure])]
      : [xs, series.items.map((i) => i.measures[c.measure].avg), series.items.map((i) => i.measures[c.measure].min), series.items.map((i) => i.measures[c.measure].max)];
    const lines = [{}, { label: c.measure, stroke: c.color, width: 1.5, points: { show: xs.length < 80 } }];
    if (!raw) lines.push({ label: 'min', stroke: 'transparent', points: { show: false } }, { label: 'max', stroke: 'transparent', points: { show: false } });
    const opts = {
      width,
      height: 150,
      scales: { x: { time: true, min: fromMs / 1000, max: toMs / 1000 } },
      series: lines,
      bands: raw ? [] : [{ series: [3, 2], fill: c.color + '40' }],
      legend: { show: false },
      cursor: { sync: { key: 'wellwatch' } },
      axes: [{ stroke: '#66707d', grid: { stroke: '#eef1f4' } }, { stroke: '#66707d', grid: { stroke: '#eef1f4' }, size: 52 }],
      plugins: [alarmSpans(spans), alertMarks(alertTimes)],
    };
    state.plots.push(new uPlot(opts, data, holder));
  }
  box.dataset.points = String(xs.length);
  box.dataset.resolution = series.resolution;
  box.dataset.alerts = String(alertTimes.length);
  box.dataset.alarms = String(spans.length);
}

async function loadPump(force) {
  if (!state.pump || state.loading) return;
  const pump = state.pumps.find((p) => p.pump === state.pump);
  const anchor = pump && pump.lastReading ? Date.parse(pump.lastReading.ts) : Math.floor(Date.now() / 1000) * 1000;
  const key = state.pump + '|' + state.range + '|' + anchor;
  if (!force && key === state.loadedKey) return;
  state.loading = true;
  try {
    const span = RANGES.find((r) => r[0] === state.range)[1];
    const fromMs = anchor - span + 1000;
    const enc = encodeURIComponent(state.pump);
    const range = 'from=' + iso(fromMs) + '&to=' + iso(anchor);
    const statsFrom = iso(anchor - 30 * 86400e3).slice(0, 10);
    const [series, alerts, stats, alarms] = await Promise.all([
      allPages('/pumps/' + enc + '/readings?' + range + '&points=' + POINTS + '&measures=' + CHARTS.map((c) => c.measure).join(','), MAX_PAGES),
      allPages('/alerts?pump=' + enc + '&' + range, 2),
      getJson('/stats?pump=' + enc + '&from=' + statsFrom + '&to=' + iso(anchor).slice(0, 10)),
      pumpAlarms(enc, fromMs),
    ]);
    $('title').textContent = state.pump;
    $('rangeNote').textContent =
      iso(fromMs).replace('T', ' ') + ' … ' + iso(anchor).replace('T', ' ') + ' · resolution ' + series.resolution + ' · ' + series.items.length + ' points' + (series.truncated ? ' (first pages)' : '');
    drawCharts(series, alerts.items, fromMs, anchor, alarms);
    const latest = alerts.items.slice(-10).reverse();
    $('alertsNote').textContent = alerts.items.length ? '(' + alerts.items.length + (alerts.truncated ? '+' : '') + ' in range, newest first)' : '';
    fill('alerts', latest.map((a) => row([cell(a.ts), cell(a.alerts.join(', ')), cell(num(a.psi, 1), 'num'), cell(num(a.hz, 2), 'num'), cell(num(a.flo, 0), 'num')])), 'no alerts in range', 5);
    const days = stats.items.slice().reverse();
    $('statsNote').textContent = '(last 30 days, newest first)';
    fill(
      'stats',
      days.map((s) => {
        const m = s.measures;
        return row([cell(s.date), cell(String(s.count), 'num'), cell(num(m.psi.min, 1), 'num'), cell(num(m.psi.avg, 1), 'num'), cell(num(m.psi.max, 1), 'num'), cell(num(m.hz.avg, 2), 'num'), cell(num(m.flo.avg, 0), 'num'), cell(num(m.sedPPM.avg, 3), 'num'), cell(num(m.chlPPM.avg, 3), 'num')]);
      }),
      'no daily statistics yet (the rollup runs at 00:15 UTC)',
      9,
    );
    state.loadedKey = key;
    $('error').textContent = '';
  } catch (e) {
    $('error').textContent = String(e && e.message ? e.message : e);
  } finally {
    state.loading = false;
  }
}

/** Alarms of a pump to draw: the open ones (whenever raised) and those raised since the range's first day. */
async function pumpAlarms(enc, fromMs) {
  const [open, recent] = await Promise.all([allPages('/alarms?open&pump=' + enc + '&limit=100', 2), allPages('/alarms?pump=' + enc + '&from=' + iso(fromMs).slice(0, 10) + '&limit=500', 2)]);
  const byId = new Map();
  for (const a of recent.items.concat(open.items)) byId.set(a.id, a);
  return [...byId.values()];
}

/** The open-alarms table: the selected pump's, or every pump's with "all pumps" ticked. */
async function loadAlarms() {
  const all = $('allAlarms').checked || !state.pump;
  const body = await allPages('/alarms?open' + (all ? '' : '&pump=' + encodeURIComponent(state.pump)) + '&limit=100', 2);
  const items = body.items.slice().reverse();
  $('alarmsNote').textContent = (all ? 'all pumps' : state.pump) + ' · ' + items.length + (body.truncated ? '+' : '') + ' open, newest first';
  fill(
    'alarms',
    items.map((a) => {
      const action = el('td');
      if (a.acknowledged) action.appendChild(el('span', 'acknowledged', 'muted'));
      else {
        const b = el('button', 'Acknowledge');
        b.type = 'button';
        b.dataset.ack = a.id;
        b.addEventListener('click', async () => {
          b.disabled = true;
          try {
            await postJson('/alarms/' + encodeURIComponent(a.id) + '/ack', { by: $('by').value.trim() || 'operator' });
            await loadAlarms();
            state.loadedKey = '';
            await loadPump(true);
          } catch (e) {
            $('error').textContent = String(e && e.message ? e.message : e);
            b.disabled = false;
          }
        });
        action.appendChild(b);
      }
      const tr = row([cell(a.raised_time), cell(a.pump), cell(a.rule), cell(a.severity), cell(a.state), cell(String(a.count), 'num'), cell(num(a.worst_value, 1), 'num'), action]);
      tr.dataset.alarm = a.id;
      tr.dataset.state = a.state;
      tr.dataset.acknowledged = String(a.acknowledged);
      tr.className = 'alarm-' + a.state;
      return tr;
    }),
    'no open alarms',
    8,
  );
}

async function refresh() {
  try {
    const [status, pumps] = await Promise.all([getJson('/api/status?backlogLimit=10000'), allPages('/pumps?limit=500', 4)]);
    const pill = $('state');
    pill.textContent = status.idle ? 'idle' : 'processing';
    pill.className = 'pill ' + (status.idle ? 'ok' : 'busy');
    $('counts').textContent = status.counters.records + ' stream records · ' + status.deadLetters + ' dead letters · ' + status.failedBatches + ' failed batches';
    state.pumps = pumps.items;
    if (!state.pump && location.hash.length > 1) state.pump = decodeURIComponent(location.hash.slice(1));
    renderPumps();
    await Promise.all([loadPump(false), loadAlarms()]);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    $('error').textContent = String(e && e.message ? e.message : e);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

renderRanges();
$('allAlarms').addEventListener('change', () => void loadAlarms());
void refresh();
