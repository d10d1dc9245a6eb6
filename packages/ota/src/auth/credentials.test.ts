import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { credentialsPath, loadCredentials, mosquittoHash, provisionDevice, provisionServer, verifySecret } from './credentials.js';
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
});
