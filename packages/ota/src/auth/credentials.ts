// Per-identity MQTT credentials (docs/ota-protocol.md §identity). A secret is generated, returned
// once, and only hashes are stored: scrypt for the embedded broker and mosquitto's PBKDF2-SHA512
// `$7$` line for an external mosquitto. The hashes are computed here rather than by running
// mosquitto_passwd, because that tool takes the secret on its command line (visible in /proc).
import { pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CredentialsError, StateCorruptError } from '../errors.js';
import { writeJsonAtomic } from '@edgeloop/bundle';
import { assertDeviceId } from '../topics.js';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);

export const DEFAULT_SERVER_USERNAME = 'edgeloop-server';
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 };
/** mosquitto_passwd's own default; mosquitto reads the count from each line. */
const MOSQUITTO_PBKDF2_ITERATIONS = 101;

export type Role = 'device' | 'server';

export interface StoredCredential {
  role: Role;
  scrypt: { N: number; r: number; p: number; salt: string; hash: string };
  /** The hash part of a mosquitto password_file line (`$7$…`). */
  mosquittoHash: string;
  createdAt: string;
}

export interface CredentialFile {
  v: 1;
  users: Record<string, StoredCredential>;
}

export interface IssuedCredentials {
  username: string;
  /** Shown once; the server keeps only hashes. */
  password: string;
  role: Role;
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'auth', 'credentials.json');
}

export async function loadCredentials(dataDir: string): Promise<CredentialFile> {
  let text: string;
  try {
    text = await readFile(credentialsPath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { v: 1, users: {} };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as CredentialFile;
    if (parsed.v !== 1 || typeof parsed.users !== 'object' || parsed.users === null) throw new Error('bad shape');
    return parsed;
  } catch (error) {
    throw new StateCorruptError(`credential file ${credentialsPath(dataDir)} is corrupt`, { cause: error });
  }
}

// Provisioning calls are serialized per process so two concurrent calls cannot lose an entry.
let provisionQueue: Promise<unknown> = Promise.resolve();

async function issue(dataDir: string, username: string, role: Role): Promise<IssuedCredentials> {
  const run = async (): Promise<IssuedCredentials> => {
    const password = randomBytes(24).toString('base64url');
    const stored = await hashSecret(password, role);
    const file = await loadCredentials(dataDir);
    file.users[username] = stored;
    await writeJsonAtomic(credentialsPath(dataDir), file, { mode: 0o600 });
    return { username, password, role };
  };
  const next = provisionQueue.then(run, run);
  provisionQueue = next.catch(() => undefined);
  return next;
}

/** Issues (or rotates) the credentials of a device; the returned password is not stored anywhere. */
export async function provisionDevice(dataDir: string, deviceId: string): Promise<IssuedCredentials> {
  assertDeviceId(deviceId);
  return issue(dataDir, deviceId, 'device');
}

/** Issues (or rotates) the fleet server's credentials (full rights under edgeloop/v1/). */
export async function provisionServer(dataDir: string, username = DEFAULT_SERVER_USERNAME): Promise<IssuedCredentials> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(username)) throw new CredentialsError(`invalid server username ${JSON.stringify(username)}`);
  return issue(dataDir, username, 'server');
}

export async function hashSecret(password: string, role: Role): Promise<StoredCredential> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, SCRYPT.keyLength, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return {
    role,
    scrypt: { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64'), hash: hash.toString('base64') },
    mosquittoHash: await mosquittoHash(password),
    createdAt: new Date().toISOString(),
  };
}

/** mosquitto 2.x password_file hash: `$7$<iterations>$<base64 salt(12)>$<base64 PBKDF2-SHA512(64)>`. */
export async function mosquittoHash(password: string, salt = randomBytes(12), iterations = MOSQUITTO_PBKDF2_ITERATIONS): Promise<string> {
  const hash = await pbkdf2Async(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

// A fixed dummy so an unknown username costs one scrypt like a known one (no user enumeration by timing).
const DUMMY = { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: Buffer.alloc(16).toString('base64'), hash: Buffer.alloc(32).toString('base64') };

/** Checks a username/password pair against the stored hashes; returns the role, or null. */
export async function verifySecret(file: CredentialFile, username: string | undefined, password: Uint8Array | undefined): Promise<Role | null> {
  if (username === undefined || password === undefined || password.byteLength === 0 || password.byteLength > 256) return null;
  const entry = Object.hasOwn(file.users, username) ? file.users[username] : undefined;
  const params = entry?.scrypt ?? DUMMY;
  const expected = Buffer.from(params.hash, 'base64');
  const actual = await scryptAsync(Buffer.from(password).toString('utf8'), Buffer.from(params.salt, 'base64'), expected.length, {
    N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024,
  });
  const same = actual.length === expected.length && timingSafeEqual(actual, expected);
  return entry !== undefined && same ? entry.role : null;
}
