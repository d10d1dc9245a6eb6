// Helpers for the distill tests: a small synthetic but learnable image task.
import type { Dataset } from './dataset.js';
import { Rng } from './random.js';

/**
 * 1x8x8 images of a bright bar on noise: class 0 horizontal, 1 vertical, 2 diagonal; the bar's
 * position varies, so a conv net must learn orientation, not a fixed pixel.
 */
export function barsDataset(count: number, seed: number, classes = 3): Dataset {
  const rng = new Rng(seed);
  const side = 8;
  const inputs = new Float32Array(count * side * side);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % classes;
    labels[n] = label;
    const offset = 1 + rng.int(side - 2);
    const image = inputs.subarray(n * side * side, (n + 1) * side * side);
    for (let i = 0; i < image.length; i++) image[i] = 0.3 * rng.normal();
    for (let t = 0; t < side; t++) {
      const [y, x] = label === 0 ? [offset, t] : label === 1 ? [t, offset] : [t, (t + offset) % side];
      image[y * side + x] += 1.5;
    }
  }
  return { inputs, sampleShape: [1, side, side], count, labels };
}
