// ed25519 keys with Node's crypto: generation, key ids, PEM files, and the trust store a device
// checks bundle signatures against.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmod, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { KeyFormatError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';

export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem,
    keyId: keyIdOf(publicKey),
  };
}

/** Parses an ed25519 public key (SPKI PEM, or a private key PEM from which the public half is taken). */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new KeyFormatError(`not a PEM public key: ${firstLine(error)}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeyFormatError(`expected an ed25519 public key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

export function parsePrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new KeyFormatError(`not a PEM private key: ${firstLine(error)}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeyFormatError(`expected an ed25519 private key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  return key;
}

/** The raw 32-byte ed25519 public key. */
export function rawPublicKey(key: KeyObject | string): Uint8Array {
  const publicKey = typeof key === 'string' ? parsePublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new KeyFormatError('ed25519 key has no public component');
  return Buffer.from(jwk.x, 'base64url');
}

/** keyId = first 16 hex characters of sha256(raw 32-byte public key). */
export function keyIdOf(key: KeyObject | string): string {
  return createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 16);
}

export function publicKeyPemFromPrivate(privateKeyPem: string): string {
  return createPublicKey(parsePrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

/** Writes a private key PEM readable by the owner only (0600, also when the file already existed). */
export async function savePrivateKey(path: string, privateKeyPem: string): Promise<void> {
  parsePrivateKey(privateKeyPem);
  await writeFileAtomic(path, privateKeyPem, { mode: 0o600 });
  await chmod(path, 0o600); // exactly 0600 whatever the umask
}

export async function savePublicKey(path: string, publicKeyPem: string): Promise<void> {
  parsePublicKey(publicKeyPem);
  await writeFileAtomic(path, publicKeyPem, { mode: 0o644 });
}

/** Writes `<basePath>.key` (0600) and `<basePath>.pub`; returns both paths. */
export async function saveKeyPair(basePath: string, pair: KeyPair): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  const privateKeyPath = `${basePath}.key`;
  const publicKeyPath = `${basePath}.pub`;
  await savePrivateKey(privateKeyPath, pair.privateKeyPem);
  await savePublicKey(publicKeyPath, pair.publicKeyPem);
  return { privateKeyPath, publicKeyPath };
}

export async function loadPrivateKey(path: string): Promise<string> {
  const pem = await readKeyFile(path);
  parsePrivateKey(pem);
  return pem;
}

export async function loadPublicKey(path: string): Promise<string> {
  const pem = await readKeyFile(path);
  parsePublicKey(pem);
  return pem;
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyFormatError(`cannot read key file ${path}: ${firstLine(error)}`, { cause: error });
  }
}

/** The set of public keys a device (or a verifier) accepts bundle signatures from. */
export class TrustStore {
  private readonly keys = new Map<string, KeyObject>();

  static fromPems(pems: Iterable<string>): TrustStore {
    const store = new TrustStore();
    for (const pem of pems) store.add(pem);
    return store;
  }

  /** Loads every `.pub` and `.pem` file in `dir`; a file that is not an ed25519 public key is an error. */
  static async fromDirectory(dir: string): Promise<TrustStore> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      throw new KeyFormatError(`cannot read trust directory ${dir}: ${firstLine(error)}`, { cause: error });
    }
    const store = new TrustStore();
    for (const name of names.filter((n) => n.endsWith('.pub') || n.endsWith('.pem')).sort()) {
      const pem = await readKeyFile(join(dir, name));
      try {
        store.add(pem);
      } catch (error) {
        throw new KeyFormatError(`trust directory ${dir}: ${name}: ${firstLine(error)}`, { cause: error });
      }
    }
    return store;
  }

  /**
   * Builds a store from paths that are public key files or directories of them (as given to
   * `--trust` on the command line).
   */
  static async fromPaths(paths: Iterable<string>): Promise<TrustStore> {
    const store = new TrustStore();
    for (const path of paths) {
      let isDir: boolean;
      try {
        isDir = (await stat(path)).isDirectory();
      } catch (error) {
        throw new KeyFormatError(`cannot read trusted key ${path}: ${firstLine(error)}`, { cause: error });
      }
      if (isDir) {
        const dirStore = await TrustStore.fromDirectory(path);
        for (const keyId of dirStore.keyIds()) store.keys.set(keyId, dirStore.keys.get(keyId)!);
      } else {
        const pem = await readKeyFile(path);
        try {
          store.add(pem);
        } catch (error) {
          throw new KeyFormatError(`${path}: ${firstLine(error)}`, { cause: error });
        }
      }
    }
    return store;
  }

  /** Adds a public key PEM; returns its keyId. Private key PEMs are rejected (a trust store holds no secrets). */
  add(publicKeyPem: string): string {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(publicKeyPem)) {
      throw new KeyFormatError('trust store takes public keys only, got a private key');
    }
    const key = parsePublicKey(publicKeyPem);
    const keyId = keyIdOf(key);
    this.keys.set(keyId, key);
    return keyId;
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  get(keyId: string): KeyObject | undefined {
    return this.keys.get(keyId);
  }

  keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  get size(): number {
    return this.keys.size;
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
