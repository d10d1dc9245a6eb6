// Image checks at import: the bytes must decode completely (a truncated JPEG fails, not a grey
// half-image), and their format and size are recorded.
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import type { ImageFormat } from './records.js';

export const IMPORT_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

const FORMATS = new Set<string>(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif', 'svg']);

export interface ImageFacts {
  format: ImageFormat;
  width: number;
  height: number;
}

/** Decodes every pixel; throws with the decoder's reason for corrupt or unsupported bytes. */
export async function checkImage(bytes: Uint8Array): Promise<ImageFacts> {
  if (bytes.length === 0) throw new Error('empty file');
  const image = sharp(bytes, { failOn: 'warning' });
  const meta = await image.metadata();
  const { info } = await image.raw().toBuffer({ resolveWithObject: true });
  const format = meta.format && FORMATS.has(meta.format) ? (meta.format as ImageFormat) : 'other';
  return { format, width: info.width, height: info.height };
}

export function isImageName(name: string): boolean {
  return IMPORT_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Files under `dir`, recursively, sorted; hidden entries (dot files, the store's own temp files) skipped. */
export async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` in flight, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
