import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Default read size for streaming hashes and bundle scans: bounded memory on small devices. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Hex sha256 of a byte array. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hex sha256 and size of a file, read in fixed-size chunks (never the whole file at once). */
export async function hashFile(
  path: string,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<{ sha256: string; size: number }> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    await handle.close();
  }
}

/** Hex sha256 of a file, streamed in chunks. */
export async function sha256File(path: string): Promise<string> {
  return (await hashFile(path)).sha256;
}
