/**
 * The token bucket behind `push --rate`: one token at once, then the rate, with at most 100 ms of tokens saved up.
 */
import { ConfigError } from '../../../lambdas/core/errors';
import { TokenBucket } from '../../../cli/producer/rate-limiter';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('TokenBucket', () => {
  it('gives one token at once, then one per 1/rate seconds', () => {
    const c = clock();
    const bucket = new TokenBucket(100, c.now);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    expect(bucket.msUntilToken()).toBeCloseTo(10, 6);
    c.advance(10);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('saves up at most 100 ms of tokens during a pause, so a paused input cannot burst', () => {
    const c = clock();
    const bucket = new TokenBucket(1000, c.now);
    expect(bucket.take()).toBe(true);
    c.advance(60_000);
    let burst = 0;
    while (bucket.take()) burst++;
    expect(burst).toBe(100);
  });

  it('keeps one token of headroom at rates below 10/s', () => {
    const c = clock();
    const bucket = new TokenBucket(2, c.now);
    expect(bucket.take()).toBe(true);
    c.advance(10_000);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    expect(bucket.msUntilToken()).toBeCloseTo(500, 6);
  });

  it.each([0, -1, Number.NaN])('refuses a rate of %p', (rate) => {
    expect(() => new TokenBucket(rate)).toThrow(ConfigError);
  });
});
