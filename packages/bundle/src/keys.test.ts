import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { KeyFormatError, SignatureError, UntrustedKeyError } from './errors.js';
import { withTempDir } from './fixtures.test.helpers.js';
import {
  TrustStore,
  generateKeyPair,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
  publicKeyPemFromPrivate,
  rawPublicKey,
  saveKeyPair,
} from './keys.js';
import { encodeSignature, parseSignature, signManifest, verifyManifestSignature } from './signing.js';

describe('keys', () => {
  it('derives keyId from the raw 32-byte public key', () => {
    const pair = generateKeyPair();
    assert.match(pair.keyId, /^[0-9a-f]{16}$/);
    const raw = rawPublicKey(pair.publicKeyPem);
    assert.equal(raw.length, 32);
    // The raw key is the tail of the SPKI DER encoding.
    const der = createPublicKey(pair.publicKeyPem).export({ type: 'spki', format: 'der' });
    assert.deepEqual(Buffer.from(raw), der.subarray(der.length - 32));
    assert.equal(pair.keyId, createHash('sha256').update(raw).digest('hex').slice(0, 16));
    assert.equal(keyIdOf(publicKeyPemFromPrivate(pair.privateKeyPem)), pair.keyId);
  });

  it('saves the private key with mode 0600 and loads both halves back', async () => {
    await withTempDir(async (dir) => {
      const pair = generateKeyPair();
      const base = join(dir, 'release');
      await writeFile(`${base}.key`, 'old', { mode: 0o644 });
      const { privateKeyPath, publicKeyPath } = await saveKeyPair(base, pair);
      assert.equal((await stat(privateKeyPath)).mode & 0o777, 0o600);
      assert.equal(await loadPrivateKey(privateKeyPath), pair.privateKeyPem);
      assert.equal(await loadPublicKey(publicKeyPath), pair.publicKeyPem);
      await assert.rejects(loadPublicKey(join(dir, 'none.pub')), KeyFormatError);
    });
  });

  it('rejects non-ed25519 and malformed keys', () => {
    assert.throws(() => TrustStore.fromPems(['not a pem']), KeyFormatError);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    assert.throws(() => TrustStore.fromPems([ec.export({ type: 'spki', format: 'pem' }).toString()]), /expected an ed25519 public key, got ec/);
    assert.throws(() => TrustStore.fromPems([generateKeyPair().privateKeyPem]), /public keys only/);
  });

  it('loads a trust store from a directory of .pub and .pem files', async () => {
    await withTempDir(async (dir) => {
      const a = generateKeyPair();
      const b = generateKeyPair();
      await writeFile(join(dir, 'a.pub'), a.publicKeyPem);
      await writeFile(join(dir, 'b.pem'), b.publicKeyPem);
      await writeFile(join(dir, 'README.txt'), 'ignored');
      const store = await TrustStore.fromDirectory(dir);
      assert.equal(store.size, 2);
      assert.deepEqual(store.keyIds(), [a.keyId, b.keyId].sort());
      assert.ok(store.has(a.keyId));
      await writeFile(join(dir, 'c.pem'), 'garbage');
      await assert.rejects(TrustStore.fromDirectory(dir), /c\.pem/);
      await assert.rejects(TrustStore.fromDirectory(join(dir, 'missing')), KeyFormatError);
    });
  });
});

describe('manifest signatures', () => {
  const pair = generateKeyPair();
  const trust = TrustStore.fromPems([pair.publicKeyPem]);
  const bytes = Buffer.from('{"name":"x"}\n');

  it('signs and verifies the exact bytes', () => {
    const signature = parseSignature(encodeSignature(signManifest(bytes, pair.privateKeyPem)));
    assert.equal(signature.algorithm, 'ed25519');
    assert.equal(signature.keyId, pair.keyId);
    assert.equal(verifyManifestSignature(bytes, signature, trust), pair.keyId);
    assert.throws(() => verifyManifestSignature(Buffer.from('{"name":"x"} \n'), signature, trust), SignatureError);
    assert.throws(() => verifyManifestSignature(bytes, signature, new TrustStore()), UntrustedKeyError);
  });

  it('rejects malformed signature records', () => {
    assert.throws(() => parseSignature(Buffer.from('nope')), /not valid JSON/);
    assert.throws(() => parseSignature(Buffer.from('{"algorithm":"rsa"}')), /unsupported signature algorithm/);
    assert.throws(() => parseSignature(Buffer.from('{"algorithm":"ed25519","keyId":"x"}')), /keyId/);
    assert.throws(
      () => parseSignature(Buffer.from(JSON.stringify({ algorithm: 'ed25519', keyId: pair.keyId, signature: 'AAAA' }))),
      /64 base64/,
    );
  });
});

