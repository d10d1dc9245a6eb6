// Replays a folder of images (or a glob such as /data/frames/*.jpg) as a camera would deliver
// them: in file-name order, at a fixed fps or as fast as the consumer takes them, optionally in
// a loop. Files are read one at a time when their turn comes, so a folder of a million frames
// costs one file of memory.

import { readFile, readdir, stat } from 'node:fs/promises';
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
    // Read one file ahead: the next file's I/O overlaps with the consumer's work on this frame.
    const read = (file: string): Promise<Uint8Array | { error: unknown }> => readFile(file).catch((error: unknown) => ({ error }));
    const loop = this.#options.loop === true;
    let index = 0;
    let ahead = read(files[0]);
    do {
      for (; index < files.length; index++) {
        const file = files[index];
        const current = ahead;
        const nextIndex = index + 1 < files.length ? index + 1 : loop ? 0 : -1;
        if (interval > 0 && !(await waitUntil(start + seq * interval, signal))) return;
        if (signal.aborted) return;
        const data = await current;
        ahead = nextIndex >= 0 ? read(files[nextIndex]) : Promise.resolve(new Uint8Array(0));
        if (!(data instanceof Uint8Array)) {
          throw new SourceError(this.description, `cannot read ${file}: ${describeError(data.error)}`, { cause: data.error, retryable: false });
        }
        yield { data, format: sniffFormat(data), seq: seq++, timestamp: Date.now(), origin: file };
      }
      index = 0;
    } while (this.#options.loop === true && !signal.aborted);
  }

  async close(): Promise<void> {
    this.#abort.abort();
  }
}
