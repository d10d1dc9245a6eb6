// Runtime throughput and memory against baselines measured in the same run:
//  1. Throughput of the whole loop (Runner: folder source -> preprocess -> infer -> postprocess ->
//     metrics) on a folder of JPEGs, vs the sum-of-parts limit 1 / (t_decode+resize + t_session.run),
//     where t_decode+resize is sharp alone (decode, resize to 28x28, raw) and t_session.run is a
//     bare session.run on the same tensors.
//  2. Batch-1 latency overhead of Engine.infer over bare session.run, on a raw frame already at the
//     model size (no sharp in either path): what the engine adds (validation, buffer pool,
//     postprocessing, bookkeeping).
//  3. Resident memory over a long run (default 10,000 frames of the digits model), sampled every
//     1,000 frames: a leak shows as a steady climb after warm-up.
// Run: npx tsc -b bench && node bench/dist/runtime-throughput.js [--frames 10000] [--images 200]
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TrustStore, generateKeyPair } from '@edgeloop/bundle';
import { bundleModel } from '@edgeloop/compiler';
import { Engine, FolderSource, Runner, type RuntimeTensor } from '@edgeloop/runtime';
import sharp from 'sharp';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIGITS = join(ROOT, 'examples/models/digits-cnn.onnx');
/** Measurement passes; each reports the median of per-pass means (the machine may be shared). */
const PASSES = 5;

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

async function makeJpegs(dir: string, count: number): Promise<void> {
  // 160x120 camera-like frames: a digit-ish bar on noise, so JPEG decode does real work.
  const width = 160;
  const height = 120;
  let s = 7;
  for (let k = 0; k < count; k++) {
    const raw = Buffer.alloc(width * height * 3);
    for (let i = 0; i < raw.length; i++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      raw[i] = (s >> 24) & 0x3f;
    }
    for (let y = 20; y < 100; y++) for (let x = 0; x < 12; x++) raw.fill(230, (y * width + ((k * 7 + x) % width)) * 3, (y * width + ((k * 7 + x) % width)) * 3 + 3);
    await writeFile(join(dir, `frame-${String(k).padStart(5, '0')}.jpg`), await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer());
  }
}

