// Device side of the chunked transfer (docs/ota-protocol.md §transfer): a window of chunk
// requests in flight, every chunk checked against the descriptor before it is written into a
// preallocated partial file, a persisted bitmap for resume, whole-file sha256 at the end.
import { createHash } from 'node:crypto';
import { mkdir, open, rm, statfs } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { DiskFullError } from '../errors.js';
import type { DesiredBundle, TransferDescriptor } from '../schemas.js';
import { ChunkBitmap } from './bitmap.js';
import { assertDescriptorFits, chunkRange, descriptorId } from './descriptor.js';
import { DownloadSession, classifyIoError } from './download-session.js';

/** How the downloader reaches the server; the agent implements it over its MQTT client. */
export interface ChunkTransport {
  /** Subscribes to the bundle's chunk topic; resolves once the subscription is granted. */
  subscribeChunks(bundleSha256: string, onFrame: (payload: Buffer) => void): Promise<() => Promise<void>>;
  /** Sends one §chunk-request (≤ 64 indices). */
  requestChunks(bundleSha256: string, indices: number[]): Promise<void>;
  isConnected(): boolean;
  /** Calls `listener` on every connection loss and re-establishment; returns an unsubscribe. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}

export interface DownloadOptions {
  /** Directory holding `<sha>.part` and `<sha>.bitmap`. */
  dir: string;
  bundle: DesiredBundle;
  transfer: TransferDescriptor;
  transport: ChunkTransport;
  /** Chunks requested and not yet received, at most (default DEFAULT_WINDOW = 16). */
  window?: number;
  /** Re-request a chunk not delivered within this time (default 5 s). */
  requestTimeoutMs?: number;
  /** Bad copies of one chunk before giving up (default 5). */
  maxCorruptPerChunk?: number;
  /** fsync the partial file and the bitmap after this many newly verified chunks (default 8) … */
  flushEveryChunks?: number;
  /** … or this long after the first unpersisted one (default 1000 ms). */
  flushIntervalMs?: number;
  signal?: AbortSignal;
  onProgress?: (verifiedChunks: number, totalChunks: number) => void;
  /** Called for every copy of a chunk that fails its hash, before it is re-requested. */
  onCorruptChunk?: (index: number, attempts: number) => void;
  /** Receives the control the agent uses to say that the server answers again (see DownloadControl). */
  onControl?: (control: DownloadControl) => void;
}

export interface DownloadControl {
  /**
   * The server is reachable again (the agent saw its desired state after a reconnect). After a
   * reconnect the downloader holds its requests until this, or until the request timeout, so that
   * requests are not lost while the server itself is still reconnecting.
   */
  serverReady(): void;
}

export interface DownloadStats {
  totalChunks: number;
  /** Chunks already verified on disk when this download started (resume). */
  resumedChunks: number;
  /** Bytes of those chunks: this download needed `size - resumedBytes` bytes. */
  resumedBytes: number;
  /** Chunk payload bytes received (all copies, good or bad). */
  bytesReceived: number;
  /** Bytes received for chunks that were already verified: the cost of resume and of duplicate answers. */
  refetchedBytes: number;
  corruptChunks: number;
  timeouts: number;
  requestsSent: number;
  seconds: number;
}

export interface DownloadResult {
  path: string;
  stats: DownloadStats;
}

export function partialPaths(dir: string, sha256: string): { part: string; bitmap: string } {
  return { part: join(dir, `${sha256}.part`), bitmap: join(dir, `${sha256}.bitmap`) };
}

/** Deletes a download's partial file and bitmap. */
export async function discardDownload(dir: string, sha256: string): Promise<void> {
  const paths = partialPaths(dir, sha256);
  await rm(paths.part, { force: true });
  await rm(paths.bitmap, { force: true });
}

/** Downloads (or resumes) a bundle; resolves with the path of the complete, hash-checked file. */
export async function downloadBundle(options: DownloadOptions): Promise<DownloadResult> {
  const { bundle, transfer } = options;
  assertDescriptorFits(bundle.size, transfer);
  await mkdir(options.dir, { recursive: true });
  const paths = partialPaths(options.dir, bundle.sha256);
  const id = descriptorId(bundle.size, transfer);
  const total = transfer.chunkSha256.length;

  let bitmap = await ChunkBitmap.load(paths.bitmap, total, id);
  let handle: FileHandle | undefined;
  let bitmapHandle: FileHandle | undefined;
  try {
    if (bitmap !== null) {
      handle = await open(paths.part, 'r+').catch(() => undefined);
      if (handle !== undefined && (await handle.stat()).size !== bundle.size) {
        await handle.close();
        handle = undefined;
      }
      if (handle === undefined) bitmap = null;
      else await recheckVerifiedChunks(handle, bitmap, bundle.size, transfer);
    }
    if (bitmap === null || handle === undefined) {
      await ensureFreeSpace(options.dir, bundle.size);
      handle = await open(paths.part, 'w+', 0o644);
      await handle.truncate(bundle.size);
      bitmap = new ChunkBitmap(total);
      await bitmap.save(paths.bitmap, id);
    }
    bitmapHandle = await open(paths.bitmap, 'r+');
    const session = new DownloadSession(options, handle, bitmap, bitmapHandle);
    const stats = await session.run();
    await handle.close();
    handle = undefined;
    await bitmapHandle.close();
    bitmapHandle = undefined;
    return { path: paths.part, stats };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await bitmapHandle?.close().catch(() => undefined);
    throw classifyIoError(error);
  }
}

async function ensureFreeSpace(dir: string, bytes: number): Promise<void> {
  const fs = await statfs(dir).catch(() => undefined);
  if (fs === undefined) return;
  const free = fs.bavail * fs.bsize;
  if (free < bytes) throw new DiskFullError(`download needs ${bytes} bytes, ${free} free in ${dir}`);
}

/** A bitmap read back after a crash is trusted only for chunks that still hash right. */
async function recheckVerifiedChunks(handle: FileHandle, bitmap: ChunkBitmap, size: number, transfer: TransferDescriptor): Promise<void> {
  const buffer = Buffer.allocUnsafe(transfer.chunkBytes);
  for (let i = 0; i < bitmap.total; i++) {
    if (!bitmap.has(i)) continue;
    const { offset, length } = chunkRange(i, size, transfer.chunkBytes);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    const view = buffer.subarray(0, bytesRead);
    if (bytesRead !== length || createHash('sha256').update(view).digest('hex') !== transfer.chunkSha256[i]) bitmap.clear(i);
  }
}
