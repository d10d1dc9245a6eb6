// Runtime throughput and memory against baselines measured in the same run:
//  1. Throughput of the whole loop (Runner: folder source -> preprocess -> infer -> postprocess ->
//     metrics) on a folder of JPEGs, vs the sum-of-parts limit 1 / (t_decode+resize + t_session.run),
//     where t_decode+resize is sharp alone (decode, resize to the model size, raw) and t_session.run
//     is a bare onnxruntime-node session (created with the same options the Engine uses) run on the
//     same tensors. The Runner pipelines (frame N+1 decodes while frame N runs), so it can pass
//     that limit; it is shown with pipelineDepth 1 (one frame at a time) and 2 (the default).
//  2. Batch-1 latency overhead over that bare session.run on the ready input tensor (no sharp in
//     any path): Engine.inferTensor on the same tensor (the engine's own cost: session adapter,
//     turn, postprocessing, bookkeeping), Engine.infer on a raw frame at the model size (the same
//     plus normalising the frame), and a hand-written minimum for the raw frame; p50 of each, in
//     rounds (see batch1), with the profile's 4 intra-op threads and again with 1 (far less
//     scheduling noise on a shared machine).
//  Both on the digits CNN (1x28x28, ~0.2 ms per run) and on the MobileNet-v1-style model of
//  bench/mobilenet-model.ts (3x224x224, 1000 classes), where run time dominates.
//  3. Resident memory over a long run (default 10,000 frames of the digits model), sampled every
//     1,000 frames: a leak shows as a steady climb after warm-up; then the same number of frames
//     through the `edgeloop run` command as a child process (sampler and spool on), its VmRSS
//     read from /proc every 250 ms.
// Run: npm run bench -- runtime-throughput   (or node bench/dist/runtime-throughput.js
//      [--frames 10000] [--images 200] [--mobilenet-images 40] [--mobilenet-calls 300])
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * Batch-1 latency, p50 per variant, measured in rounds: each round runs a block of calls of each
 * variant in turn (the order rotating), so every variant sees the same load drift and each block
 * runs in the steady state of a camera loop (the same code and model call after call):
 *  - bare: onnxruntime-node's session.run on the ready input tensor;
 *  - Engine.inferTensor on that tensor: the engine's own cost (session adapter, turn, classification
 *    postprocessing, result, timings);
 *  - Engine.infer on the raw frame at the model size: the same plus normalising the frame;
 *  - hand-written minimums for each: session.run then softmax and argmax, inline, and for the raw
 *    frame one table lookup per value into the bare session's tensor first: what any JS caller
 *    doing the same job needs at least, so what is left is the engine's own cost.
 */
async function batch1(engine: Engine, bare: ort.InferenceSession, raw: RawFrame, calls: number, label: string): Promise<void> {
  const name = engine.imageInput.name;
  const prepared = (await engine.preprocessor.run(raw)).tensor;
  const input = toOrt(prepared);
  const feeds = { [name]: input };
  const variants: Record<string, () => Promise<unknown>> = {
    bare: () => bare.run(feeds),
    tensor: () => engine.inferTensor(prepared),
    tensorMinimum: handWrittenMinimum(engine, bare, undefined, input),
    frame: () => engine.infer(raw),
    frameMinimum: handWrittenMinimum(engine, bare, raw, input),
  };
  const names = Object.keys(variants);
  const rounds = Math.max(2, Math.min(20, Math.floor(calls / 10)));
  const block = Math.max(1, Math.round(calls / rounds));
  const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const ratios: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    const p50: Record<string, number> = {};
    for (let k = 0; k < names.length; k++) {
      const which = names[(round + k) % names.length];
      const run = variants[which];
      const times: number[] = [];
      for (let i = 0; i < block; i++) {
        const t = performance.now();
        await run();
        times.push(performance.now() - t);
      }
      ms[which].push(...times);
      p50[which] = median(times);
    }
    for (const n of names) ratios[n].push(p50[n] / p50.bare - 1);
  }
  const b = median(ms.bare);
  const pct = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
  const line = (n: string, title: string): string =>
    `${title} ${median(ms[n]).toFixed(4)} ms = ${pct(median(ms[n]) / b - 1)} (${((median(ms[n]) - b) * 1000).toFixed(1)} us; median per-round ${pct(median(ratios[n]))})`;
  console.log(`  batch-1 latency (${label}), p50 over ${rounds} rounds x ${block} calls per variant: bare session.run ${b.toFixed(4)} ms`);
  console.log(`    ${line('tensor', 'Engine.inferTensor (input tensor ready)')}`);
  console.log(`    ${line('tensorMinimum', '  hand-written minimum for the tensor')}`);
  console.log(`    ${line('frame', 'Engine.infer (raw frame at model size)')}`);
  console.log(`    ${line('frameMinimum', '  hand-written minimum for the raw frame')}`);
}

