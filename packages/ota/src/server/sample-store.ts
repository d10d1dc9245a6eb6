// Field samples on the server (docs/ota-protocol.md §sample-upload): blobs by sha256 and an
// append-only index; both fsynced before the caller acknowledges.
//  - Blobs are written concurrently; index entries are group-committed: puts that arrive while an
//    append + fsync is running are written and fsynced together by the next one, so throughput
//    does not stop at one fsync per sample.
//  - Replicas (§scaling) may share the directory: before storing a sample it has not seen, a store
//    reads the index lines other writers appended since it last looked, so a re-sent sample that
//    lands on another replica is acknowledged as a duplicate instead of stored twice. (Two
//    replicas handling the same upload at the same moment are not excluded; the device re-sends
//    only after its ack timeout, long after a put finished.)
import { mkdir, open, readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '@edgeloop/bundle';
import type { SampleHeader } from '../schemas.js';

export interface SampleIndexEntry extends SampleHeader {
  deviceId: string;
  bytes: number;
  receivedAt: string;
}

interface PendingLine {
  line: string;
  resolve(): void;
  reject(error: unknown): void;
}

export class SampleStore {
  private readonly seen = new Set<string>();
  private readonly inflight = new Map<string, Promise<'stored' | 'duplicate'>>();
  private readonly pendingLines: PendingLine[] = [];
  private writer: Promise<void> | null = null;
  private reading: Promise<void> = Promise.resolve();
  /** Bytes of the index read so far (up to the end of its last complete line). */
  private offset = 0;

  constructor(readonly dir: string) {}

  async open(): Promise<void> {
    await mkdir(join(this.dir, 'blobs'), { recursive: true });
    const text = await readFile(this.indexPath).catch(() => Buffer.alloc(0));
    const end = text.lastIndexOf(0x0a) + 1;
    // A torn last line after a crash: that sample was never acknowledged (the device resends it).
    // Cut it off so the next append does not glue a good entry onto it.
    if (end < text.byteLength) await truncate(this.indexPath, end);
    this.offset = 0;
    this.absorb(text.subarray(0, end));
  }

  get indexPath(): string {
    return join(this.dir, 'index.jsonl');
  }

  blobPath(sha256: string): string {
    return join(this.dir, 'blobs', sha256);
  }

  has(deviceId: string, id: string, sha256: string): boolean {
    return this.seen.has(key(deviceId, id, sha256));
  }

  /** Stores blob and index entry durably; 'duplicate' when this device already sent this id + hash. */
  async put(deviceId: string, header: SampleHeader, data: Uint8Array): Promise<'stored' | 'duplicate'> {
    const k = key(deviceId, header.id, header.sha256);
    for (;;) {
      if (this.seen.has(k)) return 'duplicate';
      const running = this.inflight.get(k);
      if (running === undefined) break;
      // The same sample is being stored (a re-send that overtook its ack): wait, then decide.
      await running.catch(() => undefined);
    }
    const run = async (): Promise<'stored' | 'duplicate'> => {
      await this.catchUp();
      if (this.seen.has(k)) return 'duplicate';
      const blob = this.blobPath(header.sha256);
      const exists = await stat(blob).then((s) => s.size === data.byteLength, () => false);
      if (!exists) await writeFileAtomic(blob, data);
      const entry: SampleIndexEntry = { ...header, deviceId, bytes: data.byteLength, receivedAt: new Date().toISOString() };
      await this.append(`${JSON.stringify(entry)}\n`);
      this.seen.add(k);
      return 'stored';
    };
    const task = run();
    this.inflight.set(k, task);
    try {
      return await task;
    } finally {
      this.inflight.delete(k);
    }
  }

  /** Reads index lines appended (by this store or another writer) since the last read. */
  private catchUp(): Promise<void> {
    const next = this.reading.then(() => this.readNew());
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async readNew(): Promise<void> {
    const size = await stat(this.indexPath).then((s) => s.size, () => 0);
    if (size <= this.offset) return;
    const handle = await open(this.indexPath, 'r');
    try {
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, this.offset);
      const chunk = buffer.subarray(0, bytesRead);
      this.absorb(chunk.subarray(0, chunk.lastIndexOf(0x0a) + 1));
    } finally {
      await handle.close();
    }
  }

  /** Adds the keys of complete index lines and advances the read offset past them. */
  private absorb(lines: Buffer): void {
    for (const line of lines.toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      try {
        const entry = JSON.parse(line) as SampleIndexEntry;
        this.seen.add(key(entry.deviceId, entry.id, entry.sha256));
      } catch {
        // not an index entry: skipped
      }
    }
    this.offset += lines.byteLength;
  }

  /** Appends a line; resolves once it is fsynced (group commit with lines queued meanwhile). */
  private append(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingLines.push({ line, resolve, reject });
      this.writer ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pendingLines.length > 0) {
        const batch = this.pendingLines.splice(0);
        try {
          const handle = await open(this.indexPath, 'a');
          try {
            // One write: lines of a batch never interleave with another writer's.
            await handle.write(batch.map((p) => p.line).join(''));
            await handle.sync();
          } finally {
            await handle.close();
          }
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.writer = null;
    }
  }
}

function key(deviceId: string, id: string, sha256: string): string {
  return `${deviceId}\u0000${id}\u0000${sha256}`;
}