async function main(): Promise<void> {
  const imageCount = arg('images', 200);
  const longFrames = arg('frames', 10_000);
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-bench-runtime-'));
  try {
    const keys = generateKeyPair();
    const bundlePath = join(dir, 'digits.edgeloop');
    await bundleModel({ model: DIGITS, outPath: bundlePath, privateKeyPem: keys.privateKeyPem, version: 1, targetProfile: 'raspberry-pi-4' });
    const engine = await Engine.open({ bundle: bundlePath, trust: TrustStore.fromPems([keys.publicKeyPem]), profile: 'raspberry-pi-4' });
    const folder = join(dir, 'frames');
    await mkdir(folder);
    await makeJpegs(folder, imageCount);
    const files = (await readdir(folder)).sort().map((n) => join(folder, n));
    const jpegs = await Promise.all(files.map((f) => readFile(f)));
    const spec = engine.imageInput.preprocessing!;
    console.log(`runtime-throughput: digits-cnn (1x28x28), ${imageCount} JPEGs 160x120, provider ${engine.provider} (raspberry-pi-4 profile: intra 4, inter 1 threads)`);

    // --- parts, each alone, three passes, median of per-pass mean ---
    const decodeMs: number[] = [];
    const runMs: number[] = [];
    const preprocessed: RuntimeTensor[] = [];
    for (const jpeg of jpegs) preprocessed.push({ ...(await engine.preprocessor.run(jpeg)).tensor });
    for (let pass = 0; pass < PASSES; pass++) {
      let t = performance.now();
      // Decode + resize to the model size, nothing else (the Preprocessor adds a header read, luma and normalisation).
      for (const jpeg of jpegs) await sharp(jpeg).resize(spec.width, spec.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
      decodeMs.push((performance.now() - t) / jpegs.length);
      t = performance.now();
      for (const tensor of preprocessed) await engine.session.run({ [engine.imageInput.name]: tensor });
      runMs.push((performance.now() - t) / preprocessed.length);
    }
    const tDecode = median(decodeMs);
    const tRun = median(runMs);
    const limitFps = 1000 / (tDecode + tRun);

    // --- Preprocessor alone, Engine.infer on in-memory JPEGs, and the whole loop on the folder ---
    const preMs: number[] = [];
    const inferMs: number[] = [];
    const loopFps: number[] = [];
    const out = new Float32Array(engine.preprocessor.elementCount);
    for (let pass = 0; pass < PASSES; pass++) {
      let t = performance.now();
      for (const jpeg of jpegs) await engine.preprocessor.run(jpeg, { out });
      preMs.push((performance.now() - t) / jpegs.length);
      t = performance.now();
      for (const jpeg of jpegs) await engine.infer(jpeg);
      inferMs.push((performance.now() - t) / jpegs.length);
      t = performance.now();
      const summary = await new Runner({ engine, source: new FolderSource({ path: folder }), summaryIntervalMs: 0 }).run();
      loopFps.push((summary.frames * 1000) / (performance.now() - t));
    }
    const fps = median(loopFps);
    const tPre = median(preMs);
    const tInfer = median(inferMs);
    // The same with onnxruntime's default of spinning idle threads (what Engine turns off).
    const spinning = await Engine.open({ bundle: bundlePath, trust: TrustStore.fromPems([keys.publicKeyPem]), profile: 'raspberry-pi-4', spinning: true });
    const spinMs: number[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      const t = performance.now();
      for (const jpeg of jpegs) await spinning.infer(jpeg);
      spinMs.push((performance.now() - t) / jpegs.length);
    }
    await spinning.release();
    const tSpin = median(spinMs);
    console.log(`  sharp decode+resize alone      ${tDecode.toFixed(3)} ms/frame`);
    console.log(`  bare session.run               ${tRun.toFixed(3)} ms/frame`);
    console.log(`  sum-of-parts limit             ${limitFps.toFixed(0)} fps`);
    console.log(`  Preprocessor.run (decode, resize, normalise into the reused buffer) ${tPre.toFixed(3)} ms/frame (ratio to sharp alone ${(tPre / tDecode).toFixed(2)})`);
    console.log(`  Engine.infer on in-memory JPEGs ${tInfer.toFixed(3)} ms/frame = ${(1000 / tInfer).toFixed(0)} fps  ratio to limit ${(1000 / tInfer / limitFps).toFixed(2)}`);
    console.log(`  Engine.infer with spinning onnxruntime threads ${tSpin.toFixed(3)} ms/frame (${(tSpin / tInfer).toFixed(2)}x the non-spinning default)`);
    console.log(`  Runner (folder -> ... -> metrics) ${fps.toFixed(0)} fps  ratio to limit ${(fps / limitFps).toFixed(2)}`);

    // --- batch-1 latency overhead: Engine.infer vs session.run on a raw frame at model size ---
    const raw = { data: new Uint8Array(spec.width * spec.height).fill(100), width: spec.width, height: spec.height, channels: 1 as const };
    const tensor = preprocessed[0];
    const bare: number[] = [];
    const full: number[] = [];
    for (let i = 0; i < 2000; i++) {
      let t = performance.now();
      await engine.session.run({ [engine.imageInput.name]: tensor });
      bare.push(performance.now() - t);
      t = performance.now();
      await engine.infer(raw);
      full.push(performance.now() - t);
    }
    const bareP50 = median(bare);
    const fullP50 = median(full);
    console.log(`  batch-1 latency p50: session.run ${bareP50.toFixed(3)} ms, Engine.infer ${fullP50.toFixed(3)} ms, overhead ${(fullP50 - bareP50).toFixed(3)} ms (ratio ${(fullP50 / bareP50).toFixed(2)})`);

    // --- long run memory ---
    const rss: number[] = [];
    let frames = 0;
    const start = performance.now();
    await new Runner({
      engine,
      source: new FolderSource({ path: folder, loop: true }),
      maxFrames: longFrames,
      summaryIntervalMs: 0,
      onFrame: () => {
        frames++;
        if (frames % 1000 === 0) rss.push(process.memoryUsage.rss());
      },
    }).run();
    const seconds = (performance.now() - start) / 1000;
    // Allocators and sharp's operation cache grow to a plateau early; a leak keeps climbing, so
    // compare the second half of the run with itself.
    const half = rss.slice(Math.floor(rss.length / 2));
    const growth = half[half.length - 1] - half[0];
    const perThousand = half.length > 1 ? growth / (half.length - 1) : 0;
    console.log(`  long run: ${frames} frames in ${seconds.toFixed(1)} s (${(frames / seconds).toFixed(0)} fps); rss every 1000 frames (MiB): ${rss.map(mb).join(' ')}`);
    console.log(
      `  rss: first ${mb(rss[0])} MiB, max ${mb(Math.max(...rss))} MiB, last ${mb(rss[rss.length - 1])} MiB; second half grew ${mb(growth)} MiB ` +
        `(${(perThousand / 1024).toFixed(0)} KiB per 1000 frames; ratio last/first of second half ${(half[half.length - 1] / half[0]).toFixed(3)})`,
    );
    await engine.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
