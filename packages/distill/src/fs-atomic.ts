// Durable file replacement for caches, store blobs and index rewrites: write a temp file beside
// the target, fsync it, rename over the target. A kill leaves the old file or the new one, never
// half of either (a stray `.tmp` at worst, which readers ignore).
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `durable: false` skips the fsync: still atomic (old or new), but a power cut may lose the newest files; fine for caches. */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: { durable?: boolean } = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    if (options.durable !== false) await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
