// The sample spool: frames chosen by the sampler wait here (JPEG + metadata) until the OTA
// uploader has them acknowledged by the server. It lives on the device's SD card, so:
//  - every file is written atomically (temp file, fsync, rename, fsync the directory); the
//    metadata file is written last and is the commit marker, so a power cut leaves either a whole
//    sample or debris that the next start removes;
//  - the index is rebuilt from the directory at start (the spool survives restarts);
//  - byte and count budgets hold: the oldest samples are dropped first to make room, and an
//    ENOSPC/EDQUOT evicts more and retries; whatever happens, `add` never throws, because the
//    inference loop must not die for a sample (drops are counted instead);
//  - samples leave only through `remove(id)`, which the uploader calls after the server's ack.
// Layout: <dir>/<id>.jpg and <dir>/<id>.json; ids sort by creation time.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import sharp from 'sharp';

import { SpoolError, describeError } from './errors.js';

export interface SpoolOptions {
  dir: string;
  /** Total bytes of images and metadata kept (default 256 MiB). */
  maxBytes?: number;
  /** Samples kept (default 10,000). */
  maxCount?: number;
  /** JPEG quality when a sample must be encoded (raw or non-JPEG frames; default 85). */
  jpegQuality?: number;
  /** fsync files and the directory (default true; false for tests on tmpfs speed only). */
  durable?: boolean;
}

export interface SampleInput {
  /** Encoded frame (JPEG kept as is, other formats re-encoded) or raw pixels. */
  image: Uint8Array | { data: Uint8Array; width: number; height: number; channels: 1 | 3 | 4 };
  model: { name: string; version: number };
  reasons: readonly string[];
  /** JSON-serialisable summary of the prediction. */
  prediction: unknown;
  frame?: { seq?: number; timestamp?: number; width?: number; height?: number; origin?: string };
}

export interface SampleMeta {
  id: string;
  createdAt: string;
  model: { name: string; version: number };
  reasons: string[];
  prediction: unknown;
  frame: { seq?: number; timestamp?: number; width?: number; height?: number; origin?: string };
  image: { member: string; bytes: number; format: 'jpeg' };
}

export interface SpoolEntry {
  id: string;
  /** Image plus metadata bytes. */
  bytes: number;
  createdAt: number;
}

export type AddResult =
  | { stored: true; id: string; evicted: number }
  | { stored: false; reason: 'too-large' | 'write-failed' | 'encode-failed' | 'closed'; error?: string; evicted: number };

export interface SpoolStats {
  count: number;
  bytes: number;
  added: number;
  /** Old samples dropped to make room (budgets or a full disk). */
  evicted: number;
  /** New samples not stored (too large, disk full after eviction, write or encode errors). */
  rejected: number;
  /** Debris removed at start (half-written samples, temp files). */
  recovered: number;
  lastError: string | undefined;
}

const ID_PATTERN = /^\d{13}-\d{6}-[0-9a-f]{8}$/;
const TEMP_PREFIX = '.tmp-';

export class SampleSpool {
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxCount: number;
  readonly stats: SpoolStats = { count: 0, bytes: 0, added: 0, evicted: 0, rejected: 0, recovered: 0, lastError: undefined };
  readonly #quality: number;
  readonly #durable: boolean;
  /** Oldest first. */
  readonly #entries: SpoolEntry[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #counter = 0;

  private constructor(options: SpoolOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.maxCount = options.maxCount ?? 10_000;
    this.#quality = options.jpegQuality ?? 85;
    this.#durable = options.durable ?? true;
  }

  /** Opens (creating if needed) the spool directory and rebuilds the index from what is on disk. */
  static async open(options: SpoolOptions): Promise<SampleSpool> {
    const spool = new SampleSpool(options);
    try {
      await mkdir(options.dir, { recursive: true });
      await spool.#rebuild();
    } catch (error) {
      throw new SpoolError(`cannot open spool ${options.dir}: ${describeError(error)}`, { cause: error });
    }
    return spool;
  }

  /** Oldest first. */
  list(): SpoolEntry[] {
    return this.#entries.map((e) => ({ ...e }));
  }

  has(id: string): boolean {
    return this.#entries.some((e) => e.id === id);
  }

  async read(id: string): Promise<{ meta: SampleMeta; image: Uint8Array }> {
    if (!ID_PATTERN.test(id) || !this.has(id)) throw new SpoolError(`no sample ${id} in ${this.dir}`);
    const meta = JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as SampleMeta;
    const image = new Uint8Array(await readFile(join(this.dir, `${id}.jpg`)));
    return { meta, image };
  }

