// The on-device health check: run the bundle's golden inputs and compare with the golden outputs
// the compiler recorded on its host. A bundle that disagrees beyond tolerance, or produces NaN, is
// refused before it sees a camera frame: the usual causes are a provider that miscompiles an op
// (fp16 overflow on TensorRT, an int8 kernel missing), a different onnxruntime build, or a bundle
// that was packaged from the wrong model.

import { decodeTensor, float16BitsToFloat32, type GoldenSample, type OpenedBundle, type TensorData } from '@edgeloop/bundle';

import { sameDims, type InferenceSession, type RuntimeTensor, type TypedArray } from './backend.js';
import { HealthCheckError, type GoldenMismatch } from './errors.js';

export interface GoldenOutputCheck {
  sample: number;
  output: string;
  maxAbsDiff: number;
  /** Largest |actual - expected| / |expected| over elements with expected != 0. */
  maxRelDiff: number;
  tolerance: { abs: number; rel: number };
}

export interface HealthReport {
  /** Golden samples run (0 when the bundle carries none: nothing was checked). */
  samples: number;
  checks: GoldenOutputCheck[];
  durationMs: number;
}

/** Bundle tensor (raw little-endian bytes) -> the runtime's tensor representation for feeding. */
export function tensorFromBundle(tensor: TensorData): RuntimeTensor {
  const dims = [...tensor.dims];
  switch (tensor.dtype) {
    case 'float16': {
      // The runtime feeds float16 as raw bits (Uint16Array); copy so the result is aligned.
      const bits = new Uint16Array(tensor.data.byteLength / 2);
      new Uint8Array(bits.buffer).set(tensor.data);
      return { dtype: 'float16', dims, data: bits };
    }
    case 'bool':
      return { dtype: 'bool', dims, data: decodeTensor('bool', tensor.data, dims) };
    default:
      return { dtype: tensor.dtype, dims, data: decodeTensor(tensor.dtype, tensor.data, dims) };
  }
}

function numericValues(tensor: RuntimeTensor): ArrayLike<number> {
  const data: TypedArray = tensor.data;
  if (tensor.dtype === 'float16') {
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = float16BitsToFloat32(Number(data[i]));
    return out;
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Array.from(data, Number);
  return data as ArrayLike<number>;
}

/** Compares one output; returns the check, or the mismatch that fails it. */
export function compareGoldenOutput(
  sample: number,
  output: string,
  actual: RuntimeTensor,
  expected: TensorData,
  tolerance: GoldenSample['tolerance'],
): GoldenOutputCheck | GoldenMismatch {
  if (!sameDims(actual.dims, expected.dims)) {
    return {
      sample,
      output,
      kind: 'shape',
      maxAbsDiff: Infinity,
      index: -1,
      detail: `sample ${sample} output '${output}' has shape [${actual.dims.join(',')}], golden [${expected.dims.join(',')}]`,
    };
  }
  const want = numericValues(tensorFromBundle(expected));
  const got = numericValues(actual);
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let worstExcess = 0;
  let worst = -1;
  for (let i = 0; i < got.length; i++) {
    const a = got[i];
    const e = want[i];
    if (!Number.isFinite(a) && a !== e) {
      return {
        sample,
        output,
        kind: 'nan',
        maxAbsDiff: Number.isNaN(a) ? NaN : Infinity,
        index: i,
        expected: e,
        actual: a,
        detail: `sample ${sample} output '${output}' produced ${a} at index ${i} (golden ${e})`,
      };
    }
    const diff = Math.abs(a - e);
    if (diff > maxAbsDiff) maxAbsDiff = diff;
    if (e !== 0 && diff / Math.abs(e) > maxRelDiff) maxRelDiff = diff / Math.abs(e);
    const excess = diff - (tolerance.abs + tolerance.rel * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    return {
      sample,
      output,
      kind: 'tolerance',
      maxAbsDiff,
      index: worst,
      expected: want[worst],
      actual: got[worst],
      detail:
        `sample ${sample} output '${output}' max abs diff ${maxAbsDiff.toPrecision(4)} beyond tolerance ` +
        `(abs ${tolerance.abs}, rel ${tolerance.rel}); worst at index ${worst}: ${got[worst]} vs golden ${want[worst]}`,
    };
  }
  return { sample, output, maxAbsDiff, maxRelDiff, tolerance: { ...tolerance } };
}

function isMismatch(result: GoldenOutputCheck | GoldenMismatch): result is GoldenMismatch {
  return 'kind' in result;
}

/**
 * Runs every golden sample of `bundle` on `session`. Throws HealthCheckError naming each output
 * that disagreed (and by how much) or produced NaN/Infinity; returns the per-output diffs otherwise.
 */
export async function runGoldenHealthCheck(session: InferenceSession, bundle: OpenedBundle): Promise<HealthReport> {
  const start = performance.now();
  const golden = bundle.manifest.golden;
  const mismatches: GoldenMismatch[] = [];
  const checks: GoldenOutputCheck[] = [];
  for (let s = 0; s < golden.length; s++) {
    const sample = golden[s];
    const feeds: Record<string, RuntimeTensor> = {};
    for (const [name, ref] of Object.entries(sample.inputs)) feeds[name] = tensorFromBundle(await bundle.readTensor(ref));
    const outputs = await session.run(feeds);
    for (const [name, ref] of Object.entries(sample.outputs)) {
      const actual = outputs[name];
      if (actual === undefined) {
        mismatches.push({ sample: s, output: name, kind: 'missing', maxAbsDiff: Infinity, index: -1, detail: `sample ${s}: the model produced no output '${name}'` });
        continue;
      }
      const result = compareGoldenOutput(s, name, actual, await bundle.readTensor(ref), sample.tolerance);
      if (isMismatch(result)) mismatches.push(result);
      else checks.push(result);
    }
  }
  if (mismatches.length > 0) throw new HealthCheckError(`${bundle.manifest.name} v${bundle.manifest.version}`, mismatches);
  return { samples: golden.length, checks, durationMs: performance.now() - start };
}
