/**
 * The deployed defaults the benchmark needs (Lambda memory, bundle target, default shard count), read from
 * `lib/defaults.ts` in a child process.
 *
 * Why not import it: `lib/defaults.ts` loads aws-cdk-lib, and with aws-cdk-lib loaded every young-generation
 * garbage collection of the process costs several times more (measured here: ~19 ms instead of ~2.4 ms per
 * scavenge), which made the allocation-heavy core benchmark 2–3× slower while csv-parse barely changed. No runtime
 * code (handlers, CLI, local mode) imports aws-cdk-lib, so the benchmark must not either.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** The values of `lib/defaults.ts` the benchmark uses. */
export interface DeployDefaults {
  /** `FUNCTION_DEFAULTS.memorySizeMb`. */
  readonly memorySizeMb: number;
  /** `FUNCTION_DEFAULTS.bundleTarget`. */
  readonly bundleTarget: string;
  /** `STREAM_DEFAULTS.shardCount`. */
  readonly shardCount: number;
}

/**
 * Reads the deployed defaults from `lib/defaults.ts` without loading aws-cdk-lib into this process.
 *
 * @example
 * const { memorySizeMb } = readDeployDefaults();
 */
export function readDeployDefaults(root = path.resolve(__dirname, '..')): DeployDefaults {
  const script =
    "const d = require('./lib/defaults');" +
    'process.stdout.write(JSON.stringify({ memorySizeMb: d.FUNCTION_DEFAULTS.memorySizeMb, bundleTarget: d.FUNCTION_DEFAULTS.bundleTarget, shardCount: d.STREAM_DEFAULTS.shardCount }));';
  const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const parsed = JSON.parse(out) as DeployDefaults;
  if (!Number.isInteger(parsed.memorySizeMb) || typeof parsed.bundleTarget !== 'string' || !Number.isInteger(parsed.shardCount)) {
    throw new Error(`unexpected defaults from lib/defaults.ts: ${out}`);
  }
  return parsed;
}
