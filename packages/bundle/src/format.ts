// The bundle container: an uncompressed POSIX ustar archive (so `tar tf x.bundle` works), read
// strictly. Layout: manifest.json, manifest.sig, then the manifest's members in manifest order,
// then two zero blocks. Only regular-file entries; reading is positional and chunked so a bundle
// is verified without holding it in memory and every member's byte offset is known.
import { BundleFormatError, BundleSizeError } from './errors.js';

export const BLOCK_SIZE = 512;
// Parsing uses TextDecoder rather than Buffer: the browser reader shares it.
const utf8 = new TextDecoder('utf-8');
const USTAR_MAGIC = 'ustar\u0000';
const USTAR_VERSION = '00';
/** ustar's 11-digit octal size field: members must be under 8 GiB. */
export const MAX_MEMBER_BYTES = 8 ** 11 - 1;

export function paddingFor(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

/** Bytes an entry occupies in the archive: header block + data + padding to a block boundary. */
export function entryBytes(size: number): number {
  return BLOCK_SIZE + size + paddingFor(size);
}

/** Two zero blocks that end a ustar archive. */
export const END_OF_ARCHIVE = new Uint8Array(BLOCK_SIZE * 2);

export interface HeaderFields {
  path: string;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  mode?: number;
}

/** Encodes one ustar header block for a regular file. */
export function encodeHeader({ path, size, mtime, mode = 0o644 }: HeaderFields): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_MEMBER_BYTES) {
    throw new BundleSizeError(`member ${path} is ${size} bytes; ustar members must be under 8 GiB`);
  }
  const { name, prefix } = splitPath(path);
  const block = Buffer.alloc(BLOCK_SIZE);
  block.write(name, 0, 100, 'utf8');
  writeOctal(block, 100, 8, mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, Math.max(0, Math.floor(mtime)));
  block.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  block.write('0', 156, 1, 'ascii'); // regular file
  block.write(USTAR_MAGIC, 257, 6, 'ascii');
  block.write(USTAR_VERSION, 263, 2, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  const sum = checksum(block);
  block.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'ascii');
  return block;
}

function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  // ustar stores long paths as prefix (≤155 bytes) + '/' + name (≤100 bytes), split at a slash.
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { name, prefix };
  }
  throw new BundleFormatError(`member path too long for ustar: ${path}`);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(value.toString(8).padStart(length - 1, '0') + '\u0000', offset, length, 'ascii');
}

function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum;
}

export interface ParsedHeader {
  path: string;
  size: number;
  typeflag: string;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function readString(block: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end++;
  return utf8.decode(block.subarray(offset, end));
}

function readOctal(block: Uint8Array, offset: number, length: number, field: string, at: number): number {
  const text = readString(block, offset, length).trim();
  if (!/^[0-7]+$/.test(text)) throw new BundleFormatError(`bad ${field} field in tar header at byte ${at}`);
  return parseInt(text, 8);
}

/** Parses a header block; returns null for a zero block (end of archive). */
export function parseHeader(block: Uint8Array, at: number): ParsedHeader | null {
  if (block.length !== BLOCK_SIZE) throw new BundleFormatError(`truncated tar header at byte ${at}`);
  if (isZeroBlock(block)) return null;
  if (readString(block, 257, 6) !== 'ustar' || readString(block, 263, 2) !== USTAR_VERSION) {
    throw new BundleFormatError(`not a ustar bundle: no ustar header at byte ${at}`);
  }
  const stored = readOctal(block, 148, 8, 'checksum', at);
  if (stored !== checksum(block)) throw new BundleFormatError(`tar header checksum mismatch at byte ${at}`);
  const name = readString(block, 0, 100);
  const prefix = readString(block, 345, 155);
  const typeflag = block[156] === 0 ? '0' : String.fromCharCode(block[156]);
  return {
    path: prefix.length > 0 ? `${prefix}/${name}` : name,
    size: readOctal(block, 124, 12, 'size', at),
    typeflag,
  };
}

/** Minimal positional reader (a FileHandle fits); lets tests observe every read. */
export interface ReadSource {
  readonly size: number;
  read(buffer: Uint8Array, position: number): Promise<number>;
}

/**
 * Sequential reader over a ReadSource: exact reads for headers, chunked streaming for data.
 * Every byte read or streamed passes through `observe` (used for the whole-file hash); `skip`
 * jumps without reading and is only valid when nobody observes.
 */
export class SequentialReader {
  position = 0;
  private readonly chunk: Uint8Array;

