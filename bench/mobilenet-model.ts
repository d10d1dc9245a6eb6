// A MobileNet-v1-style classifier built in code (depthwise-separable blocks, BatchNormalization,
// ReLU6 as Clip(0, 6)) with seeded He-initialised weights, and synthetic smooth "images" for it.
// Shared by the quantization and pruning benchmarks.
import { GraphBuilder } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';

export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export interface MobileNetOptions {
  resolution?: number;
  classes?: number;
  /** Channel multiplier (MobileNet's alpha). */
  width?: number;
  seed?: number;
  batch?: number | string;
  /** Weight of the random part of each conv after the first (default 0.5). */
  noise?: number;
}

/** [output channels, stride] of each depthwise-separable block of MobileNet v1. */
const BLOCKS: [number, number][] = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

export function buildMobileNet(options: MobileNetOptions = {}): Model {
  const res = options.resolution ?? 224;
  const classes = options.classes ?? 1000;
  const alpha = options.width ?? 1;
  const noise = options.noise ?? 0.5;
  const rand = seeded(options.seed ?? 42);
  const uniform = (n: number, bound: number): Float32Array => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * bound);
  const b = new GraphBuilder('mobilenet');
  const x = b.input('input', 'float32', [options.batch ?? 1, 3, res, res]);
  const six = b.initializer('six', Float32Array.of(6), []);
  const zero = b.initializer('zero', Float32Array.of(0), []);
  let layer = 0;
  const convBnRelu = (input: string, cin: number, cout: number, k: number, stride: number, group: number): string => {
    const id = layer++;
    const fanIn = (cin / group) * k * k;
    const values = uniform(cout * fanIn, Math.sqrt(6 / fanIn) * (id === 0 ? 1 : noise));
    if (id > 0) {
      // Trained-like structure: depthwise kernels are mostly a blur, pointwise convs mostly carry
      // channel o from input channel o % cin. Pure random weights make a chaotic network where 1%
      // input noise changes the logits completely, so no compression could keep top-1.
      const blur = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);
      for (let o = 0; o < cout; o++) {
        if (group > 1) for (let t = 0; t < 9; t++) values[o * 9 + t] += blur[t];
        else values[o * fanIn + (o % cin)] += 1;
      }
    }
    const w = b.initializer(`conv${id}_w`, values, [cout, cin / group, k, k]);
    const pad = (k - 1) / 2;
    const y = b.node('Conv', [input, w], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group }, { name: `conv${id}` });
    const gamma = b.initializer(`bn${id}_gamma`, Float32Array.from({ length: cout }, () => 0.8 + 0.4 * rand()), [cout]);
    const beta = b.initializer(`bn${id}_beta`, uniform(cout, 0.1), [cout]);
    const mean = b.initializer(`bn${id}_mean`, uniform(cout, 0.1), [cout]);
    const variance = b.initializer(`bn${id}_var`, Float32Array.from({ length: cout }, () => 0.8 + 0.4 * rand()), [cout]);
    const bn = b.node('BatchNormalization', [y, gamma, beta, mean, variance], { epsilon: 1e-5 }, { name: `bn${id}` });
    return b.node('Clip', [bn, zero, six], {}, { name: `relu6_${id}` });
  };
  const ch = (c: number): number => Math.max(8, Math.round(c * alpha));
  let c = ch(32);
  let y = convBnRelu(x, 3, c, 3, 2, 1);
  for (const [cout, stride] of BLOCKS) {
    y = convBnRelu(y, c, c, 3, stride, c);
    y = convBnRelu(y, c, ch(cout), 1, 1, 1);
    c = ch(cout);
  }
  y = b.node('GlobalAveragePool', [y], {}, { name: 'pool' });
  y = b.node('Flatten', [y], {}, { name: 'flatten' });
  const fc = b.initializer('fc_w', uniform(classes * c, Math.sqrt(6 / c)), [classes, c]);
  const fcb = b.initializer('fc_b', new Float32Array(classes), [classes]);
  y = b.node('Gemm', [y, fc, fcb], { transB: 1 }, { name: 'fc', outputs: ['logits'] });
  b.output(y);
  return b.build({ opset: 13 });
}

