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

/** What the stack accepts as an e-mail address for the ops topic: something@domain.tld, no spaces. */
export const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

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

/**
 * Throws unless the number is one of `allowed`; `undefined` and tokens pass.
 *
 * @example
 * checkOneOf('logRetentionDays', 100, LOG_DEFAULTS.retentionDays); // "logRetentionDays must be one of 1, 3, …, got 100"
 */
export function checkOneOf(name: string, value: number | undefined, allowed: readonly number[]): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!allowed.includes(value)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got ${value}`);
}

/** Where the functions run inside a VPC: an existing VPC and its subnets (see {@link parseVpcPlacement}). */
export interface VpcPlacement {
  /** Id of the VPC, `vpc-` and 8 or 17 hex digits. */
  readonly vpcId: string;
  /** Ids of the subnets the functions get their network interfaces in, 1–16, no repeats. */
  readonly subnetIds: readonly string[];
}

const VPC_ID_RE = /^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET_ID_RE = /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/**
 * Reads the `wellwatch:vpc` setting: `vpc-ID:subnet-A,subnet-B` on the command line, or a JSON object
 * `{"vpcId": "vpc-…", "subnetIds": ["subnet-…"]}` (in cdk.json, or as a string starting with `{`).
 *
 * Only ids, no lookups: the stack stays environment-agnostic and `cdk synth` works offline. Returns `undefined` for
 * an absent or empty value (functions outside a VPC).
 *
 * @param name - what the errors call the value, e.g. `context wellwatch:vpc`.
 * @throws ConfigError naming the setting, what is wrong and the value.
 * @example
 * parseVpcPlacement('context wellwatch:vpc', 'vpc-0a1b2c3d:subnet-11aa22bb,subnet-33cc44dd');
 * // → { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-11aa22bb', 'subnet-33cc44dd'] }
 */
export function parseVpcPlacement(name: string, raw: unknown, maxSubnets = 16): VpcPlacement | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const fail = (what: string): never => {
    throw new ConfigError(`${name} must be ${what}, got ${JSON.stringify(raw)}`);
  };
  let vpcId: unknown;
  let subnetIds: unknown;
  if (typeof raw === 'string' && !raw.trim().startsWith('{')) {
    const colon = raw.indexOf(':');
    if (colon < 0) fail("'vpc-ID:subnet-ID,subnet-ID' or {\"vpcId\", \"subnetIds\"}");
    vpcId = raw.slice(0, colon).trim();
    subnetIds = raw
      .slice(colon + 1)
      .split(',')
      .map((s) => s.trim());
  } else {
    let data: unknown = raw;
    if (typeof raw === 'string') {
      try {
        data = JSON.parse(raw);
      } catch {
        fail('valid JSON when it starts with {');
      }
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) fail('an object {"vpcId", "subnetIds"}');
    const o = data as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== 'vpcId' && k !== 'subnetIds');
    if (extra.length > 0) fail(`{"vpcId", "subnetIds"} only (unknown ${extra.join(', ')})`);
    vpcId = o.vpcId;
    subnetIds = o.subnetIds;
  }
  if (typeof vpcId !== 'string' || !VPC_ID_RE.test(vpcId)) fail('a VPC id (vpc- and 8 or 17 hex digits) with its subnets');
  if (!Array.isArray(subnetIds) || subnetIds.length === 0 || subnetIds.length > maxSubnets) {
    fail(`1–${maxSubnets} subnet ids after the VPC id`);
  }
  const subnets = subnetIds as unknown[];
  const bad = subnets.find((s) => typeof s !== 'string' || !SUBNET_ID_RE.test(s));
  if (bad !== undefined) fail(`subnet ids (subnet- and 8 or 17 hex digits), not ${JSON.stringify(bad)}`);
  if (new Set(subnets).size !== subnets.length) fail('distinct subnet ids');
  return { vpcId: vpcId as string, subnetIds: subnets as string[] };
}
