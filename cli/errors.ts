/**
 * Turns anything a command throws into one clear line and an exit code.
 *
 * Usage mistakes exit 2; everything else exits 1. AWS SDK errors are rephrased so the user sees what to do
 * (unreachable endpoint, missing stream or table, missing credentials) instead of a stack trace.
 */
import { ConfigError, describeError, InternalError, isWellwatchError, WellwatchError } from '../lambdas/core/errors';

/** A mistake in the command line (unknown flag, missing argument, bad value): exit code 2. */
export class UsageError extends WellwatchError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']);
const NETWORK_CODE_IN_MESSAGE = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ECONNRESET|ETIMEDOUT|EAI_AGAIN)\b/;

/**
 * The network error code (ECONNREFUSED, ENOTFOUND, …) behind an error, if it is a failure to reach an endpoint.
 *
 * The code sits on the error, on a cause, on one of an AggregateError's errors, or (when the SDK had to wrap a
 * foreign error) only in the message.
 *
 * @example
 * networkCode(err); // → 'ECONNREFUSED'
 */
export function networkCode(e: unknown): string | undefined {
  let cur = e as any;
  for (let depth = 0; cur && typeof cur === 'object' && depth < 5; cur = cur.cause, depth++) {
    if (typeof cur.code === 'string' && NETWORK_CODES.has(cur.code)) return cur.code;
    // Errors crossing realms (e.g. under jest) arrive wrapped by the SDK with the code only in the message.
    const inMessage = typeof cur.message === 'string' ? NETWORK_CODE_IN_MESSAGE.exec(cur.message) : null;
    if (inMessage) return inMessage[1];
    if (Array.isArray(cur.errors)) {
      const inner = cur.errors.find((x: any) => NETWORK_CODES.has(x?.code));
      if (inner) return inner.code;
    }
  }
  return undefined;
}

/**
 * Describes an error for the CLI's top level: one line for the user and the exit code.
 *
 * Wellwatch's own errors already say what happened in the user's terms (e.g. push's "cannot reach Kinesis at …");
 * usage and configuration mistakes exit 2. Everything else is rephrased when the cause is a common one and
 * otherwise described by the one {@link describeError} every layer uses.
 *
 * @example
 * const { message, exitCode } = explainError(err); // "cannot reach the endpoint 127.0.0.1:4567 (ECONNREFUSED); …", 1
 */
export function explainError(e: unknown): { message: string; exitCode: number } {
  if (e instanceof UsageError) return { message: e.message, exitCode: 2 };
  if (e instanceof ConfigError) return { message: `configuration: ${e.message}`, exitCode: 2 };
  if (e instanceof InternalError) return { message: `internal error (a bug in wellwatch, please report it): ${e.message}`, exitCode: 1 };
  if (isWellwatchError(e)) return { message: e.message, exitCode: 1 };
  if (typeof e !== 'object' || e === null) return { message: String(e), exitCode: 1 };
  const err = e as { name?: string; code?: string; message?: string; path?: string; address?: string; port?: number };
  const net = networkCode(err);
  if (net) {
    const host = err.address ? `${err.address}:${err.port}` : '';
    return { message: `cannot reach the endpoint${host ? ` ${host}` : ''} (${net}); is local mode running (\`wellwatch local\`) or is the region right?`, exitCode: 1 };
  }
  if (err.name === 'ResourceNotFoundException') {
    return { message: `${err.message} — deploy the stack (\`npx cdk deploy\`), start local mode, or pass the name with a flag`, exitCode: 1 };
  }
  if (err.name === 'CredentialsProviderError' || /Could not load credentials/i.test(err.message ?? '')) {
    return { message: 'no AWS credentials found; configure them the usual SDK way or use --local', exitCode: 1 };
  }
  if (err.code === 'ENOENT' && err.path) return { message: `cannot read ${err.path}: no such file`, exitCode: 1 };
  if (err.code === 'EACCES' && err.path) return { message: `cannot read ${err.path}: permission denied`, exitCode: 1 };
  if (err.code === 'EISDIR') return { message: `${err.path ?? 'input'} is a directory, not a file`, exitCode: 1 };
  return { message: describeError(e), exitCode: 1 };
}
