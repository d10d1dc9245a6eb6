// Field samples on the server (docs/ota-protocol.md §sample-upload): blobs by sha256 and an
// append-only index; both fsynced before the caller acknowledges.
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '@edgeloop/bundle';
import type { SampleHeader } from '../schemas.js';

export interface SampleIndexEntry extends SampleHeader {
  deviceId: string;
  bytes: number;
  receivedAt: string;
}

export class SampleStore {
  private readonly seen = new Set<string>();
  private appending: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  async open(): Promise<void> {
    await mkdir(join(this.dir, 'blobs'), { recursive: true });
    const text = await readFile(this.indexPath, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      try {
        const entry = JSON.parse(line) as SampleIndexEntry;
        this.seen.add(key(entry.deviceId, entry.id, entry.sha256));
      } catch {
        // A torn last line after a crash: that sample was never acknowledged, the device resends it.
      }
    }
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
    const run = async (): Promise<'stored' | 'duplicate'> => {
      if (this.has(deviceId, header.id, header.sha256)) return 'duplicate';
      const blob = this.blobPath(header.sha256);
      const exists = await stat(blob).then((s) => s.size === data.byteLength, () => false);
      if (!exists) await writeFileAtomic(blob, data);
      const entry: SampleIndexEntry = { ...header, deviceId, bytes: data.byteLength, receivedAt: new Date().toISOString() };
      const handle = await open(this.indexPath, 'a');
      try {
        await handle.write(JSON.stringify(entry) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.seen.add(key(deviceId, header.id, header.sha256));
      return 'stored';
    };
    // Index appends are serialized so lines never interleave and duplicates are decided in order.
    const next = this.appending.then(run, run);
    this.appending = next.catch(() => undefined);
    return next;
  }
}

function key(deviceId: string, id: string, sha256: string): string {
  return `${deviceId}\u0000${id}\u0000${sha256}`;
}
