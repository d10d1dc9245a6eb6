// manifest.sig: a detached ed25519 signature over the exact bytes of manifest.json.
import { sign, verify } from 'node:crypto';

import { SignatureError, UntrustedKeyError } from './errors.js';
import { keyIdOf, parsePrivateKey } from './keys.js';
import type { TrustStore } from './keys.js';

export interface ManifestSignature {
  algorithm: 'ed25519';
  keyId: string;
  /** base64 of the 64-byte ed25519 signature. */
  signature: string;
}

export function signManifest(manifestBytes: Uint8Array, privateKeyPem: string): ManifestSignature {
  const key = parsePrivateKey(privateKeyPem);
  return {
    algorithm: 'ed25519',
    keyId: keyIdOf(key),
    signature: sign(null, manifestBytes, key).toString('base64'),
  };
}

export function encodeSignature(signature: ManifestSignature): Uint8Array {
  return Buffer.from(JSON.stringify(signature) + '\n', 'utf8');
}

/** Parses manifest.sig; throws SignatureError when it is not a well-formed ed25519 signature record. */
export function parseSignature(bytes: Uint8Array): ManifestSignature {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new SignatureError('manifest.sig is not valid JSON');
  }
  const record = json as Partial<Record<keyof ManifestSignature, unknown>> | null;
  if (record === null || typeof record !== 'object') throw new SignatureError('manifest.sig is not a JSON object');
  if (record.algorithm !== 'ed25519') {
    throw new SignatureError(`unsupported signature algorithm ${JSON.stringify(record.algorithm)} (expected ed25519)`);
  }
  if (typeof record.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(record.keyId)) {
    throw new SignatureError('manifest.sig has no valid keyId (16 hex characters)');
  }
  if (typeof record.signature !== 'string' || Buffer.from(record.signature, 'base64').length !== 64) {
    throw new SignatureError('manifest.sig signature is not 64 base64-encoded bytes');
  }
  return { algorithm: 'ed25519', keyId: record.keyId, signature: record.signature };
}

/**
 * Verifies `signature` over `manifestBytes` with the trusted key it names. Throws
 * UntrustedKeyError when the key is not trusted, SignatureError when the bytes do not verify.
 * Returns the keyId.
 */
export function verifyManifestSignature(manifestBytes: Uint8Array, signature: ManifestSignature, trust: TrustStore): string {
  const key = trust.get(signature.keyId);
  if (key === undefined) throw new UntrustedKeyError(signature.keyId, trust.keyIds());
  const ok = verify(null, manifestBytes, key, Buffer.from(signature.signature, 'base64'));
  if (!ok) {
    throw new SignatureError(`signature by key ${signature.keyId} does not verify: manifest.json was altered or signed by another key`);
  }
  return signature.keyId;
}
