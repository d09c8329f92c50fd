/**
 * Section 7 — the query API locally: p50/p99 of a 90-day hourly chart and of a 1-day raw page.
 *
 * One pump reports once a minute for 90 days (129,600 readings), written straight to dynalite through the reading
 * store (the consumer's path is measured in sections 3–4); the rollup then precomputes every day and its hours,
 * as the daily schedule would have. Requests go over HTTP to local mode's server (the API handler behind the same
 * payload 2.0 conversion as API Gateway), one at a time, after a warm-up; the dashboard asks for exactly these.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRollupHandler } from '../lambdas/rollup/handler';
import { createCatalogStore } from '../lambdas/store/catalog-store';
import { dynamoClient } from '../lambdas/store/clients';
import { createReadingStore } from '../lambdas/store/reading-store';
import type { EvaluatedReading } from '../lambdas/core/types';
import { startLocal } from '../local';
import { percentile, round } from './stats';

/** Options of {@link runQueryApi}. */
export interface QueryApiOptions {
  /** Days of one-a-minute readings. @default 90 */
  readonly days?: number;
  /** Timed requests per case (after 3 warm-ups). @default 40 */
  readonly requests?: number;
  readonly log?: (line: string) => void;
}

/** Latency of one request shape. */
export interface QueryApiCase {
  readonly name: string;
  readonly path: string;
  readonly points: number;
  readonly itemsRead: number;
  readonly responseBytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What section 7 measured. */
export interface QueryApiResult {
  readonly days: number;
  readonly readings: number;
  /** Writing the readings (setup, not a target). */
  readonly loadMs: number;
  /** Rolling up every day (daily rows and hourly series). */
  readonly rollupMs: number;
  readonly cases: QueryApiCase[];
}

const START = '2014-01-01';

/**
 * Runs section 7.
 *
 * @example
 * const r = await runQueryApi({ days: 90, log: console.error });
 */
export async function runQueryApi(options: QueryApiOptions = {}): Promise<QueryApiResult> {
  const days = options.days ?? 90;
  const requests = options.requests ?? 40;
  const log = options.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-bench-api-'));
  const local = await startLocal({ dataDir: dir, port: 0, memory: true, shards: 1, schedule: false, log: () => undefined });
  const dynamo = dynamoClient(local.config);
  try {
    const pump = 'BENCH';
    const t0 = Date.parse(`${START}T00:00:00Z`);
    const store = createReadingStore(dynamo, local.config);
    const loadStart = performance.now();
    const total = days * 1440;
    for (let i = 0; i < total; i += 5_000) {
      const chunk: EvaluatedReading[] = [];
      for (let k = i; k < Math.min(total, i + 5_000); k++) {
        const ts = new Date(t0 + k * 60_000).toISOString().slice(0, 19) + 'Z';
        const psi = k % 997 === 0 ? 3 : 60 + (k % 37);
        chunk.push({ pump, day: ts.slice(0, 10), time: ts.slice(11, 19), ts, values: { hz: 9 + (k % 11) / 10, disp: 1.5, flo: 800 + (k % 53), sedPPM: 1.2, psi, chlPPM: 1.9 }, alerts: psi < 5 ? ['low-psi'] : [] });
      }
      const put = await store.put(chunk);
      if (put.failed.length > 0) throw new Error(`bench: ${put.failed.length} readings not written: ${put.lastError}`);
      if (i % 50_000 === 0) log(`  7. wrote ${i + chunk.length} / ${total} readings`);
    }
    const lastDay = new Date(t0 + (days - 1) * 86_400_000).toISOString().slice(0, 10);
    const pumpDays = Array.from({ length: days }, (_, d) => ({ pump, day: new Date(t0 + d * 86_400_000).toISOString().slice(0, 10) }));
    await createCatalogStore(dynamo, local.config).markTouched(pumpDays, START);
    const loadMs = performance.now() - loadStart;
    log('  7. rolling up every day…');
    const rollupStart = performance.now();
    await createRollupHandler(local.config, { dynamo, metricsSink: () => undefined })({ from: START, to: lastDay });
    const rollupMs = performance.now() - rollupStart;

    const shapes = [
      { name: `${days}-day chart, resolution=1h`, path: `/pumps/${pump}/readings?resolution=1h&from=${START}&to=${lastDay}&limit=${days * 24}` },
      { name: '1-day raw page', path: `/pumps/${pump}/readings?resolution=raw&from=${lastDay}&to=${lastDay}&limit=1440` },
    ];
    const cases: QueryApiCase[] = [];
    for (const shape of shapes) {
      const times: number[] = [];
      let body: { count: number; itemsRead: number; nextCursor: string | null } | undefined;
      let bytes = 0;
      for (let n = 0; n < requests + 3; n++) {
        const t = performance.now();
        const res = await fetch(local.apiUrl + shape.path);
        const text = await res.text();
        const ms = performance.now() - t;
        if (res.status !== 200) throw new Error(`bench: ${shape.path} answered ${res.status}: ${text.slice(0, 200)}`);
        body = JSON.parse(text);
        bytes = Buffer.byteLength(text);
        if (n >= 3) times.push(ms);
      }
      if (body!.nextCursor !== null) throw new Error(`bench: ${shape.name} did not fit one page`);
      times.sort((a, b) => a - b);
      cases.push({
        name: shape.name,
        path: shape.path,
        points: body!.count,
        itemsRead: body!.itemsRead,
        responseBytes: bytes,
        p50Ms: round(percentile(times, 50)),
        p99Ms: round(percentile(times, 99)),
        maxMs: round(times[times.length - 1]!),
      });
      log(`  7. ${shape.name}: p50 ${cases.at(-1)!.p50Ms} ms, p99 ${cases.at(-1)!.p99Ms} ms`);
    }
    return { days, readings: total, loadMs: Math.round(loadMs), rollupMs: Math.round(rollupMs), cases };
  } finally {
    dynamo.destroy();
    await local.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
