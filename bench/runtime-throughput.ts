// Runtime throughput and memory against baselines measured in the same run:
//  1. Throughput of the whole loop (Runner: folder source -> preprocess -> infer -> postprocess ->
//     metrics) on a folder of JPEGs, vs the sum-of-parts limit 1 / (t_decode+resize + t_session.run),
//     where t_decode+resize is sharp alone (decode, resize to the model size, raw) and t_session.run
//     is a bare onnxruntime-node session (created with the same options the Engine uses) run on the
//     same tensors. The Runner pipelines (frame N+1 decodes while frame N runs), so it can pass
//     that limit; it is shown with pipelineDepth 1 (one frame at a time) and 2 (the default).
//  2. Batch-1 latency overhead of Engine.infer over that bare session.run, on a raw frame already
//     at the model size (no sharp in either path): what the engine adds (its session adapter,
//     buffer pool, postprocessing, bookkeeping). Interleaved call by call, p50 of each, with the
//     profile's 4 intra-op threads and again with 1 (far less scheduling noise on a shared machine).
//  Both on the digits CNN (1x28x28, ~0.2 ms per run) and on the MobileNet-v1-style model of
//  bench/mobilenet-model.ts (3x224x224, 1000 classes), where run time dominates.
//  3. Resident memory over a long run (default 10,000 frames of the digits model), sampled every
//     1,000 frames: a leak shows as a steady climb after warm-up.
// Run: npm run bench -- runtime-throughput   (or node bench/dist/runtime-throughput.js
//      [--frames 10000] [--images 200] [--mobilenet-images 40] [--mobilenet-calls 300])
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { TrustStore, generateKeyPair, loadDeviceProfile } from '@edgeloop/bundle';
import { bundleModel, encodeModel } from '@edgeloop/compiler';
import { Engine, FolderSource, Runner, type RawFrame, type RuntimeTensor } from '@edgeloop/runtime';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

import { buildMobileNet } from './mobilenet-model.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIGITS = join(ROOT, 'examples/models/digits-cnn.onnx');
const PROFILE = 'raspberry-pi-4';
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
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

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

/** A bare onnxruntime-node session on the engine's model with the options Engine.open used (profile threads, no spinning). */
async function bareSession(engine: Engine, intra?: number): Promise<ort.InferenceSession> {
  const profile = await loadDeviceProfile(PROFILE);
  const model = await engine.bundle.readMember(engine.manifest.model.path);
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: intra ?? profile.threads?.intra,
    interOpNumThreads: profile.threads?.inter,
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}

/**
 * Batch-1 overhead with the profile's threads, then again with one intra-op thread for both the
 * engine and the bare session: on a shared machine, waking four pool threads on two busy cores
 * varies by milliseconds from call to call, which one thread avoids, so that line shows the
 * engine's own cost with much less scheduling noise.
 */
async function batch1Both(engine: Engine, bare: ort.InferenceSession, bundle: string, trust: TrustStore, raw: RawFrame, calls: number): Promise<void> {
  await batch1(engine, bare, raw, calls, `profile threads`);
  const single = await Engine.open({ bundle, trust, profile: PROFILE, threads: { intra: 1, inter: 1 } });
  const singleBare = await bareSession(single, 1);
  await batch1(single, singleBare, raw, calls, '1 intra-op thread');
  await singleBare.release();
  await single.release();
}

const toOrt = (t: RuntimeTensor): ort.Tensor => new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);

interface ThroughputResult {
  tDecode: number;
  tRun: number;
  limitFps: number;
  tPre: number;
  tInfer: number;
  /** Per depth: median fps, and the median, min and max of the per-pass ratios to that pass's limit. */
  runner: Map<number, { fps: number; ratio: number; min: number; max: number }>;
}

/**
 * Parts alone, then the engine and the Runner, PASSES passes each. Every pass measures all of them
 * back to back and its ratios use that pass's own limit, so load from other work drifting between
 * passes cancels out of the ratios; the medians over the passes are reported.
 */
