import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { sampleManifestInput, sampleMembers, testKeys, withTempDir } from './fixtures.test.helpers.js';
import { TrustStore, generateKeyPair } from './keys.js';
import { createBundle } from './pack.js';
import { inspectBundle, verifyBundle } from './verify.js';

const keys = testKeys();
const trust = TrustStore.fromPems([keys.publicKeyPem]);

async function makeBundle(dir: string, privateKeyPem = keys.privateKeyPem): Promise<string> {
  const outPath = join(dir, 'digits.bundle');
  await createBundle({ outPath, manifest: sampleManifestInput(), members: sampleMembers(), privateKeyPem });
  return outPath;
}

describe('inspectBundle', () => {
  it('shows manifest, claimed key and member layout without trust', async () => {
    await withTempDir(async (dir) => {
      const stranger = generateKeyPair();
      const path = await makeBundle(dir, stranger.privateKeyPem);
      const info = await inspectBundle(path);
      assert.equal(info.manifest.name, 'digits');
      assert.deepEqual(info.signature, { algorithm: 'ed25519', keyId: stranger.keyId });
      assert.deepEqual(info.members.map((m) => m.path), ['model.onnx', 'golden/0/input.bin', 'golden/0/logits.bin']);
      const file = await readFile(path);
      const model = info.members[0];
      assert.equal(model.role, 'model');
      assert.equal(file.subarray(model.offset, model.offset + model.size).length, 3000);
      assert.equal(info.bytes, file.length);
    });
  });
});

describe('verifyBundle', () => {
  it('passes every check on a good bundle', async () => {
    await withTempDir(async (dir) => {
      const report = await verifyBundle(await makeBundle(dir), trust);
      assert.equal(report.ok, true);
      assert.equal(report.keyId, keys.keyId);
      assert.equal(report.version, 3);
      assert.match(report.fileSha256 ?? '', /^[0-9a-f]{64}$/);
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.status]),
        [
          ['format', 'pass'],
          ['signature', 'pass'],
          ['manifest', 'pass'],
          ['member:model.onnx', 'pass'],
          ['member:golden/0/input.bin', 'pass'],
          ['member:golden/0/logits.bin', 'pass'],
        ],
      );
    });
  });

  it('reports each failing check and keeps checking the rest', async () => {
    await withTempDir(async (dir) => {
      const stranger = generateKeyPair();
      const path = await makeBundle(dir, stranger.privateKeyPem);
      const file = await readFile(path);
      const info = await inspectBundle(path);
      file[info.members[1].offset] ^= 0xff;
      await writeFile(path, file);
      const report = await verifyBundle(path, trust);
      assert.equal(report.ok, false);
      const byName = new Map(report.checks.map((c) => [c.name, c]));
      assert.equal(byName.get('signature')?.code, 'KEY_UNTRUSTED');
      assert.match(byName.get('signature')?.message ?? '', new RegExp(stranger.keyId));
      assert.equal(byName.get('manifest')?.status, 'pass');
      assert.equal(byName.get('member:model.onnx')?.status, 'pass');
      assert.equal(byName.get('member:golden/0/input.bin')?.code, 'MEMBER_HASH');

      const skipped = await verifyBundle(path, 'skip-signature');
      assert.equal(skipped.checks.find((c) => c.name === 'signature')?.status, 'skipped');
    });
  });

  it('reports structural damage as a failed format check instead of throwing', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'junk.bundle');
      await writeFile(path, 'definitely not a tar file');
      const report = await verifyBundle(path, trust);
      assert.equal(report.ok, false);
      assert.equal(report.checks[0].name, 'format');
      assert.equal(report.checks[0].code, 'BUNDLE_FORMAT');
      const missing = await verifyBundle(join(dir, 'missing.bundle'), trust);
      assert.equal(missing.checks[0].code, 'BUNDLE_NOT_FOUND');
    });
  });
});
