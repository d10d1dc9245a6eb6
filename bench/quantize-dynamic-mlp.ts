// Dynamic int8 quantization of an MLP (Gemm / MatMul heavy): latency fp32 vs dynamic int8 on
// onnxruntime-node (same process, interleaved) at batch 1 and 16, with uint8 and int8 weights.
// Run: node bench/dist/quantize-dynamic-mlp.js   (env: THREADS=1, ITERATIONS=40)
import * as ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel, quantizeDynamic } from '@edgeloop/compiler';
import type { Model } from '@edgeloop/compiler';
import { seeded } from './mobilenet-model.js';

const THREADS = Number(process.env.THREADS ?? 1);
const ITERATIONS = Number(process.env.ITERATIONS ?? 40);

function mlp(): Model {
  const rand = seeded(3);
  const w = (n: number, fan: number): Float32Array => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * Math.sqrt(3 / fan));
  const b = new GraphBuilder('mlp');
  let y = b.input('x', 'float32', ['N', 1024]);
  const widths = [1024, 2048, 2048, 1000];
  for (let i = 1; i < widths.length; i++) {
    const [k, n] = [widths[i - 1], widths[i]];
    y = b.node('Gemm', [y, b.initializer(`w${i}`, w(n * k, k), [n, k]), b.initializer(`b${i}`, new Float32Array(n), [n])], { transB: 1 }, { name: `fc${i}` });
    if (i < widths.length - 1) y = b.node('Relu', [y]);
  }
  b.output(y);
  return b.build({ opset: 13 });
}

async function main(): Promise<void> {
  const model = mlp();
  const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: THREADS };
  const fp32 = await ort.InferenceSession.create(encodeModel(model), opts);
  for (const weightType of ['uint8', 'int8'] as const) {
    const q = await ort.InferenceSession.create(encodeModel(quantizeDynamic(model, { weightType }).model), opts);
    for (const batch of [1, 16]) {
      const rand = seeded(batch);
      const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 1024 }, () => rand() * 2 - 1), [batch, 1024]);
      const name = fp32.outputNames[0];
      const ref = (await fp32.run({ x }))[name].data as Float32Array;
      const out = (await q.run({ x }))[name].data as Float32Array;
      let num = 0;
      let den = 0;
      for (let i = 0; i < ref.length; i++) {
        num += (out[i] - ref[i]) ** 2;
        den += ref[i] ** 2;
      }
      const tf: number[] = [];
      const tq: number[] = [];
      for (let i = 0; i < ITERATIONS + 3; i++) {
        let t = performance.now();
        await fp32.run({ x });
        if (i >= 3) tf.push(performance.now() - t);
        t = performance.now();
        await q.run({ x });
        if (i >= 3) tq.push(performance.now() - t);
      }
      const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
      console.log(`quantize-dynamic-mlp: ${weightType} weights, batch ${batch}: fp32 ${median(tf).toFixed(3)} ms, dynamic int8 ${median(tq).toFixed(3)} ms, speedup ${(median(tf) / median(tq)).toFixed(2)}x; relative output error ${Math.sqrt(num / den).toFixed(4)} (threads=${THREADS})`);
    }
    await q.release();
  }
  await fp32.release();
}

await main();
