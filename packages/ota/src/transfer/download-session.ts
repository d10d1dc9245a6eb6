// One download run (docs/ota-protocol.md §transfer): the request window, timeouts, the hold after
// a reconnect, per-chunk hash checks, writes into the partial file, bitmap bits and fsyncs.
import { createHash, webcrypto } from 'node:crypto';
import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

import { backoffDelay } from '@edgeloop/runtime';
import { decodeChunkFrame } from '../chunk-frame.js';
import { ChunkCorruptError, DiskFullError, DownloadAbortedError, FileHashMismatchError, IoError, isOtaError } from '../errors.js';
import { MAX_CHUNKS_PER_REQUEST } from '../schemas.js';
import { ChunkBitmap } from './bitmap.js';
import { chunkRange } from './descriptor.js';
import type { DownloadOptions, DownloadStats } from './downloader.js';

/** Maps filesystem errors to DISK_FULL / IO_ERROR; other errors pass through. */
export function classifyIoError(error: unknown): unknown {
  if (isOtaError(error)) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new DiskFullError(`no space left for the download: ${(error as Error).message}`, { cause: error });
  if (typeof code === 'string') return new IoError(`download I/O failed: ${(error as Error).message}`, { cause: error });
  return error;
}

/**
 * Chunks requested and not yet received (4 MiB at 256 KiB chunks): enough to keep loopback and LAN
 * links busy through scheduling hiccups (bench/ota-fleet-delivery.ts measured 8 against 16).
 */
export const DEFAULT_WINDOW = 16;

export class DownloadSession {
  private readonly window: number;
  private readonly timeoutMs: number;
  private readonly maxCorrupt: number;
  private readonly flushEvery: number;
  private readonly flushIntervalMs: number;
  /** Chunks whose bytes are written (not necessarily fsynced). */
  private readonly written: ChunkBitmap;
  private readonly inflight = new Map<number, number>(); // index -> deadline
  /** Chunks being hashed or written (a copy arriving meanwhile is a duplicate). */
  private readonly writing = new Set<number>();
  /** Hash-and-write work in progress; a stopping download waits for it before its last flush. */
  private readonly pending = new Set<Promise<void>>();
  private readonly corrupt = new Map<number, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private queue: number[];
  private unflushed = 0;
  private firstUnflushedAt = 0;
  /** After a reconnect: no requests before this time unless serverReady() comes first (0 = not holding). */
  private holdUntil = 0;
  private flushing: Promise<void> = Promise.resolve();
  private failure: unknown = undefined;
  private finish!: (error?: unknown) => void;
  private readonly stats: DownloadStats;

  constructor(
    private readonly options: DownloadOptions,
    private readonly handle: FileHandle,
    bitmap: ChunkBitmap,
    private readonly bitmapHandle: FileHandle,
  ) {
    this.window = Math.max(1, options.window ?? DEFAULT_WINDOW);
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.maxCorrupt = options.maxCorruptPerChunk ?? 5;
    this.flushEvery = Math.max(1, options.flushEveryChunks ?? 8);
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.written = bitmap.clone();
    this.queue = bitmap.missing();
    this.stats = {
      totalChunks: bitmap.total, resumedChunks: bitmap.count, resumedBytes: 0, bytesReceived: 0, refetchedBytes: 0,
      corruptChunks: 0, timeouts: 0, requestsSent: 0, seconds: 0,
    };
    for (let i = 0; i < bitmap.total; i++) {
      if (bitmap.has(i)) this.stats.resumedBytes += chunkRange(i, options.bundle.size, options.transfer.chunkBytes).length;
    }
  }

