/**
 * Opaque, tamper-evident pagination cursors.
 *
 * A cursor is `base64url(position) . base64url(HMAC-SHA256(secret, scope ␊ position))[0..22]`. The scope is the
 * request's canonical query (route, pump, range, resolution…), so a cursor cannot be edited, forged without the
 * secret, or replayed against a different query. The position is still re-validated by the caller (it must lie
 * inside the requested range), so even a leaked secret cannot widen what one request reads.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WellwatchError } from './errors';

/** A cursor that was altered, forged, or issued for another query. */
export class CursorError extends WellwatchError {
  constructor(message: string) {
    super(message);
    this.name = 'CursorError';
  }
}

const MAC_CHARS = 22; // 132 bits of the tag

function mac(secret: string, scope: string, position: string): string {
  return createHmac('sha256', secret).update(scope).update('\n').update(position).digest('base64url').slice(0, MAC_CHARS);
}

/**
 * Signs a position for a query scope.
 *
 * @example
 * const c = signCursor(secret, 'readings|COHUTTA|…', '2014-03-10T05:00:00Z');
 */
export function signCursor(secret: string, scope: string, position: string): string {
  return `${Buffer.from(position, 'utf8').toString('base64url')}.${mac(secret, scope, position)}`;
}

/**
 * Returns the position a cursor carries after checking its tag against the scope.
 *
 * @throws CursorError when the cursor is malformed, altered or belongs to another query.
 * @example
 * verifyCursor(secret, scope, c); // → '2014-03-10T05:00:00Z'
 */
export function verifyCursor(secret: string, scope: string, cursor: string): string {
  const m = /^([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{22})$/.exec(cursor);
  if (!m) throw new CursorError('cursor is malformed (pass back nextCursor exactly as received)');
  const position = Buffer.from(m[1]!, 'base64url').toString('utf8');
  const expected = Buffer.from(mac(secret, scope, position));
  const given = Buffer.from(m[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new CursorError('cursor was altered or belongs to another query (repeat the same parameters with nextCursor)');
  }
  return position;
}
