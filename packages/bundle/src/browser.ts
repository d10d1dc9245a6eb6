// Reading a bundle where there is no Node: in a web page (and in any runtime with WebCrypto).
// The same checks as openBundle — ustar structure, ed25519 signature by a trusted key over the
// exact manifest bytes, size and sha256 of every member — on bytes already in memory, using
// WebCrypto instead of node:crypto. Imports only modules that are free of Node APIs.
import type { webcrypto } from 'node:crypto';
import { BundleFormatError, MemberHashError, SignatureError, UntrustedKeyError } from './errors.js';
import { BLOCK_SIZE, entryBytes, parseHeader } from './format.js';
import type { Manifest, TensorRef } from './manifest.js';
import { MANIFEST_MEMBER, SIGNATURE_MEMBER, assertSafeMemberPath } from './paths.js';

export interface BrowserBundle {
  manifest: Manifest;
  keyId: string;
  /** Verified bytes of a member (a view into the bundle bytes). */
  member(path: string): Uint8Array;
  /** A golden tensor as a typed array over its verified bytes. */
  tensor(ref: TensorRef): { dtype: TensorRef['dtype']; dims: number[]; data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array };
}

const text = new TextDecoder('utf-8');

type SubtleCrypto = webcrypto.SubtleCrypto;
type CryptoKey = webcrypto.CryptoKey;

function subtle(): SubtleCrypto {
  const c = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto;
  if (!c?.subtle) throw new SignatureError('WebCrypto (crypto.subtle) is not available: open the page over https or localhost');
  return c.subtle;
}

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

interface TrustedKey {
  keyId: string;
  key: CryptoKey;
}

/** Imports ed25519 public keys (SPKI PEM, as `edgeloop keys generate` writes them). */
export async function importTrustedKeys(publicKeyPems: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const pem of publicKeyPems) {
    const body = /-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/.exec(pem);
    if (!body) throw new SignatureError('trusted key is not a PEM public key');
    const der = base64ToBytes(body[1]!.replace(/\s+/g, ''));
    const key = await subtle().importKey('spki', der, { name: 'Ed25519' }, true, ['verify']);
    const raw = await subtle().exportKey('raw', key);
    keys.push({ keyId: hex(await subtle().digest('SHA-256', raw)).slice(0, 16), key });
  }
  return keys;
}

interface Entry {
  path: string;
  data: Uint8Array;
}

function entries(bytes: Uint8Array): Entry[] {
  const out: Entry[] = [];
  let at = 0;
  for (;;) {
    if (at + BLOCK_SIZE > bytes.length) throw new BundleFormatError(`truncated bundle: no end-of-archive marker (at byte ${at})`);
    const header = parseHeader(bytes.subarray(at, at + BLOCK_SIZE), at);
    if (header === null) break;
    if (header.typeflag !== '0') throw new BundleFormatError(`tar entry ${header.path} is not a regular file`);
    const start = at + BLOCK_SIZE;
    if (start + header.size > bytes.length) throw new BundleFormatError(`truncated bundle: member ${header.path} is cut short`);
    out.push({ path: header.path, data: bytes.subarray(start, start + header.size) });
    at += entryBytes(header.size);
  }
  return out;
}

/**
 * Verifies and opens a bundle held in memory. Throws the same named errors as openBundle:
 * BundleFormatError, UntrustedKeyError, SignatureError, MemberHashError.
 */
export async function openBundleBytes(bytes: Uint8Array, trustedPublicKeyPems: readonly string[]): Promise<BrowserBundle> {
  const all = entries(bytes);
  if (all[0]?.path !== MANIFEST_MEMBER || all[1]?.path !== SIGNATURE_MEMBER) {
    throw new BundleFormatError(`not an edgeloop bundle: it must start with ${MANIFEST_MEMBER} and ${SIGNATURE_MEMBER}`);
  }
  const manifestBytes = all[0].data;
  let sig: { algorithm?: unknown; keyId?: unknown; signature?: unknown };
  try {
    sig = JSON.parse(text.decode(all[1].data)) as typeof sig;
  } catch {
    throw new SignatureError('manifest.sig is not valid JSON');
  }
  if (sig.algorithm !== 'ed25519' || typeof sig.keyId !== 'string' || typeof sig.signature !== 'string') {
    throw new SignatureError('manifest.sig is not an ed25519 signature record');
  }
  const trusted = await importTrustedKeys(trustedPublicKeyPems);
  const signer = trusted.find((k) => k.keyId === sig.keyId);
  if (!signer) throw new UntrustedKeyError(sig.keyId, trusted.map((k) => k.keyId));
  const ok = await subtle().verify({ name: 'Ed25519' }, signer.key, base64ToBytes(sig.signature), manifestBytes);
  if (!ok) throw new SignatureError(`signature by key ${sig.keyId} does not verify: manifest.json was altered or signed by another key`);

  let manifest: Manifest;
  try {
    manifest = JSON.parse(text.decode(manifestBytes)) as Manifest;
  } catch {
    throw new BundleFormatError('manifest.json is not valid JSON');
  }
  const members = all.slice(2);
  if (!Array.isArray(manifest.members) || members.length !== manifest.members.length) {
    throw new BundleFormatError(`bundle holds ${members.length} members, the manifest lists ${manifest.members?.length ?? 0}`);
  }
  const byPath = new Map<string, Uint8Array>();
  for (let i = 0; i < members.length; i++) {
    const listed = manifest.members[i]!;
    const found = members[i]!;
    assertSafeMemberPath(listed.path);
    if (found.path !== listed.path) throw new BundleFormatError(`member ${i} is ${found.path}, the manifest lists ${listed.path}`);
    if (found.data.length !== listed.size) {
      throw new BundleFormatError(`member ${listed.path} is ${found.data.length} bytes, the manifest says ${listed.size}`);
    }
    const actual = hex(await subtle().digest('SHA-256', found.data));
    if (actual !== listed.sha256) throw new MemberHashError(listed.path, listed.sha256, actual);
    byPath.set(listed.path, found.data);
  }
  const member = (path: string): Uint8Array => {
    const data = byPath.get(path);
    if (!data) throw new BundleFormatError(`bundle has no member ${path}`);
    return data;
  };
  return {
    manifest,
    keyId: sig.keyId,
    member,
    tensor(ref) {
      const data = member(ref.member);
      // Copy into an aligned buffer: member views start at 512-byte offsets, but be safe.
      const buf = data.slice().buffer;
      const views = {
        float32: () => new Float32Array(buf),
        float16: () => new Uint16Array(buf),
        int8: () => new Int8Array(buf),
        uint8: () => new Uint8Array(buf),
        int32: () => new Int32Array(buf),
        int64: () => new BigInt64Array(buf),
        bool: () => new Uint8Array(buf),
      } as const;
      return { dtype: ref.dtype, dims: [...ref.dims], data: views[ref.dtype]() };
    },
  };
}
