import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
  BundleFormatError,
  BundleNotFoundError,
  MemberHashError,
  SignatureError,
  UnsafePathError,
  UntrustedKeyError,
  isEdgeloopError,
} from './errors.js';
import {
  fakeModelBytes,
  readRawTar,
  sampleManifestInput,
  sampleMembers,
  testKeys,
  withTempDir,
  writeRawTar,
} from './fixtures.test.helpers.js';
import { sha256, sha256File } from './hash.js';
import { TrustStore, generateKeyPair } from './keys.js';
import { validateManifest } from './manifest.js';
import { createBundle, encodeManifest } from './pack.js';
import { encodeSignature, signManifest } from './signing.js';
import { decodeTensor } from './tensor.js';
import { openBundle } from './unpack.js';

const keys = testKeys();
const trust = TrustStore.fromPems([keys.publicKeyPem]);

async function makeBundle(dir: string, name = 'digits.bundle'): Promise<string> {
  const outPath = join(dir, name);
  await createBundle({ outPath, manifest: sampleManifestInput(), members: sampleMembers(), privateKeyPem: keys.privateKeyPem });
  return outPath;
}

describe('createBundle → openBundle', () => {
  it('round-trips manifest, members, offsets and tensors', async () => {
    await withTempDir(async (dir) => {
      const outPath = join(dir, 'digits.bundle');
      const model = fakeModelBytes(5000);
      const created = await createBundle({
        outPath,
        manifest: sampleManifestInput(),
        members: sampleMembers(model),
        privateKeyPem: keys.privateKeyPem,
      });
      assert.equal(created.bytes, (await stat(outPath)).size);
      assert.equal(created.sha256, await sha256File(outPath));
      assert.equal(created.manifest.schemaVersion, 1);
      assert.deepEqual(
        created.manifest.members.map((m) => [m.path, m.role, m.size]),
        [
          ['model.onnx', 'model', 5000],
          ['golden/0/input.bin', 'golden', 64],
          ['golden/0/logits.bin', 'golden', 12],
        ],
      );
      assert.equal(created.manifest.members[0].sha256, sha256(model));

      const bundle = await openBundle(outPath, { trust });
      assert.deepEqual(bundle.manifest, created.manifest);
      assert.equal(bundle.keyId, keys.keyId);
      assert.equal(bundle.signatureVerified, true);
      assert.equal(bundle.fileSha256, created.sha256);
      assert.deepEqual(await bundle.readMember('model.onnx'), model);

      // The offsets address the member's bytes in the file itself (what mmap / chunked transfer use).
      const file = await readFile(outPath);
      const { offset, size } = bundle.memberOffset('model.onnx');
      assert.equal(offset % 512, 0);
      assert.deepEqual(new Uint8Array(file.subarray(offset, offset + size)), model);

      const golden = bundle.manifest.golden[0];
      const logits = await bundle.readTensor(golden.outputs.logits);
      assert.deepEqual(logits.dims, [1, 3]);
      assert.deepEqual(Array.from(decodeTensor('float32', logits.data)), [Math.fround(0.1), 2.5, -1]);
      assert.throws(() => bundle.memberOffset('nope.bin'), BundleFormatError);
    });
  });

  it('writes a tar that /usr/bin/tar lists, manifest first and signature second', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir);
      const result = spawnSync('tar', ['tf', outPath], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.deepEqual(result.stdout.trim().split('\n'), [
        'manifest.json',
        'manifest.sig',
        'model.onnx',
        'golden/0/input.bin',
        'golden/0/logits.bin',
      ]);
      const extract = spawnSync('tar', ['xf', outPath, '-C', dir, 'model.onnx'], { encoding: 'utf8' });
      assert.equal(extract.status, 0, extract.stderr);
      assert.deepEqual(new Uint8Array(await readFile(join(dir, 'model.onnx'))), fakeModelBytes());
    });
  });

  it('streams members given as files and produces the same bundle as in-memory data', async () => {
    await withTempDir(async (dir) => {
      const modelPath = join(dir, 'student.onnx');
      const model = randomBytes(3 * 1024 * 1024 + 17);
      await writeFile(modelPath, model);
      const members = sampleMembers();
      members[0] = { path: 'model.onnx', role: 'model', data: { file: modelPath } };
      const createdAt = new Date('2026-01-02T03:04:05.000Z');
      const fromFile = await createBundle({
        outPath: join(dir, 'a.bundle'),
        manifest: sampleManifestInput(),
        members,
        privateKeyPem: keys.privateKeyPem,
        createdAt,
      });
      members[0] = { path: 'model.onnx', role: 'model', data: model };
      const fromMemory = await createBundle({
        outPath: join(dir, 'b.bundle'),
        manifest: sampleManifestInput(),
        members,
        privateKeyPem: keys.privateKeyPem,
        createdAt,
      });
      assert.equal(fromFile.sha256, fromMemory.sha256, 'ed25519 is deterministic, so identical inputs give identical files');
      const bundle = await openBundle(join(dir, 'a.bundle'), { trust });
      assert.equal(bundle.memberOffset('model.onnx').size, model.length);
    });
  });

  it('is atomic: a missing member file leaves neither the bundle nor a temp file', async () => {
    await withTempDir(async (dir) => {
      const members = sampleMembers();
      members[0] = { path: 'model.onnx', role: 'model', data: { file: join(dir, 'missing.onnx') } };
      const outPath = join(dir, 'out.bundle');
      await assert.rejects(
        createBundle({ outPath, manifest: sampleManifestInput(), members, privateKeyPem: keys.privateKeyPem }),
        { name: 'MemberSourceError', code: 'MEMBER_SOURCE', message: /cannot read member model\.onnx from .*missing\.onnx: ENOENT/ },
      );
      assert.deepEqual(await readdir(dir), []);
    });
  });

  it('leaves an existing bundle untouched when a replacement fails', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir, 'out.bundle');
      const before = await sha256File(outPath);
      const members = sampleMembers();
      // A manifest that fails validation is rejected before anything is written.
      await assert.rejects(
        createBundle({ outPath, manifest: sampleManifestInput({ version: 0 }), members, privateKeyPem: keys.privateKeyPem }),
        /version/,
      );
      assert.equal(await sha256File(outPath), before);
      assert.deepEqual(await readdir(dir), ['out.bundle']);
    });
  });

  it('rejects unsafe and duplicate member paths when packing', async () => {
    await withTempDir(async (dir) => {
      for (const bad of ['../evil.onnx', '/etc/passwd', 'a/../../b', 'a//b', 'C:/x', 'manifest.sig']) {
        const members = sampleMembers();
        members.push({ path: bad, role: 'extra', data: new Uint8Array(1) });
        await assert.rejects(
          createBundle({ outPath: join(dir, 'x.bundle'), manifest: sampleManifestInput(), members, privateKeyPem: keys.privateKeyPem }),
          (error: unknown) => error instanceof BundleFormatError,
          bad,
        );
      }
      const members = sampleMembers();
      members.push({ ...members[1] });
      await assert.rejects(
        createBundle({ outPath: join(dir, 'x.bundle'), manifest: sampleManifestInput(), members, privateKeyPem: keys.privateKeyPem }),
        /duplicate member golden\/0\/input\.bin/,
      );
      assert.deepEqual(await readdir(dir), []);
    });
  });
});

