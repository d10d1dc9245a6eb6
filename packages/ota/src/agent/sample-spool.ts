// The device's bounded field-sample spool (docs/ota-protocol.md §sample-upload, §sample-ack):
// samples survive restarts in `spool/` and are deleted only after the server acknowledged that
// it stored them durably.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '../fs-atomic.js';
import { SampleHeaderSchema, isValidMessage } from '../schemas.js';
import type { SampleHeader } from '../schemas.js';

export interface SpoolLimits {
  /** Most samples kept (default 1000). */
  maxSamples?: number;
  /** Most bytes of sample data kept (default 256 MiB). */
  maxBytes?: number;
}

export interface SpooledSample {
  header: SampleHeader;
  data: Buffer;
}

export class SampleSpool {
  private readonly maxSamples: number;
  private readonly maxBytes: number;
  /** Samples refused because the spool was full. */
  droppedFull = 0;

  constructor(readonly dir: string, limits: SpoolLimits = {}) {
    this.maxSamples = limits.maxSamples ?? 1000;
    this.maxBytes = limits.maxBytes ?? 256 * 1024 * 1024;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // A .bin without its .json was interrupted before it was spooled: nothing refers to it.
    const names = new Set(await readdir(this.dir));
    for (const name of names) {
      if (name.endsWith('.tmp') || (name.endsWith('.bin') && !names.has(name.replace(/\.bin$/, '.json')))) await rm(join(this.dir, name), { force: true });
    }
  }

  /** Ids, oldest first (ids start with a time stamp). */
  async ids(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();
  }

  /** Adds a sample durably; null when the spool is full (the sample is dropped and counted). */
  async add(data: Uint8Array, contentType: string, meta?: Record<string, unknown>): Promise<SampleHeader | null> {
    const ids = await this.ids();
    let bytes = 0;
    for (const id of ids) bytes += await stat(join(this.dir, `${id}.bin`)).then((s) => s.size, () => 0);
    if (ids.length >= this.maxSamples || bytes + data.byteLength > this.maxBytes) {
      this.droppedFull++;
      return null;
    }
    const id = `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
    const header: SampleHeader = { v: 1, id, sha256: createHash('sha256').update(data).digest('hex'), ts: new Date().toISOString(), contentType };
    if (meta !== undefined) header.meta = meta;
    await writeFileAtomic(join(this.dir, `${id}.bin`), data);
    await writeFileAtomic(join(this.dir, `${id}.json`), JSON.stringify(header));
    return header;
  }

  async read(id: string): Promise<SpooledSample | null> {
    try {
      const header: unknown = JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8'));
      if (!isValidMessage(SampleHeaderSchema, header)) return null;
      return { header, data: await readFile(join(this.dir, `${id}.bin`)) };
    } catch {
      return null;
    }
  }

  /** Removes a sample (after the server's ack); the header goes first so a kill leaves no half sample. */
  async remove(id: string): Promise<void> {
    await rm(join(this.dir, `${id}.json`), { force: true });
    await rm(join(this.dir, `${id}.bin`), { force: true });
  }
}
