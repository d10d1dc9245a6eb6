// Positional reads of bundle chunks for §chunk-data, with a few file handles kept open.
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

import { CHUNK_HEADER_BYTES, writeChunkHeader } from '../chunk-frame.js';

import { chunkRange } from '../transfer/descriptor.js';
import type { BundleRecord, FleetStore } from './store.js';

const MAX_OPEN = 8;

export class ChunkReader {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(private readonly store: FleetStore) {}

  /** The whole §chunk-data frame: header, then the chunk read straight behind it (no copy). */
  async readFrame(record: BundleRecord, index: number): Promise<Buffer> {
    const { offset, length } = chunkRange(index, record.size, record.transfer.chunkBytes);
    const frame = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + length);
    writeChunkHeader(frame, { index, totalChunks: record.transfer.chunkSha256.length, bundleSha256: record.sha256 });
    const handle = await this.handle(record.sha256);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(frame, CHUNK_HEADER_BYTES + filled, length - filled, offset + filled);
      if (bytesRead === 0) throw new Error(`bundle ${record.sha256} is shorter than its record`);
      filled += bytesRead;
    }
    return frame;
  }

  private handle(sha256: string): Promise<FileHandle> {
    let handle = this.handles.get(sha256);
    if (handle === undefined) {
      if (this.handles.size >= MAX_OPEN) {
        const [oldest, pending] = this.handles.entries().next().value as [string, Promise<FileHandle>];
        this.handles.delete(oldest);
        pending.then((h) => h.close()).catch(() => undefined);
      }
      handle = open(this.store.bundlePath(sha256), 'r');
      handle.catch(() => this.handles.delete(sha256));
      this.handles.set(sha256, handle);
    }
    return handle;
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.then((x) => x.close()).catch(() => undefined)));
  }
}
