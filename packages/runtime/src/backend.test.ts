import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { BackendRegistry, isProviderName, validateFeeds, zeroFeeds, type TensorInfo } from './backend.js';
import { createNodeBackend } from './backends/node.js';
import { createWebBackend } from './backends/web.js';
import { InputDtypeError, InputNameError, InputShapeError, ModelLoadError, NoUsableProviderError } from './errors.js';
import { classifierFixture } from './fixtures.js';

void describe('backend registry', () => {
  const model = readFileSync(classifierFixture().modelPath);

  async function registry(): Promise<BackendRegistry> {
    return new BackendRegistry().register(createNodeBackend({ logLevel: 'fatal' })).register(await createWebBackend({ numThreads: 1 }));
  }

  void it('uses the first provider that works, across backends, and records every skip', async () => {
    const reg = await registry();
    const session = await reg.createSession(model, { providers: ['coreml', 'qnn', 'wasm', 'cpu'] });
    try {
      assert.equal(session.provider, 'wasm');
      assert.deepEqual(session.fallbacks.map((f) => f.provider), ['coreml', 'qnn']);
      for (const f of session.fallbacks) assert.match(f.reason, /not in this onnxruntime-node build/);
      const out = await session.run(classifierFixture().inputs);
      assert.equal(out.probs.data.length, 5);
    } finally {
      await session.release();
    }
  });

  void it('lists each provider in one NoUsableProviderError when all fail', async () => {
    const reg = new BackendRegistry().register(createNodeBackend({ logLevel: 'fatal' }));
    await assert.rejects(reg.createSession(model, { providers: ['coreml', 'wasm'] }), (error: unknown) => {
      assert.ok(error instanceof NoUsableProviderError);
      assert.equal(error.code, 'NO_USABLE_PROVIDER');
      assert.deepEqual(error.failures, [
        { provider: 'coreml', reason: error.failures[0].reason },
        { provider: 'wasm', reason: 'no registered backend offers it' },
      ]);
      assert.match(error.message, /^no usable execution provider \(coreml: .*; wasm: no registered backend offers it\)$/);
      return true;
    });
  });

  void it('stops at a corrupt model instead of trying every provider', async () => {
    const reg = await registry();
    await assert.rejects(reg.createSession(new Uint8Array([8, 1, 2, 3, 4, 5, 6]), { providers: ['cpu', 'wasm'] }), ModelLoadError);
  });

  void it('refuses to register two backends with one name', async () => {
    const reg = await registry();
    assert.throws(() => reg.register(createNodeBackend()), /already registered/);
    assert.equal(reg.backendFor('wasm')?.name, 'onnxruntime-web');
    assert.equal(reg.backendFor('cpu')?.name, 'onnxruntime-node');
  });

  void it('knows provider names', () => {
    assert.equal(isProviderName('tensorrt'), true);
    assert.equal(isProviderName('TensorRT'), false);
  });
});

void describe('feed validation', () => {
  const inputs: TensorInfo[] = [
    { name: 'a', dtype: 'float32', dims: ['batch', 2] },
    { name: 'b', dtype: 'int64', dims: [3] },
  ];
  const good = {
    a: { dtype: 'float32' as const, dims: [4, 2], data: new Float32Array(8) },
    b: { dtype: 'int64' as const, dims: [3], data: new BigInt64Array(3) },
  };

  void it('accepts feeds that fit, with any size on a symbolic axis', () => {
    assert.doesNotThrow(() => validateFeeds(inputs, good));
    assert.doesNotThrow(() => validateFeeds(inputs, { ...good, a: { dtype: 'float32', dims: [1, 2], data: new Float32Array(2) } }));
  });

  void it('names the problem', () => {
    assert.throws(() => validateFeeds(inputs, { a: good.a }), InputNameError);
    assert.throws(() => validateFeeds(inputs, { b: good.b, a: { dtype: 'float32', dims: [4, 3], data: new Float32Array(12) } }), InputShapeError);
    assert.throws(() => validateFeeds(inputs, { a: good.a, b: { dtype: 'int64', dims: [3], data: new Int32Array(3) } }), InputDtypeError);
    assert.throws(() => validateFeeds(inputs, { a: good.a, b: { dtype: 'int64', dims: [1.5], data: new BigInt64Array(3) } }), InputShapeError);
  });

  void it('accepts a Node Buffer as uint8 data', () => {
    const bytes: TensorInfo[] = [{ name: 'img', dtype: 'uint8', dims: [1, 4] }];
    assert.doesNotThrow(() => validateFeeds(bytes, { img: { dtype: 'uint8', dims: [1, 4], data: Buffer.alloc(4) } }));
    assert.throws(() => validateFeeds(bytes, { img: { dtype: 'uint8', dims: [1, 4], data: new Int8Array(4) } }), InputDtypeError);
  });

  void it('builds zero feeds with symbolic dims set to 1', () => {
    const feeds = zeroFeeds(inputs);
    assert.deepEqual(feeds.a.dims, [1, 2]);
    assert.ok(feeds.b.data instanceof BigInt64Array);
    assert.doesNotThrow(() => validateFeeds(inputs, feeds));
  });
});