/** A smooth synthetic image: a few random plane waves per channel plus noise, roughly ImageNet-normalised. */
export function syntheticImage(seed: number, res = 224): Float32Array {
  const rand = seeded(seed * 7919 + 17);
  const out = new Float32Array(3 * res * res);
  for (let c = 0; c < 3; c++) {
    const waves = Array.from({ length: 4 }, () => ({ fx: (rand() - 0.5) * 0.2, fy: (rand() - 0.5) * 0.2, phase: rand() * 6.28, amp: rand() }));
    const offset = (rand() - 0.5) * 1.5;
    for (let yy = 0; yy < res; yy++) {
      for (let xx = 0; xx < res; xx++) {
        let v = offset;
        for (const w of waves) v += w.amp * Math.sin(w.fx * xx + w.fy * yy + w.phase);
        out[c * res * res + yy * res + xx] = v + (rand() - 0.5) * 0.3;
      }
    }
  }
  return out;
}

/** An image of class `cls`: the class's template waves with per-sample jitter (phase, amplitude, offset, noise). */
export function classImage(cls: number, sample: number, res = 224): Float32Array {
  const template = seeded(cls * 104729 + 3);
  const jitter = seeded(sample * 7919 + cls * 31 + 11);
  const out = new Float32Array(3 * res * res);
  for (let c = 0; c < 3; c++) {
    const waves = Array.from({ length: 4 }, () => ({ fx: (template() - 0.5) * 0.3, fy: (template() - 0.5) * 0.3, phase: template() * 6.28, amp: 0.5 + template() }));
    const offset = (template() - 0.5) * 1.5 + (jitter() - 0.5) * 0.5;
    const shift = (jitter() - 0.5) * 2;
    const gain = 0.7 + 0.6 * jitter();
    for (let yy = 0; yy < res; yy++) {
      for (let xx = 0; xx < res; xx++) {
        let v = offset;
        for (const w of waves) v += gain * w.amp * Math.sin(w.fx * xx + w.fy * yy + w.phase + shift);
        out[c * res * res + yy * res + xx] = v + (jitter() - 0.5) * 0.6;
      }
    }
  }
  return out;
}

/**
 * Random weights carry no notion of classes. This sets the classifier to nearest-class-mean in
 * standardised feature space (an LDA-like linear head) from reference images of each class, so
 * fp32 separates classImage() classes with margins like a trained model's. Returns a new model.
 */
export async function fitClassMeanHead(model: Model, classes: number, perClass: number, res = 224): Promise<Model> {
  const ort = await import('onnxruntime-node');
  const { encodeModel, createTensor } = await import('@edgeloop/compiler');
  const g = model.graph;
  const fc = g.nodes.find((n) => n.opType === 'Gemm');
  if (!fc) throw new Error('no classifier Gemm');
  const features = fc.inputs[0];
  const probe = { ...model, graph: { ...g, outputs: [{ name: features, type: null }] } };
  const session = await ort.InferenceSession.create(encodeModel(probe));
  const rows: Float32Array[][] = [];
  for (let k = 0; k < classes; k++) {
    rows.push([]);
    for (let i = 0; i < perClass; i++) {
      const x = new ort.Tensor('float32', classImage(k, 100000 + i, res), [1, 3, res, res]);
      rows[k].push(Float32Array.from((await session.run({ input: x }))[features].data as Float32Array));
    }
  }
  await session.release();
  const dim = rows[0][0].length;
  const all = rows.flat();
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (const r of all) for (let j = 0; j < dim; j++) {
    mean[j] += r[j] / all.length;
    sq[j] += (r[j] * r[j]) / all.length;
  }
  // Ridge on the variance: features that barely vary would otherwise get huge weights and make the
  // head hypersensitive to any rounding.
  const variance = Array.from(mean, (m, j) => Math.max(sq[j] - m * m, 0));
  const ridge = variance.reduce((a, b) => a + b, 0) / dim;
  const std = variance.map((v) => Math.sqrt(v + ridge));
  const w = new Float32Array(classes * dim);
  const bias = new Float32Array(classes);
  for (let k = 0; k < classes; k++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      let m = 0;
      for (const r of rows[k]) m += (r[j] - mean[j]) / std[j] / rows[k].length;
      w[k * dim + j] = m / std[j];
      bias[k] -= (m * mean[j]) / std[j];
      norm += m * m;
    }
    bias[k] -= norm / 2;
  }
  const initializers = g.initializers.map((t) => (t.name === fc.inputs[1] ? createTensor(t.name, w, [classes, dim]) : t.name === fc.inputs[2] ? createTensor(t.name, bias, [classes]) : t));
  return { ...model, graph: { ...g, initializers } };
}

