// Peak memory of static int8 calibration + quantization against the number of calibration inputs:
// a MobileNet-v1-shaped student (mobileNetStudent, 13 depthwise-separable blocks, about 4.2M
// parameters, 96x96 RGB input) calibrated with 64 and with 1024 synthetic images streamed from a
// generator (calibrateModel folds batches of 8 into bounded histograms), then quantizeStatic.
// Each case runs in a fresh child process and reports its peak RSS (VmHWM from /proc/self/status),
// so the two cases never share a heap. The 64-image case is the baseline; the ratio 1024 / 64
// should stay near 1.0 (memory must not grow with the number of images).
// Run: node bench/dist/calibration-memory.js   (env: RES=96, SMALL=64, LARGE=1024, THREADS=1, BATCH=8)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLEANUP_PIPELINE, calibrateModel, encodeModel, quantizeStatic, runPipeline, staticQuantizationTargets } from '@edgeloop/compiler';
import type { CalibrationFeed, Model } from '@edgeloop/compiler';
import { mobileNetStudent } from '@edgeloop/distill';
import type { MobileNetBlock } from '@edgeloop/distill';

const RES = Number(process.env.RES ?? 96);
const SMALL = Number(process.env.SMALL ?? 64);
const LARGE = Number(process.env.LARGE ?? 1024);
const THREADS = Number(process.env.THREADS ?? 1);
const BATCH = Number(process.env.BATCH ?? 8);

/** MobileNet v1's 13 blocks (alpha 1). */
const V1_BLOCKS: MobileNetBlock[] = ([
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
] as const).map(([out, stride]) => ({ out, stride }));

function model(): Model {
  return mobileNetStudent({ inputShape: [3, RES, RES], classes: 1000, stem: { channels: 32, stride: 2 }, blocks: V1_BLOCKS, seed: 3 });
}

function parameters(m: Model): number {
  return m.graph.initializers.filter((t) => t.dataType === 1 && !/running_(mean|var)$/.test(t.name)).reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
}

/** Deterministic smooth synthetic image, roughly normalised: a few plane waves per channel plus noise. */
function image(seed: number): Float32Array {
  let s = (seed * 7919 + 17) >>> 0 || 1;
  const rand = (): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const out = new Float32Array(3 * RES * RES);
  for (let c = 0; c < 3; c++) {
    const fx = (rand() - 0.5) * 0.3;
    const fy = (rand() - 0.5) * 0.3;
    const phase = rand() * 6.28;
    const offset = (rand() - 0.5);
    for (let y = 0; y < RES; y++) for (let x = 0; x < RES; x++) out[c * RES * RES + y * RES + x] = offset + Math.sin(fx * x + fy * y + phase) + (rand() - 0.5) * 0.3;
  }
  return out;
}

/** Peak RSS after each eighth of the images (does the peak still climb late in the run?). */
const hwmTrace: number[] = [];

function* feeds(count: number): Generator<CalibrationFeed> {
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % Math.max(1, Math.floor(count / 8)) === 0) hwmTrace.push(Math.round(vmHWM() * 10) / 10);
    yield { input: { data: image(i), dims: [1, 3, RES, RES] } };
  }
}

function vmHWM(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function child(count: number): Promise<void> {
  const built = model();
  const cleaned = (await runPipeline(built, CLEANUP_PIPELINE)).model;
  const before = vmHWM();
  const targets = staticQuantizationTargets(cleaned);
  const t0 = performance.now();
  const data = await calibrateModel(cleaned, feeds(count), { tensors: targets, batchSize: BATCH, intraOpNumThreads: THREADS });
  const t1 = performance.now();
  const { model: q, report } = quantizeStatic(cleaned, { calibration: data });
  const bytes = encodeModel(q).length;
  const t2 = performance.now();
  console.log(JSON.stringify({
    count, samples: data.samples, params: parameters(built), tensors: targets.length, quantized: report.quantized.length,
    hwmBeforeMiB: before, hwmMiB: vmHWM(), hwmTrace, calibrateS: (t1 - t0) / 1000, quantizeS: (t2 - t1) / 1000, int8Bytes: bytes,
  }));
}

interface ChildResult {
  count: number; samples: number; params: number; tensors: number; quantized: number;
  hwmBeforeMiB: number; hwmMiB: number; hwmTrace: number[]; calibrateS: number; quantizeS: number; int8Bytes: number;
}

function runCase(count: number): ChildResult {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', String(count)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`child (${count} images) failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ChildResult;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    await child(Number(process.argv[at + 1]));
    return;
  }
  console.log(`calibration-memory: mobileNetStudent (MobileNet v1 blocks, alpha 1, 1000 classes) at ${RES}x${RES}, synthetic images streamed in batches of ${BATCH}, ${THREADS} onnxruntime thread(s); each case in a fresh process; machine is shared (2 cores, other jobs running)`);
  console.log(`calibration-memory: command: node bench/dist/calibration-memory.js (RES=${RES} SMALL=${SMALL} LARGE=${LARGE} THREADS=${THREADS} BATCH=${BATCH})`);
  const results: ChildResult[] = [];
  for (const count of [SMALL, LARGE]) {
    const r = runCase(count);
    results.push(r);
    console.log(
      `calibration-memory: ${r.count} images: peak RSS (VmHWM) ${r.hwmMiB.toFixed(1)} MiB (after model build + cleanup, before calibration: ${r.hwmBeforeMiB.toFixed(1)} MiB); `
      + `${r.params} parameters, ${r.tensors} tensors observed, ${r.quantized} nodes quantized; calibrate ${r.calibrateS.toFixed(1)} s, quantize+encode ${r.quantizeS.toFixed(1)} s; int8 model ${(r.int8Bytes / 1e6).toFixed(2)} MB; `
      + `peak RSS after each eighth of the images: ${r.hwmTrace.join(', ')} MiB`,
    );
  }
  const [small, large] = results;
  console.log(`calibration-memory: peak RSS ratio ${large.count} / ${small.count} images = ${(large.hwmMiB / small.hwmMiB).toFixed(3)} (target ~1.0: no growth with the number of images); growth ${(large.hwmMiB - small.hwmMiB).toFixed(1)} MiB for ${large.count - small.count} more images`);
  console.log(`calibration-memory: calibration time per image ${(1000 * small.calibrateS / small.count).toFixed(1)} ms (${small.count}) vs ${(1000 * large.calibrateS / large.count).toFixed(1)} ms (${large.count})`);
}

await main();
