// MJPEG over HTTP (IP cameras, mjpg-streamer, ESP32-CAM): one long GET whose body is
// multipart/x-mixed-replace with a JPEG per part. A body without multipart framing
// (image/jpeg or application/octet-stream streams of concatenated JPEGs) goes through the JPEG
// splitter instead. The stream ending or failing is a retryable SourceError: a camera does not
// end, so wrap the source in withRestart to reconnect with backoff.

import http from 'node:http';
import https from 'node:https';

import { SourceConfigError, SourceError, describeError } from '../errors.js';
import { sniffFormat, type Frame, type FrameFormat, type FrameSource } from './frame.js';
import { JpegSplitter } from './jpeg-splitter.js';
import { MultipartParser, boundaryOf } from './multipart.js';

export interface MjpegHttpSourceOptions {
  url: string;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Fail when connecting or when no bytes arrive for this long (default 10 s). */
  timeoutMs?: number;
}

const FORMATS: Record<string, FrameFormat> = { 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp' };

export class MjpegHttpSource implements FrameSource {
  readonly description: string;
  readonly live = true;
  readonly #options: MjpegHttpSourceOptions;
  readonly #url: URL;
  readonly #abort = new AbortController();

  constructor(options: MjpegHttpSourceOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new SourceConfigError(`${options.url} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SourceConfigError(`${options.url}: only http and https are MJPEG sources`);
    this.#options = options;
    this.#url = url;
    // Never log credentials embedded in the URL.
    const shown = new URL(url);
    shown.username = '';
    shown.password = '';
    this.description = `mjpeg ${shown.toString()}`;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    const signal = this.#abort.signal;
    if (signal.aborted) return;
    let response: http.IncomingMessage;
    try {
      response = await this.#connect(signal);
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    let seq = 0;
    try {
      const contentType = response.headers['content-type'] ?? '';
      const boundary = boundaryOf(contentType);
      const multipart = boundary !== undefined ? new MultipartParser(boundary) : undefined;
      const splitter = multipart ? undefined : new JpegSplitter();
      for await (const chunk of response as AsyncIterable<Buffer>) {
        if (multipart) {
          for (const part of multipart.push(chunk)) {
            const declared = FORMATS[(part.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()];
            yield { data: part.body, format: declared ?? sniffFormat(part.body), seq: seq++, timestamp: Date.now() };
          }
          if (multipart.done) break;
        } else {
          for (const jpeg of splitter!.push(chunk)) {
            const frame: Frame = { data: jpeg.data, format: 'jpeg', seq: seq++, timestamp: Date.now() };
            if (jpeg.width !== undefined) frame.width = jpeg.width;
            if (jpeg.height !== undefined) frame.height = jpeg.height;
            yield frame;
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw new SourceError(this.description, `stream failed after ${seq} frames: ${describeError(error)}`, { cause: error });
    } finally {
      response.destroy();
    }
    if (!signal.aborted) throw new SourceError(this.description, `stream ended after ${seq} frames`);
  }

  #connect(signal: AbortSignal): Promise<http.IncomingMessage> {
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    const get = this.#url.protocol === 'https:' ? https.get : http.get;
    return new Promise((resolve, reject) => {
      const request = get(this.#url, { headers: { accept: 'multipart/x-mixed-replace, image/jpeg', ...this.#options.headers }, signal, timeout: timeoutMs }, (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          response.resume();
          // 4xx other than 408/429 will not fix itself by reconnecting.
          const retryable = status >= 500 || status === 408 || status === 429;
          reject(new SourceError(this.description, `HTTP ${status} ${response.statusMessage ?? ''}`.trim(), { retryable }));
          return;
        }
        resolve(response);
      });
      request.on('timeout', () => request.destroy(new Error(`no data for ${timeoutMs} ms`)));
      request.on('error', (error) => {
        reject(signal.aborted ? error : new SourceError(this.description, `cannot connect: ${describeError(error)}`, { cause: error }));
      });
    });
  }

  async close(): Promise<void> {
    this.#abort.abort();
  }
}
