// Structured channel pruning of a MobileNet-v1-style model (built in code, seeded weights,
// 224x224): 50% of the channels of every prunable group removed, latency of the pruned vs the
// unpruned model at batch 1 on onnxruntime-node (same process, interleaved runs), sizes, and
// the per-layer sensitivity of a few groups. The weights are not fine-tuned after pruning, so
// agreement is reported for information only.
// Run: node bench/dist/prune-mobilenet.js   (env: THREADS=1, ITERATIONS=40, RATIO=0.5)
import * as ort from 'onnxruntime-node';
import { analyzePruningSensitivity, encodeModel, pruneChannels } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import { BENCH_CLASSES, classImage, referenceMobileNet } from './mobilenet-model.js';

const THREADS = Number(process.env.THREADS ?? 1);
const ITERATIONS = Number(process.env.ITERATIONS ?? 40);
const RATIO = Number(process.env.RATIO ?? 0.5);
const RES = 224;

async function session(model: Model): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: 'all', intraOpNumThreads: THREADS, interOpNumThreads: 1 });
}

const parameters = (m: Model): number => m.graph.initializers.reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0);
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const model = await referenceMobileNet({ resolution: RES, seed: 7 });
  let start = performance.now();
  const { model: pruned, report } = pruneChannels(model, { ratio: RATIO, roundTo: 8 });
  console.log(`prune-mobilenet: pruned ${report.groups.length} channel groups at ratio ${RATIO} in ${(performance.now() - start).toFixed(0)} ms; frozen groups: ${report.frozen.length}`);
  console.log(`prune-mobilenet: parameters ${parameters(model)} -> ${parameters(pruned)} (${(parameters(pruned) / parameters(model)).toFixed(3)}x); file ${encodeModel(model).byteLength} -> ${encodeModel(pruned).byteLength} bytes`);
  const base = await session(model);
  const small = await session(pruned);
  const x = new ort.Tensor('float32', classImage(3, 77, RES), [1, 3, RES, RES]);
  for (let i = 0; i < 5; i++) {
    await base.run({ input: x });
    await small.run({ input: x });
  }
  const tb: number[] = [];
  const tp: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    let t = performance.now();
    await base.run({ input: x });
    tb.push(performance.now() - t);
    t = performance.now();
    await small.run({ input: x });
    tp.push(performance.now() - t);
  }
  const mb = median(tb);
  const mp = median(tp);
  console.log(`prune-mobilenet: unpruned ${mb.toFixed(2)} ms, pruned ${mp.toFixed(2)} ms (median of ${ITERATIONS}, threads=${THREADS}); speedup unpruned/pruned = ${(mb / mp).toFixed(2)}x`);
  let agree = 0;
  const evalCount = 32;
  for (let i = 0; i < evalCount; i++) {
    const xi = new ort.Tensor('float32', classImage(i % BENCH_CLASSES, 5000 + i, RES), [1, 3, RES, RES]);
    const a = (await base.run({ input: xi })).logits.data as Float32Array;
    const b = (await small.run({ input: xi })).logits.data as Float32Array;
    if (a.indexOf(Math.max(...a)) === b.indexOf(Math.max(...b))) agree++;
  }
  console.log(`prune-mobilenet: top-1 agreement without fine-tuning ${agree}/${evalCount}`);
  await base.release();
  await small.release();
  start = performance.now();
  const samples = Array.from({ length: 8 }, (_, i) => ({ input: { data: classImage(i % BENCH_CLASSES, 7000 + i, RES), dims: [1, 3, RES, RES] } }));
  const sensitivity = await analyzePruningSensitivity(model, samples, { ratio: RATIO, roundTo: 8, intraOpNumThreads: THREADS });
  console.log(`prune-mobilenet: sensitivity of ${sensitivity.length} groups at ratio ${RATIO} on ${samples.length} samples (${((performance.now() - start) / 1000).toFixed(1)} s), most robust first:`);
  for (const s of sensitivity) console.log(`  ${s.convs.join('+').padEnd(10)} ${s.channels}->${s.kept}  agreement ${(100 * s.agreement).toFixed(0)}%  relative error ${s.relativeError.toFixed(3)}`);
}

await main();
