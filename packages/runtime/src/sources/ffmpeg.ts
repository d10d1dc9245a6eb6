// V4L2 cameras, RTSP streams and video files through an ffmpeg child process that writes MJPEG
// to stdout; the JPEG splitter cuts the stream at SOI/EOI. ffmpeg does the protocol and codec work
// (H.264 over RTSP, YUYV or MJPEG from UVC cameras) in its own process, so a stalled camera or a
// decoder crash never blocks or kills the inference loop. A V4L2 camera that already delivers
// MJPEG is passed through without re-encoding (`-c:v copy`): libjpeg-turbo (sharp's decoder)
// supplies the standard Huffman tables that many UVC cameras omit from their frames.

import { spawn } from 'node:child_process';

import { SourceConfigError, SourceError, describeError } from '../errors.js';
import type { Frame, FrameSource } from './frame.js';
import { JpegSplitter } from './jpeg-splitter.js';

export type FfmpegInputKind = 'v4l2' | 'rtsp' | 'file';

export interface FfmpegSourceOptions {
  /** `/dev/video0` for v4l2, `rtsp://...` for rtsp, a path for file. */
  input: string;
  kind: FfmpegInputKind;
  /** Capture size for v4l2 (e.g. from the device profile's camera defaults); output scale for others. */
  width?: number;
  height?: number;
  /** Capture rate for v4l2; output rate cap (-r) for others. */
  fps?: number;
  /** V4L2 capture pixel format (default 'mjpeg'); 'mjpeg' is passed through without re-encoding. */
  pixelFormat?: string;
  /** Re-encode quality, ffmpeg -q:v 2 (best) .. 31 (default 5). */
  quality?: number;
  /** file: read at the file's native rate (-re) as a camera would deliver it (default false: as fast as possible). */
  realtime?: boolean;
  /** file: loop forever (-stream_loop -1). */
  loop?: boolean;
  /** rtsp: 'tcp' (default; survives lossy Wi-Fi) or 'udp'. */
  rtspTransport?: 'tcp' | 'udp';
  /** rtsp: socket I/O timeout in ms (default 10 s) so a dead camera fails instead of hanging. */
  timeoutMs?: number;
  /** Extra ffmpeg input options placed before `-i` (e.g. ['-rtsp_flags', 'listen'] to receive a pushed stream). */
  inputOptions?: readonly string[];
  /** The ffmpeg binary (default $EDGELOOP_FFMPEG or 'ffmpeg' on PATH). */
  ffmpegPath?: string;
}

/** The ffmpeg command line for these options (exported for tests and for logging). */
export function ffmpegArgs(options: FfmpegSourceOptions): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  let passthrough = false;
  if (options.kind === 'v4l2') {
    const pixelFormat = options.pixelFormat ?? 'mjpeg';
    args.push('-f', 'v4l2', '-input_format', pixelFormat);
    if (options.width !== undefined && options.height !== undefined) args.push('-video_size', `${options.width}x${options.height}`);
    if (options.fps !== undefined) args.push('-framerate', String(options.fps));
    passthrough = pixelFormat === 'mjpeg';
  } else if (options.kind === 'rtsp') {
    args.push('-rtsp_transport', options.rtspTransport ?? 'tcp', '-timeout', String(Math.round((options.timeoutMs ?? 10_000) * 1000)));
    args.push('-fflags', 'nobuffer', '-flags', 'low_delay');
  } else {
    if (options.realtime === true) args.push('-re');
    if (options.loop === true) args.push('-stream_loop', '-1');
  }
  if (options.inputOptions) args.push(...options.inputOptions);
  args.push('-i', options.input, '-an', '-sn', '-dn');
  if (passthrough) {
    args.push('-c:v', 'copy');
  } else {
    if (options.kind !== 'v4l2' && options.width !== undefined && options.height !== undefined) args.push('-vf', `scale=${options.width}:${options.height}`);
    if (options.kind !== 'v4l2' && options.fps !== undefined) args.push('-r', String(options.fps));
    // Full-range YUV keeps sharp's decode identical to a JPEG from a still camera.
    args.push('-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(options.quality ?? 5));
  }
  args.push('-f', 'mjpeg', 'pipe:1');
  return args;
}

export class FfmpegSource implements FrameSource {
  readonly description: string;
  readonly live: boolean;
  readonly #options: FfmpegSourceOptions;
  readonly #abort = new AbortController();
  /** The running child's pid, for diagnostics. */
  pid: number | undefined;

  constructor(options: FfmpegSourceOptions) {
    if (options.input === '') throw new SourceConfigError('ffmpeg source needs an input');
    if (options.kind === 'rtsp' && !/^rtsps?:\/\//i.test(options.input)) throw new SourceConfigError(`${options.input} is not an rtsp:// URL`);
    this.#options = options;
    this.live = options.kind !== 'file' || options.loop === true;
    this.description = `ffmpeg ${options.kind} ${redact(options.input)}`;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const signal = this.#abort.signal;
    if (signal.aborted) return;
    const bin = this.#options.ffmpegPath ?? process.env.EDGELOOP_FFMPEG ?? 'ffmpeg';
    const child = spawn(bin, ffmpegArgs(this.#options), { stdio: ['ignore', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' });
    this.pid = child.pid;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr = (stderr + text).slice(-2000);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    });
    const splitter = new JpegSplitter();
    let seq = 0;
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        for (const jpeg of splitter.push(chunk)) {
          const frame: Frame = { data: jpeg.data, format: 'jpeg', seq: seq++, timestamp: Date.now() };
          if (jpeg.width !== undefined) frame.width = jpeg.width;
          if (jpeg.height !== undefined) frame.height = jpeg.height;
          yield frame;
        }
      }
    } catch (error) {
      if (!signal.aborted) throw new SourceError(this.description, `reading ffmpeg output failed: ${describeError(error)}`, { cause: error });
    } finally {
      // The consumer stopped early (break, close, error): do not leave ffmpeg running.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const exit = await exited;
    if (signal.aborted) return;
    if (exit.error) {
      const missing = (exit.error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new SourceError(this.description, missing ? `${bin} not found (install ffmpeg or set EDGELOOP_FFMPEG)` : describeError(exit.error), {
        cause: exit.error,
        retryable: !missing,
      });
    }
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    if (exit.code !== 0) {
      throw new SourceError(this.description, `ffmpeg exited with ${exit.code ?? exit.signal} after ${seq} frames${tail ? `: ${tail}` : ''}`);
    }
    // A camera or stream that "ends" has failed; a file that ends is done.
    if (this.live) throw new SourceError(this.description, `stream ended after ${seq} frames${tail ? `: ${tail}` : ''}`);
  }

  async close(): Promise<void> {
    this.#abort.abort();
  }
}

function redact(input: string): string {
  return input.replace(/\/\/[^/@]*@/, '//***@');
}
