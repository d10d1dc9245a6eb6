import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';

import { runBackendConformance } from '../backend-conformance.js';
import { BackendLoadError } from '../errors.js';
import { classifierFixture } from '../fixtures.js';
import { ORT_NODE_PATH_ENV, createNodeBackend } from './node.js';

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
});
