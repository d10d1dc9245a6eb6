// A camera that disappears (USB unplugged, RTSP server rebooted, Wi-Fi gone) comes back: this
// wrapper recreates a failed source with exponential backoff (src/backoff.ts) and keeps the frame
// sequence numbers running across restarts. Configuration errors and non-retryable source errors
// (HTTP 404, ffmpeg missing) are not retried: they would fail the same way forever.

import { Backoff, sleep, type BackoffOptions } from '../backoff.js';
import { SourceConfigError, SourceError, describeError } from '../errors.js';
import type { Frame, FrameSource } from './frame.js';

export interface RestartInfo {
  /** 1 for the first restart after a success. */
  attempt: number;
  delayMs: number;
  error: unknown;
  reason: string;
}

export interface RestartOptions {
  backoff?: BackoffOptions;
  /** Give up after this many consecutive failed attempts (default Infinity). */
  maxAttempts?: number;
  /** Treat the source ending as a failure to restart from (default: `source.live`). */
  restartOnEnd?: boolean;
  onRestart?: (info: RestartInfo) => void;
}

export interface RestartStats {
  restarts: number;
  /** Consecutive failures since the last frame. */
  failures: number;
  lastError: string | undefined;
}

export function isRetryableSourceError(error: unknown): boolean {
  if (error instanceof SourceConfigError) return false;
  if (error instanceof SourceError) return error.retryable;
  return true;
}

export class RestartingSource implements FrameSource {
  readonly description: string;
  readonly live: boolean;
  readonly stats: RestartStats = { restarts: 0, failures: 0, lastError: undefined };
  readonly #factory: () => FrameSource;
  readonly #options: RestartOptions;
  readonly #abort = new AbortController();
  #current: FrameSource | undefined;

  /** `factory` makes a fresh source for each (re)start. */
  constructor(factory: () => FrameSource, options: RestartOptions = {}) {
    this.#factory = factory;
    this.#options = options;
    const probe = factory();
    this.#current = probe;
    this.description = probe.description;
    this.live = probe.live;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const signal = this.#abort.signal;
    const backoff = new Backoff(this.#options.backoff);
    const restartOnEnd = this.#options.restartOnEnd ?? this.live;
    const maxAttempts = this.#options.maxAttempts ?? Infinity;
    let seq = 0;
    while (!signal.aborted) {
      const source = this.#current ?? this.#factory();
      this.#current = source;
      let error: unknown;
      try {
        for await (const frame of source) {
          if (signal.aborted) return;
          if (this.stats.failures > 0) backoff.reset();
          this.stats.failures = 0;
          yield { ...frame, seq: seq++ };
        }
        if (!restartOnEnd || signal.aborted) return;
        error = new SourceError(source.description, 'ended');
      } catch (caught) {
        if (signal.aborted) return;
        error = caught;
      } finally {
        this.#current = undefined;
        await source.close();
      }
      if (!isRetryableSourceError(error)) throw error;
      this.stats.failures++;
      this.stats.lastError = describeError(error);
      if (this.stats.failures > maxAttempts) {
        throw new SourceError(this.description, `gave up after ${maxAttempts} restarts: ${describeError(error)}`, { cause: error, retryable: false });
      }
      const hinted = error instanceof SourceError ? (error.retryAfter ?? 0) : 0;
      const delayMs = Math.max(backoff.next(), hinted);
      this.#options.onRestart?.({ attempt: this.stats.failures, delayMs, error, reason: describeError(error) });
      if (!(await sleep(delayMs, signal))) return;
      this.stats.restarts++;
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#current?.close();
  }
}

export function withRestart(factory: () => FrameSource, options: RestartOptions = {}): RestartingSource {
  return new RestartingSource(factory, options);
}
