// The browser's tensor step must give the very tensor the Node Preprocessor gives for the same
// pixels, so a model behaves the same in a page and on a device.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Preprocessor } from '../preprocess.js';
import { rgbaToTensor } from './image-tensor.js';
import type { ImagePreprocessing } from './image-tensor.js';

function randomRgb(width: number, height: number, seed: number): { rgb: Uint8Array; rgba: Uint8Array } {
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) & 0x7fffffff) % 256;
  const rgb = new Uint8Array(width * height * 3);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = rgba[i * 4 + c] = next();
    rgba[i * 4 + 3] = 255;
  }
  return { rgb, rgba };
}

describe('rgbaToTensor', () => {
  const cases: ImagePreprocessing[] = [
    { width: 28, height: 28, colorOrder: 'GRAY', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.1307], std: [0.3081] },
    { width: 16, height: 12, colorOrder: 'RGB', layout: 'NCHW', dtype: 'float32', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    { width: 16, height: 12, colorOrder: 'BGR', layout: 'NHWC', dtype: 'float32', scale: 1, mean: [104, 117, 123], std: [1] },
    { width: 10, height: 10, colorOrder: 'RGB', layout: 'NCHW', dtype: 'uint8', scale: 1, mean: [0], std: [1] },
  ];
  for (const pre of cases) {
    it(`matches the Node Preprocessor for ${pre.colorOrder} ${pre.layout} ${pre.dtype}`, async () => {
      const { rgb, rgba } = randomRgb(pre.width, pre.height, pre.width * 31 + pre.height);
      const node = await new Preprocessor({ ...pre, resize: 'stretch' }).run({ data: rgb, width: pre.width, height: pre.height, channels: 3 });
      const browser = rgbaToTensor(rgba, pre.width, pre.height, pre);
      assert.deepEqual(Array.from(browser), Array.from(node.tensor.data as ArrayLike<number>));
    });
  }
  it('refuses pixels that are not at the model size', () => {
    assert.throws(() => rgbaToTensor(new Uint8Array(4 * 4 * 4), 4, 4, cases[0]!), /draw it at that size/);
  });
});