  constructor(
    private readonly source: ReadSource,
    chunkBytes: number,
    private readonly observe?: (bytes: Uint8Array) => void,
  ) {
    this.chunk = new Uint8Array(Math.max(BLOCK_SIZE, chunkBytes - (chunkBytes % BLOCK_SIZE)));
  }

  get observing(): boolean {
    return this.observe !== undefined;
  }

  get remaining(): number {
    return this.source.size - this.position;
  }

  /** Reads exactly `length` bytes into a fresh array, or throws BundleFormatError (truncated). */
  async readExact(length: number, what: string): Promise<Uint8Array> {
    if (length > this.remaining) {
      throw new BundleFormatError(`truncated bundle: ${what} needs ${length} bytes at byte ${this.position}, file has ${this.remaining}`);
    }
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const n = await this.source.read(out.subarray(filled, Math.min(length, filled + this.chunk.length)), this.position + filled);
      if (n === 0) throw new BundleFormatError(`truncated bundle: unexpected end of file at byte ${this.position + filled}`);
      filled += n;
    }
    this.observe?.(out);
    this.position += length;
    return out;
  }

  /** Streams `length` bytes through `onChunk` in chunks of at most the reader's chunk size. */
  async stream(length: number, what: string, onChunk: (bytes: Uint8Array) => void): Promise<void> {
    if (length > this.remaining) {
      throw new BundleFormatError(`truncated bundle: ${what} needs ${length} bytes at byte ${this.position}, file has ${this.remaining}`);
    }
    let left = length;
    while (left > 0) {
      const want = Math.min(left, this.chunk.length);
      const view = this.chunk.subarray(0, want);
      let filled = 0;
      while (filled < want) {
        const n = await this.source.read(view.subarray(filled), this.position + filled);
        if (n === 0) throw new BundleFormatError(`truncated bundle: unexpected end of file at byte ${this.position + filled}`);
        filled += n;
      }
      this.observe?.(view);
      onChunk(view);
      this.position += want;
      left -= want;
    }
  }

  skip(length: number, what: string): void {
    if (this.observing) throw new Error('SequentialReader.skip while observing bytes');
    if (length > this.remaining) {
      throw new BundleFormatError(`truncated bundle: ${what} needs ${length} bytes at byte ${this.position}, file has ${this.remaining}`);
    }
    this.position += length;
  }

  /** Consumes the rest of the file, requiring every byte to be zero (tar record padding). */
  async expectZerosToEnd(): Promise<void> {
    const start = this.position;
    await this.stream(this.remaining, 'trailing padding', (bytes) => {
      if (!isZeroBlock(bytes)) throw new BundleFormatError(`trailing garbage after end of archive (from byte ${start})`);
    });
  }
}

export interface TarEntry {
  path: string;
  size: number;
  /** Offset of the header block. */
  headerOffset: number;
  /** Offset of the first data byte: what the runtime reads and the OTA transfer addresses. */
  offset: number;
}

/**
 * Reads the next header; returns null at the end-of-archive marker (two zero blocks). The caller
 * must consume the entry's data with `consumeData` (or skip it) before reading the next header.
 */
export async function readEntryHeader(reader: SequentialReader): Promise<TarEntry | null> {
  if (reader.remaining === 0) throw new BundleFormatError(`truncated bundle: no end-of-archive marker (file ends at byte ${reader.position})`);
  const headerOffset = reader.position;
  const header = parseHeader(await reader.readExact(BLOCK_SIZE, 'tar header'), headerOffset);
  if (header === null) {
    const second = await reader.readExact(BLOCK_SIZE, 'end-of-archive marker');
    if (!isZeroBlock(second)) throw new BundleFormatError(`corrupt end-of-archive marker at byte ${headerOffset}`);
    return null;
  }
  if (header.typeflag !== '0') {
    throw new BundleFormatError(`member ${header.path} is not a regular file (tar type '${header.typeflag}')`);
  }
  return { path: header.path, size: header.size, headerOffset, offset: reader.position };
}

/** Streams an entry's data (then its padding, which must be zero) through `onChunk`. */
export async function consumeData(
  reader: SequentialReader,
  entry: TarEntry,
  onChunk?: (bytes: Uint8Array) => void,
): Promise<void> {
  const pad = paddingFor(entry.size);
  if (onChunk === undefined && entry.size + pad <= reader.remaining && !reader.observing) {
    reader.skip(entry.size + pad, entry.path);
    return;
  }
  await reader.stream(entry.size, entry.path, onChunk ?? (() => undefined));
  if (pad > 0) {
    const padding = await reader.readExact(pad, `${entry.path} padding`);
    if (!isZeroBlock(padding)) throw new BundleFormatError(`non-zero padding after member ${entry.path}`);
  }
}