/** (For a raw frame: normalise by table lookup straight into the bare session's input buffer,) run, softmax + argmax: nothing else. */
function handWrittenMinimum(engine: Engine, bare: ort.InferenceSession, raw: RawFrame | undefined, input: ort.Tensor): () => Promise<number> {
  const spec = engine.imageInput.preprocessing!;
  const channels = engine.preprocessor.channels;
  const tables = Array.from({ length: channels }, (_, c) => {
    const mean = spec.mean.length === 1 ? spec.mean[0] : spec.mean[c];
    const std = spec.std.length === 1 ? spec.std[0] : spec.std[c];
    return Float32Array.from({ length: 256 }, (_, p) => (p * spec.scale - mean) / std);
  });
  const out = input.data as Float32Array;
  const src = raw?.data;
  const step = raw?.channels ?? 0;
  const plane = spec.width * spec.height;
  const feeds = { [engine.imageInput.name]: input };
  const outputName = bare.outputNames[0];
  return async () => {
    if (src !== undefined) {
      for (let c = 0; c < channels; c++) {
        const table = tables[c];
        for (let i = 0, s = c; i < plane; i++, s += step) out[c * plane + i] = table[src[s]];
      }
    }
    const logits = (await bare.run(feeds))[outputName].data as Float32Array;
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - logits[best]);
    return best + 1 / sum;
  };
}

/**
 * Resident memory of the `edgeloop run` command itself (a child process: the CLI, the Runner, the
 * field sampler and spool on) over `frames` frames of the folder, looped: VmRSS read from /proc
 * every 250 ms.
 */
async function cliMemory(dir: string, bundlePath: string, publicKeyPem: string, folder: string, frames: number): Promise<void> {
  const keyPath = join(dir, 'release.pub');
  await writeFile(keyPath, publicKeyPem);
  const args = [join(ROOT, 'packages/cli/bin/edgeloop.js'), 'run', '-b', bundlePath, '-t', keyPath, '-s', folder, '--loop'];
  args.push('--max-frames', String(frames), '--no-frames', '--summary-interval', '0', '--spool', join(dir, 'spool'));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const samples: number[] = [];
  const start = performance.now();
  const timer = setInterval(() => {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readProcStatus(child.pid))?.[1];
    if (kib !== undefined) samples.push(Number(kib) * 1024);
  }, 250);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0 || samples.length < 4) {
    console.log(`  edgeloop run: exit ${code}, ${samples.length} rss samples; ${stderr.trim().split('\n').pop() ?? ''}`);
    return;
  }
  const half = samples.slice(Math.floor(samples.length / 2));
  console.log(
    `  edgeloop run (CLI child process, sampler + spool on): ${frames} frames in ${seconds.toFixed(1)} s; rss first ${mb(samples[0])} MiB, ` +
      `max ${mb(Math.max(...samples))} MiB, last ${mb(samples[samples.length - 1])} MiB over ${samples.length} samples; ` +
      `second half ${mb(half[0])} -> ${mb(half[half.length - 1])} MiB (ratio ${(half[half.length - 1] / half[0]).toFixed(3)})`,
  );
}

function readProcStatus(pid: number | undefined): string {
  try {
    return pid === undefined ? '' : readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
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
    await cliMemory(dir, bundlePath, keys.publicKeyPem, folder, longFrames);
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
