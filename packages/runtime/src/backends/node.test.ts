import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';

import { runBackendConformance } from '../backend-conformance.js';
import { BackendLoadError } from '../errors.js';
import { classifierFixture } from '../fixtures.js';
import { loadDeviceProfile } from '@edgeloop/bundle';

import { makeClassifierBundle, testTrust, withTempDir } from '../bundles.test.helpers.js';
import { Engine } from '../engine.js';
import { NodeBackend, ORT_NODE_PATH_ENV, createNodeBackend, type OrtNodeModule } from './node.js';
import { executionProviderConfig, type OrtSessionOptions } from './ort-session.js';

// 'coreml' exists only in macOS builds, so on Linux it exercises the "not in this build" path.
runBackendConformance('onnxruntime-node', () => createNodeBackend({ logLevel: 'fatal' }), { provider: 'cpu', unavailableProvider: 'coreml' });

void describe('onnxruntime-node backend', () => {
  const installedDir = dirname(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')));
  const model = readFileSync(classifierFixture().modelPath);

  void it('reports the installed build, its version and its providers', () => {
    const backend = createNodeBackend();
    assert.equal(backend.build.source, 'installed');
    assert.equal(backend.build.version, '1.30.0');
    assert.match(backend.build.modulePath, /onnxruntime-node/);
    assert.ok(backend.build.providers?.some((p) => p.name === 'cpu' && p.bundled));
    assert.match(backend.unavailableReason('coreml') ?? '', /not in this onnxruntime-node build/);
    assert.equal(backend.unavailableReason('cpu'), undefined);
    assert.match(backend.unavailableReason('wasm') ?? '', /not served/);
  });

  void it('records why CUDA and TensorRT were skipped when their libraries are missing', async () => {
    const backend = createNodeBackend({ logLevel: 'fatal' });
    const session = await backend.createSession(model, { providers: ['tensorrt', 'cuda', 'cpu'] });
    try {
      if (session.provider === 'cpu') {
        assert.deepEqual(session.fallbacks.map((f) => f.provider), ['tensorrt', 'cuda']);
        for (const f of session.fallbacks) assert.match(f.reason, /not in this onnxruntime-node build|failed to initialise/);
      } else {
        // A machine with the CUDA/TensorRT provider libraries installed.
        assert.ok(['tensorrt', 'cuda'].includes(session.provider));
      }
    } finally {
      await session.release();
    }
  });

  void it('accepts spinning on and off (thread-pool spin-wait config entries)', async () => {
    const backend = createNodeBackend({ logLevel: 'fatal' });
    const fixture = classifierFixture();
    for (const spinning of [false, true]) {
      const session = await backend.createSession(model, { providers: ['cpu'], threads: { intra: 2, inter: 1 }, spinning });
      try {
        const out = await session.run(fixture.inputs);
        assert.equal(out.logits.dims.join(','), '1,5');
      } finally {
        await session.release();
      }
    }
  });

  void it('loads a custom build from an option or $EDGELOOP_ORT_NODE_PATH and says so', async () => {
    const fromOption = createNodeBackend({ ortModulePath: installedDir });
    assert.equal(fromOption.build.source, 'custom');
    assert.equal(fromOption.build.modulePath, createRequire(import.meta.url).resolve('onnxruntime-node'));
    const session = await fromOption.createSession(model, { providers: ['cpu'] });
    await session.release();

    const saved = process.env[ORT_NODE_PATH_ENV];
    process.env[ORT_NODE_PATH_ENV] = installedDir;
    try {
      assert.equal(createNodeBackend().build.source, 'custom');
    } finally {
      if (saved === undefined) delete process.env[ORT_NODE_PATH_ENV];
      else process.env[ORT_NODE_PATH_ENV] = saved;
    }
  });

  void it('throws BackendLoadError for a custom path that is not an onnxruntime-node build', () => {
    assert.throws(() => createNodeBackend({ ortModulePath: '/nonexistent/onnxruntime-node' }), BackendLoadError);
    assert.throws(() => createNodeBackend({ ortModulePath: createRequire(import.meta.url).resolve('sharp') }), BackendLoadError);
  });

  void it("passes the device profile's per-provider options into onnxruntime's executionProviders", async () => {
    // The installed module, with InferenceSession.create watched.
    const installed = createRequire(import.meta.url)('onnxruntime-node') as OrtNodeModule;
    const seen: OrtSessionOptions[] = [];
    const watched: OrtNodeModule = {
      ...installed,
      Tensor: installed.Tensor,
      InferenceSession: {
        create: (model: Uint8Array, options: OrtSessionOptions) => {
          seen.push(options);
          return installed.InferenceSession.create(model, options);
        },
      } as unknown as OrtNodeModule['InferenceSession'],
    };
    const real = createNodeBackend({ logLevel: 'fatal' });
    const backend = new NodeBackend(watched, real.build);
    await withTempDir(async (dir) => {
      const base = await loadDeviceProfile('x86-64-cpu');
      const profile = { ...base, executionProviders: [{ name: 'cpu' as const, options: { useArena: false, intra_op_spin: 'off' } }] };
      const engine = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), profile, backend, warmUpRuns: 0 });
      try {
        assert.equal(engine.provider, 'cpu');
        assert.deepEqual(seen.at(-1)?.executionProviders, [{ name: 'cpu', useArena: false, intra_op_spin: 'off' }]);
      } finally {
        await engine.release();
      }
      // A profile without options keeps the bare provider names.
      seen.length = 0;
      const plain = await Engine.open({ bundle: await makeClassifierBundle(dir), trust: testTrust(), profile: base, backend, warmUpRuns: 0 });
      await plain.release();
      assert.deepEqual(seen.at(-1)?.executionProviders, ['cpu']);
    });
    // The Jetson profile's entries as they would reach onnxruntime (this machine has neither provider to try them on).
    const jetson = await loadDeviceProfile('jetson-orin-nano');
    const configs = jetson.executionProviders.map((p) => executionProviderConfig(p.name as 'tensorrt' | 'cuda' | 'cpu', p.options));
    assert.deepEqual(configs, [
      { name: 'tensorrt', trt_fp16_enable: true, trt_engine_cache_enable: true, trt_engine_cache_path: 'trt-cache', trt_max_workspace_size: 1073741824 },
      { name: 'cuda', device_id: 0, deviceId: 0 },
      'cpu',
    ]);
  });
});
