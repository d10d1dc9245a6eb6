// One sequential pass over a bundle file: container structure, signature, manifest schema, and
// each member's size and sha256. Checks report through a callback so openBundle can stop at the
// first failure while verifyBundle collects them all; structural damage always throws.
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

import { BundleError, BundleFormatError, BundleNotFoundError, BundleSizeError, ManifestSchemaError, MemberHashError } from './errors.js';
import { SequentialReader, consumeData, paddingFor, readEntryHeader } from './format.js';
import type { ReadSource, TarEntry } from './format.js';
import { DEFAULT_CHUNK_BYTES } from './hash.js';
import type { TrustStore } from './keys.js';
import { validateManifest } from './manifest.js';
import type { Manifest, Member } from './manifest.js';
import { MANIFEST_MEMBER, SIGNATURE_MEMBER, assertSafeMemberPath } from './paths.js';
import { parseSignature, verifyManifestSignature } from './signing.js';
import type { ManifestSignature } from './signing.js';

/** manifest.json is read into memory; this bounds what a hostile file can make a device allocate. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
export const MAX_SIGNATURE_BYTES = 4096;

export type Trust = TrustStore | 'skip-signature';

/** Check names: 'signature', 'manifest', or `member:<path>`. */
export type ReportCheck = (check: string, error: BundleError | null) => void;

export interface ScanOptions {
  trust: Trust;
  /** false: read headers only and jump over member data (inspect); no hashes are computed. */
  hashMembers: boolean;
  chunkBytes?: number;
  report: ReportCheck;
}

export interface ScannedMember {
  path: string;
  /** Offset of the member's first data byte in the file. */
  offset: number;
  size: number;
  /** Computed sha256 (only when hashMembers). */
  sha256?: string;
}

export interface ScanResult {
  manifestBytes: Uint8Array;
  manifest?: Manifest;
  signature: ManifestSignature;
  signatureVerified: boolean;
  members: ScannedMember[];
  /** sha256 of the whole file (only when hashMembers). */
  fileSha256?: string;
  bytes: number;
}

export async function scanBundle(source: ReadSource, options: ScanOptions): Promise<ScanResult> {
  const { trust, hashMembers, report } = options;
  if (source.size === 0) throw new BundleFormatError('empty file (0 bytes) is not a bundle');
  const fileHash = hashMembers ? createHash('sha256') : undefined;
  const reader = new SequentialReader(
    source,
    options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
    fileHash === undefined ? undefined : (bytes) => fileHash.update(bytes),
  );

  const manifestBytes = await readSmallEntry(reader, MANIFEST_MEMBER, MAX_MANIFEST_BYTES, 0);
  const signatureBytes = await readSmallEntry(reader, SIGNATURE_MEMBER, MAX_SIGNATURE_BYTES, 1);

  const signature = parseSignature(signatureBytes);
  let signatureVerified = false;
  if (trust !== 'skip-signature') {
    try {
      verifyManifestSignature(manifestBytes, signature, trust);
      signatureVerified = true;
      report('signature', null);
    } catch (error) {
      if (!(error instanceof BundleError)) throw error;
      report('signature', error);
    }
  }

  let manifest: Manifest | undefined;
  try {
    manifest = validateManifest(parseManifestJson(manifestBytes));
    report('manifest', null);
  } catch (error) {
    if (!(error instanceof BundleError)) throw error;
    report('manifest', error);
  }

  const members = await scanMembers(reader, manifest, hashMembers, report);
  await reader.expectZerosToEnd();
  return {
    manifestBytes,
    manifest,
    signature,
    signatureVerified,
    members,
    fileSha256: fileHash?.digest('hex'),
    bytes: source.size,
  };
}

function parseManifestJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new ManifestSchemaError([{ path: '', message: `manifest.json is not valid JSON (${(error as Error).message})` }]);
  }
}