  /** Deletes a sample (after the server acknowledged it). False when it was not there. */
  remove(id: string): Promise<boolean> {
    return this.#serial(async () => {
      const at = this.#entries.findIndex((e) => e.id === id);
      if (at < 0) return false;
      await this.#delete(this.#entries[at]);
      return true;
    });
  }

  /** Stores a sample, evicting the oldest as needed. Never throws. */
  add(sample: SampleInput): Promise<AddResult> {
    return this.#serial(() => this.#add(sample)).catch((error: unknown): AddResult => {
      this.stats.rejected++;
      this.stats.lastError = describeError(error);
      return { stored: false, reason: 'write-failed', error: describeError(error), evicted: 0 };
    });
  }

  async #add(sample: SampleInput): Promise<AddResult> {
    let jpeg: Uint8Array;
    try {
      jpeg = await this.#jpegOf(sample.image);
    } catch (error) {
      return this.#rejected('encode-failed', 0, error);
    }
    const now = Date.now();
    const id = `${String(now).padStart(13, '0')}-${String(this.#counter++ % 1_000_000).padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
    const meta: SampleMeta = {
      id,
      createdAt: new Date(now).toISOString(),
      model: { ...sample.model },
      reasons: [...sample.reasons],
      prediction: sample.prediction,
      frame: { ...sample.frame },
      image: { member: `${id}.jpg`, bytes: jpeg.byteLength, format: 'jpeg' },
    };
    const metaBytes = Buffer.from(`${JSON.stringify(meta)}\n`);
    const size = jpeg.byteLength + metaBytes.byteLength;
    if (size > this.maxBytes) return this.#rejected('too-large', 0, new Error(`sample of ${size} bytes exceeds the spool budget of ${this.maxBytes}`));
    let evicted = 0;
    while (this.#entries.length > 0 && (this.#entries.length + 1 > this.maxCount || this.stats.bytes + size > this.maxBytes)) {
      await this.#delete(this.#entries[0]);
      this.stats.evicted++;
      evicted++;
    }
    for (;;) {
      try {
        await this.#writeAtomic(`${id}.jpg`, jpeg);
        await this.#writeAtomic(`${id}.json`, metaBytes);
        break;
      } catch (error) {
        await this.#unlinkQuiet(`${id}.jpg`);
        const code = (error as NodeJS.ErrnoException).code;
        // The disk is fuller than our budget thought (other files, a smaller card): make room and retry.
        if ((code === 'ENOSPC' || code === 'EDQUOT') && this.#entries.length > 0) {
          await this.#delete(this.#entries[0]);
          this.stats.evicted++;
          evicted++;
          continue;
        }
        return this.#rejected('write-failed', evicted, error);
      }
    }
    this.#entries.push({ id, bytes: size, createdAt: now });
    this.stats.count = this.#entries.length;
    this.stats.bytes += size;
    this.stats.added++;
    return { stored: true, id, evicted };
  }

  #rejected(reason: 'too-large' | 'write-failed' | 'encode-failed', evicted: number, error: unknown): AddResult {
    this.stats.rejected++;
    this.stats.lastError = describeError(error);
    return { stored: false, reason, error: describeError(error), evicted };
  }

  async #jpegOf(image: SampleInput['image']): Promise<Uint8Array> {
    if (image instanceof Uint8Array) {
      if (image.length >= 3 && image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff) return image;
      return sharp(image).jpeg({ quality: this.#quality }).toBuffer();
    }
    return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } }).jpeg({ quality: this.#quality }).toBuffer();
  }

  async #writeAtomic(name: string, data: Uint8Array): Promise<void> {
    const temp = join(this.dir, `${TEMP_PREFIX}${name}.${randomBytes(4).toString('hex')}`);
    const handle = await open(temp, 'w');
    try {
      let written = 0;
      while (written < data.byteLength) written += (await handle.write(data, written)).bytesWritten;
      if (this.#durable) await handle.sync();
    } catch (error) {
      await handle.close();
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    await rename(temp, join(this.dir, name));
    if (this.#durable) await this.#syncDir();
  }

  async #syncDir(): Promise<void> {
    const handle = await open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async #delete(entry: SpoolEntry): Promise<void> {
    // Metadata first: without it the sample is no longer committed, whatever happens next.
    await this.#unlinkQuiet(`${entry.id}.json`);
    await this.#unlinkQuiet(`${entry.id}.jpg`);
    const at = this.#entries.indexOf(entry);
    if (at >= 0) this.#entries.splice(at, 1);
    this.stats.count = this.#entries.length;
    this.stats.bytes -= entry.bytes;
  }

  async #unlinkQuiet(name: string): Promise<void> {
    await unlink(join(this.dir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async #rebuild(): Promise<void> {
    const names = await readdir(this.dir);
    const present = new Set(names);
    const entries: SpoolEntry[] = [];
    for (const name of names) {
      if (name.startsWith(TEMP_PREFIX)) {
        await this.#unlinkQuiet(name);
        this.stats.recovered++;
        continue;
      }
      const match = /^(.*)\.(json|jpg)$/.exec(name);
      if (!match || !ID_PATTERN.test(match[1])) continue;
      const [, id, ext] = match;
      const partner = `${id}.${ext === 'json' ? 'jpg' : 'json'}`;
      if (!present.has(partner)) {
        // Half of a sample: the image written but never committed, or an interrupted removal.
        await this.#unlinkQuiet(name);
        this.stats.recovered++;
        continue;
      }
      if (ext === 'json') {
        const [a, b] = await Promise.all([stat(join(this.dir, name)), stat(join(this.dir, partner))]);
        entries.push({ id, bytes: a.size + b.size, createdAt: Number(id.slice(0, 13)) });
      }
    }
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#entries.push(...entries);
    this.stats.count = entries.length;
    this.stats.bytes = entries.reduce((sum, e) => sum + e.bytes, 0);
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