describe('openBundle rejects tampering', () => {
  it('names the member whose byte was altered', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir);
      const bundle = await openBundle(outPath, { trust });
      const { offset } = bundle.memberOffset('golden/0/logits.bin');
      const file = await readFile(outPath);
      file[offset + 2] ^= 0x01;
      await writeFile(outPath, file);
      await assert.rejects(openBundle(outPath, { trust }), (error: unknown) => {
        assert.ok(error instanceof MemberHashError);
        assert.equal(error.code, 'MEMBER_HASH');
        assert.equal(error.memberPath, 'golden/0/logits.bin');
        assert.match(error.message, /golden\/0\/logits\.bin/);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
      // A member altered after opening is caught by readMember too.
      await assert.rejects(bundle.readMember('golden/0/logits.bin'), MemberHashError);
    });
  });

  it('detects an altered manifest (version bumped) as a SignatureError', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir);
      const entries = await readRawTar(outPath);
      const text = Buffer.from(entries[0].data).toString('utf8');
      entries[0].data = Buffer.from(text.replace('"version": 3', '"version": 4'));
      assert.notEqual(Buffer.from(entries[0].data).toString('utf8'), text);
      await writeRawTar(outPath, entries);
      await assert.rejects(openBundle(outPath, { trust }), (error: unknown) => {
        assert.ok(error instanceof SignatureError);
        assert.equal(error.code, 'SIGNATURE_INVALID');
        assert.match(error.message, /altered/);
        return true;
      });
    });
  });

  it('rejects a key that is not trusted and names its keyId', async () => {
    await withTempDir(async (dir) => {
      const stranger = generateKeyPair();
      const outPath = join(dir, 'x.bundle');
      await createBundle({ outPath, manifest: sampleManifestInput(), members: sampleMembers(), privateKeyPem: stranger.privateKeyPem });
      await assert.rejects(openBundle(outPath, { trust }), (error: unknown) => {
        assert.ok(error instanceof UntrustedKeyError);
        assert.equal(error.keyId, stranger.keyId);
        assert.match(error.message, new RegExp(stranger.keyId));
        return true;
      });
      const opened = await openBundle(outPath, { trust: 'skip-signature' });
      assert.equal(opened.signatureVerified, false);
      assert.equal(opened.keyId, stranger.keyId);
    });
  });

  it('rejects a signature that claims a trusted keyId but was made by another key', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir);
      const entries = await readRawTar(outPath);
      const forged = signManifest(entries[0].data, generateKeyPair().privateKeyPem);
      entries[1].data = encodeSignature({ ...forged, keyId: keys.keyId });
      await writeRawTar(outPath, entries);
      await assert.rejects(openBundle(outPath, { trust }), SignatureError);
    });
  });
});

