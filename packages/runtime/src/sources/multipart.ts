// Incremental parser for multipart/x-mixed-replace, the framing IP cameras and MJPEG streamers
// (mjpg-streamer, motion, ESP32-CAM) use for MJPEG over HTTP: a boundary line, part headers, a
// blank line, the JPEG, repeat. A part's Content-Length is used when present; otherwise the body
// runs to the next boundary line.

export interface MultipartPart {
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface MultipartParserOptions {
  /** A part growing past this is discarded (default 32 MiB). */
  maxPartBytes?: number;
}

type State = 'preamble' | 'headers' | 'body' | 'done';

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** The boundary parameter of a Content-Type header, unquoted, or undefined. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  const match = /;\s*boundary=("([^"]+)"|[^;\s]+)/i.exec(contentType ?? '');
  if (!match) return undefined;
  return match[2] ?? match[1];
}

export class MultipartParser {
  readonly #delimiter: Buffer;
  readonly #bodyEnd: Buffer;
  readonly #maxPartBytes: number;
  #buf: Buffer = Buffer.alloc(0);
  #state: State = 'preamble';
  #headers: Record<string, string> = {};
  #contentLength: number | undefined;
  discardedParts = 0;

  constructor(boundary: string, options: MultipartParserOptions = {}) {
    // Some cameras put the leading dashes in the parameter itself; the delimiter line is then the parameter.
    const delimiter = boundary.startsWith('--') ? boundary : `--${boundary}`;
    this.#delimiter = Buffer.from(delimiter);
    this.#bodyEnd = Buffer.from(`\r\n${delimiter}`);
    this.#maxPartBytes = options.maxPartBytes ?? 32 * 1024 * 1024;
  }

  /** True once the closing delimiter (`--boundary--`) was seen. */
  get done(): boolean {
    return this.#state === 'done';
  }

  push(chunk: Uint8Array): MultipartPart[] {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const parts: MultipartPart[] = [];
    for (;;) {
      const part = this.#step();
      if (part === 'more') break;
      if (part !== 'continue') parts.push(part);
    }
    if (this.#buf.length > this.#maxPartBytes + 4096) {
      this.discardedParts++;
      this.#buf = Buffer.alloc(0);
      this.#state = 'preamble';
    }
    return parts;
  }

  #step(): MultipartPart | 'more' | 'continue' {
    const buf = this.#buf;
    switch (this.#state) {
      case 'done':
        this.#buf = Buffer.alloc(0);
        return 'more';
      case 'preamble': {
        const at = buf.indexOf(this.#delimiter);
        if (at < 0) {
          this.#buf = buf.subarray(Math.max(0, buf.length - this.#delimiter.length));
          return 'more';
        }
        const after = at + this.#delimiter.length;
        if (after + 2 > buf.length) return 'more';
        if (buf[after] === 0x2d && buf[after + 1] === 0x2d) {
          this.#state = 'done';
          return 'continue';
        }
        const eol = buf.indexOf('\n', after);
        if (eol < 0) return 'more';
        this.#buf = buf.subarray(eol + 1);
        this.#state = 'headers';
        return 'continue';
      }
      case 'headers': {
        // An immediately blank line means a part with no headers.
        if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
          this.#buf = buf.subarray(2);
          this.#beginBody({});
          return 'continue';
        }
        const end = buf.indexOf(CRLFCRLF);
        if (end < 0) return 'more';
        const headers: Record<string, string> = {};
        for (const line of buf.subarray(0, end).toString('latin1').split('\r\n')) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        this.#buf = buf.subarray(end + 4);
        this.#beginBody(headers);
        return 'continue';
      }
      case 'body': {
        if (this.#contentLength !== undefined) {
          if (buf.length < this.#contentLength) return 'more';
          const body = new Uint8Array(buf.subarray(0, this.#contentLength));
          this.#buf = buf.subarray(this.#contentLength);
          this.#state = 'preamble';
          return { headers: this.#headers, body };
        }
        const end = buf.indexOf(this.#bodyEnd);
        if (end < 0) return 'more';
        const body = new Uint8Array(buf.subarray(0, end));
        this.#buf = buf.subarray(end + 2);
        this.#state = 'preamble';
        return { headers: this.#headers, body };
      }
    }
  }

  #beginBody(headers: Record<string, string>): void {
    this.#headers = headers;
    const length = Number(headers['content-length']);
    this.#contentLength = headers['content-length'] !== undefined && Number.isInteger(length) && length >= 0 ? length : undefined;
    this.#state = 'body';
  }
}
