/**
 * V8 settings for the handlers' process, applied once when a handler module loads.
 *
 * **Allocation-site pretenuring off.** V8 watches each allocation site and, when most of its objects survive a
 * young-generation collection, starts allocating that site's objects directly in the old generation. In a process
 * that has loaded the AWS SDK, the consumer's per-line objects (readings, DynamoDB items — dead a few microseconds
 * later) get pretenured that way, and every one then costs an old-generation collection: the benchmark measured the
 * core at ~590,000 readings/s instead of ~1,200,000 in the same process (`npm run bench`, section 1, "in consumer
 * process"). With pretenuring off they die young, as they should. Lambda does not accept this flag in
 * `NODE_OPTIONS`, so it is set at run time with `v8.setFlagsFromString`, which V8 reads at every collection.
 *
 * Opt out with `WELLWATCH_V8_PRETENURING=on` (keeps V8's default).
 */
import { setFlagsFromString } from 'node:v8';
import { ConfigError, ENV } from '../config';

/** The V8 flags {@link tuneV8} sets. */
export const V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

let applied: readonly string[] | undefined;

/**
 * Applies {@link V8_FLAGS} unless the environment opts out; idempotent (the first call decides).
 *
 * @returns the flags applied (empty when opted out).
 * @throws ConfigError naming the variable when its value is neither `on` nor `off`.
 *
 * @example
 * tuneV8(); // → ['--no-allocation-site-pretenuring']
 */
export function tuneV8(env: NodeJS.ProcessEnv = process.env, setFlags: (flag: string) => void = setFlagsFromString): readonly string[] {
  if (applied !== undefined) return applied;
  const raw = (env[ENV.v8Pretenuring] ?? 'off').trim().toLowerCase();
  if (raw !== 'on' && raw !== 'off') {
    throw new ConfigError(`${ENV.v8Pretenuring} must be "on" (V8's default) or "off" (wellwatch's default), got ${JSON.stringify(env[ENV.v8Pretenuring])}`);
  }
  const flags = raw === 'off' ? V8_FLAGS : [];
  for (const flag of flags) setFlags(flag);
  applied = flags;
  return flags;
}

/** Forgets what {@link tuneV8} applied, so tests can call it again. */
export function resetV8TuningForTests(): void {
  applied = undefined;
}