describe('openBundle rejects damaged or hostile files', () => {
  it('fails clearly on empty, random, truncated and missing files', async () => {
    await withTempDir(async (dir) => {
      const empty = join(dir, 'empty.bundle');
      await writeFile(empty, '');
      await assert.rejects(openBundle(empty, { trust }), { name: 'BundleFormatError', message: /empty file/ });

      const random = join(dir, 'random.bundle');
      await writeFile(random, randomBytes(4096));
      await assert.rejects(openBundle(random, { trust }), { name: 'BundleFormatError', message: /not a ustar bundle/ });

      await assert.rejects(openBundle(join(dir, 'nope.bundle'), { trust }), (error: unknown) => {
        assert.ok(error instanceof BundleNotFoundError && error instanceof BundleFormatError);
        assert.equal(error.code, 'BUNDLE_NOT_FOUND');
        assert.ok(isEdgeloopError(error));
        return true;
      });
      await assert.rejects(openBundle(dir, { trust }), /not a regular file/);

      const outPath = await makeBundle(dir);
      const { size } = await stat(outPath);
      for (const cut of [100, 512, 1500, size - 2000, size - 1024, size - 1]) {
        const copy = join(dir, `cut-${cut}.bundle`);
        await writeFile(copy, (await readFile(outPath)).subarray(0, cut));
        await assert.rejects(openBundle(copy, { trust }), BundleFormatError, `cut at ${cut}`);
      }
      await truncate(outPath, size - 700);
      await assert.rejects(openBundle(outPath, { trust }), /truncated bundle/);
    });
  });

  it('rejects path traversal, duplicates, unlisted and missing members, reordering, trailing garbage', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir);
      const entries = await readRawTar(outPath);
      const path = join(dir, 'hostile.bundle');
      const expectRejection = async (
        crafted: { path: string; data: Uint8Array }[],
        pattern: RegExp,
        options?: { trailing?: Uint8Array },
      ): Promise<void> => {
        await writeRawTar(path, crafted, options);
        await assert.rejects(openBundle(path, { trust }), (error: unknown) => {
          assert.ok(error instanceof BundleFormatError, String(error));
          assert.match(error.message, pattern);
          return true;
        });
      };

      const traversal = [...entries, { path: '../../etc/cron.d/evil', data: new Uint8Array(4) }];
      await writeRawTar(path, traversal);
      await assert.rejects(openBundle(path, { trust }), UnsafePathError);
      await expectRejection([...entries, { path: '/etc/passwd', data: new Uint8Array(4) }], /absolute path/);
      await expectRejection([...entries, entries[3]], /duplicate member golden\/0\/input\.bin/);
      await expectRejection([...entries, { path: 'extra.bin', data: new Uint8Array(4) }], /extra\.bin is not listed/);
      await expectRejection(entries.slice(0, 4), /missing from bundle: golden\/0\/logits\.bin/);
      await expectRejection([entries[0], entries[1], entries[3], entries[2], entries[4]], /out of manifest order/);
      await expectRejection([entries[1], entries[0], ...entries.slice(2)], /expected manifest\.json/);
      await expectRejection(entries, /trailing garbage/, { trailing: Buffer.from('junk') });
      // Zero padding after the end marker (tar record padding) is fine.
      await writeRawTar(path, entries, { trailing: new Uint8Array(8192) });
      await openBundle(path, { trust });
    });
  });

  it('rejects a member whose size differs from the manifest', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir);
      const entries = await readRawTar(outPath);
      entries[2].data = entries[2].data.subarray(0, 100);
      await writeRawTar(outPath, entries);
      await assert.rejects(openBundle(outPath, { trust }), { name: 'BundleSizeError', message: /model\.onnx is 100 bytes, manifest says 3000/ });
    });
  });

  it('rejects a validly signed manifest that breaks the schema', async () => {
    await withTempDir(async (dir) => {
      const outPath = await makeBundle(dir);
      const entries = await readRawTar(outPath);
      const manifest = JSON.parse(Buffer.from(entries[0].data).toString('utf8')) as Record<string, unknown>;
      manifest.task = 'segmentation';
      const bytes = Buffer.from(JSON.stringify(manifest));
      entries[0].data = bytes;
      entries[1].data = encodeSignature(signManifest(bytes, keys.privateKeyPem));
      await writeRawTar(outPath, entries);
      await assert.rejects(openBundle(outPath, { trust }), { name: 'ManifestSchemaError', message: /\/task/ });
      assert.throws(() => validateManifest(manifest), { code: 'MANIFEST_SCHEMA' });
      assert.ok(encodeManifest(validateManifest({ ...manifest, task: 'raw' })).byteLength > 0);
    });
  });
});
