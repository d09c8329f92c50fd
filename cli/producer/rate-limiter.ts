/**
 * Rate limiting: a token bucket that paces the producer to a number of readings per second.
 *
 * The bucket holds at most 100 ms of tokens (at least one), so a paused input cannot burst far above the rate.
 */
import { ConfigError } from '../../lambdas/core/errors';

/**
 * A token bucket of `ratePerSecond` tokens a second, starting with one token.
 *
 * @example
 * const bucket = new TokenBucket(1000);
 * while (!bucket.take()) await sleep(bucket.msUntilToken());
 */
export class TokenBucket {
  private tokens = 0;
  /** performance.now() of the last refill; 0 before the first take. */
  private at = 0;

  constructor(
    readonly ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new ConfigError(`ratePerSecond must be > 0, got ${ratePerSecond}`);
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const rate = this.ratePerSecond;
    const now = this.now();
    if (this.at === 0) {
      this.at = now;
      this.tokens = 1;
    }
    this.tokens = Math.min(Math.max(1, rate / 10), this.tokens + ((now - this.at) * rate) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (at least 1). */
  msUntilToken(): number {
    return Math.max(1, ((1 - this.tokens) * 1000) / this.ratePerSecond);
  }
}
