// The one backoff policy of the runtime (STYLE item 9): exponential with jitter, capped. Source
// restarts use it so a camera that flaps is not hammered, and a fleet of devices whose shared
// RTSP server restarts does not reconnect in lockstep.

export interface BackoffOptions {
  /** Delay of the first retry (default 200 ms). */
  baseMs?: number;
  /** Upper bound for any delay (default 30 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** 0 = deterministic, 1 = delay drawn from [delay/2, delay] (default 1). */
  jitter?: number;
  /** Random source in [0,1), for tests. */
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 200;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 1));
  const random = options.random ?? Math.random;
  const exp = Math.min(max, base * factor ** Math.min(Math.max(0, attempt), 60));
  return Math.round(exp - (exp / 2) * jitter * random());
}

/**
 * Stateful form for loops that retry until something works: `next()` gives the next delay and
 * counts the attempt, `reset()` after a success (e.g. once a restarted camera delivers a frame).
 */
export class Backoff {
  readonly options: Readonly<BackoffOptions>;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.options = { ...options };
  }

  get attempt(): number {
    return this.#attempt;
  }

  next(): number {
    const delay = backoffDelay(this.#attempt, this.options);
    this.#attempt++;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or at once (without throwing) when `signal` aborts. Returns false when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => done(true), ms);
    function done(completed: boolean): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(completed);
    }
    function onAbort(): void {
      done(false);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `fn` until it resolves, waiting backoffDelay between tries; an error's `retryAfter` (ms) raises the wait. */
export async function retryWithBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: BackoffOptions & { attempts: number; signal?: AbortSignal; isRetryable?: (error: unknown) => boolean },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const retryable = options.isRetryable?.(error) ?? true;
      if (!retryable || attempt + 1 >= options.attempts || options.signal?.aborted === true) throw error;
      const hinted = (error as { retryAfter?: unknown } | null)?.retryAfter;
      const wait = Math.max(backoffDelay(attempt, options), typeof hinted === 'number' ? hinted : 0);
      await sleep(wait, options.signal);
    }
  }
}
