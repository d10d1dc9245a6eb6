// The device runtime on a bundle the compiler made: the digits example model packaged by
// bundleModel (golden pairs computed on this host), verified and health-checked by the runtime,
// hot-swapped under a running loop, and run end to end by runCommand on a video file through
// ffmpeg (the child-process path V4L2 cameras and RTSP streams take).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { TrustStore, generateKeyPair, openBundle, type Calibration } from '@edgeloop/bundle';
import { bundleModel } from '@edgeloop/compiler';
import {
  DriftMonitor,
  Engine,
  FolderSource,
  HotSwapEngine,
  Preprocessor,
  Runner,
  classify,
  runCommand,
  type FrameOutcome,
} from '@edgeloop/runtime';
import sharp from 'sharp';

const ROOT = new URL('../../', import.meta.url).pathname;
const DIGITS = join(ROOT, 'examples/models/digits-cnn.onnx');
const keys = generateKeyPair();
const trust = TrustStore.fromPems([keys.publicKeyPem]);
let dir: string;

/** A 28x28-ish grey "digit": a bar whose position depends on `k`, on a dark background, as PNG. */
async function digitImage(k: number, size = 28): Promise<Buffer> {
  const raw = Buffer.alloc(size * size);
  for (let y = 4; y < size - 4; y++) for (let x = 0; x < 4; x++) raw[y * size + ((k * 3 + x) % size)] = 230;
  return sharp(raw, { raw: { width: size, height: size, channels: 1 } }).png().toBuffer();
}

async function bundleDigits(version: number, calibration?: Calibration): Promise<string> {
  const outPath = join(dir, `digits-v${version}.edgeloop`);
  await bundleModel({ model: DIGITS, outPath, privateKeyPem: keys.privateKeyPem, version, targetProfile: 'raspberry-pi-4', goldenCount: 3, ...(calibration ? { calibration } : {}) });
  return outPath;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-runtime-it-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void describe('runtime on a compiler-made bundle', () => {
  void it('passes the health check on the golden pairs bundleModel recorded, and matches a bare session run', async () => {
    const path = await bundleDigits(1);
    const engine = await Engine.open({ bundle: path, trust, profile: 'raspberry-pi-4' });
    try {
      assert.equal(engine.provider, 'cpu');
      assert.equal(engine.health.samples, 3);
      assert.ok(engine.health.checks.every((c) => c.output === 'logits' && c.maxAbsDiff < 1e-4), JSON.stringify(engine.health.checks));
      assert.deepEqual(engine.preprocessor.dims, [1, 1, 28, 28]);
      for (let k = 0; k < 4; k++) {
        const image = await digitImage(k, 56);
        const result = await engine.infer(image);
        assert.equal(result.prediction.task, 'classification');
        if (result.prediction.task !== 'classification') continue;
        const pre = await new Preprocessor(engine.imageInput.preprocessing!).run(image);
        const bare = classify((await engine.session.run({ image: pre.tensor })).logits, { labels: engine.manifest.labels });
        assert.equal(result.prediction.label, bare.top[0].label);
        assert.ok(Math.abs(result.prediction.score - bare.top[0].score) < 1e-6);
      }
    } finally {
      await engine.release();
    }
  });

  void it('hot-swaps v1 -> v2 under a running loop without losing a frame, and rolls back', async () => {
    const frames = join(dir, 'digits');
    await mkdir(frames, { recursive: true });
    for (let k = 0; k < 8; k++) await writeFile(join(frames, `d${k}.png`), await digitImage(k));
    const engine = await HotSwapEngine.open({ bundle: await bundleDigits(1), trust, warmUpRuns: 1 });
    const v2 = await openBundle(await bundleDigits(2), { trust });
    const outcomes: FrameOutcome[] = [];
    let swapped = false;
    const runner = new Runner({
      engine,
      source: new FolderSource({ path: frames, loop: true }),
      maxFrames: 300,
      onFrame: (o) => {
        outcomes.push(o);
        if (outcomes.length === 100 && !swapped) {
          swapped = true;
          void engine.swap(v2);
        }
      },
    });
    const summary = await runner.run();
    assert.equal(summary.frames, 300);
    assert.equal(outcomes.length, 300);
    assert.ok(outcomes.every((o) => o.status === 'ok'));
    const versions = outcomes.map((o) => (o.status === 'ok' ? o.result.model.version : 0));
    const firstV2 = versions.indexOf(2);
    assert.ok(firstV2 > 100, `first v2 frame at ${firstV2}`);
    assert.ok(versions.slice(firstV2).every((v) => v === 2), 'no frame went back to v1 after the switch');
    assert.deepEqual(outcomes.map((o) => o.frame.seq), [...Array(300).keys()], 'every frame, in order');
    assert.equal(summary.model?.version, 2);
    await engine.rollback();
    assert.equal(engine.manifest.version, 1);
    await engine.release();
  });

  void it('runCommand runs a bundle on a video through ffmpeg, with drift stats from the calibration', async () => {
    const video = join(dir, 'testsrc.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25:duration=2.4', '-c:v', 'mpeg4', video]);
    // Calibration that the test pattern does not match (a dark, low-contrast training set).
    const calibration: Calibration = { image: { mean: [-0.3], std: [0.1], min: -0.5, max: 3, histogram: { min: -0.5, max: 3, counts: [900, 90, 5, 3, 2] } } };
    const path = await bundleDigits(3, calibration);
    const keyFile = join(dir, 'trusted.pub');
    await writeFile(keyFile, keys.publicKeyPem);
    const lines: string[] = [];
    const summary = await runCommand(
      { bundle: path, source: video, trust: [keyFile], json: true, summaryIntervalMs: 0, spoolDir: join(dir, 'spool') },
      { stdout: (l) => lines.push(l), stderr: () => undefined },
    );
    const records = lines.map((l) => JSON.parse(l) as { type: string });
    assert.equal(summary.frames, 60);
    assert.equal(records.filter((r) => r.type === 'frame').length, 60);
    assert.equal(records[0].type, 'start');
    assert.equal(records.at(-1)?.type, 'done');
    assert.ok(summary.drift !== undefined, 'drift evaluated');
    assert.ok(summary.drift.drifted, JSON.stringify(summary.drift));
    assert.ok(records.some((r) => r.type === 'drift'));
    // Monitor semantics stay usable directly too.
    assert.equal(new DriftMonitor(calibration).calibratedTensors[0], 'image');
  });
});