async function throughput(engine: Engine, bare: ort.InferenceSession, folder: string, jpegs: Buffer[], depths: number[]): Promise<ThroughputResult> {
  const spec = engine.imageInput.preprocessing!;
  const name = engine.imageInput.name;
  const decodeMs: number[] = [];
  const runMs: number[] = [];
  const preprocessed: ort.Tensor[] = [];
  for (const jpeg of jpegs) preprocessed.push(toOrt((await engine.preprocessor.run(jpeg)).tensor));
  const preMs: number[] = [];
  const inferMs: number[] = [];
  const loopFps = new Map<number, number[]>(depths.map((d) => [d, []]));
  const ratios = new Map<number, number[]>(depths.map((d) => [d, []]));
  const out = spec.dtype === 'float32' ? new Float32Array(engine.preprocessor.elementCount) : new Uint8Array(engine.preprocessor.elementCount);
  for (let pass = 0; pass < PASSES; pass++) {
    let t = performance.now();
    // Decode + resize to the model size, nothing else (the Preprocessor adds colour handling and normalisation).
    for (const jpeg of jpegs) await sharp(jpeg).resize(spec.width, spec.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    decodeMs.push((performance.now() - t) / jpegs.length);
    t = performance.now();
    for (const tensor of preprocessed) await bare.run({ [name]: tensor });
    runMs.push((performance.now() - t) / preprocessed.length);
    const limit = 1000 / (decodeMs[pass] + runMs[pass]);
    t = performance.now();
    for (const jpeg of jpegs) await engine.preprocessor.run(jpeg, { out });
    preMs.push((performance.now() - t) / jpegs.length);
    t = performance.now();
    for (const jpeg of jpegs) await engine.infer(jpeg);
    inferMs.push((performance.now() - t) / jpegs.length);
    for (const depth of depths) {
      t = performance.now();
      const summary = await new Runner({ engine, source: new FolderSource({ path: folder }), summaryIntervalMs: 0, pipelineDepth: depth }).run();
      const fps = (summary.frames * 1000) / (performance.now() - t);
      loopFps.get(depth)!.push(fps);
      ratios.get(depth)!.push(fps / limit);
    }
  }
  const tDecode = median(decodeMs);
  const tRun = median(runMs);
  return {
    tDecode,
    tRun,
    limitFps: 1000 / (tDecode + tRun),
    tPre: median(preMs),
    tInfer: median(inferMs),
    runner: new Map(
      depths.map((d) => {
        const r = ratios.get(d)!;
        return [d, { fps: median(loopFps.get(d)!), ratio: median(r), min: Math.min(...r), max: Math.max(...r) }];
      }),
    ),
  };
}

function printThroughput(r: ThroughputResult): void {
  console.log(`  sharp decode+resize alone      ${r.tDecode.toFixed(3)} ms/frame`);
  console.log(`  bare session.run               ${r.tRun.toFixed(3)} ms/frame`);
  console.log(`  sum-of-parts limit             ${r.limitFps.toFixed(1)} fps (max(decode, run) would allow ${(1000 / Math.max(r.tDecode, r.tRun)).toFixed(1)} fps)`);
  console.log(`  Preprocessor.run (decode, resize, normalise into the reused buffer) ${r.tPre.toFixed(3)} ms/frame (ratio to sharp alone ${(r.tPre / r.tDecode).toFixed(2)})`);
  console.log(`  Engine.infer on in-memory JPEGs, one at a time ${r.tInfer.toFixed(3)} ms/frame = ${(1000 / r.tInfer).toFixed(1)} fps  ratio to limit ${(1000 / r.tInfer / r.limitFps).toFixed(2)}`);
  for (const [depth, x] of r.runner) {
    console.log(
      `  Runner (folder -> ... -> metrics), pipelineDepth ${depth}${depth === 2 ? ' (default)' : ''} ${x.fps.toFixed(1)} fps  ` +
        `ratio to limit ${x.ratio.toFixed(2)} (median of per-pass ratios; range ${x.min.toFixed(2)}-${x.max.toFixed(2)})`,
    );
  }
}

/** Engine.infer on a raw frame at model size vs the bare session on the same tensor, interleaved call by call. */
async function batch1(engine: Engine, bare: ort.InferenceSession, raw: RawFrame, calls: number, label: string): Promise<void> {
  const name = engine.imageInput.name;
  const tensor = toOrt((await engine.preprocessor.run(raw)).tensor);
  const feeds = { [name]: tensor };
  const bareMs: number[] = [];
  const fullMs: number[] = [];
  for (let i = 0; i < calls; i++) {
    // Alternate which goes first so neither always follows the other's cache state.
    const first = i % 2 === 0;
    for (const which of first ? ['bare', 'full'] : ['full', 'bare']) {
      const t = performance.now();
      if (which === 'bare') await bare.run(feeds);
      else await engine.infer(raw);
      (which === 'bare' ? bareMs : fullMs).push(performance.now() - t);
    }
  }
  const b = median(bareMs);
  const f = median(fullMs);
  // Each call's overhead against the bare call next to it, so load drifting over the run cancels.
  const paired = median(fullMs.map((v, i) => v - bareMs[i]));
  console.log(
    `  batch-1 latency (${label}) p50 over ${calls} interleaved calls: bare session.run ${b.toFixed(3)} ms, Engine.infer ${f.toFixed(3)} ms, ` +
      `overhead ${(f - b).toFixed(3)} ms = ${(((f - b) / b) * 100).toFixed(1)}%; median paired overhead ${paired.toFixed(3)} ms = ${((paired / b) * 100).toFixed(1)}%`,
  );
}

async function main(): Promise<void> {
  const imageCount = arg('images', 200);
  const longFrames = arg('frames', 10_000);
  const mobileImages = arg('mobilenet-images', 40);
  const mobileCalls = arg('mobilenet-calls', 300);
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-bench-runtime-'));
  try {
    const keys = generateKeyPair();
    const bundlePath = join(dir, 'digits.edgeloop');
    await bundleModel({ model: DIGITS, outPath: bundlePath, privateKeyPem: keys.privateKeyPem, version: 1, targetProfile: PROFILE });
    const trust = TrustStore.fromPems([keys.publicKeyPem]);
    const engine = await Engine.open({ bundle: bundlePath, trust, profile: PROFILE });
    const folder = join(dir, 'frames');
    await mkdir(folder);
    await makeJpegs(folder, imageCount);
    const files = (await readdir(folder)).sort().map((n) => join(folder, n));
    const jpegs = await Promise.all(files.map((f) => readFile(f)));
    const bare = await bareSession(engine);
    console.log(`runtime-throughput: load average at start ${load()} (2 shared cores: other work on the machine moves these numbers)`);
    console.log(`digits-cnn (1x28x28), ${imageCount} JPEGs 160x120, provider ${engine.provider} (${PROFILE} profile: intra 4, inter 1 threads)`);
    printThroughput(await throughput(engine, bare, folder, jpegs, [1, 2]));
    // The same with onnxruntime's default of spinning idle threads (what Engine turns off).
    const spinning = await Engine.open({ bundle: bundlePath, trust, profile: PROFILE, spinning: true });
    const spinMs: number[] = [];
    const plainMs: number[] = [];
    for (let pass = 0; pass < PASSES; pass++) {
      for (const [e, into] of [[spinning, spinMs], [engine, plainMs]] as const) {
        const t = performance.now();
        for (const jpeg of jpegs) await e.infer(jpeg);
        into.push((performance.now() - t) / jpegs.length);
      }
    }
    await spinning.release();
    console.log(`  Engine.infer with spinning onnxruntime threads ${median(spinMs).toFixed(3)} ms/frame (${(median(spinMs) / median(plainMs)).toFixed(2)}x the non-spinning default)`);
    const spec = engine.imageInput.preprocessing!;
    await batch1Both(engine, bare, bundlePath, trust, { data: new Uint8Array(spec.width * spec.height).fill(100), width: spec.width, height: spec.height, channels: 1 }, 2000);
    await bare.release();
    console.log(`  load average now ${load()}`);

    // --- long run memory (digits, before the MobileNet model inflates the heap) ---
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
    // --- MobileNet-v1-style (run time dominates) ---
    const mobilePath = join(dir, 'mobilenet.edgeloop');
    await bundleModel({
      model: { bytes: encodeModel(buildMobileNet()), name: 'mobilenet.onnx' },
      outPath: mobilePath,
      privateKeyPem: keys.privateKeyPem,
      version: 1,
      task: 'classification',
      labels: Array.from({ length: 1000 }, (_, i) => `class-${i}`),
      targetProfile: PROFILE,
      preprocessing: { resize: 'stretch', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      goldenCount: 1,
    });
    const mobile = await Engine.open({ bundle: mobilePath, trust, profile: PROFILE });
    const mobileBare = await bareSession(mobile);
    const mobileFolder = join(dir, 'mobile-frames');
    await mkdir(mobileFolder);
    const mobileFiles = files.slice(0, mobileImages);
    for (const f of mobileFiles) await writeFile(join(mobileFolder, f.split('/').pop()!), await readFile(f));
    console.log(`mobilenet-v1-style (3x224x224, 1000 classes), ${mobileFiles.length} of the same JPEGs, provider ${mobile.provider}`);
    printThroughput(await throughput(mobile, mobileBare, mobileFolder, jpegs.slice(0, mobileImages), [1, 2]));
    const ms = mobile.imageInput.preprocessing!;
    await batch1Both(mobile, mobileBare, mobilePath, trust, { data: new Uint8Array(ms.width * ms.height * 3).fill(100), width: ms.width, height: ms.height, channels: 3 }, mobileCalls);
    await mobileBare.release();
    await mobile.release();
    console.log(`  load average now ${load()}`);

    await engine.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
