/**
 * Constructor-time validation of construct props.
 *
 * A bad value should fail `cdk synth` with a sentence naming the prop, the allowed range and the value, not a
 * CloudFormation rollback ten minutes later. Unresolved tokens (values only known at deploy time) are skipped.
 */
import { Duration, Token } from 'aws-cdk-lib';
import { ConfigError } from '../lambdas/config';

/**
 * Throws unless `value` is an integer in `[min, max]`; `undefined` and unresolved tokens pass.
 *
 * @example
 * checkIntRange('shardCount', props.shardCount, 1, 500); // "shardCount must be 1–500, got 0"
 */
export function checkIntRange(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be ${min}–${max}, got ${value}`);
  }
}

/**
 * Throws unless the duration, in whole seconds, lies in `[minSeconds, maxSeconds]`; tokens pass.
 *
 * @example
 * checkDurationSeconds('timeout', Duration.minutes(20), 1, 900); // "timeout must be 1–900 seconds, got 1200"
 */
export function checkDurationSeconds(name: string, value: Duration | undefined, minSeconds: number, maxSeconds: number): void {
  if (value === undefined || value.isUnresolved()) return;
  const seconds = value.toSeconds();
  if (seconds < minSeconds || seconds > maxSeconds) {
    throw new ConfigError(`${name} must be ${minSeconds}–${maxSeconds} seconds, got ${seconds}`);
  }
}

/**
 * Throws unless the string is non-empty and matches `pattern`; tokens pass.
 *
 * @example
 * checkPattern('alarmEmail', 'ops@example.com', /^[^@\s]+@[^@\s]+$/, 'an e-mail address');
 */
export function checkPattern(name: string, value: string | undefined, pattern: RegExp, what: string): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!pattern.test(value)) throw new ConfigError(`${name} must be ${what}, got ${JSON.stringify(value)}`);
}
