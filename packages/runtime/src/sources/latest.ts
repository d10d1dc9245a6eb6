// Latest-frame semantics: when inference is slower than the camera, process the newest frame and
// drop the ones in between, instead of falling further and further behind on a growing queue.
// A background pump reads the source as fast as it delivers into a one-slot mailbox; a frame
// that arrives while the slot is full replaces it and the replaced frame is counted as dropped.

import type { Frame, FrameSource } from './frame.js';

/** One slot; put replaces, take waits. */
export class LatestFrameMailbox<T extends object> {
  #slot: T | undefined;
  #full = false;
  #closed = false;
  #waiter: ((value: T | undefined) => void) | undefined;
  /** Items replaced before anyone took them. */
  dropped = 0;
  delivered = 0;

  /** Returns the item it replaced (one nobody took), if any. */
  put(item: T): T | undefined {
    if (this.#closed) return undefined;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      this.delivered++;
      waiter(item);
      return undefined;
    }
    const replaced = this.#full ? this.#slot : undefined;
    if (replaced) this.dropped++;
    this.#slot = item;
    this.#full = true;
    return replaced;
  }

  /** The newest item, waiting for one if the slot is empty; undefined once closed and empty. */
  take(): Promise<T | undefined> {
    if (this.#full) {
      const item = this.#slot as T;
      this.#slot = undefined;
      this.#full = false;
      this.delivered++;
      return Promise.resolve(item);
    }
    if (this.#closed) return Promise.resolve(undefined);
    if (this.#waiter) throw new Error('LatestFrameMailbox has one consumer');
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** No more puts; a waiting take gets undefined, a full slot can still be taken. */
  close(): void {
    this.#closed = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
  }
}

export interface LatestFrameStats {
  /** Frames the source delivered. */
  received: number;
  /** Frames replaced by a newer one before inference took them. */
  dropped: number;
}

/**
 * Wraps a source so that its consumer always gets the newest frame. Frames keep their source
 * `seq`, so gaps show which were dropped; `stats.dropped` counts them.
 */
export class LatestFrameSource implements FrameSource {
  readonly description: string;
  readonly live: boolean;
  readonly stats: LatestFrameStats = { received: 0, dropped: 0 };
  readonly inner: FrameSource;
  readonly #onDrop: ((frame: Frame) => void) | undefined;

  constructor(inner: FrameSource, options: { onDrop?: (frame: Frame) => void } = {}) {
    this.inner = inner;
    this.description = inner.description;
    this.live = inner.live;
    this.#onDrop = options.onDrop;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const mailbox = new LatestFrameMailbox<Frame>();
    let failure: { error: unknown } | undefined;
    const pump = (async () => {
      try {
        for await (const frame of this.inner) {
          this.stats.received++;
          const replaced = mailbox.put(frame);
          if (replaced) {
            this.stats.dropped++;
            this.#onDrop?.(replaced);
          }
        }
      } catch (error) {
        failure = { error };
      } finally {
        mailbox.close();
      }
    })();
    try {
      for (;;) {
        const frame = await mailbox.take();
        if (frame === undefined) break;
        yield frame;
      }
      if (failure) throw failure.error;
    } finally {
      await this.inner.close();
      await pump;
    }
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}
