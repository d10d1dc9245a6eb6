// The persisted record of verified chunks (docs/ota-protocol.md §transfer): a fixed header, then
// one bit per chunk. Bits are written in place as chunks land (a hint that survives a process
// kill); the downloader re-hashes every set chunk on resume, so a bit that got to disk before its
// data (power loss) costs a re-fetch, never a wrong byte.
import { readFile } from 'node:fs/promises';

import { writeFileAtomic } from '@edgeloop/bundle';

const MAGIC = 'ELBM';
export const BITMAP_HEADER_BYTES = 4 + 4 + 32;
const HEADER_BYTES = BITMAP_HEADER_BYTES;

export class ChunkBitmap {
  readonly bits: Uint8Array;
  private setCount = 0;

  constructor(readonly total: number, bits?: Uint8Array) {
    this.bits = bits ?? new Uint8Array(Math.ceil(total / 8));
    for (let i = 0; i < total; i++) if (this.has(i)) this.setCount++;
  }

  has(index: number): boolean {
    return (this.bits[index >> 3] & (1 << (index & 7))) !== 0;
  }

  set(index: number): void {
    if (this.has(index)) return;
    this.bits[index >> 3] |= 1 << (index & 7);
    this.setCount++;
  }

  clear(index: number): void {
    if (!this.has(index)) return;
    this.bits[index >> 3] &= ~(1 << (index & 7));
    this.setCount--;
  }

  get count(): number {
    return this.setCount;
  }

  get complete(): boolean {
    return this.setCount === this.total;
  }

  missing(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.total; i++) if (!this.has(i)) out.push(i);
    return out;
  }

  /** File offset of the byte holding chunk `index`'s bit. */
  static fileOffset(index: number): number {
    return HEADER_BYTES + (index >> 3);
  }

  clone(): ChunkBitmap {
    return new ChunkBitmap(this.total, this.bits.slice());
  }

  encode(descriptorIdHex: string): Buffer {
    const out = Buffer.alloc(HEADER_BYTES + this.bits.byteLength);
    out.write(MAGIC, 0, 'latin1');
    out.writeUInt32BE(this.total, 4);
    Buffer.from(descriptorIdHex, 'hex').copy(out, 8);
    out.set(this.bits, HEADER_BYTES);
    return out;
  }

  /** null when the bytes are not a bitmap for this descriptor (different download, torn file). */
  static decode(bytes: Uint8Array, total: number, descriptorIdHex: string): ChunkBitmap | null {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.byteLength !== HEADER_BYTES + Math.ceil(total / 8)) return null;
    if (buf.toString('latin1', 0, 4) !== MAGIC || buf.readUInt32BE(4) !== total) return null;
    if (buf.toString('hex', 8, HEADER_BYTES) !== descriptorIdHex) return null;
    return new ChunkBitmap(total, new Uint8Array(buf.subarray(HEADER_BYTES)));
  }

  static async load(path: string, total: number, descriptorIdHex: string): Promise<ChunkBitmap | null> {
    try {
      return ChunkBitmap.decode(await readFile(path), total, descriptorIdHex);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async save(path: string, descriptorIdHex: string): Promise<void> {
    await writeFileAtomic(path, this.encode(descriptorIdHex));
  }
}
