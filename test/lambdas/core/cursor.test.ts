import { CursorError, signCursor, verifyCursor } from '../../../lambdas/core/cursor';
import { describeError } from '../../../lambdas/core/errors';

const SECRET = 'k'.repeat(40);

describe('cursor', () => {
  it('round-trips a position for the scope it was signed for', () => {
    const c = signCursor(SECRET, 'readings|A|x', '2014-03-10T05:00:00Z');
    expect(verifyCursor(SECRET, 'readings|A|x', c)).toBe('2014-03-10T05:00:00Z');
  });

  it.each([
    ['another scope', (c: string) => verifyCursor(SECRET, 'readings|B|x', c)],
    ['another secret', (c: string) => verifyCursor('z'.repeat(40), 'readings|A|x', c)],
    ['an edited position', (c: string) => verifyCursor(SECRET, 'readings|A|x', `${Buffer.from('2014-03-10T06:00:00Z').toString('base64url')}.${c.split('.')[1]}`)],
    ['a truncated tag', (c: string) => verifyCursor(SECRET, 'readings|A|x', c.slice(0, -1))],
    ['garbage', () => verifyCursor(SECRET, 'readings|A|x', 'not a cursor')],
  ])('rejects a cursor checked against %s', (_name, check) => {
    const c = signCursor(SECRET, 'readings|A|x', '2014-03-10T05:00:00Z');
    expect(() => check(c)).toThrow(CursorError);
  });

  it('rejects a valid cursor with anything before or after it as malformed', () => {
    const c = signCursor(SECRET, 'readings|A|x', '2014-03-10T05:00:00Z');
    for (const wrapped of [`!${c}`, `${c}!`, `${c}\n`, `x y${c}`]) {
      expect(() => verifyCursor(SECRET, 'readings|A|x', wrapped)).toThrow(CursorError);
    }
  });

  it('does not let characters move between the scope and the position', () => {
    // Signed for scope `readings|A`, position `B|2014`; replayed as scope `readings|AB`, position `|2014`.
    const c = signCursor(SECRET, 'readings|A', 'B|2014');
    const shifted = `${Buffer.from('|2014').toString('base64url')}.${c.split('.')[1]}`;
    expect(() => verifyCursor(SECRET, 'readings|AB', shifted)).toThrow(CursorError);
  });

  it('tells the caller what to do in its messages', () => {
    const c = signCursor(SECRET, 'readings|A|x', '2014-03-10T05:00:00Z');
    expect(() => verifyCursor(SECRET, 'readings|A|x', 'not a cursor')).toThrow('cursor is malformed (pass back nextCursor exactly as received)');
    expect(() => verifyCursor(SECRET, 'readings|B|x', c)).toThrow('cursor was altered or belongs to another query (repeat the same parameters with nextCursor)');
    let caught: unknown;
    try {
      verifyCursor(SECRET, 'readings|B|x', c);
    } catch (e) {
      caught = e;
    }
    expect(describeError(caught)).toBe('CursorError: cursor was altered or belongs to another query (repeat the same parameters with nextCursor)');
  });
});
