// Client-side limits for remote teachers: at most N requests in flight, and request starts spaced
// to a rate, so labelling a large store neither floods a shared service nor trips its quota.

/** At most `limit` holders at once; waiters are served in arrival order. */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`concurrency ${limit} is not a positive integer`);
    this.#free = limit;
  }

  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }

  async use<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/** Spaces starts `1000 / perSecond` ms apart (no bursts); `take()` resolves when the caller's slot comes. */
export class RateLimiter {
  readonly intervalMs: number;
  #nextSlot = 0;

  constructor(perSecond: number) {
    if (!(perSecond > 0)) throw new RangeError(`rate ${perSecond} requests/s is not positive`);
    this.intervalMs = 1000 / perSecond;
  }

  async take(): Promise<void> {
    const now = performance.now();
    const slot = Math.max(now, this.#nextSlot);
    this.#nextSlot = slot + this.intervalMs;
    const wait = slot - now;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
