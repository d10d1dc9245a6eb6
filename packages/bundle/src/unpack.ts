// openBundle: verify a bundle file in one streaming pass and hand back what the runtime needs:
// the manifest, where each member lives in the file, and verified reads of members and tensors.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

import { BundleFormatError, MemberHashError, TensorFormatError } from './errors.js';
import type { BundleError } from './errors.js';
import { DEFAULT_CHUNK_BYTES } from './hash.js';
import type { Manifest, Member, MemberRole, TensorRef } from './manifest.js';
import { scanBundle, withFileSource } from './scan.js';
import type { Trust } from './scan.js';
import { tensorByteLength } from './tensor.js';
import type { TensorDtype } from './tensor.js';

export interface OpenBundleOptions {
  /** Trusted signing keys, or 'skip-signature' to check everything but the signature. */
  trust: Trust;
  /** Read size while verifying (default 1 MiB); memory use is bounded by this, not the file size. */
  chunkBytes?: number;
}

export interface MemberLocation {
  /** Byte offset of the member's data in the bundle file. */
  offset: number;
  size: number;
}

export interface MemberInfo extends MemberLocation {
  path: string;
  role: MemberRole;
  sha256: string;
}

export interface TensorData {
  dtype: TensorDtype;
  dims: number[];
  /** Raw little-endian bytes (decode with decodeTensor). */
  data: Uint8Array;
}

/** A bundle whose signature, manifest and members have been verified. */
export class OpenedBundle {
  private readonly byPath: Map<string, MemberInfo>;

  constructor(
    readonly path: string,
    readonly manifest: Manifest,
    /** The key that signed the manifest (as claimed by manifest.sig when opened with 'skip-signature'). */
    readonly keyId: string,
    readonly signatureVerified: boolean,
    /** sha256 of the whole bundle file. */
    readonly fileSha256: string,
    readonly bytes: number,
    members: MemberInfo[],
  ) {
    this.byPath = new Map(members.map((m) => [m.path, m]));
  }

  /** Members in file order, with their offsets. */
  members(): MemberInfo[] {
    return [...this.byPath.values()];
  }

  /** Where a member's bytes are in the bundle file (for mmap/positional reads and chunked transfer). */
  memberOffset(path: string): MemberLocation {
    const info = this.member(path);
    return { offset: info.offset, size: info.size };
  }

  /** Reads a member and checks its sha256 again (the file may have changed since it was opened). */
  async readMember(path: string): Promise<Uint8Array> {
    const info = this.member(path);
    const handle = await open(this.path, 'r');
    try {
      const out = new Uint8Array(info.size);
      let filled = 0;
      while (filled < info.size) {
        const { bytesRead } = await handle.read(out, filled, Math.min(info.size - filled, DEFAULT_CHUNK_BYTES), info.offset + filled);
        if (bytesRead === 0) throw new BundleFormatError(`bundle ${this.path} was truncated after opening (member ${path})`);
        filled += bytesRead;
      }
      const actual = createHash('sha256').update(out).digest('hex');
      if (actual !== info.sha256) throw new MemberHashError(path, info.sha256, actual);
      return out;
    } finally {
      await handle.close();
    }
  }

  /** Reads a raw tensor member named by a TensorRef (golden samples), checking its size against dtype × dims. */
  async readTensor(ref: TensorRef): Promise<TensorData> {
    const expected = tensorByteLength(ref.dtype, ref.dims);
    const info = this.member(ref.member);
    if (info.size !== expected) {
      throw new TensorFormatError(`tensor ${ref.member} is ${info.size} bytes, ${ref.dtype}[${ref.dims.join(',')}] needs ${expected}`);
    }
    return { dtype: ref.dtype, dims: [...ref.dims], data: await this.readMember(ref.member) };
  }

  private member(path: string): MemberInfo {
    const info = this.byPath.get(path);
    if (info === undefined) throw new BundleFormatError(`bundle ${this.path} has no member ${path}`);
    return info;
  }
}

/**
 * Opens and fully verifies a bundle: container structure, signature against `trust`, manifest
 * schema, every member's size and sha256. Throws the first failure as a named error.
 */
export async function openBundle(path: string, options: OpenBundleOptions): Promise<OpenedBundle> {
  const scan = await withFileSource(path, (source) =>
    scanBundle(source, {
      trust: options.trust,
      hashMembers: true,
      chunkBytes: options.chunkBytes,
      report: throwOnFailure,
    }),
  );
  // throwOnFailure guarantees a manifest and matching members once the scan returns.
  const manifest = scan.manifest as Manifest;
  const declared = new Map<string, Member>(manifest.members.map((m) => [m.path, m]));
  const members = scan.members.map((m): MemberInfo => {
    const member = declared.get(m.path) as Member;
    return { path: m.path, role: member.role, sha256: member.sha256, offset: m.offset, size: m.size };
  });
  return new OpenedBundle(path, manifest, scan.signature.keyId, scan.signatureVerified, scan.fileSha256 as string, scan.bytes, members);
}

function throwOnFailure(_check: string, error: BundleError | null): void {
  if (error !== null) throw error;
}
