/**
 * Turns anything a command throws into one clear line and an exit code.
 *
 * Usage mistakes exit 2; everything else exits 1. AWS SDK errors are rephrased so the user sees what to do
 * (unreachable endpoint, missing stream or table, missing credentials) instead of a stack trace.
 */
import { isWellwatchError } from '../lambdas/core/errors';

/** A mistake in the command line (unknown flag, missing argument, bad value): exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']);

function networkCode(e: any): string | undefined {
  for (let cur = e, depth = 0; cur && depth < 5; cur = cur.cause, depth++) {
    if (typeof cur.code === 'string' && NETWORK_CODES.has(cur.code)) return cur.code;
    // Errors crossing realms (e.g. under jest) arrive wrapped by the SDK with the code only in the message.
    const inMessage = typeof cur.message === 'string' ? /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|EAI_AGAIN)\b/.exec(cur.message) : null;
    if (inMessage) return inMessage[1];
    if (Array.isArray(cur.errors)) {
      const inner = cur.errors.find((x: any) => NETWORK_CODES.has(x?.code));
      if (inner) return inner.code;
    }
  }
  return undefined;
}

/**
 * Describes an error for the CLI's top level.
 *
 * @example
 * const { message, exitCode } = describeError(err); // "cannot reach http://127.0.0.1:4567 (ECONNREFUSED)", 1
 */
export function describeError(e: unknown): { message: string; exitCode: number } {
  const err = e as any;
  if (!err || typeof err !== 'object') return { message: String(e), exitCode: 1 };
  if (err.name === 'UsageError' || err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return { message: err.message, exitCode: 2 };
  }
  if (err.name === 'ConfigError') return { message: `configuration: ${err.message}`, exitCode: 2 };
  // Our own errors already say what happened in the user's terms (e.g. the push command's "cannot reach Kinesis at …").
  if (isWellwatchError(err)) return { message: err.message, exitCode: 1 };
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
  return { message: err.message ?? String(err), exitCode: 1 };
}
