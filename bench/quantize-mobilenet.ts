// Static int8 QDQ quantization of a MobileNet-v1-style model (built in code, seeded weights,
// 224x224): latency fp32 vs int8 at batch 1 on onnxruntime-node (same process, interleaved runs)
// and top-1 agreement with fp32 on synthetic inputs, for several quantization settings.
// Run: node bench/dist/quantize-mobilenet.js   (env: THREADS=1, ITERATIONS=40, EVAL=64, CALIB=32)
import * as ort from 'onnxruntime-node';
import { calibrateModel, encodeModel, quantizeStatic, staticQuantizationTargets } from '@edgeloop/compiler';
import type { CalibrationFeed, Model, StaticQuantizeOptions } from '@edgeloop/compiler';
import { BENCH_CLASSES, classImage, referenceMobileNet } from './mobilenet-model.js';

const THREADS = Number(process.env.THREADS ?? 1);
const ITERATIONS = Number(process.env.ITERATIONS ?? 40);
const EVAL = Number(process.env.EVAL ?? 64);
const CALIB = Number(process.env.CALIB ?? 32);
const RES = 224;

async function session(model: Model): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), {
    graphOptimizationLevel: 'all', intraOpNumThreads: THREADS, interOpNumThreads: 1, executionMode: 'sequential',
  });
}

function input(seed: number): ort.Tensor {
  return new ort.Tensor('float32', classImage(seed % BENCH_CLASSES, seed, RES), [1, 3, RES, RES]);
}

function argmax(t: ort.Tensor): number {
  const d = t.data as Float32Array;
  let best = 0;
  for (let i = 1; i < d.length; i++) if (d[i] > d[best]) best = i;
  return best;
}

async function main(): Promise<void> {
  // Reference images (BN statistics, head) are disjoint from calibration and evaluation images.
  const cleaned = await referenceMobileNet({ resolution: RES, seed: 7 });
  const calibration = Array.from({ length: CALIB }, (_, i): CalibrationFeed => ({ input: { data: classImage(i % BENCH_CLASSES, 1000 + i, RES), dims: [1, 3, RES, RES] } }));
  const targets = staticQuantizationTargets(cleaned);
  let start = performance.now();
  const data = await calibrateModel(cleaned, calibration, { tensors: targets, intraOpNumThreads: THREADS });
  console.log(`quantize-mobilenet: calibrated ${targets.length} tensors on ${data.samples} samples in ${((performance.now() - start) / 1000).toFixed(1)} s`);

  const variants: [string, Omit<StaticQuantizeOptions, 'calibration'>][] = [
    ['u8 act minmax', { activationType: 'uint8', method: 'minmax' }],
    ['s8 act minmax', { activationType: 'int8', method: 'minmax' }],
    ['u8 act percentile 99.99', { activationType: 'uint8', method: 'percentile', percentile: 99.99 }],
    ['u8 act percentile 99.999', { activationType: 'uint8', method: 'percentile', percentile: 99.999 }],
    ['u8 act entropy', { activationType: 'uint8', method: 'entropy' }],
    ['u8 act minmax 7-bit weights everywhere', { activationType: 'uint8', method: 'minmax', reduceRange: true }],
    ['u8 act minmax 8-bit weights everywhere', { activationType: 'uint8', method: 'minmax', reduceRange: false }],
  ];
  const fp32 = await session(cleaned);
  const evalInputs = Array.from({ length: EVAL }, (_, i) => input(5000 + i));
  const reference: number[] = [];
  const referenceLogits: Float32Array[] = [];
  const labels = Array.from({ length: EVAL }, (_, i) => (5000 + i) % BENCH_CLASSES);
  for (const x of evalInputs) {
    const out = (await fp32.run({ input: x })).logits;
    reference.push(argmax(out));
    referenceLogits.push(out.data as Float32Array);
  }
  const fp32Correct = reference.filter((c, i) => c === labels[i]).length;
  // Relative gap between the two best fp32 logits: a flip at a near-tie says little about the quantizer.
  const margin = (v: Float32Array): number => {
    const sorted = [...v].sort((a, b) => b - a);
    return (sorted[0] - sorted[1]) / Math.hypot(...v);
  };
  console.log(`quantize-mobilenet: fp32 top-1 over ${EVAL} inputs spans ${new Set(reference).size} distinct classes, accuracy vs synthetic labels ${fp32Correct}/${EVAL}; threads=${THREADS}`);

  for (const [label, opts] of variants) {
    start = performance.now();
    const { model: q, report } = quantizeStatic(cleaned, { ...opts, calibration: data });
    const quantMs = performance.now() - start;
    const int8 = await session(q);
    let agree = 0;
    let correct = 0;
    let relErr = 0;
    const flips: string[] = [];
    for (let i = 0; i < EVAL; i++) {
      const out = (await int8.run({ input: evalInputs[i] })).logits;
      if (argmax(out) === reference[i]) agree++;
      else flips.push(margin(referenceLogits[i]).toFixed(4));
      if (argmax(out) === labels[i]) correct++;
      const a = out.data as Float32Array;
      const e = referenceLogits[i];
      let num = 0;
      let den = 0;
      for (let k = 0; k < a.length; k++) {
        num += (a[k] - e[k]) ** 2;
        den += e[k] ** 2;
      }
      relErr += Math.sqrt(num / den) / EVAL;
    }
    // Interleaved latency: alternate fp32 and int8 runs on the same input.
    const x = evalInputs[0];
    for (let i = 0; i < 5; i++) {
      await fp32.run({ input: x });
      await int8.run({ input: x });
    }
    const tf: number[] = [];
    const tq: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      let t = performance.now();
      await fp32.run({ input: x });
      tf.push(performance.now() - t);
      t = performance.now();
      await int8.run({ input: x });
      tq.push(performance.now() - t);
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const mf = median(tf);
    const mq = median(tq);
    console.log(
      `quantize-mobilenet: [${label}] fp32 ${mf.toFixed(2)} ms, int8 ${mq.toFixed(2)} ms (median of ${ITERATIONS}), speedup fp32/int8 = ${(mf / mq).toFixed(2)}x; `
      + `top-1 agreement ${agree}/${EVAL} = ${((100 * agree) / EVAL).toFixed(1)}% (fp32 margins of flipped samples: ${flips.join(', ') || 'none'}); `
      + `accuracy ${correct}/${EVAL} vs fp32 ${fp32Correct}/${EVAL} (drop ${((100 * (fp32Correct - correct)) / EVAL).toFixed(1)} points); mean relative logit error ${relErr.toFixed(4)}; `
      + `${report.quantized.length} nodes quantized, ${report.float.length} float, ${report.fusedActivations.length} activations fused; quantize pass ${quantMs.toFixed(0)} ms`,
    );
    if (report.float.length > 0) console.log(`  float: ${report.float.map((f) => `${f.node}(${f.opType}: ${f.reason})`).join(', ')}`);
    await int8.release();
  }
  await fp32.release();
}

await main();
