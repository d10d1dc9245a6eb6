// Signed test bundles around the committed fixture model (fixtures/classifier.onnx:
// image[1,3,8,8] -> logits[1,5], probs[1,5]), with golden outputs computed here by the
// onnxruntime-node backend. The `.test.` infix keeps this file out of the published package.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { TrustStore, createBundle, generateKeyPair, type Calibration, type KeyPair, type ManifestInput, type MemberSource } from '@edgeloop/bundle';
import sharp from 'sharp';

import { createNodeBackend } from './backends/node.js';
import { classifierFixture } from './fixtures.js';

export const CLASSIFIER_LABELS = ['cat', 'dog', 'bird', 'fish', 'frog'];

let keys: KeyPair | undefined;
export function testKeys(): KeyPair {
  keys ??= generateKeyPair();
  return keys;
}

export function testTrust(): TrustStore {
  return TrustStore.fromPems([testKeys().publicKeyPem]);
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-runtime-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ClassifierBundleOptions {
  version?: number;
  name?: string;
  /** Added to every golden output value (a bundle whose outputs "disagree"). */
  goldenOffset?: number;
  /** Golden input full of NaN (the model then produces NaN). */
  nanInput?: boolean;
  goldenCount?: number;
  calibration?: Calibration;
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Writes a signed classifier bundle into `dir` and returns its path. */
export async function makeClassifierBundle(dir: string, options: ClassifierBundleOptions = {}): Promise<string> {
  const fixture = classifierFixture();
  const model = new Uint8Array(await readFile(fixture.modelPath));
  const session = await createNodeBackend({ logLevel: 'fatal' }).createSession(model, { providers: ['cpu'] });
  const members: MemberSource[] = [{ path: 'model.onnx', role: 'model', data: model }];
  const golden: ManifestInput['golden'] = [];
  try {
    const count = options.goldenCount ?? 2;
    for (let k = 0; k < count; k++) {
      const input = new Float32Array(3 * 8 * 8);
      for (let i = 0; i < input.length; i++) input[i] = options.nanInput ? NaN : ((i * 37 + k * 11) % 256) / 255;
      const outputs = await session.run({ image: { dtype: 'float32', dims: [1, 3, 8, 8], data: input } });
      members.push({ path: `golden/${k}/in.image.bin`, role: 'golden', data: bytesOf(input) });
      const sample: ManifestInput['golden'][number] = {
        inputs: { image: { member: `golden/${k}/in.image.bin`, dtype: 'float32', dims: [1, 3, 8, 8] } },
        outputs: {},
        tolerance: { abs: 1e-4, rel: 1e-3 },
      };
      for (const name of ['logits', 'probs']) {
        const values = Float32Array.from(outputs[name].data as Float32Array, (v) => (options.nanInput ? 0 : v + (options.goldenOffset ?? 0)));
        const member = `golden/${k}/out.${name}.bin`;
        members.push({ path: member, role: 'golden', data: bytesOf(values) });
        sample.outputs[name] = { member, dtype: 'float32', dims: [1, 5] };
      }
      golden.push(sample);
    }
  } finally {
    await session.release();
  }
  const manifest: ManifestInput = {
    name: options.name ?? 'toy-classifier',
    version: options.version ?? 1,
    task: 'classification',
    labels: CLASSIFIER_LABELS,
    targetProfile: 'x86-64-cpu',
    model: {
      path: 'model.onnx',
      inputs: [
        {
          name: 'image',
          dtype: 'float32',
          shape: [1, 3, 8, 8],
          preprocessing: { width: 8, height: 8, resize: 'stretch', colorOrder: 'RGB', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0], std: [1] },
        },
      ],
      outputs: [
        { name: 'logits', dtype: 'float32', shape: [1, 5], postprocessing: { format: 'logits' } },
        { name: 'probs', dtype: 'float32', shape: [1, 5] },
      ],
      opset: 13,
      precision: 'fp32',
    },
    provenance: {},
    metrics: {},
    golden,
  };
  if (options.calibration) manifest.calibration = options.calibration;
  const path = join(dir, `${manifest.name}-v${manifest.version}-${options.goldenOffset ?? 0}${options.nanInput ? '-nan' : ''}.edgeloop`);
  await createBundle({ outPath: path, manifest, members, privateKeyPem: testKeys().privateKeyPem });
  return path;
}

/** A small encoded test image: a colour gradient, `seed` shifts it. */
export async function testImage(seed = 0, format: 'png' | 'jpeg' = 'png', width = 32, height = 24): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = (x * 8 + seed * 50) & 255;
      raw[o + 1] = (y * 10 + seed * 30) & 255;
      raw[o + 2] = (x * y + seed * 70) & 255;
    }
  }
  const image = sharp(raw, { raw: { width, height, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}
