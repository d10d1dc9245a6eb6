// Transfer descriptors (docs/ota-protocol.md §desired): the per-chunk sha256 list the server
// publishes with the desired state, and the chunk size rule.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

import { TransferDescriptorError } from '../errors.js';
import { MAX_CHUNKS } from '../schemas.js';
import type { TransferDescriptor } from '../schemas.js';
import { CHUNK_HEADER_BYTES } from '../chunk-frame.js';

export const DEFAULT_CHUNK_BYTES = 256 * 1024;
/** Room for the MQTT fixed header, topic and our frame header below the broker's packet limit. */
const PACKET_OVERHEAD_BYTES = 1024;

/** The chunk size to use under a broker packet limit: the requested size, capped and rounded down to 1 KiB. */
export function chunkBytesFor(maxPacketBytes: number, requested = DEFAULT_CHUNK_BYTES): number {
  const cap = maxPacketBytes - PACKET_OVERHEAD_BYTES - CHUNK_HEADER_BYTES;
  const bytes = Math.floor(Math.min(requested, cap) / 1024) * 1024;
  if (bytes < 1024) throw new TransferDescriptorError(`broker packet limit ${maxPacketBytes} leaves no room for 1 KiB chunks`);
  return bytes;
}

export function chunkCount(size: number, chunkBytes: number): number {
  return Math.ceil(size / chunkBytes);
}

/** Byte range of chunk `index`. */
export function chunkRange(index: number, size: number, chunkBytes: number): { offset: number; length: number } {
  const offset = index * chunkBytes;
  return { offset, length: Math.min(chunkBytes, size - offset) };
}

/** Hashes a file chunk by chunk (and as a whole) in one pass. */
export async function describeFile(path: string, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<{ sha256: string; size: number; transfer: TransferDescriptor }> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const total = chunkCount(size, chunkBytes);
    if (size === 0 || total > MAX_CHUNKS) {
      throw new TransferDescriptorError(`file of ${size} bytes needs ${total} chunks of ${chunkBytes} (allowed 1..${MAX_CHUNKS})`);
    }
    const whole = createHash('sha256');
    const chunkSha256: string[] = [];
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (let i = 0; i < total; i++) {
      const { offset, length } = chunkRange(i, size, chunkBytes);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new TransferDescriptorError(`${path} shrank while it was hashed`);
        filled += bytesRead;
      }
      const view = buffer.subarray(0, length);
      whole.update(view);
      chunkSha256.push(createHash('sha256').update(view).digest('hex'));
    }
    return { sha256: whole.digest('hex'), size, transfer: { chunkBytes, chunkSha256 } };
  } finally {
    await handle.close();
  }
}

/** Checks that a descriptor fits the announced size; throws TransferDescriptorError. */
export function assertDescriptorFits(size: number, transfer: TransferDescriptor): void {
  const expected = chunkCount(size, transfer.chunkBytes);
  if (expected !== transfer.chunkSha256.length) {
    throw new TransferDescriptorError(`descriptor lists ${transfer.chunkSha256.length} chunks, size ${size} at ${transfer.chunkBytes} needs ${expected}`);
  }
}

/** Identifies a descriptor (stored in the bitmap header so a changed descriptor restarts the download). */
export function descriptorId(size: number, transfer: TransferDescriptor): string {
  return createHash('sha256').update(`${size}:${transfer.chunkBytes}:${transfer.chunkSha256.join(',')}`).digest('hex');
}
