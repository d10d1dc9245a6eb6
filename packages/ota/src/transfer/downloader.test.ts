// The downloader against an in-process chunk server (a ChunkTransport that answers from a real
// file's bytes): window, corrupt copies, connection loss and resume, without a broker.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { encodeChunkFrame } from '../chunk-frame.js';
import type { DesiredBundle, TransferDescriptor } from '../schemas.js';
import { chunkRange, describeFile } from './descriptor.js';
import { downloadBundle } from './downloader.js';
import type { ChunkTransport, DownloadControl } from './downloader.js';

class LoopbackChunkServer implements ChunkTransport {
  connected = true;
  requests: number[][] = [];
  maxInflightSeen = 0;
  /** index → how many more copies to corrupt */
  corrupt = new Map<number, number>();
  private listeners = new Set<(connected: boolean) => void>();
  private onFrame: ((payload: Buffer) => void) | undefined;
  private outstanding = new Set<number>();
  /** Called with each request before it is answered; return false to drop it. */
  intercept: (indices: number[]) => boolean = () => true;

  constructor(private readonly bytes: Buffer, private readonly bundle: DesiredBundle, private readonly transfer: TransferDescriptor) {}

  async subscribeChunks(_sha: string, onFrame: (payload: Buffer) => void): Promise<() => Promise<void>> {
    this.onFrame = onFrame;
    return async () => {
      this.onFrame = undefined;
    };
  }

  async requestChunks(_sha: string, indices: number[]): Promise<void> {
    if (!this.connected) throw new Error('offline');
    this.requests.push(indices);
    for (const i of indices) this.outstanding.add(i);
    this.maxInflightSeen = Math.max(this.maxInflightSeen, this.outstanding.size);
    if (!this.intercept(indices)) return;
    setImmediate(() => {
      for (const index of indices) {
        this.outstanding.delete(index);
        if (!this.connected) continue;
        const { offset, length } = chunkRange(index, this.bundle.size, this.transfer.chunkBytes);
        const data = Buffer.from(this.bytes.subarray(offset, offset + length));
        const bad = this.corrupt.get(index) ?? 0;
        if (bad > 0) {
          this.corrupt.set(index, bad - 1);
          data[0] ^= 0xff;
        }
        this.onFrame?.(encodeChunkFrame({ index, totalChunks: this.transfer.chunkSha256.length, bundleSha256: this.bundle.sha256, data }));
      }
    });
  }

  isConnected(): boolean {
    return this.connected;
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    if (!connected) this.outstanding.clear();
    for (const l of this.listeners) l(connected);
  }
}

async function fixture(size: number, chunkBytes: number): Promise<{ dir: string; bytes: Buffer; bundle: DesiredBundle; transfer: TransferDescriptor }> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-dl-'));
  const bytes = randomBytes(size);
  await writeFile(join(dir, 'source.bin'), bytes);
  const described = await describeFile(join(dir, 'source.bin'), chunkBytes);
  return { dir, bytes, bundle: { sha256: described.sha256, size, version: 1, targetProfile: 'x' }, transfer: described.transfer };
}

describe('downloadBundle (in-process transport)', () => {
  it('keeps at most `window` chunks in flight and writes a file with the right hash', async () => {
    const f = await fixture(100 * 1024 + 17, 4096);
    try {
      const server = new LoopbackChunkServer(f.bytes, f.bundle, f.transfer);
      const result = await downloadBundle({ dir: join(f.dir, 'dl'), bundle: f.bundle, transfer: f.transfer, transport: server, window: 4 });
      assert.deepEqual(await readFile(result.path), f.bytes);
      assert.ok(server.maxInflightSeen <= 4, `in flight ${server.maxInflightSeen}`);
      assert.equal(result.stats.refetchedBytes, 0);
      assert.equal(result.stats.bytesReceived, f.bundle.size);
    } finally {
      await rm(f.dir, { recursive: true, force: true });
    }
  });

  it('re-requests corrupt copies and gives up after maxCorruptPerChunk', async () => {
    const f = await fixture(64 * 1024, 4096);
    try {
      const server = new LoopbackChunkServer(f.bytes, f.bundle, f.transfer);
      server.corrupt.set(5, 2);
      const corrupt: number[] = [];
      const ok = await downloadBundle({
        dir: join(f.dir, 'dl'), bundle: f.bundle, transfer: f.transfer, transport: server, maxCorruptPerChunk: 3, onCorruptChunk: (i) => corrupt.push(i),
      });
      assert.equal(ok.stats.corruptChunks, 2);
      assert.deepEqual(corrupt, [5, 5]);
      assert.deepEqual(await readFile(ok.path), f.bytes);

      const g = await fixture(64 * 1024, 4096);
      const bad = new LoopbackChunkServer(g.bytes, g.bundle, g.transfer);
      bad.corrupt.set(2, 100);
      await assert.rejects(downloadBundle({ dir: join(g.dir, 'dl'), bundle: g.bundle, transfer: g.transfer, transport: bad, maxCorruptPerChunk: 3 }), { code: 'CHUNK_CORRUPT' });
      await rm(g.dir, { recursive: true, force: true });
    } finally {
      await rm(f.dir, { recursive: true, force: true });
    }
  });

  it('survives a connection loss and resumes from the bitmap after an abort', async () => {
    const f = await fixture(256 * 1024, 4096);
    try {
      const server = new LoopbackChunkServer(f.bytes, f.bundle, f.transfer);
      const controller = new AbortController();
      let answered = 0;
      server.intercept = () => {
        answered++;
        if (answered === 20) setImmediate(() => controller.abort());
        return answered < 20;
      };
      await assert.rejects(
        downloadBundle({ dir: join(f.dir, 'dl'), bundle: f.bundle, transfer: f.transfer, transport: server, window: 1, signal: controller.signal }),
        { code: 'DOWNLOAD_ABORTED' },
      );
      // Second attempt: goes offline once in the middle, then completes.
      const again = new LoopbackChunkServer(f.bytes, f.bundle, f.transfer);
      let n = 0;
      let control: DownloadControl | undefined;
      again.intercept = () => {
        if (++n === 10) {
          setImmediate(() => {
            again.setConnected(false);
            setTimeout(() => {
              again.setConnected(true);
              // The downloader holds its requests after a reconnect until the server is known to be back.
              setTimeout(() => control?.serverReady(), 20);
            }, 20);
          });
        }
        return true;
      };
      const started = performance.now();
      const result = await downloadBundle({
        dir: join(f.dir, 'dl'), bundle: f.bundle, transfer: f.transfer, transport: again, window: 2, requestTimeoutMs: 10_000, onControl: (c) => (control = c),
      });
      assert.ok(performance.now() - started < 5000, 'serverReady ended the hold, not the 10 s timeout');
      assert.equal(result.stats.resumedChunks, 19);
      assert.equal(result.stats.refetchedBytes, 0);
      assert.deepEqual(await readFile(result.path), f.bytes);
    } finally {
      await rm(f.dir, { recursive: true, force: true });
    }
  });
});
