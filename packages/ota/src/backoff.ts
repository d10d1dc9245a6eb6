// The one backoff policy of the package: exponential with full jitter, capped. Reconnects,
// chunk re-requests and republishes all use it so a fleet never retries in lockstep.

export interface BackoffOptions {
  /** Delay of the first retry (default 200 ms). */
  baseMs?: number;
  /** Upper bound for any delay (default 30 s). */
  maxMs?: number;
  /** 0 = deterministic, 1 = full jitter in [delay/2, delay] (default 1). */
  jitter?: number;
  /** Random source in [0,1), for tests. */
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 200;
  const max = options.maxMs ?? 30_000;
  const jitter = options.jitter ?? 1;
  const random = options.random ?? Math.random;
  const exp = Math.min(max, base * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(exp - (exp / 2) * jitter * random());
}

/** Calls `fn` until it resolves, waiting backoffDelay between tries; `retryAfterMs` on an error raises the wait. */
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
      const hinted = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
      const wait = Math.max(backoffDelay(attempt, options), typeof hinted === 'number' ? hinted : 0);
      await sleep(wait, options.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
