// Atomic file replacement, shared by every package that keeps state on disk (bundles, OTA server
// and agent state, dataset stores, label caches): write a temp file beside the target, fsync it,
// rename over the target, fsync the directory. A kill leaves the old file or the new one, never
// half of either (a stray `.tmp` at worst, which readers ignore).
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface WriteAtomicOptions {
  /** File mode of a new file (default 0o644; 0o600 for secrets). */
  mode?: number;
  /** false skips the fsyncs: still atomic (old or new), but a power cut may lose the newest files; fine for caches. */
  durable?: boolean;
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, options: WriteAtomicOptions = {}): Promise<void> {
  const durable = options.durable !== false;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', options.mode ?? 0o644);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
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
  if (durable) await fsyncDirectory(dir);
}

/** Pretty-printed JSON with a trailing newline, written with writeFileAtomic. */
export async function writeJsonAtomic(path: string, value: unknown, options: WriteAtomicOptions = {}): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Makes a rename in `dir` durable across power loss; a no-op where the platform cannot fsync a directory. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // EISDIR/EINVAL on some filesystems: the rename stays atomic, only its durability is weaker.
  } finally {
    await handle.close();
  }
}