async function readSmallEntry(reader: SequentialReader, expected: string, limit: number, index: number): Promise<Uint8Array> {
  const entry = await readEntryHeader(reader);
  if (entry === null || entry.path !== expected) {
    throw new BundleFormatError(
      `not an edgeloop bundle: member ${index + 1} is ${entry === null ? 'the end of the archive' : JSON.stringify(entry.path)}, expected ${expected}`,
    );
  }
  if (entry.size > limit) throw new BundleSizeError(`${expected} is ${entry.size} bytes, limit ${limit}`);
  const data = await reader.readExact(entry.size, expected);
  const pad = paddingFor(entry.size);
  if (pad > 0 && (await reader.readExact(pad, `${expected} padding`)).some((b) => b !== 0)) {
    throw new BundleFormatError(`non-zero padding after ${expected}`);
  }
  return data;
}

async function scanMembers(
  reader: SequentialReader,
  manifest: Manifest | undefined,
  hashMembers: boolean,
  report: ReportCheck,
): Promise<ScannedMember[]> {
  const declared = new Map<string, Member>(manifest?.members.map((m) => [m.path, m]));
  const scanned: ScannedMember[] = [];
  const seen = new Set<string>();
  for (let entry = await readEntryHeader(reader); entry !== null; entry = await readEntryHeader(reader)) {
    assertSafeMemberPath(entry.path);
    if (entry.path === MANIFEST_MEMBER || entry.path === SIGNATURE_MEMBER || seen.has(entry.path)) {
      throw new BundleFormatError(`duplicate member ${entry.path} at byte ${entry.headerOffset}`);
    }
    seen.add(entry.path);
    const member = declared.get(entry.path);
    if (manifest !== undefined) {
      if (member === undefined) throw new BundleFormatError(`member ${entry.path} is not listed in the manifest`);
      const expectedPath = manifest.members[scanned.length]?.path;
      if (expectedPath !== entry.path) {
        throw new BundleFormatError(
          `member ${entry.path} is out of manifest order (position ${scanned.length + 1} should be ${expectedPath ?? 'nothing'})`,
        );
      }
    }
    scanned.push(await scanMember(reader, entry, member, hashMembers, report));
  }
  if (manifest !== undefined && scanned.length < manifest.members.length) {
    const missing = manifest.members.slice(scanned.length).map((m) => m.path);
    throw new BundleFormatError(`manifest member${missing.length > 1 ? 's' : ''} missing from bundle: ${missing.join(', ')}`);
  }
  return scanned;
}

async function scanMember(
  reader: SequentialReader,
  entry: TarEntry,
  member: Member | undefined,
  hashMembers: boolean,
  report: ReportCheck,
): Promise<ScannedMember> {
  const result: ScannedMember = { path: entry.path, offset: entry.offset, size: entry.size };
  if (!hashMembers) {
    await consumeData(reader, entry);
    if (member !== undefined && member.size !== entry.size) {
      report(`member:${entry.path}`, new BundleSizeError(`member ${entry.path} is ${entry.size} bytes, manifest says ${member.size}`));
    }
    return result;
  }
  const hash = createHash('sha256');
  await consumeData(reader, entry, (chunk) => hash.update(chunk));
  result.sha256 = hash.digest('hex');
  if (member === undefined) return result;
  if (member.size !== entry.size) {
    report(`member:${entry.path}`, new BundleSizeError(`member ${entry.path} is ${entry.size} bytes, manifest says ${member.size}`));
  } else if (member.sha256 !== result.sha256) {
    report(`member:${entry.path}`, new MemberHashError(entry.path, member.sha256, result.sha256));
  } else {
    report(`member:${entry.path}`, null);
  }
  return result;
}

/** A FileHandle as a ReadSource. */
export class FileSource implements ReadSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Opens a bundle file; BundleNotFoundError when it does not exist or is not a regular file. */
  static async open(path: string): Promise<FileSource> {
    const info = await stat(path).catch((error: unknown) => {
      throw new BundleNotFoundError(path, { cause: error });
    });
    if (!info.isFile()) throw new BundleFormatError(`${path} is not a regular file`);
    const handle = await open(path, 'r');
    const { size } = await handle.stat();
    return new FileSource(handle, size);
  }

  async read(buffer: Uint8Array, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.byteLength, position);
    return bytesRead;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Opens `path`, runs `fn`, and closes the file whatever happens. */
export async function withFileSource<T>(path: string, fn: (source: FileSource) => Promise<T>): Promise<T> {
  const source = await FileSource.open(path);
  try {
    return await fn(source);
  } finally {
    await source.close();
  }
}
