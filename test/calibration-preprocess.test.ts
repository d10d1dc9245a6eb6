// The compiler's calibration preprocessing (sharp, repeated because the compiler may not import
// the runtime) must give the very tensors the device runtime feeds the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Preprocessing } from '@edgeloop/bundle';
import { GraphBuilder, calibrateModel, calibrationStatistics, imageCalibrationSamples, imageToTensor } from '@edgeloop/compiler';
import { preprocessImage } from '@edgeloop/runtime';

async function image(width: number, height: number, format: 'png' | 'jpeg', orientation?: number): Promise<Uint8Array> {
  const raw = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = ((x ^ y) * 7) & 255;
      raw[i + 3] = 200 + (x % 56);
    }
  }
  let s = sharp(raw, { raw: { width, height, channels: 4 } });
  if (orientation) s = s.withMetadata({ orientation });
  return new Uint8Array(format === 'png' ? await s.png().toBuffer() : await s.jpeg({ quality: 90 }).toBuffer());
}

const base: Preprocessing = { width: 32, height: 24, resize: 'stretch', colorOrder: 'RGB', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const specs: Preprocessing[] = [
  base,
  { ...base, resize: 'letterbox', colorOrder: 'BGR', layout: 'NHWC', letterboxColor: [10, 20, 30] },
  { ...base, resize: 'center-crop', colorOrder: 'GRAY', mean: [0.5], std: [0.25] },
  { ...base, width: 16, height: 16, resize: 'letterbox', scale: 1, mean: [127.5], std: [127.5] },
];

test('calibration preprocessing gives the runtime\'s tensors bit for bit', async () => {
  const images = [await image(97, 61, 'png'), await image(40, 90, 'jpeg', 6), await image(32, 24, 'png')];
  for (const spec of specs) {
    for (const [k, bytes] of images.entries()) {
      const ours = await imageToTensor(bytes, spec);
      const theirs = (await preprocessImage(bytes, spec)).tensor;
      assert.deepEqual(ours.dims, [...theirs.dims], `${spec.resize}/${spec.colorOrder} image ${k}`);
      assert.deepEqual(ours.data, theirs.data as Float32Array, `${spec.resize}/${spec.colorOrder}/${spec.layout} image ${k}`);
    }
  }
});

test('a folder of images calibrates a model and yields manifest statistics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-calib-images-'));
  try {
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `img${i}.png`), await image(50 + i * 7, 40, 'png'));
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    const b = new GraphBuilder('g');
    const x = b.input('images', 'float32', ['N', 3, 24, 32]);
    b.output(b.node('Relu', [x], {}, { outputs: ['y'] }));
    const data = await calibrateModel(b.build(), imageCalibrationSamples(dir, base, { inputName: 'images' }), { batchSize: 2 });
    assert.equal(data.samples, 5);
    const stats = calibrationStatistics(data);
    assert.equal(stats.images.mean.length, 3);
    assert.ok(stats.images.min < 0 && stats.images.max > 0);
    assert.equal(stats.y.min, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