  async run(): Promise<DownloadStats> {
    const started = performance.now();
    const { transport, bundle, signal } = this.options;
    if (signal?.aborted === true) throw new DownloadAbortedError('download aborted before it started');
    const done = new Promise<void>((resolve, reject) => {
      this.finish = (error?: unknown) => (error === undefined ? resolve() : reject(error));
    });
    // A failure can land before `done` is awaited (while subscribing): keep it from going unhandled.
    done.catch(() => undefined);
    const onAbort = (): void => this.fail(new DownloadAbortedError('download aborted'));
    this.options.onControl?.({ serverReady: () => this.serverReady() });
    signal?.addEventListener('abort', onAbort, { once: true });
    const offConnection = transport.onConnectionChange((connected) => this.onConnectionChange(connected));
    const timer = setInterval(() => this.tick(), Math.max(50, Math.min(250, this.timeoutMs / 4)));
    let unsubscribe: (() => Promise<void>) | undefined;
    try {
      if (!this.written.complete) {
        unsubscribe = await transport.subscribeChunks(bundle.sha256, (payload) => this.onFrame(payload));
        this.pump();
        await done;
      }
      await this.flush();
      if (this.failure !== undefined) throw this.failure;
      await this.checkWholeFile();
    } finally {
      clearInterval(timer);
      for (const retry of this.retryTimers) clearTimeout(retry);
      offConnection();
      signal?.removeEventListener('abort', onAbort);
      // Persist what is verified even when failing, so the next attempt resumes from here: chunks
      // already being hashed or written finish first (bounded by the window).
      await Promise.allSettled([...this.pending]);
      await this.flush().catch(() => undefined);
      await unsubscribe?.().catch(() => undefined);
    }
    this.stats.seconds = (performance.now() - started) / 1000;
    return this.stats;
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.finish(error);
  }

  private onConnectionChange(connected: boolean): void {
    if (connected) {
      // Wait for serverReady (or the timeout, in tick) before requesting again.
      this.holdUntil = Date.now() + this.timeoutMs;
      return;
    }
    // Requests on a dead connection will never be answered: put them back, persist progress.
    this.queue = [...this.inflight.keys(), ...this.queue];
    this.inflight.clear();
    this.flush().catch((error: unknown) => this.fail(classifyIoError(error)));
  }

  private pump(): void {
    if (this.failure !== undefined || !this.options.transport.isConnected()) return;
    if (this.holdUntil !== 0) {
      if (Date.now() < this.holdUntil) return;
      this.holdUntil = 0;
    }
    const batch: number[] = [];
    const deadline = Date.now() + this.timeoutMs;
    // Chunks being hashed or written still count: the window bounds what a stop or crash can lose.
    while (this.inflight.size + this.writing.size < this.window && this.queue.length > 0) {
      const index = this.queue.shift() as number;
      if (this.written.has(index) || this.writing.has(index) || this.inflight.has(index)) continue;
      this.inflight.set(index, deadline);
      batch.push(index);
    }
    for (let i = 0; i < batch.length; i += MAX_CHUNKS_PER_REQUEST) {
      const part = batch.slice(i, i + MAX_CHUNKS_PER_REQUEST);
      this.stats.requestsSent++;
      // A lost request is recovered by the timeout in tick(); nothing to do on failure here.
      this.options.transport.requestChunks(this.options.bundle.sha256, part).catch(() => undefined);
    }
  }

  private serverReady(): void {
    if (this.holdUntil === 0) return;
    this.holdUntil = 0;
    this.pump();
  }

  private tick(): void {
    if (this.failure !== undefined) return;
    const now = Date.now();
    if (this.holdUntil !== 0 && now >= this.holdUntil) this.pump();
    if (this.options.transport.isConnected()) {
      const expired: number[] = [];
      for (const [index, deadline] of this.inflight) if (deadline <= now) expired.push(index);
      for (const index of expired) {
        this.inflight.delete(index);
        this.stats.timeouts++;
      }
      if (expired.length > 0) {
        this.queue = [...expired, ...this.queue];
        this.pump();
      }
    }
    if (this.unflushed > 0 && now - this.firstUnflushedAt >= this.flushIntervalMs) {
      this.flush().catch((error: unknown) => this.fail(classifyIoError(error)));
    }
  }

