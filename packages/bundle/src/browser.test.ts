// The browser reader runs on WebCrypto, which Node also has: the same bundle must open with
// openBundleBytes exactly when it opens with openBundle, and fail with the same named errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBundleBytes } from './browser.js';
import { createBundle } from './pack.js';
import { generateKeyPair } from './keys.js';
import { BundleFormatError, MemberHashError, SignatureError, UntrustedKeyError } from './errors.js';
import type { ManifestInput } from './manifest.js';

describe('openBundleBytes (WebCrypto)', () => {
  let dir: string;
  let bytes: Uint8Array;
  const signer = generateKeyPair();
  const stranger = generateKeyPair();
  const model = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
  const golden = new Float32Array([1.5, -2, 3.25]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-browser-'));
    const manifest: ManifestInput = {
      name: 'b',
      version: 4,
      task: 'raw',
      labels: [],
      targetProfile: 'browser-wasm',
      model: { path: 'model.onnx', inputs: [{ name: 'x', dtype: 'float32', shape: [3] }], outputs: [{ name: 'y', dtype: 'float32', shape: [3] }], opset: 17, precision: 'fp32' },
      provenance: {},
      metrics: {},
      golden: [{ inputs: { x: { member: 'golden/x.bin', dtype: 'float32', dims: [3] } }, outputs: { y: { member: 'golden/x.bin', dtype: 'float32', dims: [3] } }, tolerance: { abs: 0, rel: 0 } }],
    };
    await createBundle({
      outPath: join(dir, 'b.bundle'),
      manifest,
      members: [
        { path: 'model.onnx', role: 'model', data: model },
        { path: 'golden/x.bin', role: 'golden', data: new Uint8Array(golden.buffer) },
      ],
      privateKeyPem: signer.privateKeyPem,
    });
    bytes = new Uint8Array(readFileSync(join(dir, 'b.bundle')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('opens a bundle signed by a trusted key and gives verified members and tensors', async () => {
    const b = await openBundleBytes(bytes, [stranger.publicKeyPem, signer.publicKeyPem]);
    assert.equal(b.keyId, signer.keyId);
    assert.equal(b.manifest.version, 4);
    assert.deepEqual(b.member('model.onnx'), model);
    const t = b.tensor({ member: 'golden/x.bin', dtype: 'float32', dims: [3] });
    assert.deepEqual(Array.from(t.data as Float32Array), [1.5, -2, 3.25]);
  });

  it('refuses an untrusted signer, naming its key', async () => {
    await assert.rejects(openBundleBytes(bytes, [stranger.publicKeyPem]), (e: unknown) => e instanceof UntrustedKeyError && e.message.includes(signer.keyId));
  });

  it('refuses an altered manifest and an altered member', async () => {
    const text = new TextDecoder('latin1').decode(bytes);
    const altered = bytes.slice();
    const at = text.search(/"version":\s*4/);
    altered[text.indexOf('4', at)] = '5'.charCodeAt(0);
    await assert.rejects(openBundleBytes(altered, [signer.publicKeyPem]), SignatureError);

    const member = bytes.slice();
    const modelAt = text.indexOf('model.onnx', text.indexOf('manifest.sig') + 20);
    member[modelAt - (modelAt % 512) + 512 + 10] ^= 0xff;
    await assert.rejects(openBundleBytes(member, [signer.publicKeyPem]), (e: unknown) => e instanceof MemberHashError && e.memberPath === 'model.onnx');
  });

  it('refuses truncated and foreign bytes', async () => {
    await assert.rejects(openBundleBytes(bytes.subarray(0, 1500), [signer.publicKeyPem]), BundleFormatError);
    await assert.rejects(openBundleBytes(new Uint8Array(2048).fill(7), [signer.publicKeyPem]), BundleFormatError);
  });
});
