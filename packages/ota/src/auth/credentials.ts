// Per-identity MQTT credentials (docs/ota-protocol.md §identity). A secret is generated, returned
// once, and only hashes are stored: scrypt for the embedded broker and mosquitto's PBKDF2-SHA512
// `$7$` line for an external mosquitto. The hashes are computed here rather than by running
// mosquitto_passwd, because that tool takes the secret on its command line (visible in /proc).
import { createHmac, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
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

// Provisioning: the secrets are hashed concurrently; the file is rewritten by one writer per data
// dir, which applies every entry that arrived meanwhile in one rewrite (a group commit), so
// concurrent calls neither lose an entry nor rewrite the whole file once per device.
interface PendingWrite {
  entries: Map<string, StoredCredential | null>;
  done: Promise<void>;
}
const writers = new Map<string, { running: Promise<void>; next: PendingWrite | undefined }>();

function commit(dataDir: string, username: string, stored: StoredCredential | null): Promise<void> {
  const path = credentialsPath(dataDir);
  let writer = writers.get(path);
  if (writer === undefined) {
    writer = { running: Promise.resolve(), next: undefined };
    writers.set(path, writer);
  }
  const w = writer;
  if (w.next === undefined) {
    const entries = new Map<string, StoredCredential | null>();
    const done = w.running.catch(() => undefined).then(async () => {
      if (w.next?.entries === entries) w.next = undefined;
      const file = await loadCredentials(dataDir);
      for (const [name, entry] of entries) {
        if (entry === null) delete file.users[name];
        else file.users[name] = entry;
      }
      await writeJsonAtomic(path, file, { mode: 0o600 });
    });
    w.next = { entries, done };
    w.running = done;
    done.then(() => {
      if (w.running === done) writers.delete(path);
    }, () => {
      if (w.running === done) writers.delete(path);
    });
  }
  w.next.entries.set(username, stored);
  return w.next.done;
}

async function issue(dataDir: string, username: string, role: Role): Promise<IssuedCredentials> {
  const password = randomBytes(24).toString('base64url');
  const stored = await hashSecret(password, role);
  await commit(dataDir, username, stored);
  return { username, password, role };
}

/** Removes an identity's credentials; its next CONNECT is refused. Returns whether it existed. */
export async function revokeCredentials(dataDir: string, username: string): Promise<boolean> {
  const existed = Object.hasOwn((await loadCredentials(dataDir)).users, username);
  await commit(dataDir, username, null);
  return existed;
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

export interface CredentialVerifierOptions {
  /** Most scrypt checks running at once (default 2; each takes 16 MiB and a libuv thread). */
  maxConcurrentChecks?: number;
}

/** Counters of a CredentialVerifier, for tests and benchmarks. */
export interface CredentialVerifierStats {
  /** Times credentials.json was read and parsed. */
  fileLoads: number;
  /** scrypt checks run (successful or not). */
  checks: number;
  /** Verifications answered from the cache of successful checks. */
  cacheHits: number;
  /** Verifications that joined an identical check already queued or running. */
  joined: number;
  /** Queued checks dropped because every connection waiting for them had closed. */
  abandoned: number;
}

interface CachedSecret {
  /** The stored scrypt hash the secret was checked against: a rotated or revoked entry no longer matches. */
  storedHash: string;
  /** HMAC of the presented secret under a per-process random key (the secret itself is not kept). */
  mac: Buffer;
  role: Role;
}

interface PendingCheck {
  result: Promise<Role | null>;
  /** Callers still waiting; the check is skipped if all of them are gone before it starts. */
  waiters: Array<() => boolean>;
}

/**
 * Verifies CONNECT credentials for the embedded broker without a file read and a 16 MiB scrypt per
 * CONNECT: the parsed credential file is kept until the file changes on disk (checked by stat on
 * every verification, so a device provisioned or revoked by another process counts at once) or
 * reload() is called; successful checks are remembered by a keyed hash of the presented secret and
 * the stored hash they matched (a rotated or revoked secret stops matching), and cleared when the
 * file is reloaded; concurrent scrypt work is bounded, identical concurrent checks share one run,
 * and a queued check whose connections all closed is dropped, so a connect storm converges.
 */
export class CredentialVerifier {
  readonly stats: CredentialVerifierStats = { fileLoads: 0, checks: 0, cacheHits: 0, joined: 0, abandoned: 0 };
  private readonly maxConcurrent: number;
  private readonly macKey = randomBytes(32);
  private file: { version: string; parsed: CredentialFile } | undefined;
  private loading: { version: string; parsed: Promise<CredentialFile> } | undefined;
  private readonly verified = new Map<string, CachedSecret>();
  private readonly pending = new Map<string, PendingCheck>();
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly dataDir: string, options: CredentialVerifierOptions = {}) {
    this.maxConcurrent = Math.max(1, options.maxConcurrentChecks ?? 2);
  }

  /** Forgets the parsed file and every cached verification; the next CONNECT reads the file again. */
  reload(): void {
    this.file = undefined;
    this.verified.clear();
  }

  /**
   * The role of a username/password pair, or null. `abandoned` tells whether the caller still
   * waits (e.g. its connection closed): a queued check nobody waits for is not run.
   */
  async verify(username: string | undefined, password: Uint8Array | undefined, abandoned: () => boolean = () => false): Promise<Role | null> {
    if (username === undefined || password === undefined || password.byteLength === 0 || password.byteLength > 256) return null;
    const file = await this.current();
    const entry = Object.hasOwn(file.users, username) ? file.users[username] : undefined;
    const mac = createHmac('sha256', this.macKey).update(username).update('\0').update(password).digest();
    const cached = this.verified.get(username);
    if (entry !== undefined && cached !== undefined && cached.storedHash === entry.scrypt.hash && timingSafeEqual(cached.mac, mac)) {
      this.stats.cacheHits++;
      return cached.role;
    }
    const key = `${entry?.scrypt.hash ?? '-'}:${mac.toString('base64')}`;
    const joined = this.pending.get(key);
    if (joined !== undefined) {
      this.stats.joined++;
      joined.waiters.push(abandoned);
      return joined.result;
    }
    const check: PendingCheck = { result: Promise.resolve(null), waiters: [abandoned] };
    check.result = this.bounded(async () => {
      if (check.waiters.every((gone) => gone())) {
        this.stats.abandoned++;
        return null;
      }
      this.stats.checks++;
      const role = await verifySecret(file, username, password);
      // Cache only if the file was not reloaded meanwhile (the entry checked is still current).
      if (role !== null && entry !== undefined && this.file?.parsed === file) this.verified.set(username, { storedHash: entry.scrypt.hash, mac, role });
      return role;
    }).finally(() => this.pending.delete(key));
    this.pending.set(key, check);
    return check.result;
  }

  /** The parsed credential file, read again only when its inode, size or mtime changed. */
  private async current(): Promise<CredentialFile> {
    const path = credentialsPath(this.dataDir);
    const info = await stat(path, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    const version = info === undefined ? 'missing' : `${info.ino}:${info.size}:${info.mtimeNs}`;
    if (this.file?.version === version) return this.file.parsed;
    if (this.loading?.version === version) return this.loading.parsed;
    const loading = {
      version,
      parsed: loadCredentials(this.dataDir).then((parsed) => {
        this.stats.fileLoads++;
        this.file = { version, parsed };
        // Cached checks of entries that changed (rotated, revoked) no longer apply.
        for (const [username, cached] of this.verified) {
          if (!Object.hasOwn(parsed.users, username) || parsed.users[username].scrypt.hash !== cached.storedHash) this.verified.delete(username);
        }
        return parsed;
      }).finally(() => {
        if (this.loading === loading) this.loading = undefined;
      }),
    };
    this.loading = loading;
    return loading.parsed;
  }

  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}
