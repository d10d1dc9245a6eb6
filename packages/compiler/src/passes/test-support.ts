// Helpers for the pass tests: run a model on onnxruntime-node, compare outputs, run onnx.checker.
// Not exported from the package index.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../ir/serde.js';
import { saveModelSync } from '../ir/model-file.js';
import type { Model } from '../ir/types.js';

export type Feeds = Record<string, ort.Tensor>;

export async function runModel(model: Model, feeds: Feeds, options: ort.InferenceSession.SessionOptions = {}): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: 'all', ...options });
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Deterministic pseudo-random numbers in [-1, 1). */
export function seededFloats(count: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function floatTensorOf(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

/** Largest absolute difference between two float outputs, relative to the reference's largest magnitude. */
export function relativeError(actual: ort.Tensor, expected: ort.Tensor): number {
  const a = actual.data as Float32Array;
  const e = expected.data as Float32Array;
  assert.equal(a.length, e.length);
  let diff = 0;
  let mag = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - e[i]));
    mag = Math.max(mag, Math.abs(e[i]));
  }
  return diff / mag;
}

export function assertSameOutputs(actual: Record<string, ort.Tensor>, expected: Record<string, ort.Tensor>, tolerance = 0): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const name of Object.keys(expected)) {
    assert.deepEqual(actual[name].dims, expected[name].dims, `dims of ${name}`);
    if (tolerance === 0) assert.deepEqual(Array.from(actual[name].data as Float32Array), Array.from(expected[name].data as Float32Array), name);
    else {
      const err = relativeError(actual[name], expected[name]);
      assert.ok(err <= tolerance, `${name}: relative error ${err} > ${tolerance}`);
    }
  }
}

const CHECKER = `
import sys, onnx
onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)
print('ok')
`;

/** Saves the model and runs onnx.checker.check_model(full_check=True) (Debian python3-onnx) on it. */
export function assertCheckerPasses(model: Model): void {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-pass-'));
  try {
    const path = join(dir, 'model.onnx');
    saveModelSync(model, path);
    const run = spawnSync('/usr/bin/python3', ['-c', CHECKER, path], { encoding: 'utf8' });
    assert.equal(run.status, 0, `onnx.checker: ${run.stderr.split('\n').filter(Boolean).slice(-2).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
