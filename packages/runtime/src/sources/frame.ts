// The common shape of every frame source: an async iterator of frames (encoded JPEG/PNG bytes or
// raw pixels) with a sequence number and a capture timestamp, plus close(). Sources do no
// decoding: the Preprocessor decodes once, straight to the model size.

import type { ImageInput } from '../preprocess.js';

export type FrameFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'raw' | 'unknown';

export interface Frame {
  /** Encoded image bytes, or raw 8-bit interleaved pixels when format is 'raw'. */
  data: Uint8Array;
  format: FrameFormat;
  /** Known for raw frames, and for JPEGs split from a stream (read from the SOF header). */
  width?: number;
  height?: number;
  /** Raw frames only. */
  channels?: 1 | 3 | 4;
  /** 0, 1, 2, ... per source (continues across restarts of a restarted source). */
  seq: number;
  /** Capture (or arrival) time, ms since the epoch. */
  timestamp: number;
  /** Where it came from (a file path for folder and image sources). */
  origin?: string;
}

export interface FrameSource extends AsyncIterable<Frame> {
  /** For logs and errors, e.g. 'folder /data/frames' or 'ffmpeg rtsp://cam/stream'. */
  readonly description: string;
  /** A camera or stream (never ends on its own; an end is a failure worth a restart) vs a finite replay. */
  readonly live: boolean;
  /** Stops the source; a pending `next()` returns done. Idempotent. */
  close(): Promise<void>;
}

/** What an encoded frame is, from its first bytes. */
export function sniffFormat(data: Uint8Array): FrameFormat {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  if (data.length >= 8 && data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) return 'png';
  if (data.length >= 12 && ascii(data, 0, 4) === 'RIFF' && ascii(data, 8, 12) === 'WEBP') return 'webp';
  if (data.length >= 4 && ascii(data, 0, 4) === 'GIF8') return 'gif';
  if (data.length >= 4 && ((data[0] === 0x49 && data[1] === 0x49 && data[2] === 0x2a) || (data[0] === 0x4d && data[1] === 0x4d && data[3] === 0x2a))) return 'tiff';
  if (data.length >= 12 && ascii(data, 4, 8) === 'ftyp' && ascii(data, 8, 12).startsWith('avi')) return 'avif';
  return 'unknown';
}

function ascii(data: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...data.subarray(from, to));
}

/** The Preprocessor's view of a frame. */
export function frameToImage(frame: Frame): ImageInput {
  if (frame.format === 'raw') {
    return { data: frame.data, width: frame.width ?? 0, height: frame.height ?? 0, channels: frame.channels ?? 3 };
  }
  return frame.data;
}

/** Waits until `deadline` (performance.now() ms) or `signal` aborts; resolves false when aborted. */
export function waitUntil(deadline: number, signal: AbortSignal): Promise<boolean> {
  const delay = deadline - performance.now();
  if (signal.aborted) return Promise.resolve(false);
  if (delay <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, delay);
    function onAbort(): void {
      clearTimeout(timer);
      resolve(false);
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** fps -> ms between frames; undefined or 0 means "as fast as the consumer takes them". */
export function frameInterval(fps: number | undefined): number {
  return fps === undefined || fps <= 0 ? 0 : 1000 / fps;
}
