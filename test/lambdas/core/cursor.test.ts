import { CursorError, signCursor, verifyCursor } from '../../../lambdas/core/cursor';

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
});
