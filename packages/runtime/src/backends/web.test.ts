import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { assertClose, runBackendConformance } from '../backend-conformance.js';
import { classifierFixture } from '../fixtures.js';
import { createNodeBackend } from './node.js';
import { createWebBackend } from './web.js';

runBackendConformance('onnxruntime-web (wasm)', () => createWebBackend({ numThreads: 1 }), {
  provider: 'wasm',
  unavailableProvider: 'cuda',
});

void describe('onnxruntime-web backend', () => {
  void it('agrees with onnxruntime-node within float tolerance on varied inputs', async () => {
    const model = readFileSync(classifierFixture().modelPath);
    const native = await createNodeBackend().createSession(model, { providers: ['cpu'] });
    const wasm = await (await createWebBackend({ numThreads: 1 })).createSession(model, { providers: ['wasm'] });
    try {
      let seed = 12345;
      const next = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2;
      for (let trial = 0; trial < 5; trial++) {
        const data = new Float32Array(3 * 8 * 8);
        for (let i = 0; i < data.length; i++) data[i] = next();
        const feeds = { image: { dtype: 'float32' as const, dims: [1, 3, 8, 8], data } };
        const [a, b] = await Promise.all([native.run(feeds), wasm.run(feeds)]);
        assertClose(b.logits.data as Float32Array, a.logits.data as Float32Array, 1e-5, `logits trial ${trial}`);
        assertClose(b.probs.data as Float32Array, a.probs.data as Float32Array, 1e-6, `probs trial ${trial}`);
      }
    } finally {
      await Promise.all([native.release(), wasm.release()]);
    }
  });

  void it('reports its version and thread count', async () => {
    const backend = await createWebBackend({ numThreads: 1 });
    assert.equal(backend.version, '1.30.0');
    const session = await backend.createSession(classifierFixture().modelPath, { providers: ['wasm'] });
    await session.release();
    assert.equal(backend.numThreads, 1);
  });
});
