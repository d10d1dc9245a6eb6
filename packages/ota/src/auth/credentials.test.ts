import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  CredentialVerifier, credentialsPath, loadCredentials, mosquittoHash, provisionDevice, provisionServer, revokeCredentials, verifySecret,
} from './credentials.js';
import { mosquittoAclFile, mosquittoPasswordFile } from './mosquitto.js';

describe('credentials', () => {
  it('produces mosquitto_passwd-compatible PBKDF2-SHA512 hashes', async () => {
    // Vector made with `mosquitto_passwd -b file alice secret123` (mosquitto 2.0.11).
    const salt = Buffer.from('EkxMyB88ToxbHC9z', 'base64');
    assert.equal(
      await mosquittoHash('secret123', salt, 101),
      '$7$101$EkxMyB88ToxbHC9z$K7sFcrSdrAzvPOT7G85JIk25btLwJkVcbdFH1TqbGUOGbFb02/eOgcDG1NRILvHtDpIdOwehx0VU/lsQFcch7A==',
    );
  });

  it('issues a secret once, stores only hashes, and verifies it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloop-creds-'));
    try {
      const device = await provisionDevice(dir, 'dev-1');
      const server = await provisionServer(dir);
      const stored = await readFile(credentialsPath(dir), 'utf8');
      assert.ok(!stored.includes(device.password) && !stored.includes(server.password), 'no plaintext secret on disk');
      const file = await loadCredentials(dir);
      assert.equal(await verifySecret(file, 'dev-1', Buffer.from(device.password)), 'device');
      assert.equal(await verifySecret(file, 'edgeloop-server', Buffer.from(server.password)), 'server');
      assert.equal(await verifySecret(file, 'dev-1', Buffer.from(server.password)), null);
      assert.equal(await verifySecret(file, 'dev-2', Buffer.from(device.password)), null);
      assert.equal(await verifySecret(file, undefined, undefined), null);
      assert.equal(await verifySecret(file, '__proto__', Buffer.from('x')), null);
      await assert.rejects(provisionDevice(dir, 'dev/+'), { code: 'INVALID_DEVICE_ID' });
      await assert.rejects(provisionDevice(dir, '#'), { code: 'INVALID_DEVICE_ID' });
      // Rotation replaces the old secret.
      const rotated = await provisionDevice(dir, 'dev-1');
      const after = await loadCredentials(dir);
      assert.equal(await verifySecret(after, 'dev-1', Buffer.from(device.password)), null);
      assert.equal(await verifySecret(after, 'dev-1', Buffer.from(rotated.password)), 'device');

      const passwordFile = mosquittoPasswordFile(after);
      assert.match(passwordFile, /^dev-1:\$7\$101\$/m);
      assert.match(passwordFile, /^edgeloop-server:\$7\$101\$/m);
      const acl = mosquittoAclFile(after, new Map([['dev-1', ['c'.repeat(64)]]]));
      assert.match(acl, /^pattern write edgeloop\/v1\/devices\/%u\/state$/m);
      assert.match(acl, /^pattern read edgeloop\/v1\/devices\/%u\/desired$/m);
      assert.doesNotMatch(acl, /^pattern write edgeloop\/v1\/devices\/%u\/desired$/m);
      assert.match(acl, new RegExp(`^user dev-1\\ntopic read edgeloop/v1/bundles/${'c'.repeat(64)}/chunks$`, 'm'));
      assert.match(acl, /^user edgeloop-server\ntopic readwrite edgeloop\/v1\/#$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('provisions concurrently without losing an entry, and revokes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloop-creds-'));
    try {
      const issued = await Promise.all(Array.from({ length: 12 }, (_, i) => provisionDevice(dir, `dev-${i}`)));
      const file = await loadCredentials(dir);
      assert.deepEqual(Object.keys(file.users).sort(), issued.map((c) => c.username).sort());
      for (const c of issued.slice(0, 3)) assert.equal(await verifySecret(file, c.username, Buffer.from(c.password)), 'device');
      assert.equal(await revokeCredentials(dir, 'dev-0'), true);
      assert.equal(await revokeCredentials(dir, 'dev-0'), false);
      assert.equal(Object.hasOwn((await loadCredentials(dir)).users, 'dev-0'), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('caches the file and successful checks, and drops them when a secret is rotated or revoked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloop-creds-'));
    try {
      const a = await provisionDevice(dir, 'dev-a');
      const b = await provisionDevice(dir, 'dev-b');
      const verifier = new CredentialVerifier(dir, { maxConcurrentChecks: 1 });
      const pw = (s: string): Buffer => Buffer.from(s);
      assert.equal(await verifier.verify('dev-a', pw(a.password)), 'device');
      assert.equal(await verifier.verify('dev-a', pw(a.password)), 'device');
      assert.equal(await verifier.verify('dev-a', pw(a.password)), 'device');
      assert.deepEqual({ loads: verifier.stats.fileLoads, checks: verifier.stats.checks, hits: verifier.stats.cacheHits }, { loads: 1, checks: 1, hits: 2 });
      // A wrong secret is never answered from the cache.
      assert.equal(await verifier.verify('dev-a', pw(b.password)), null);
      assert.equal(verifier.stats.checks, 2);

      // Identical concurrent checks share one scrypt run.
      const together = await Promise.all(Array.from({ length: 5 }, () => verifier.verify('dev-b', pw(b.password))));
      assert.deepEqual(together, Array(5).fill('device'));
      assert.equal(verifier.stats.checks, 3);
      assert.equal(verifier.stats.joined, 4);

      // Rotation (by this or another process: the file changes on disk) invalidates the cached check.
      const rotated = await provisionDevice(dir, 'dev-a');
      assert.equal(await verifier.verify('dev-a', pw(a.password)), null);
      assert.equal(await verifier.verify('dev-a', pw(rotated.password)), 'device');
      assert.equal(verifier.stats.fileLoads, 2);
      // Revocation too.
      await revokeCredentials(dir, 'dev-b');
      assert.equal(await verifier.verify('dev-b', pw(b.password)), null);
      // reload() forgets cached checks: the next verification runs scrypt again.
      const checks = verifier.stats.checks;
      assert.equal(await verifier.verify('dev-a', pw(rotated.password)), 'device');
      assert.equal(verifier.stats.checks, checks, 'served from the cache');
      verifier.reload();
      assert.equal(await verifier.verify('dev-a', pw(rotated.password)), 'device');
      assert.equal(verifier.stats.checks, checks + 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bounds concurrent checks and skips queued checks whose callers are gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeloop-creds-'));
    try {
      const issued = await Promise.all(Array.from({ length: 6 }, (_, i) => provisionDevice(dir, `dev-${i}`)));
      const verifier = new CredentialVerifier(dir, { maxConcurrentChecks: 1 });
      const gone = (): boolean => true;
      const results = await Promise.all(issued.map((c, i) => verifier.verify(c.username, Buffer.from(c.password), i === 0 ? undefined : gone)));
      // The first check started before anyone could leave; the five queued behind it were dropped.
      assert.deepEqual(results, ['device', null, null, null, null, null]);
      assert.equal(verifier.stats.checks, 1);
      assert.equal(verifier.stats.abandoned, 5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