  private onFrame(payload: Buffer): void {
    if (this.failure !== undefined) return;
    const frame = decodeChunkFrame(payload);
    const { bundle, transfer } = this.options;
    if (frame === null || frame.bundleSha256 !== bundle.sha256 || frame.totalChunks !== transfer.chunkSha256.length) return;
    const { index, data } = frame;
    this.stats.bytesReceived += data.byteLength;
    if (this.written.has(index) || this.writing.has(index)) {
      this.stats.refetchedBytes += data.byteLength;
      return;
    }
    const { offset, length } = chunkRange(index, bundle.size, transfer.chunkBytes);
    this.inflight.delete(index);
    if (data.byteLength !== length) {
      this.onBadCopy(index);
      this.pump();
      return;
    }
    // Hashed on the libuv thread pool (WebCrypto's digest is asynchronous), not on the event loop
    // that also parses the MQTT stream. While hashing, the chunk counts as being written, so another
    // copy arriving meanwhile is a duplicate.
    this.writing.add(index);
    const work = webcrypto.subtle.digest('SHA-256', data).then(
      async (digest) => {
        if (this.failure !== undefined) {
          this.writing.delete(index);
          return;
        }
        if (Buffer.from(digest).toString('hex') !== transfer.chunkSha256[index]) {
          this.writing.delete(index);
          this.onBadCopy(index);
          return;
        }
        await this.writeVerified(index, data, offset);
      },
      (error: unknown) => {
        this.writing.delete(index);
        this.fail(error);
      },
    );
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
    this.pump();
  }

  /** A copy that failed its length or hash check: re-request it after a short backoff, or give up. */
  private onBadCopy(index: number): void {
    this.stats.corruptChunks++;
    const attempts = (this.corrupt.get(index) ?? 0) + 1;
    this.corrupt.set(index, attempts);
    this.options.onCorruptChunk?.(index, attempts);
    if (attempts >= this.maxCorrupt) {
      this.fail(new ChunkCorruptError(index, attempts));
      return;
    }
    // A source that just sent a bad copy may be briefly broken: re-request after a short backoff.
    this.inflight.set(index, Number.POSITIVE_INFINITY);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.inflight.get(index) !== Number.POSITIVE_INFINITY) return;
      this.inflight.delete(index);
      this.queue.unshift(index);
      this.pump();
    }, backoffDelay(attempts - 1, { baseMs: 100, maxMs: 5000 }));
    this.retryTimers.add(timer);
  }

  private writeVerified(index: number, data: Uint8Array, offset: number): Promise<void> {
    return this.writeChunk(index, data, offset).then(
      () => {
        this.writing.delete(index);
        this.written.set(index);
        this.persistBit(index);
        if (this.unflushed === 0) this.firstUnflushedAt = Date.now();
        this.unflushed++;
        this.options.onProgress?.(this.written.count, this.written.total);
        if (this.written.complete) {
          this.finish();
          return;
        }
        if (this.unflushed >= this.flushEvery) this.flush().catch((error: unknown) => this.fail(classifyIoError(error)));
        this.pump();
      },
      (error: unknown) => {
        this.writing.delete(index);
        this.fail(classifyIoError(error));
      },
    );
  }

  private async writeChunk(index: number, data: Uint8Array, offset: number): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, done, data.byteLength - done, offset + done);
      done += bytesWritten;
    }
  }

  /**
   * Writes the byte holding a new bit into the bitmap file at once (a synchronous 1-byte write
   * into the page cache, no fsync): after a process kill both the chunk and its bit are there, so
   * only chunks whose data write had not finished are fetched again.
   */
  private persistBit(index: number): void {
    try {
      writeSync(this.bitmapHandle.fd, this.written.bits, index >> 3, 1, ChunkBitmap.fileOffset(index));
    } catch (error) {
      this.fail(classifyIoError(error));
    }
  }

  /** Durability against power loss: fsync the partial file, then the bitmap. */
  private flush(): Promise<void> {
    const next = this.flushing.then(async () => {
      if (this.unflushed === 0) return;
      const count = this.unflushed;
      await this.handle.sync();
      await this.bitmapHandle.sync();
      this.unflushed = Math.max(0, this.unflushed - count);
    });
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async checkWholeFile(): Promise<void> {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (let offset = 0; offset < this.options.bundle.size;) {
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      offset += bytesRead;
    }
    const actual = hash.digest('hex');
    if (actual !== this.options.bundle.sha256) throw new FileHashMismatchError(this.options.bundle.sha256, actual);
  }
}
