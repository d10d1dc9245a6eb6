// The conformance suite every InferenceBackend must pass (STYLE item 8). Each backend's test file
// calls runBackendConformance with a factory; the suite loads the committed fixture models
// (scripts/make-fixtures.py) and checks metadata, numerics against numpy, named errors for bad
// feeds and bad models, fallback bookkeeping and release semantics.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { warmUp, type InferenceBackend, type InferenceSession, type ProviderName, type RuntimeTensor } from './backend.js';
import {
  InputDtypeError,
  InputNameError,
  InputShapeError,
  ModelLoadError,
  NoUsableProviderError,
  SessionReleasedError,
} from './errors.js';
import { FIXTURES_DIR, classifierFixture, dynamicBatchFixture } from './fixtures.js';

export interface BackendConformanceOptions {
  /** A provider the backend serves and that works on this machine (e.g. 'cpu', 'wasm'). */
  provider: ProviderName;
  /** A provider this backend cannot use here; checks the fallback record. */
  unavailableProvider: ProviderName;
  /** Absolute tolerance against the float64 reference; default 1e-5. */
  tolerance?: number;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what = 'tensor'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    assert.ok(diff <= tolerance, `${what}[${i}] = ${actual[i]}, expected ${expected[i]} (|diff| ${diff} > ${tolerance})`);
  }
}

