// Paths and expected values of the committed test models (packages/runtime/fixtures, written by
// scripts/make-fixtures.py). Used by the conformance suite and the tests; the folder sits beside
// src/ and dist/, so the same relative URL works from both.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { RuntimeTensor, TensorDtype } from './backend.js';

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface FixtureCase {
  modelPath: string;
  inputs: Record<string, RuntimeTensor>;
  /** Computed by numpy in float64; compare with a tolerance. */
  outputs: Record<string, { dtype: TensorDtype; dims: number[]; data: number[] }>;
}

interface RawTensor {
  dtype: TensorDtype;
  dims: number[];
  data: number[];
}

interface RawCase {
  model: string;
  inputs: Record<string, RawTensor>;
  outputs: Record<string, RawTensor>;
}

function load(key: 'classifier' | 'dynamicBatch'): FixtureCase {
  const all = JSON.parse(readFileSync(`${FIXTURES_DIR}expected.json`, 'utf8')) as Record<string, RawCase>;
  const raw = all[key];
  const inputs: Record<string, RuntimeTensor> = {};
  for (const [name, t] of Object.entries(raw.inputs)) {
    inputs[name] = { dtype: t.dtype, dims: t.dims, data: Float32Array.from(t.data) };
  }
  return { modelPath: `${FIXTURES_DIR}${raw.model}`, inputs, outputs: raw.outputs };
}

/** classifier.onnx: image[1,3,8,8] -> logits[1,5], probs[1,5]. */
export function classifierFixture(): FixtureCase {
  return load('classifier');
}

/** dynamic-batch.onnx: x[batch,4] -> y[batch,3]; the case feeds batch 3. */
export function dynamicBatchFixture(): FixtureCase {
  return load('dynamicBatch');
}
