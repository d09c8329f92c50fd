/**
 * Lambda bundle sizes and load times (a proxy for the cold-start cost of each function).
 *
 * Each handler is bundled with esbuild using the options of the CDK construct (`lib/wellwatch-function.ts`:
 * bundle everything including the AWS SDK, CommonJS, platform node, target `node22` from `FUNCTION_DEFAULTS`,
 * minified, linked source map without sources content). The load time is the median wall time of
 * `node -e "require('<bundle>')"` over several runs minus the median of `node -e ""` (the bare start-up of Node),
 * both measured in the same loop. This machine runs Node 20; Lambda runs Node 22 on arm64.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { median, round } from './stats';

/** One function's bundle. */
export interface BundleResult {
  readonly name: string;
  readonly entry: string;
  readonly bytes: number;
  /** gzip size, for comparison with the zip Lambda stores. */
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
  /** Median `node -e require(bundle)` wall time minus the bare Node start-up, ms. */
  readonly loadMs: number;
  /** Median `node -e require(bundle)` wall time, ms. */
  readonly loadWithStartupMs: number;
}

/** Result of the bundle section. */
export interface BundlesResult {
  readonly target: string;
  readonly nodeStartupMs: number;
  readonly runs: number;
  readonly functions: BundleResult[];
}

const FUNCTIONS = [
  { name: 'consumer', entry: 'lambdas/consumer/handler.ts' },
  { name: 'rollup-planner', entry: 'lambdas/rollup/planner.ts' },
  { name: 'rollup-worker', entry: 'lambdas/rollup/worker.ts' },
  { name: 'api', entry: 'lambdas/api/handler.ts' },
] as const;

function timeNode(args: string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().slice(0, 500)}`);
  return ms;
}

/**
 * Bundles both handlers for `target` (`FUNCTION_DEFAULTS.bundleTarget`) and times loading them.
 *
 * @example
 * const { functions } = await runBundles(readDeployDefaults().bundleTarget, { runs: 7 });
 */
export async function runBundles(
  target: string,
  options: { runs?: number; root?: string; log?: (line: string) => void } = {},
): Promise<BundlesResult> {
  const runs = options.runs ?? 7;
  const root = options.root ?? path.resolve(__dirname, '..');
  const log = options.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wellwatch-bench-bundle-'));
  try {
    const outputs: { name: string; entry: string; file: string; map: string }[] = [];
    for (const fn of FUNCTIONS) {
      const file = path.join(dir, fn.name, 'index.js');
      await build({
        entryPoints: [path.join(root, fn.entry)],
        outfile: file,
        bundle: true,
        platform: 'node',
        target,
        format: 'cjs',
        minify: true,
        sourcemap: true,
        sourcesContent: false,
        logLevel: 'silent',
      });
      outputs.push({ name: fn.name, entry: fn.entry, file, map: `${file}.map` });
    }
    const startup: number[] = [];
    const loads = new Map<string, number[]>(outputs.map((o) => [o.name, []]));
    timeNode(['-e', '']); // warm the file cache
    for (let i = 0; i < runs; i++) {
      startup.push(timeNode(['-e', '']));
      for (const o of outputs) loads.get(o.name)!.push(timeNode(['-e', `require(${JSON.stringify(o.file)})`]));
    }
    const nodeStartupMs = median(startup);
    const functions: BundleResult[] = outputs.map((o) => {
      const code = fs.readFileSync(o.file);
      const withStartup = median(loads.get(o.name)!);
      return {
        name: o.name,
        entry: o.entry,
        bytes: code.length,
        gzipBytes: gzipSync(code).length,
        sourceMapBytes: fs.statSync(o.map).size,
        loadMs: round(withStartup - nodeStartupMs),
        loadWithStartupMs: round(withStartup),
      };
    });
    for (const f of functions) log(`  bundle ${f.name}: ${(f.bytes / 1024).toFixed(0)} KiB, load ${f.loadMs} ms`);
    return { target, nodeStartupMs: round(nodeStartupMs), runs, functions };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