/**
 * Sets every BatchNormalization's running mean / variance from the batch statistics of reference
 * images, layer by layer (what training leaves behind), so activations keep their spread through
 * the depth of the network instead of collapsing as they do with arbitrary BN statistics.
 * Call on the model as built (BN nodes named bn<k>, convs conv<k>), before folding.
 */
export async function calibrateBatchNorm(model: Model, images: Float32Array[], res = 224): Promise<Model> {
  const ort = await import('onnxruntime-node');
  const { encodeModel, createTensor } = await import('@edgeloop/compiler');
  let current = model;
  const bns = model.graph.nodes.filter((n) => n.opType === 'BatchNormalization');
  for (const bn of bns) {
    const g = current.graph;
    const x = bn.inputs[0];
    const probe = { ...current, graph: { ...g, outputs: [{ name: x, type: null }] } };
    const session = await ort.InferenceSession.create(encodeModel(probe), { graphOptimizationLevel: 'basic' });
    let sum: Float64Array | undefined;
    let sq: Float64Array | undefined;
    let count = 0;
    for (const img of images) {
      const out = (await session.run({ input: new ort.Tensor('float32', img, [1, 3, res, res]) }))[x];
      const [, c, h, w] = out.dims as number[];
      const d = out.data as Float32Array;
      sum ??= new Float64Array(c);
      sq ??= new Float64Array(c);
      for (let ch = 0; ch < c; ch++) {
        for (let i = ch * h * w; i < (ch + 1) * h * w; i++) {
          sum[ch] += d[i];
          sq[ch] += d[i] * d[i];
        }
      }
      count += h * w;
    }
    await session.release();
    const s = sum as Float64Array;
    const q = sq as Float64Array;
    const mean = Float32Array.from(s, (v) => v / count);
    const variance = Float32Array.from(q, (v, c) => Math.max(v / count - mean[c] * mean[c], 1e-6));
    const initializers = g.initializers.map((t) => (t.name === bn.inputs[3] ? createTensor(t.name, mean, t.dims) : t.name === bn.inputs[4] ? createTensor(t.name, variance, t.dims) : t));
    current = { ...current, graph: { ...g, initializers } };
  }
  return current;
}

/** The benchmark model: built, BN statistics from reference images, cleaned (BN folded), class-mean head. */
export const BENCH_CLASSES = 20;

export async function referenceMobileNet(options: MobileNetOptions & { referenceImages?: number; perClass?: number } = {}): Promise<Model> {
  const { CLEANUP_PIPELINE, runPipeline } = await import('@edgeloop/compiler');
  const res = options.resolution ?? 224;
  const images = Array.from({ length: options.referenceImages ?? 8 }, (_, i) => syntheticImage(9000 + i, res));
  const withStats = await calibrateBatchNorm(buildMobileNet({ ...options, classes: options.classes ?? BENCH_CLASSES }), images, res);
  const cleaned = (await runPipeline(withStats, CLEANUP_PIPELINE)).model;
  return fitClassMeanHead(cleaned, options.classes ?? BENCH_CLASSES, options.perClass ?? 4, res);
}
