/**
 * Request parsing of the query API: strict parameters, one error type that names the parameter, and responses.
 *
 * Parameters are read from `rawQueryString`, not `queryStringParameters`: in payload format 2.0 "duplicate query
 * strings are combined with commas and included in the queryStringParameters field" (API Gateway developer guide,
 * "Working with AWS Lambda proxy integrations for HTTP APIs"), which would hide a repeated parameter.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { WellwatchError } from '../core/errors';
import { timeBound, type TimeBound } from '../store/days';

/** A request the API refuses: HTTP status, machine code, and the parameter at fault when there is one. */
export class ApiError extends WellwatchError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly parameter?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Pump ids as the parser accepts them. */
export const PUMP_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The query parameters of one request, checked against the route's allowed names. */
export class Params {
  private readonly search: URLSearchParams;

  constructor(rawQueryString: string, allowed: readonly string[]) {
    this.search = new URLSearchParams(rawQueryString);
    for (const key of new Set(this.search.keys())) {
      if (!allowed.includes(key)) {
        throw new ApiError(400, 'unknown-parameter', `unknown parameter ${JSON.stringify(key)}; allowed: ${allowed.join(', ') || 'none'}`, key);
      }
      if (this.search.getAll(key).length > 1) throw new ApiError(400, 'repeated-parameter', `parameter ${key} given more than once`, key);
    }
  }

  /** The value of a parameter; undefined when absent or empty. */
  get(name: string): string | undefined {
    const v = this.search.get(name);
    return v === null || v === '' ? undefined : v;
  }

  /** The value as sent (`''` when given without a value), or undefined when absent. */
  raw(name: string): string | undefined {
    return this.search.get(name) ?? undefined;
  }

  /** A whole number in `[min, max]`, or the fallback when absent. */
  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new ApiError(400, 'bad-parameter', `${name} must be a whole number ${min}–${max}, got ${JSON.stringify(raw)}`, name);
    }
    return Number(raw);
  }

  /** One of a closed set of values, or undefined when absent. */
  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const raw = this.get(name);
    if (raw === undefined) return undefined;
    if (!(values as readonly string[]).includes(raw)) throw new ApiError(400, 'bad-parameter', `${name} must be one of ${values.join(', ')}, got ${JSON.stringify(raw)}`, name);
    return raw as T;
  }

  /** A pump id (validated), or undefined when absent. */
  pump(name = 'pump'): string | undefined {
    const raw = this.get(name);
    if (raw === undefined) return undefined;
    return checkPump(raw, name);
  }

  /** A time bound (day or ISO timestamp), or undefined when absent. */
  time(name: 'from' | 'to'): TimeBound | undefined {
    const raw = this.get(name);
    if (raw === undefined) return undefined;
    try {
      return timeBound(name, raw);
    } catch (e) {
      throw new ApiError(400, 'bad-parameter', (e as Error).message, name);
    }
  }

  /** `json` (default) or `csv`. */
  format(): 'json' | 'csv' {
    return this.oneOf('format', ['json', 'csv'] as const) ?? 'json';
  }
}

/**
 * Validates a pump id.
 *
 * @throws ApiError 400 naming the parameter.
 */
export function checkPump(raw: string, name = 'pump'): string {
  if (!PUMP_RE.test(raw)) throw new ApiError(400, 'bad-parameter', `${name} must match [A-Za-z0-9_-]{1,64}, got ${JSON.stringify(raw)}`, name);
  return raw;
}

/**
 * Checks that `from` is not after `to`.
 *
 * @throws ApiError 400 naming `from`.
 */
export function checkOrder(from: TimeBound | undefined, to: TimeBound | undefined): void {
  if (from && to && from.ts > to.ts) throw new ApiError(400, 'bad-parameter', `from (${from.ts}) must not be after to (${to.ts})`, 'from');
}

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(body) };
}

/** A CSV response; the next page's cursor (if any) travels in `x-next-cursor`. */
export function csv(lines: readonly string[], nextCursor: string | null): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 200,
    headers: { 'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store', ...(nextCursor ? { 'x-next-cursor': nextCursor } : {}) },
    body: lines.join('\n') + '\n',
  };
}
