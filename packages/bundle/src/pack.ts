// createBundle: hash the members, build and sign the manifest, write the ustar file atomically
// (temp file in the target directory, fsync, rename, fsync the directory).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { BundleFormatError, MemberHashError, MemberSourceError } from './errors.js';
import { fsyncDirectory } from './fs-atomic.js';
import { END_OF_ARCHIVE, encodeHeader, paddingFor } from './format.js';
import { DEFAULT_CHUNK_BYTES, hashFile, sha256 } from './hash.js';
import { MANIFEST_SCHEMA_VERSION, validateManifest } from './manifest.js';
import type { Manifest, ManifestInput, Member, MemberRole } from './manifest.js';
import { MANIFEST_MEMBER, SIGNATURE_MEMBER, assertSafeMemberPath } from './paths.js';
import { encodeSignature, signManifest } from './signing.js';

export interface MemberSource {
  path: string;
  role: MemberRole;
  /** In-memory bytes, or a file streamed into the bundle. */
  data: Uint8Array | { file: string };
}

export interface CreateBundleOptions {
  outPath: string;
  manifest: ManifestInput;
  members: MemberSource[];
  privateKeyPem: string;
  /** Defaults to now; fixed values give reproducible bundles. */
  createdAt?: Date;
}

export interface CreatedBundle {
  manifest: Manifest;
  /** Size of the bundle file. */
  bytes: number;
  /** sha256 of the whole bundle file (the id the OTA server stores it under). */
  sha256: string;
}

/** Serialization used for manifest.json: the signature covers exactly these bytes. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
}

export async function createBundle(options: CreateBundleOptions): Promise<CreatedBundle> {
  const { outPath, members: sources, privateKeyPem } = options;
  const seen = new Set<string>();
  for (const source of sources) {
    assertSafeMemberPath(source.path);
    if (source.path === MANIFEST_MEMBER || source.path === SIGNATURE_MEMBER) {
      throw new BundleFormatError(`member path ${source.path} is reserved for the bundle format`);
    }
    if (seen.has(source.path)) throw new BundleFormatError(`duplicate member ${source.path}`);
    seen.add(source.path);
  }

  const members: Member[] = [];
  for (const source of sources) {
    const { sha256: digest, size } = source.data instanceof Uint8Array
      ? { sha256: sha256(source.data), size: source.data.byteLength }
      : await hashSourceFile(source.path, source.data.file);
    members.push({ path: source.path, size, sha256: digest, role: source.role });
  }

  const createdAt = (options.createdAt ?? new Date()).toISOString();
  const { schemaVersion: _ignored, ...input } = options.manifest;
  const manifest = validateManifest({ schemaVersion: MANIFEST_SCHEMA_VERSION, ...input, createdAt, members });
  const manifestBytes = encodeManifest(manifest);
  const signatureBytes = encodeSignature(signManifest(manifestBytes, privateKeyPem));
  const mtime = Math.floor(Date.parse(createdAt) / 1000);

  const tempPath = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fileHash = createHash('sha256');
  let bytes = 0;
  let handle: FileHandle | undefined;
  const write = async (chunk: Uint8Array): Promise<void> => {
    let written = 0;
    while (written < chunk.byteLength) {
      const { bytesWritten } = await handle!.write(chunk, written, chunk.byteLength - written);
      written += bytesWritten;
    }
    fileHash.update(chunk);
    bytes += chunk.byteLength;
  };
  const writeEntry = async (path: string, size: number, body: () => Promise<void>): Promise<void> => {
    await write(encodeHeader({ path, size, mtime }));
    await body();
    const pad = paddingFor(size);
    if (pad > 0) await write(new Uint8Array(pad));
  };

  try {
    await mkdir(dirname(outPath), { recursive: true });
    handle = await open(tempPath, 'wx', 0o644);
    await writeEntry(MANIFEST_MEMBER, manifestBytes.byteLength, () => write(manifestBytes));
    await writeEntry(SIGNATURE_MEMBER, signatureBytes.byteLength, () => write(signatureBytes));
    for (let i = 0; i < sources.length; i++) {
      const source = sources[i];
      const member = members[i];
      const data = source.data;
      await writeEntry(member.path, member.size, async () => {
        if (data instanceof Uint8Array) await write(data);
        else await copyFileVerified(data.file, member, write);
      });
    }
    await write(END_OF_ARCHIVE);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tempPath, outPath);
    await fsyncDirectory(dirname(outPath));
  } catch (error) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  return { manifest, bytes, sha256: fileHash.digest('hex') };
}

async function hashSourceFile(memberPath: string, file: string): Promise<{ sha256: string; size: number }> {
  try {
    return await hashFile(file);
  } catch (error) {
    throw new MemberSourceError(memberPath, file, { cause: error });
  }
}

/** Streams a member file into the bundle, failing if it changed since it was hashed. */
async function copyFileVerified(path: string, member: Member, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const input = await open(path, 'r').catch((error: unknown) => {
    throw new MemberSourceError(member.path, path, { cause: error });
  });
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(DEFAULT_CHUNK_BYTES);
    let copied = 0;
    while (copied < member.size) {
      const { bytesRead } = await input.read(buffer, 0, Math.min(buffer.length, member.size - copied), copied);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      await write(chunk);
      copied += bytesRead;
    }
    const actual = hash.digest('hex');
    if (copied !== member.size || actual !== member.sha256) throw new MemberHashError(member.path, member.sha256, actual);
  } finally {
    await input.close();
  }
}

