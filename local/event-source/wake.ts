/**
 * A wake-up call for a loop that sleeps: `sleep(ms)` resolves after `ms`, or early on `wake()`.
 *
 * The runner's fetch and invoke loops of a shard sleep on one each, so a fetched page wakes the invoke loop and a
 * finished batch (room in the buffer) wakes the fetch loop without polling. A `wake()` with nobody asleep is kept
 * for the next `sleep`, so a wake-up between a loop's check and its sleep is never lost.
 */
export class Wake {
  private waiter: (() => void) | undefined;
  private woken = false;

  /** Sleeps `ms` (forever without it) or until {@link wake}. */
  sleep(ms?: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.waiter = () => {
        if (timer) clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(() => this.waiter?.(), Math.max(0, ms));
    });
  }

  /** Ends the current sleep, or the next one when nobody sleeps. */
  wake(): void {
    if (this.waiter) this.waiter();
    else this.woken = true;
  }
}
