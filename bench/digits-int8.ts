// Accuracy and speed of static int8 (QDQ) on a really trained model: a digits student
// (convStudent channels [16, 32] + 64 hidden, BN + ReLU + MaxPool) trained 3 epochs on the 8,000
// training digits (real MNIST digits from the `mnist` package, runDigitsExample's split), BN
// folded, then quantized statically (minmax, uint8 activations, per-channel int8 weights) with
// calibration on 256 training digits. Evaluated on the 2,000 held-out test digits: fp32 vs int8
// top-1, points dropped (target <= 0.5) and top-1 agreement; then batch-1 latency fp32 vs int8 on
// onnxruntime-node, interleaved in the same process (fp32 is the baseline of the ratio).
// Run: node bench/dist/digits-int8.js   (env: EPOCHS=3, CALIB=256, THREADS=1, ITERATIONS=300)
import { CLEANUP_PIPELINE, encodeModel, quantizeStaticCalibrated, runPipeline } from '@edgeloop/compiler';
import type { CalibrationFeed } from '@edgeloop/compiler';
import { evaluate } from '@edgeloop/distill';
import type { Dataset } from '@edgeloop/distill';
import { SIDE, digitSplits, interleavedLatency, session, trainDigitsModel } from './digits-support.js';

const EPOCHS = Number(process.env.EPOCHS ?? 3);
const CALIB = Number(process.env.CALIB ?? 256);
const THREADS = Number(process.env.THREADS ?? 1);
const ITERATIONS = Number(process.env.ITERATIONS ?? 300);

function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(logits.length / classes);
  for (let n = 0; n < out.length; n++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[n * classes + k] > logits[n * classes + best]) best = k;
    out[n] = best;
  }
  return out;
}

function* calibrationFeeds(data: Dataset, count: number): Generator<CalibrationFeed> {
  const size = SIDE * SIDE;
  for (let i = 0; i < count; i++) yield { input: { data: data.inputs.slice(i * size, (i + 1) * size), dims: [1, 1, SIDE, SIDE] } };
}

async function main(): Promise<void> {
  const [trainSet, testSet] = digitSplits();
  console.log(`digits-int8: command: node bench/dist/digits-int8.js (EPOCHS=${EPOCHS} CALIB=${CALIB} THREADS=${THREADS} ITERATIONS=${ITERATIONS}); machine is shared (2 cores, other jobs running)`);
  let t = performance.now();
  const trained = await trainDigitsModel(trainSet, EPOCHS);
  const trainS = (performance.now() - t) / 1000;
  const fp32 = (await runPipeline(trained.model, CLEANUP_PIPELINE)).model;
  console.log(`digits-int8: trained convStudent [16, 32] + 64 hidden, ${EPOCHS} epochs on ${trainSet.count} digits in ${trainS.toFixed(1)} s (${trained.samplesPerSecond.toFixed(0)} samples/s); BN folded`);

  t = performance.now();
  const { model: int8, report } = await quantizeStaticCalibrated(fp32, { samples: calibrationFeeds(trainSet, CALIB), method: 'minmax', activationType: 'uint8' });
  console.log(`digits-int8: static QDQ (minmax, uint8 activations) calibrated on ${CALIB} training digits in ${((performance.now() - t) / 1000).toFixed(2)} s: ${report.quantized.length} nodes quantized, ${report.float.length} float${report.float.length ? ` (${report.float.map((f) => `${f.node}: ${f.reason}`).join(', ')})` : ''}; size ${encodeModel(fp32).length} -> ${encodeModel(int8).length} bytes`);

  const sFp32 = await session(fp32, THREADS);
  const sInt8 = await session(int8, THREADS);
  const eFp32 = await evaluate(fp32, testSet, { session: sFp32 });
  const eInt8 = await evaluate(int8, testSet, { session: sInt8 });
  const pFp32 = argmaxRows(eFp32.logits, eFp32.classes);
  const pInt8 = argmaxRows(eInt8.logits, eInt8.classes);
  let agree = 0;
  for (let i = 0; i < pFp32.length; i++) if (pFp32[i] === pInt8[i]) agree++;
  const drop = 100 * (eFp32.accuracy - eInt8.accuracy);
  console.log(`digits-int8: top-1 on ${testSet.count} held-out test digits: fp32 ${(100 * eFp32.accuracy).toFixed(2)}%, int8 ${(100 * eInt8.accuracy).toFixed(2)}%; dropped ${drop.toFixed(2)} points (target <= 0.5); top-1 agreement int8 vs fp32 ${agree}/${testSet.count} = ${((100 * agree) / testSet.count).toFixed(2)}%`);

  // Batch-1 latency, interleaved: fp32 then int8 on the same digit, alternating.
  const { a: mf, b: mq } = await interleavedLatency(sFp32, sInt8, testSet, ITERATIONS);
  console.log(`digits-int8: batch-1 latency (median of ${ITERATIONS} interleaved runs, ${THREADS} thread(s)): fp32 ${(mf * 1000).toFixed(0)} us, int8 ${(mq * 1000).toFixed(0)} us; speed ratio fp32/int8 = ${(mf / mq).toFixed(2)}x`);
  await sFp32.release();
  await sInt8.release();
}

await main();
