// One image file as a source: once (a quick check of a bundle against a photo), a given number of
// times, or in a loop at a fixed fps (a still "camera" for soak tests).

import { readFile } from 'node:fs/promises';

import { SourceConfigError, describeError } from '../errors.js';
import { frameInterval, sniffFormat, waitUntil, type Frame, type FrameSource } from './frame.js';

export interface ImageSourceOptions {
  path: string;
  /** How many frames (default 1); `loop` overrides it. */
  count?: number;
  loop?: boolean;
  fps?: number;
}

export class ImageSource implements FrameSource {
  readonly description: string;
  readonly live = false;
  readonly #options: ImageSourceOptions;
  readonly #abort = new AbortController();

  constructor(options: ImageSourceOptions) {
    this.#options = options;
    this.description = `image ${options.path}`;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    let data: Uint8Array;
    try {
      data = await readFile(this.#options.path);
    } catch (error) {
      throw new SourceConfigError(`cannot read image ${this.#options.path}: ${describeError(error)}`);
    }
    const format = sniffFormat(data);
    const count = this.#options.loop === true ? Infinity : (this.#options.count ?? 1);
    const interval = frameInterval(this.#options.fps);
    const signal = this.#abort.signal;
    const start = performance.now();
    for (let seq = 0; seq < count; seq++) {
      if (interval > 0 && !(await waitUntil(start + seq * interval, signal))) return;
      if (signal.aborted) return;
      yield { data, format, seq, timestamp: Date.now(), origin: this.#options.path };
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
  }
}
