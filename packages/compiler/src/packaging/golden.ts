// Golden input/output pairs: inputs made deterministically from a seed, outputs computed by
// onnxruntime on this host. The device runs them as its health check before activating a model.
import * as ort from 'onnxruntime-node';
import type { Preprocessing, TensorDtype } from '@edgeloop/bundle';
import { PackagingError } from '../errors.js';

export interface GoldenTensor {
  dtype: TensorDtype;
  dims: number[];
  data: Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array | Uint16Array;
}

export interface GoldenInputSpec {
  name: string;
  dtype: TensorDtype;
  dims: number[];
  preprocessing?: Preprocessing;
}

/** mulberry32: a small, well-known 32-bit PRNG; enough for reproducible test inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * An input the model would really see: for image inputs, random pixels pushed through the
 * bundle's normalisation (so values sit in the trained range); otherwise standard-normal floats
 * or small integers.
 */
export function makeGoldenInput(spec: GoldenInputSpec, random: () => number): GoldenTensor {
  const n = elementCount(spec.dims);
  const pre = spec.preprocessing;
  if (spec.dtype === 'uint8') {
    return { dtype: 'uint8', dims: spec.dims, data: Uint8Array.from({ length: n }, () => Math.floor(random() * 256)) };
  }
  if (spec.dtype === 'float32') {
    const data = new Float32Array(n);
    if (pre) {
      const channels = pre.colorOrder === 'GRAY' ? 1 : 3;
      const plane = pre.width * pre.height;
      for (let i = 0; i < n; i++) {
        const c = pre.layout === 'NCHW' ? Math.floor(i / plane) % channels : i % channels;
        const mean = pre.mean.length === 1 ? pre.mean[0]! : pre.mean[c]!;
        const std = pre.std.length === 1 ? pre.std[0]! : pre.std[c]!;
        data[i] = (Math.floor(random() * 256) * pre.scale - mean) / std;
      }
    } else {
      for (let i = 0; i < n; i++) {
        // Box-Muller
        const u = Math.max(random(), 1e-12);
        data[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
      }
    }
    return { dtype: 'float32', dims: spec.dims, data };
  }
  if (spec.dtype === 'int64') {
    return { dtype: 'int64', dims: spec.dims, data: BigInt64Array.from({ length: n }, () => BigInt(Math.floor(random() * 4))) };
  }
  if (spec.dtype === 'int32') {
    return { dtype: 'int32', dims: spec.dims, data: Int32Array.from({ length: n }, () => Math.floor(random() * 4)) };
  }
  if (spec.dtype === 'int8') {
    return { dtype: 'int8', dims: spec.dims, data: Int8Array.from({ length: n }, () => Math.floor(random() * 256) - 128) };
  }
  throw new PackagingError(`cannot make a golden input for ${spec.name}: dtype ${spec.dtype} is not supported`);
}

const ORT_TYPES: Record<string, TensorDtype> = {
  float32: 'float32',
  float16: 'float16',
  int8: 'int8',
  uint8: 'uint8',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
};

export interface GoldenPair {
  inputs: Record<string, GoldenTensor>;
  outputs: Record<string, GoldenTensor>;
}

/** Runs the model on `count` seeded inputs with onnxruntime's CPU provider. */
export async function makeGoldenPairs(
  model: Uint8Array,
  inputs: GoldenInputSpec[],
  options: { count: number; seed: number },
): Promise<GoldenPair[]> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch (error) {
    throw new PackagingError(`onnxruntime cannot load the model: ${firstLine(error)}`, { cause: error });
  }
  const random = seededRandom(options.seed);
  const pairs: GoldenPair[] = [];
  try {
    for (let k = 0; k < options.count; k++) {
      const feeds: Record<string, ort.Tensor> = {};
      const goldenInputs: Record<string, GoldenTensor> = {};
      for (const spec of inputs) {
        const t = makeGoldenInput(spec, random);
        goldenInputs[spec.name] = t;
        feeds[spec.name] = new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
      }
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run(feeds);
      } catch (error) {
        throw new PackagingError(`onnxruntime failed to run the model on a golden input: ${firstLine(error)}`, { cause: error });
      }
      const outputs: Record<string, GoldenTensor> = {};
      for (const name of session.outputNames) {
        const t = results[name]!;
        const dtype = ORT_TYPES[t.type];
        if (!dtype) throw new PackagingError(`output ${name} has type ${t.type}, which bundles cannot carry`);
        outputs[name] = { dtype, dims: [...t.dims], data: t.data as GoldenTensor['data'] };
      }
      pairs.push({ inputs: goldenInputs, outputs });
    }
  } finally {
    await session.release();
  }
  return pairs;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0] ?? '';
}
