// Binary chunk frame of docs/ota-protocol.md §chunk-data: a fixed 48-byte header, then the bytes.

export const CHUNK_MAGIC = 'ELCK';
export const CHUNK_FRAME_VERSION = 1;
export const CHUNK_HEADER_BYTES = 48;

export interface ChunkFrame {
  index: number;
  totalChunks: number;
  bundleSha256: string;
  data: Uint8Array;
}

export function encodeChunkFrame(frame: ChunkFrame): Buffer {
  const out = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + frame.data.byteLength);
  writeChunkHeader(out, frame);
  out.set(frame.data, CHUNK_HEADER_BYTES);
  return out;
}

/** Writes the 48-byte header into the start of `out` (the server reads the chunk in behind it). */
export function writeChunkHeader(out: Buffer, frame: Omit<ChunkFrame, 'data'>): void {
  out.write(CHUNK_MAGIC, 0, 'latin1');
  out.writeUInt8(CHUNK_FRAME_VERSION, 4);
  out.fill(0, 5, 8);
  out.writeUInt32BE(frame.index, 8);
  out.writeUInt32BE(frame.totalChunks, 12);
  if (Buffer.from(frame.bundleSha256, 'hex').copy(out, 16) !== 32) throw new TypeError('bundleSha256 must be 64 hex characters');
}

/** Parses a frame without copying the data; null when the header is not a version-1 chunk frame. */
export function decodeChunkFrame(payload: Uint8Array): ChunkFrame | null {
  if (payload.byteLength < CHUNK_HEADER_BYTES) return null;
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.toString('latin1', 0, 4) !== CHUNK_MAGIC || buf.readUInt8(4) !== CHUNK_FRAME_VERSION) return null;
  if (buf[5] !== 0 || buf[6] !== 0 || buf[7] !== 0) return null;
  const index = buf.readUInt32BE(8);
  const totalChunks = buf.readUInt32BE(12);
  if (totalChunks === 0 || index >= totalChunks) return null;
  return { index, totalChunks, bundleSha256: buf.toString('hex', 16, 48), data: buf.subarray(CHUNK_HEADER_BYTES) };
}
