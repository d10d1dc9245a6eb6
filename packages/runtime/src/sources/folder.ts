// Replays a folder of images (or a glob such as /data/frames/*.jpg) as a camera would deliver
// them: in file-name order, at a fixed fps or as fast as the consumer takes them, optionally in
// a loop. Files are read one at a time when their turn comes, so a folder of a million frames
// costs one file of memory.

import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';

import { SourceConfigError, SourceError, describeError } from '../errors.js';
import { frameInterval, sniffFormat, waitUntil, type Frame, type FrameSource } from './frame.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface FolderSourceOptions {
  /** A directory, or a glob whose wildcards (`*`, `?`, `[abc]`) are in the last path segment only. */
  path: string;
  /** Frames per second; undefined or 0 = as fast as possible. */
  fps?: number;
  /** Start again after the last file (default false: the source ends). */
  loop?: boolean;
  /** File name endings taken from a directory (case-insensitive; default IMAGE_EXTENSIONS). */
  extensions?: readonly string[];
}

export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/** A glob segment -> a RegExp over file names (`*` and `?` do not match '/'). */
export function globToRegExp(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${out}$`);
}

/** The image files a folder or glob names, sorted by name (natural order for numbered frames). */
export async function listImageFiles(path: string, extensions: readonly string[] = IMAGE_EXTENSIONS): Promise<string[]> {
  const glob = hasGlob(path);
  const dir = resolve(glob ? dirname(path) : path);
  if (glob && hasGlob(dir)) throw new SourceConfigError(`glob ${path}: wildcards are supported in the file name only`);
  let names: string[];
  try {
    if (!glob && !(await stat(dir)).isDirectory()) throw new SourceConfigError(`${path} is not a directory`);
    names = await readdir(dir);
  } catch (error) {
    if (error instanceof SourceConfigError) throw error;
    throw new SourceConfigError(`cannot read ${dir}: ${describeError(error)}`);
  }
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  const matcher = glob ? globToRegExp(basename(path)) : undefined;
  const files = names.filter((n) => (matcher ? matcher.test(n) : wanted.has(extname(n).toLowerCase())));
  files.sort(new Intl.Collator('en', { numeric: true }).compare);
  return files.map((n) => join(dir, n));
}

export class FolderSource implements FrameSource {
  readonly description: string;
  readonly live = false;
  readonly #options: FolderSourceOptions;
  readonly #abort = new AbortController();

  constructor(options: FolderSourceOptions) {
    if (options.fps !== undefined && !(options.fps >= 0)) throw new SourceConfigError(`fps ${options.fps} is not a non-negative number`);
    this.#options = options;
    this.description = `folder ${options.path}`;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const files = await listImageFiles(this.#options.path, this.#options.extensions);
    if (files.length === 0) throw new SourceConfigError(`${this.#options.path} holds no image files`);
    const interval = frameInterval(this.#options.fps);
    const signal = this.#abort.signal;
    const start = performance.now();
    let seq = 0;
    do {
      for (const file of files) {
        if (interval > 0 && !(await waitUntil(start + seq * interval, signal))) return;
        if (signal.aborted) return;
        // Read synchronously when the frame's turn comes: a camera-sized image from a local disk
        // costs a few tens of microseconds this way, several times less CPU than fs.promises.readFile
        // (open, fstat, read and close each a thread-pool round trip), and the runner's next frame
        // is already decoding on sharp's threads meanwhile.
        let data: Uint8Array;
        try {
          data = readFileSync(file);
        } catch (error) {
          throw new SourceError(this.description, `cannot read ${file}: ${describeError(error)}`, { cause: error, retryable: false });
        }
        yield { data, format: sniffFormat(data), seq: seq++, timestamp: Date.now(), origin: file };
      }
    } while (this.#options.loop === true && !signal.aborted);
  }

  async close(): Promise<void> {
    this.#abort.abort();
  }
}