export function runBackendConformance(
  name: string,
  factory: () => InferenceBackend | Promise<InferenceBackend>,
  options: BackendConformanceOptions,
): void {
  const tolerance = options.tolerance ?? 1e-5;
  const providers = [options.provider];

  void describe(`backend conformance: ${name}`, () => {
    let backend: InferenceBackend;
    let classifier: InferenceSession;
    let dynamic: InferenceSession;
    const classifierCase = classifierFixture();
    const dynamicCase = dynamicBatchFixture();
    const classifierBytes = readFileSync(classifierCase.modelPath);

    before(async () => {
      backend = await factory();
      classifier = await backend.createSession(classifierBytes, { providers });
      dynamic = await backend.createSession(dynamicCase.modelPath, { providers });
    });

    after(async () => {
      await classifier?.release();
      await dynamic?.release();
    });

    void it('declares the providers it serves', () => {
      assert.ok(backend.providers.includes(options.provider));
      assert.equal(typeof backend.name, 'string');
    });

    void it('reports input and output metadata, keeping symbolic dims', () => {
      assert.deepEqual(classifier.inputs, [{ name: 'image', dtype: 'float32', dims: [1, 3, 8, 8] }]);
      assert.deepEqual(classifier.outputs, [
        { name: 'logits', dtype: 'float32', dims: [1, 5] },
        { name: 'probs', dtype: 'float32', dims: [1, 5] },
      ]);
      assert.deepEqual(dynamic.inputs, [{ name: 'x', dtype: 'float32', dims: ['batch', 4] }]);
      assert.deepEqual(dynamic.outputs, [{ name: 'y', dtype: 'float32', dims: ['batch', 3] }]);
      assert.equal(classifier.provider, options.provider);
      assert.deepEqual(classifier.fallbacks, []);
    });

    void it('computes the known outputs of the classifier fixture', async () => {
      const out = await classifier.run(classifierCase.inputs);
      assert.deepEqual(Object.keys(out).sort(), ['logits', 'probs']);
      for (const [outputName, expected] of Object.entries(classifierCase.outputs)) {
        assert.equal(out[outputName].dtype, 'float32');
        assert.deepEqual([...out[outputName].dims], expected.dims);
        assert.ok(out[outputName].data instanceof Float32Array);
        assertClose(out[outputName].data as Float32Array, expected.data, tolerance, outputName);
      }
    });

    void it('runs a dynamic batch dimension at several sizes', async () => {
      const out = await dynamic.run(dynamicCase.inputs);
      assert.deepEqual([...out.y.dims], [3, 3]);
      assertClose(out.y.data as Float32Array, dynamicCase.outputs.y.data, tolerance, 'y');
      const firstRow: RuntimeTensor = { dtype: 'float32', dims: [1, 4], data: (dynamicCase.inputs.x.data as Float32Array).slice(0, 4) };
      const one = await dynamic.run({ x: firstRow });
      assertClose(one.y.data as Float32Array, dynamicCase.outputs.y.data.slice(0, 3), tolerance, 'y[0]');
    });

    void it('sees new values in a caller buffer that is refilled in place between runs', async () => {
      const buffer = new Float32Array(4);
      const feed: RuntimeTensor = { dtype: 'float32', dims: [1, 4], data: buffer };
      const source = dynamicCase.inputs.x.data as Float32Array;
      buffer.set(source.subarray(0, 4));
      const first = await dynamic.run({ x: feed });
      buffer.set(source.subarray(4, 8));
      const second = await dynamic.run({ x: feed });
      assertClose(first.y.data as Float32Array, dynamicCase.outputs.y.data.slice(0, 3), tolerance, 'row 0');
      assertClose(second.y.data as Float32Array, dynamicCase.outputs.y.data.slice(3, 6), tolerance, 'row 1');
    });

    void it('rejects a bad input shape with InputShapeError', async () => {
      const wrongBatch: RuntimeTensor = { dtype: 'float32', dims: [2, 3, 8, 8], data: new Float32Array(2 * 3 * 64) };
      await assert.rejects(classifier.run({ image: wrongBatch }), InputShapeError);
      const wrongRank: RuntimeTensor = { dtype: 'float32', dims: [3, 8, 8], data: new Float32Array(3 * 64) };
      await assert.rejects(classifier.run({ image: wrongRank }), InputShapeError);
      const wrongInner: RuntimeTensor = { dtype: 'float32', dims: [2, 5], data: new Float32Array(10) };
      await assert.rejects(dynamic.run({ x: wrongInner }), InputShapeError);
      const shortData: RuntimeTensor = { dtype: 'float32', dims: [2, 4], data: new Float32Array(7) };
      await assert.rejects(dynamic.run({ x: shortData }), (error: unknown) => {
        assert.ok(error instanceof InputShapeError);
        assert.equal(error.code, 'INPUT_SHAPE');
        assert.match(error.message, /7 elements/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    });

    void it('rejects a wrong dtype with InputDtypeError', async () => {
      const asInt: RuntimeTensor = { dtype: 'int32', dims: [1, 4], data: new Int32Array(4) };
      await assert.rejects(dynamic.run({ x: asInt }), InputDtypeError);
      const mislabelled: RuntimeTensor = { dtype: 'float32', dims: [1, 4], data: new Float64Array(4) };
      await assert.rejects(dynamic.run({ x: mislabelled }), InputDtypeError);
    });

    void it('rejects unknown and missing inputs with InputNameError', async () => {
      const x = dynamicCase.inputs.x;
      await assert.rejects(dynamic.run({}), InputNameError);
      await assert.rejects(dynamic.run({ x, extra: x }), InputNameError);
    });

    void it('refuses corrupt, empty and missing models with ModelLoadError', async () => {
      const garbage = new Uint8Array(256);
      for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 73 + 41) & 0xff;
      await assert.rejects(backend.createSession(garbage, { providers }), ModelLoadError);
      await assert.rejects(backend.createSession(classifierBytes.subarray(0, classifierBytes.length >> 1), { providers }), ModelLoadError);
      await assert.rejects(backend.createSession(new Uint8Array(0), { providers }), ModelLoadError);
      await assert.rejects(backend.createSession(`${FIXTURES_DIR}does-not-exist.onnx`, { providers }), ModelLoadError);
    });

    void it('falls back past an unavailable provider and records why', async () => {
      const session = await backend.createSession(classifierBytes, { providers: [options.unavailableProvider, options.provider] });
      try {
        assert.equal(session.provider, options.provider);
        assert.equal(session.fallbacks.length, 1);
        assert.equal(session.fallbacks[0].provider, options.unavailableProvider);
        assert.ok(session.fallbacks[0].reason.length > 0);
      } finally {
        await session.release();
      }
    });

    void it('throws one NoUsableProviderError listing every provider when none works', async () => {
      await assert.rejects(backend.createSession(classifierBytes, { providers: [options.unavailableProvider] }), (error: unknown) => {
        assert.ok(error instanceof NoUsableProviderError);
        assert.deepEqual(error.failures.map((f) => f.provider), [options.unavailableProvider]);
        assert.match(error.message, new RegExp(options.unavailableProvider));
        return true;
      });
      await assert.rejects(backend.createSession(classifierBytes, { providers: [] }), NoUsableProviderError);
    });

    void it('accepts thread and graph-optimisation options', async () => {
      const session = await backend.createSession(classifierBytes, {
        providers,
        threads: { intra: 1, inter: 1 },
        graphOptimization: 'disabled',
      });
      try {
        const out = await session.run(classifierCase.inputs);
        assertClose(out.probs.data as Float32Array, classifierCase.outputs.probs.data, tolerance, 'probs');
        const warm = await warmUp(session, { runs: 2 });
        assert.equal(warm.runs, 2);
        assert.ok(warm.firstMs >= 0 && warm.meanMs >= 0);
      } finally {
        await session.release();
      }
    });

    void it('releases idempotently and refuses to run afterwards', async () => {
      const session = await backend.createSession(classifierBytes, { providers });
      const running = session.run(classifierCase.inputs);
      await Promise.all([session.release(), session.release()]);
      await session.release();
      const out = await running;
      assert.ok(out.probs.data.length === 5, 'a run in flight at release completes');
      await assert.rejects(session.run(classifierCase.inputs), SessionReleasedError);
    });
  });
}
