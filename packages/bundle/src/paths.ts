import { UnsafePathError } from './errors.js';

// TextEncoder rather than Buffer: this module is shared with the browser reader.
const utf8 = new TextEncoder();

/** Members that the format itself places first; manifest members may not use these names. */
export const MANIFEST_MEMBER = 'manifest.json';
export const SIGNATURE_MEMBER = 'manifest.sig';

const MAX_PATH_BYTES = 255;

/**
 * Throws UnsafePathError unless `path` is a plain relative POSIX path that stays inside the
 * bundle: no absolute paths, no `..`/`.`/empty segments, no backslashes or control characters.
 */
export function assertSafeMemberPath(path: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new UnsafePathError(String(path), 'empty path');
  if (path.startsWith('/')) throw new UnsafePathError(path, 'absolute path');
  if (/^[A-Za-z]:/.test(path)) throw new UnsafePathError(path, 'drive-letter path');
  if (path.includes('\\')) throw new UnsafePathError(path, 'backslash in path');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new UnsafePathError(path, 'control character in path');
  for (const segment of path.split('/')) {
    if (segment === '..') throw new UnsafePathError(path, "'..' segment (path traversal)");
    if (segment === '.' || segment === '') throw new UnsafePathError(path, 'empty or "." segment');
  }
  if (utf8.encode(path).length > MAX_PATH_BYTES) throw new UnsafePathError(path, `longer than ${MAX_PATH_BYTES} bytes`);
}

export function isSafeMemberPath(path: string): boolean {
  try {
    assertSafeMemberPath(path);
    return true;
  } catch {
    return false;
  }
}
