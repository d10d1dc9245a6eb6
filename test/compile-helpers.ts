// Shared setup for the compile integration tests: calibration images generated with sharp, real
// digit images (class folders) from @edgeloop/distill, signing keys, and checks on a compiled
// bundle (signature, onnx.checker with full_check, a run in onnxruntime against its golden pairs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { generateKeyPair, openBundle, TrustStore } from '@edgeloop/bundle';
import type { OpenedBundle } from '@edgeloop/bundle';
import { writeDigitImages } from '@edgeloop/distill';
import { seededRandom } from '@edgeloop/compiler';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const DIGITS = join(ROOT, 'examples/models/digits-cnn.onnx');
export const FIXTURES = join(ROOT, 'test/fixtures/exported');

/** `count` RGB images (PNG) of smooth random patterns, sized unlike any model input. */
export async function writePatternImages(dir: string, count: number, seed = 1): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const next = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    const w = 48;
    const h = 40;
    const px = Buffer.alloc(w * h * 3);
    const [fx, fy, phase] = [1 + next() * 6, 1 + next() * 6, next() * 6];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          const v = Math.sin((x / w) * fx * Math.PI + phase + c) * Math.cos((y / h) * fy * Math.PI) * 0.5 + 0.5;
          px[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v * 220 + next() * 35)));
        }
      }
    }
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `pattern-${String(i).padStart(3, '0')}.png`));
  }
}

/** `count` RGB images (PNG) of deterministic high-frequency noise (activations with outliers). */
export async function writeNoiseImages(dir: string, count: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const [w, h] = [40, 40];
    const px = Buffer.alloc(w * h * 3);
    for (let p = 0; p < px.length; p++) px[p] = ((p * 7919 + i * 104729) % 251) ^ (i * 13);
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `noise-${String(i).padStart(2, '0')}.png`));
  }
}

/** Real digit images: `evalDir/<digit>/*.png`, and `calibDir` with the first `calibPerClass` of each class. */
export async function writeDigits(evalDir: string, calibDir: string, perClass: number, calibPerClass: number): Promise<void> {
  await writeDigitImages(evalDir, { perClass, seed: 1 });
  mkdirSync(calibDir, { recursive: true });
  for (const digit of readdirSync(evalDir).sort()) {
    for (const file of readdirSync(join(evalDir, digit)).sort().slice(0, calibPerClass)) copyFileSync(join(evalDir, digit, file), join(calibDir, `${digit}-${file}`));
  }
}

export function writeKeys(dir: string): { key: string; pub: string; privateKeyPem: string; publicKeyPem: string } {
  const pair = generateKeyPair();
  const key = join(dir, 'release.key');
  const pub = join(dir, 'release.pub');
  writeFileSync(key, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(pub, pair.publicKeyPem);
  return { key, pub, ...pair };
}

const CHECKER = `
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
print([o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')][0])
`;

const floats = (bytes: Uint8Array): Float32Array => new Float32Array(bytes.slice().buffer);

/**
 * Opens the bundle against the public key (verifying signature and hashes), runs onnx.checker
 * (full_check) on its model, and runs its golden inputs through onnxruntime within tolerance.
 */
export async function assertCompiledBundle(path: string, publicKeyPem: string, scratch: string): Promise<OpenedBundle> {
  const bundle = await openBundle(path, { trust: TrustStore.fromPems([publicKeyPem]) });
  const model = await bundle.readMember(bundle.manifest.model.path);
  const file = join(scratch, `checked-${Date.now()}.onnx`);
  writeFileSync(file, model);
  const check = spawnSync('/usr/bin/python3', ['-c', CHECKER, file], { encoding: 'utf8' });
  assert.equal(check.status, 0, `onnx.checker: ${check.stderr.split('\n').filter(Boolean).slice(-2).join(' ')}`);
  assert.ok(Number(check.stdout.trim()) <= 17, `opset ${check.stdout.trim()} should be <= 17`);
  const session = await ort.InferenceSession.create(model);
  try {
    assert.ok(bundle.manifest.golden.length > 0, 'golden pairs');
    for (const golden of bundle.manifest.golden) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, ref] of Object.entries(golden.inputs)) {
        const t = await bundle.readTensor(ref);
        feeds[name] = new ort.Tensor('float32', floats(t.data), ref.dims);
      }
      const out = await session.run(feeds);
      for (const [name, ref] of Object.entries(golden.outputs)) {
        const want = floats((await bundle.readTensor(ref)).data);
        const got = out[name].data as Float32Array;
        assert.equal(got.length, want.length);
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(got[i] - want[i]) <= golden.tolerance.abs + golden.tolerance.rel * Math.abs(want[i]), `golden ${name}[${i}]: ${got[i]} vs ${want[i]}`);
        }
      }
    }
  } finally {
    await session.release();
  }
  return bundle;
}
