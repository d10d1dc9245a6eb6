// Data augmentation on float32 NCHW image batches, seeded. Geometric transforms (shift, resized
// crop, rotation, horizontal flip) are folded into one inverse affine map per image and sampled
// bilinearly; photometric ones (brightness, contrast, Gaussian noise) follow.
import type { Rng } from './random.js';

export interface AugmentSpec {
  /** Max translation in pixels per axis (uniform, rounded to whole pixels). */
  shift?: number;
  /** Random resized crop: side fraction drawn from [min, max] (e.g. [0.8, 1]), then resized back. */
  cropScale?: [number, number];
  /** Horizontal flip with probability 0.5. */
  flip?: boolean;
  /** Max rotation in degrees (uniform in [-rotate, rotate]). */
  rotate?: number;
  /** Adds uniform [-brightness, brightness] to every pixel of an image. */
  brightness?: number;
  /** Scales contrast around the image mean by uniform [1 - contrast, 1 + contrast]. */
  contrast?: number;
  /** Adds Gaussian noise with this standard deviation. */
  noise?: number;
  /** Value outside the source image (default 0). */
  fill?: number;
}

export function isIdentityAugment(spec: AugmentSpec | undefined): boolean {
  if (!spec) return true;
  return !spec.shift && !spec.cropScale && !spec.flip && !spec.rotate && !spec.brightness && !spec.contrast && !spec.noise;
}

/** Augments `batch` ([n, c, h, w] floats) in place. */
export function augmentBatch(batch: Float32Array, n: number, shape: readonly number[], spec: AugmentSpec, rng: Rng): void {
  const [c, h, w] = shape;
  const plane = h * w;
  const size = c * plane;
  const fill = spec.fill ?? 0;
  const scratch = new Float32Array(size);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let k = 0; k < n; k++) {
    const image = batch.subarray(k * size, (k + 1) * size);
    const scale = spec.cropScale ? rng.uniform(spec.cropScale[0], spec.cropScale[1]) : 1;
    const offsetX = spec.cropScale ? rng.uniform(-1, 1) * ((1 - scale) * w) / 2 : 0;
    const offsetY = spec.cropScale ? rng.uniform(-1, 1) * ((1 - scale) * h) / 2 : 0;
    const dx = spec.shift ? Math.round(rng.uniform(-spec.shift, spec.shift)) : 0;
    const dy = spec.shift ? Math.round(rng.uniform(-spec.shift, spec.shift)) : 0;
    const theta = spec.rotate ? (rng.uniform(-spec.rotate, spec.rotate) * Math.PI) / 180 : 0;
    const flip = spec.flip ? rng.next() < 0.5 : false;
    const geometric = scale !== 1 || dx !== 0 || dy !== 0 || theta !== 0 || flip;
    if (geometric) {
      scratch.set(image);
      const cos = Math.cos(theta) * scale;
      const sin = Math.sin(theta) * scale;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const ux = (flip ? w - 1 - x : x) - cx;
          const uy = y - cy;
          const sx = cx + cos * ux + sin * uy + offsetX - dx;
          const sy = cy - sin * ux + cos * uy + offsetY - dy;
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const fx = sx - x0;
          const fy = sy - y0;
          for (let ch = 0; ch < c; ch++) {
            const base = ch * plane;
            const at = (yy: number, xx: number): number => (yy >= 0 && yy < h && xx >= 0 && xx < w ? scratch[base + yy * w + xx] : fill);
            const top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx;
            const bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx;
            image[base + y * w + x] = top * (1 - fy) + bottom * fy;
          }
        }
      }
    }
    if (spec.brightness || spec.contrast) {
      const shiftBy = spec.brightness ? rng.uniform(-spec.brightness, spec.brightness) : 0;
      const factor = spec.contrast ? rng.uniform(1 - spec.contrast, 1 + spec.contrast) : 1;
      let mean = 0;
      for (let i = 0; i < size; i++) mean += image[i];
      mean /= size;
      for (let i = 0; i < size; i++) image[i] = (image[i] - mean) * factor + mean + shiftBy;
    }
    if (spec.noise) for (let i = 0; i < size; i++) image[i] += spec.noise * rng.normal();
  }
}
