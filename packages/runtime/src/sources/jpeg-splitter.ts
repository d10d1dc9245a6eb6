// Splits a byte stream of concatenated JPEGs (ffmpeg's `-f mjpeg` output, or an MJPEG body
// without multipart framing) into frames. It walks the marker segments by their lengths up to the
// scan, then scans the entropy-coded data, where 0xFF is always followed by 0x00 (stuffing), a
// restart marker or a real marker, so an EOI (FFD9) inside an EXIF thumbnail or a segment payload
// never ends a frame early. Frame size is read from the SOF segment on the way.

export interface SplitJpeg {
  data: Uint8Array;
  width?: number;
  height?: number;
}

export interface JpegSplitterOptions {
  /** A frame growing past this is discarded as garbage (default 32 MiB). */
  maxFrameBytes?: number;
}

type State = 'seek' | 'marker' | 'entropy';

export class JpegSplitter {
  readonly #maxFrameBytes: number;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #state: State = 'seek';
  #width: number | undefined;
  #height: number | undefined;
  /** Bytes skipped outside any frame, and frames discarded as oversized or malformed. */
  garbageBytes = 0;
  discardedFrames = 0;

  constructor(options: JpegSplitterOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? 32 * 1024 * 1024;
  }

  /** Bytes held for an unfinished frame. */
  get pending(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): SplitJpeg[] {
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#buf, chunk]);
    const frames: SplitJpeg[] = [];
    for (;;) {
      const frame = this.#step();
      if (frame === 'more') break;
      if (frame !== 'continue') frames.push(frame);
    }
    if (this.#buf.length > this.#maxFrameBytes) {
      this.discardedFrames++;
      this.#reset(this.#buf.length);
    }
    // A chunk that is a view of a larger buffer must not pin it.
    if (this.#buf.length > 0 && this.#buf.buffer === chunk.buffer) this.#buf = Buffer.from(this.#buf);
    return frames;
  }

  #reset(consumed: number): void {
    this.#buf = this.#buf.subarray(consumed);
    this.#pos = 0;
    this.#state = 'seek';
    this.#width = undefined;
    this.#height = undefined;
  }

  #step(): SplitJpeg | 'more' | 'continue' {
    const buf = this.#buf;
    if (this.#state === 'seek') {
      const soi = findSoi(buf, 0);
      if (soi < 0) {
        // Keep a trailing 0xFF: it may be the first half of an SOI.
        const keep = buf.length > 0 && buf[buf.length - 1] === 0xff ? 1 : 0;
        this.garbageBytes += buf.length - keep;
        this.#buf = buf.subarray(buf.length - keep);
        return 'more';
      }
      this.garbageBytes += soi;
      this.#buf = buf.subarray(soi);
      this.#pos = 2;
      this.#state = 'marker';
      return 'continue';
    }
    if (this.#state === 'marker') {
      let p = this.#pos;
      if (p + 2 > buf.length) return 'more';
      if (buf[p] !== 0xff) return this.#malformed();
      while (p + 1 < buf.length && buf[p + 1] === 0xff) p++; // fill bytes
      if (p + 2 > buf.length) return 'more';
      const marker = buf[p + 1];
      if (marker === 0xd9) return this.#emit(p + 2);
      if (marker === 0xd8) return this.#malformed();
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        this.#pos = p + 2;
        return 'continue';
      }
      if (p + 4 > buf.length) return 'more';
      const length = buf.readUInt16BE(p + 2);
      if (length < 2) return this.#malformed();
      const end = p + 2 + length;
      if (end > buf.length) return 'more';
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc && length >= 7) {
        this.#height = buf.readUInt16BE(p + 5);
        this.#width = buf.readUInt16BE(p + 7);
      }
      this.#pos = end;
      if (marker === 0xda) this.#state = 'entropy';
      return 'continue';
    }
    // Entropy-coded data: look for the next 0xFF that starts a marker.
    let p = this.#pos;
    for (;;) {
      const ff = buf.indexOf(0xff, p);
      if (ff < 0 || ff + 1 >= buf.length) {
        this.#pos = ff < 0 ? buf.length : ff;
        return 'more';
      }
      const next = buf[ff + 1];
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        p = ff + 2;
        continue;
      }
      if (next === 0xff) {
        p = ff + 1;
        continue;
      }
      if (next === 0xd9) return this.#emit(ff + 2);
      // Another marker (progressive JPEGs interleave DHT and SOS segments with scans).
      this.#pos = ff;
      this.#state = 'marker';
      return 'continue';
    }
  }

  #emit(end: number): SplitJpeg {
    const frame: SplitJpeg = { data: new Uint8Array(this.#buf.subarray(0, end)) };
    if (this.#width !== undefined && this.#height !== undefined) {
      frame.width = this.#width;
      frame.height = this.#height;
    }
    this.#reset(end);
    return frame;
  }

  #malformed(): 'continue' {
    // Drop this SOI and look for the next one.
    this.discardedFrames++;
    this.#reset(1);
    return 'continue';
  }
}

function findSoi(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(0xff, from); i >= 0 && i + 1 < buf.length; i = buf.indexOf(0xff, i + 1)) {
    if (buf[i + 1] === 0xd8) return i;
  }
  return -1;
}
