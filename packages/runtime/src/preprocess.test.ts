import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { ImageDecodeError, PreprocessConfigError } from './errors.js';
import { Preprocessor, preprocessImage, probeImageSize, type Preprocessing } from './preprocess.js';

type Rgb = [number, number, number];

async function solidPng(width: number, height: number, [r, g, b]: Rgb): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

/** A PNG from explicit RGB pixels, row-major. */
async function pixelsPng(width: number, height: number, pixels: Rgb[]): Promise<Buffer> {
  const raw = Buffer.from(pixels.flat());
  return sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

function spec(overrides: Partial<Preprocessing>): Preprocessing {
  return {
    width: 2,
    height: 2,
    resize: 'stretch',
    colorOrder: 'RGB',
    layout: 'NCHW',
    dtype: 'float32',
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    ...overrides,
  };
}

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

function close(actual: ArrayLike<number>, expected: number[], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `[${i}] ${actual[i]} != ${expected[i]}`);
  }
}

void describe('preprocess', () => {
  void it('normalises a solid 2x2 PNG with ImageNet mean/std into NCHW', async () => {
    const png = await solidPng(2, 2, [200, 100, 50]);
    const { tensor, letterbox, transform } = await preprocessImage(png, spec(IMAGENET));
    assert.equal(tensor.dtype, 'float32');
    assert.deepEqual(tensor.dims, [1, 3, 2, 2]);
    const r = (200 / 255 - 0.485) / 0.229;
    const g = (100 / 255 - 0.456) / 0.224;
    const b = (50 / 255 - 0.406) / 0.225;
    close(tensor.data as Float32Array, [r, r, r, r, g, g, g, g, b, b, b, b], 1e-6);
    assert.equal(letterbox, undefined);
    assert.deepEqual(transform, { srcWidth: 2, srcHeight: 2, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 });
  });

  void it('interleaves NHWC and swaps channels for BGR', async () => {
    const png = await pixelsPng(2, 1, [
      [10, 20, 30],
      [40, 50, 60],
    ]);
    const nhwc = await preprocessImage(png, spec({ width: 2, height: 1, layout: 'NHWC', scale: 1 }));
    assert.deepEqual(nhwc.tensor.dims, [1, 1, 2, 3]);
    close(nhwc.tensor.data as Float32Array, [10, 20, 30, 40, 50, 60]);
    const bgrNhwc = await preprocessImage(png, spec({ width: 2, height: 1, layout: 'NHWC', colorOrder: 'BGR', scale: 1 }));
    close(bgrNhwc.tensor.data as Float32Array, [30, 20, 10, 60, 50, 40]);
    const bgrNchw = await preprocessImage(png, spec({ width: 2, height: 1, colorOrder: 'BGR', scale: 1 }));
    close(bgrNchw.tensor.data as Float32Array, [30, 60, 20, 50, 10, 40]);
  });

  void it('converts to one grey channel with PIL luma weights, applying mean/std', async () => {
    const png = await pixelsPng(2, 1, [
      [255, 0, 0],
      [10, 200, 30],
    ]);
    const luma = (r: number, g: number, b: number) => (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
    const out = await preprocessImage(png, spec({ width: 2, height: 1, colorOrder: 'GRAY', mean: [0.5], std: [0.5] }));
    assert.deepEqual(out.tensor.dims, [1, 1, 1, 2]);
    close(out.tensor.data as Float32Array, [(luma(255, 0, 0) / 255 - 0.5) / 0.5, (luma(10, 200, 30) / 255 - 0.5) / 0.5]);
    assert.equal(luma(255, 0, 0), 76);
  });

  void it('emits raw uint8 pixels without normalisation', async () => {
    const png = await pixelsPng(2, 1, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const nchw = await preprocessImage(png, spec({ width: 2, height: 1, dtype: 'uint8', mean: [100, 100, 100], std: [7, 7, 7] }));
    assert.ok(nchw.tensor.data instanceof Uint8Array);
    assert.equal(nchw.tensor.dtype, 'uint8');
    assert.deepEqual([...nchw.tensor.data], [1, 4, 2, 5, 3, 6]);
    const nhwc = await preprocessImage(png, spec({ width: 2, height: 1, dtype: 'uint8', layout: 'NHWC', colorOrder: 'BGR' }));
    assert.deepEqual([...nhwc.tensor.data], [3, 2, 1, 6, 5, 4]);
  });

  void it('stretches a solid image to any aspect ratio', async () => {
    const png = await solidPng(6, 2, [30, 60, 90]);
    const { tensor, transform } = await preprocessImage(png, spec({ width: 3, height: 3, scale: 1 }));
    close(tensor.data as Float32Array, [...Array(9).fill(30), ...Array(9).fill(60), ...Array(9).fill(90)]);
    assert.deepEqual(transform, { srcWidth: 6, srcHeight: 2, scaleX: 0.5, scaleY: 1.5, offsetX: 0, offsetY: 0 });
  });

  void it('letterboxes a wide image: pads top and bottom with letterboxColor and reports the geometry', async () => {
    const png = await solidPng(4, 2, [255, 0, 0]);
    const out = await preprocessImage(png, spec({ width: 4, height: 4, resize: 'letterbox', scale: 1, letterboxColor: [1, 2, 3] }));
    assert.deepEqual(out.letterbox, { scale: 1, padX: 0, padY: 1, srcWidth: 4, srcHeight: 2 });
    assert.deepEqual(out.transform, { srcWidth: 4, srcHeight: 2, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 1 });
    const plane = (pad: number, fill: number) => [...Array(4).fill(pad), ...Array(8).fill(fill), ...Array(4).fill(pad)];
    close(out.tensor.data as Float32Array, [...plane(1, 255), ...plane(2, 0), ...plane(3, 0)]);
  });

  void it('letterboxes with downscaling: a 8x4 image into 4x4 has scale 0.5 and padY 1', async () => {
    const png = await solidPng(8, 4, [0, 255, 0]);
    const out = await preprocessImage(png, spec({ width: 4, height: 4, resize: 'letterbox', colorOrder: 'GRAY', mean: [0], std: [1], scale: 1 }));
    assert.deepEqual(out.letterbox, { scale: 0.5, padX: 0, padY: 1, srcWidth: 8, srcHeight: 4 });
    const green = (0 * 19595 + 255 * 38470 + 0 * 7471 + 0x8000) >> 16;
    close(out.tensor.data as Float32Array, [...Array(4).fill(114), ...Array(8).fill(green), ...Array(4).fill(114)]);
  });

  void it('letterboxes a tall image with padding left and right', async () => {
    const png = await solidPng(1, 3, [9, 9, 9]);
    const out = await preprocessImage(png, spec({ width: 3, height: 3, resize: 'letterbox', dtype: 'uint8', layout: 'NHWC', letterboxColor: [0] }));
    assert.deepEqual(out.letterbox, { scale: 1, padX: 1, padY: 0, srcWidth: 1, srcHeight: 3 });
    const row = [0, 0, 0, 9, 9, 9, 0, 0, 0];
    assert.deepEqual([...out.tensor.data], [...row, ...row, ...row]);
  });

  void it('center-crops the middle of a wide image', async () => {
    const png = await pixelsPng(4, 2, [
      [10, 0, 0], [20, 0, 0], [30, 0, 0], [40, 0, 0],
      [50, 0, 0], [60, 0, 0], [70, 0, 0], [80, 0, 0],
    ]);
    const out = await preprocessImage(png, spec({ width: 2, height: 2, resize: 'center-crop', dtype: 'uint8' }));
    assert.deepEqual([...out.tensor.data].slice(0, 4), [20, 30, 60, 70]);
    assert.deepEqual(out.transform, { srcWidth: 4, srcHeight: 2, scaleX: 1, scaleY: 1, offsetX: -1, offsetY: 0 });
    assert.equal(out.letterbox, undefined);
  });

  void it('center-crops with scaling: a solid 8x4 image into 2x2', async () => {
    const png = await solidPng(8, 4, [100, 150, 200]);
    const out = await preprocessImage(png, spec({ width: 2, height: 2, resize: 'center-crop', dtype: 'uint8', layout: 'NHWC' }));
    assert.deepEqual([...out.tensor.data], [100, 150, 200, 100, 150, 200, 100, 150, 200, 100, 150, 200]);
    assert.deepEqual(out.transform, { srcWidth: 8, srcHeight: 4, scaleX: 0.5, scaleY: 0.5, offsetX: -1, offsetY: 0 });
  });

  void it('decodes JPEG (within JPEG loss) and drops PNG alpha', async () => {
    const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 40, b: 90 } } }).jpeg({ quality: 95 }).toBuffer();
    const out = await preprocessImage(jpeg, spec({ width: 4, height: 4, dtype: 'uint8', layout: 'NHWC' }));
    for (let i = 0; i < 16; i++) {
      const [r, g, b] = [out.tensor.data[i * 3], out.tensor.data[i * 3 + 1], out.tensor.data[i * 3 + 2]].map(Number);
      assert.ok(Math.abs(r - 200) <= 3 && Math.abs(g - 40) <= 3 && Math.abs(b - 90) <= 3, `pixel ${i}: ${r},${g},${b}`);
    }
    const rgba = await sharp({ create: { width: 2, height: 2, channels: 4, background: { r: 5, g: 6, b: 7, alpha: 0.5 } } }).png().toBuffer();
    const fromRgba = await preprocessImage(rgba, spec({ dtype: 'uint8', layout: 'NHWC' }));
    assert.deepEqual([...fromRgba.tensor.data], [5, 6, 7, 5, 6, 7, 5, 6, 7, 5, 6, 7]);
  });

  void it('takes raw frames: same size without sharp, other sizes through it, grey and RGBA sources', async () => {
    const pre = new Preprocessor(spec({ width: 2, height: 1, dtype: 'uint8', layout: 'NHWC' }));
    const rgb = await pre.run({ data: new Uint8Array([1, 2, 3, 4, 5, 6]), width: 2, height: 1, channels: 3 });
    assert.deepEqual([...rgb.tensor.data], [1, 2, 3, 4, 5, 6]);
    const rgba = await pre.run({ data: new Uint8Array([1, 2, 3, 255, 4, 5, 6, 255]), width: 2, height: 1, channels: 4 });
    assert.deepEqual([...rgba.tensor.data], [1, 2, 3, 4, 5, 6]);
    const grey = await pre.run({ data: new Uint8Array([7, 8]), width: 2, height: 1, channels: 1 });
    assert.deepEqual([...grey.tensor.data], [7, 7, 7, 8, 8, 8]);
    const big = await pre.run({ data: new Uint8Array(4 * 2 * 3).fill(77), width: 4, height: 2, channels: 3 });
    assert.deepEqual([...big.tensor.data], [77, 77, 77, 77, 77, 77]);
    await assert.rejects(pre.run({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 }), ImageDecodeError);
  });

  void it('synchronous path: runSync and writeSync match run for raw frames at the model size, and decline the rest', async () => {
    for (const resize of ['stretch', 'letterbox', 'center-crop'] as const) {
      const pre = new Preprocessor(spec({ width: 2, height: 2, resize, ...IMAGENET }));
      const frame = { data: new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]), width: 2, height: 2, channels: 3 as const };
      const expected = await pre.run(frame);
      const sync = pre.runSync(frame);
      assert.ok(sync, resize);
      assert.deepEqual(sync.tensor.data, expected.tensor.data);
      assert.deepEqual(sync.transform, expected.transform);
      assert.deepEqual(sync.transform, { srcWidth: 2, srcHeight: 2, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 });
      const out = new Float32Array(12);
      const transform = pre.writeSync(frame, out);
      assert.deepEqual(out, expected.tensor.data);
      assert.equal(transform, pre.modelTransform, 'one shared transform for model-size frames');
      assert.ok(Object.isFrozen(transform), 'and nobody can change it');
      // Encoded bytes and other sizes need sharp: the sync path says so and writes nothing.
      const untouched = new Float32Array(12).fill(-1);
      assert.equal(pre.writeSync(await solidPng(2, 2, [1, 2, 3]), untouched), undefined);
      assert.equal(pre.writeSync({ data: new Uint8Array(27), width: 3, height: 3, channels: 3 }, untouched), undefined);
      assert.equal(pre.runSync({ data: new Uint8Array(27), width: 3, height: 3, channels: 3 }), undefined);
      assert.ok(untouched.every((v) => v === -1));
      assert.throws(() => pre.writeSync({ data: new Uint8Array(5), width: 2, height: 2, channels: 3 }, out), ImageDecodeError);
      assert.throws(() => pre.writeSync(frame, new Float32Array(11)), PreprocessConfigError);
    }
  });

  void it('resizes grey raw frames through sharp into RGB', async () => {
    const pre = new Preprocessor(spec({ width: 2, height: 1, dtype: 'uint8', layout: 'NHWC' }));
    const grey = await pre.run({ data: new Uint8Array(8).fill(50), width: 4, height: 2, channels: 1 });
    assert.deepEqual([...grey.tensor.data], [50, 50, 50, 50, 50, 50]);
  });

  void it('applies EXIF orientation before measuring the source', async () => {
    // Stored 4 wide x 2 high, left half red, right half blue; orientation 6 = rotate 90 clockwise.
    const stored = await sharp(Buffer.from([255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255].concat([255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255])), {
      raw: { width: 4, height: 2, channels: 3 },
    })
      .png()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const out = await preprocessImage(stored, spec({ width: 2, height: 4, dtype: 'uint8', layout: 'NHWC' }));
    assert.deepEqual(out.transform, { srcWidth: 2, srcHeight: 4, scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 });
    const pixel = (i: number) => [...out.tensor.data.slice(i * 3, i * 3 + 3)];
    assert.deepEqual(pixel(0), [255, 0, 0]); // top row is the former left (red) half
    assert.deepEqual(pixel(7), [0, 0, 255]); // bottom row the former right (blue) half
  });

  void it('writes into a caller buffer and reuses it across frames', async () => {
    const pre = new Preprocessor(spec({ scale: 1 }));
    const out = new Float32Array(12);
    const first = await pre.run(await solidPng(2, 2, [1, 2, 3]), { out });
    assert.equal(first.tensor.data, out);
    const second = await pre.run(await solidPng(2, 2, [4, 5, 6]), { out });
    assert.equal(second.tensor.data, out);
    close(out, [4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6]);
    const larger = new Float32Array(20);
    const view = await pre.run(await solidPng(2, 2, [1, 1, 1]), { out: larger });
    assert.equal(view.tensor.data.length, 12);
    assert.equal(view.tensor.data.buffer, larger.buffer);
    await assert.rejects(pre.run(await solidPng(2, 2, [1, 1, 1]), { out: new Float32Array(11) }), PreprocessConfigError);
    await assert.rejects(pre.run(await solidPng(2, 2, [1, 1, 1]), { out: new Uint8Array(12) }), PreprocessConfigError);
  });

  void it('throws one-line ImageDecodeError for empty, corrupt and truncated images', async () => {
    const pre = new Preprocessor(spec({}));
    const noisy = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < noisy.length; i++) noisy[i] = (i * 2654435761) >>> 24;
    const jpeg = await sharp(noisy, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const png = await sharp(noisy, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
    const garbage = Buffer.from('definitely not an image, just some bytes that go on and on');
    for (const [what, bytes] of [
      ['empty', new Uint8Array(0)],
      ['garbage', garbage],
      ['truncated jpeg', jpeg.subarray(0, jpeg.length >> 1)],
      ['truncated png', png.subarray(0, png.length >> 1)],
      ['header only', jpeg.subarray(0, 20)],
    ] as const) {
      await assert.rejects(pre.run(bytes), (error: unknown) => {
        assert.ok(error instanceof ImageDecodeError, `${what}: ${String(error)}`);
        assert.equal(error.code, 'IMAGE_DECODE');
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    }
  });

  void it('rejects impossible specs with PreprocessConfigError', () => {
    assert.throws(() => new Preprocessor(spec({ width: 0 })), PreprocessConfigError);
    assert.throws(() => new Preprocessor(spec({ mean: [0, 0] })), PreprocessConfigError);
    assert.throws(() => new Preprocessor(spec({ std: [1, 0, 1] })), PreprocessConfigError);
    assert.throws(() => new Preprocessor(spec({ letterboxColor: [300] })), PreprocessConfigError);
    assert.throws(() => new Preprocessor(spec({ layout: 'NWHC' as Preprocessing['layout'] })), PreprocessConfigError);
    assert.doesNotThrow(() => new Preprocessor(spec({ colorOrder: 'GRAY', mean: [0.5], std: [0.5] })));
    assert.doesNotThrow(() => new Preprocessor(spec({ mean: [0.5], std: [0.25] })));
  });

  void it('reads JPEG and PNG sizes from their headers, leaving EXIF-oriented and other images to sharp', async () => {
    const raw = { raw: { width: 7, height: 5, channels: 3 as const } };
    const pixels = Buffer.alloc(7 * 5 * 3, 99);
    const jpeg = await sharp(pixels, raw).jpeg().toBuffer();
    const progressive = await sharp(pixels, raw).jpeg({ progressive: true }).toBuffer();
    const png = await sharp(pixels, raw).png().toBuffer();
    const oriented = await sharp(pixels, raw).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const webp = await sharp(pixels, raw).webp().toBuffer();
    assert.deepEqual(probeImageSize(jpeg), { width: 7, height: 5 });
    assert.deepEqual(probeImageSize(progressive), { width: 7, height: 5 });
    assert.deepEqual(probeImageSize(png), { width: 7, height: 5 });
    assert.equal(probeImageSize(oriented), undefined);
    assert.equal(probeImageSize(webp), undefined);
    assert.equal(probeImageSize(jpeg.subarray(0, 10)), undefined);
  });
});
