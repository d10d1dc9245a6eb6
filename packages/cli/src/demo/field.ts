// The field: camera frames that differ from the clean training digits. Each of the three demo
// cameras sees its own shift (rotated + thick strokes; inverted contrast + sensor noise; textured
// background + thin strokes). Frames are JPEGs a device reads from a folder; their true labels stay
// here (never in the device's folder) so field accuracy can be measured afterwards.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '@edgeloop/distill';
import type { Dataset } from '@edgeloop/distill';
import { Preprocessor } from '@edgeloop/runtime';
import type { Preprocessing } from '@edgeloop/bundle';

const SIDE = 28;
const MEAN = 0.1307;
const STD = 0.3081;

export type FieldShift = 'rotate' | 'thick' | 'thin' | 'invert' | 'noise' | 'texture';

/** What each demo camera sees (index = camera). */
export const CAMERA_SHIFTS: readonly (readonly FieldShift[])[] = [
  ['rotate', 'thick'],
  ['invert', 'noise'],
  ['texture', 'thin'],
];

/** Sample `index` of a normalized digits dataset back to 8-bit grey pixels. */
export function digitPixels(data: Dataset, index: number): Uint8Array {
  const size = SIDE * SIDE;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const v = (data.inputs[index * size + i] * STD + MEAN) * 255;
    out[i] = Math.max(0, Math.min(255, Math.round(v)));
  }
  return out;
}

/** 3x3 max (thicker strokes) or min over the plus-shaped neighbourhood (thinner strokes). */
function morph(pixels: Uint8Array, grow: boolean): Uint8Array {
  const out = new Uint8Array(pixels.length);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      let v = pixels[y * SIDE + x];
      const neighbours = grow
        ? [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]]
        : [[-1, 0], [1, 0], [0, -1], [0, 1]];
      for (const [dy, dx] of neighbours) {
        const yy = y + dy;
        const xx = x + dx;
        const n = yy < 0 || yy >= SIDE || xx < 0 || xx >= SIDE ? 0 : pixels[yy * SIDE + xx];
        v = grow ? Math.max(v, n) : Math.min(v, n);
      }
      // Erosion keeps a faint core so thin strokes stay visible.
      out[y * SIDE + x] = grow ? v : Math.max(v, Math.round(pixels[y * SIDE + x] * 0.35));
    }
  }
  return out;
}

/** Pixel-space shifts (all but rotation, which sharp does when frames are written). */
export function applyPixelShift(pixels: Uint8Array, shift: FieldShift, rng: Rng): Uint8Array {
  switch (shift) {
    case 'rotate':
      return pixels;
    case 'thick':
      return morph(pixels, true);
    case 'thin':
      return morph(pixels, false);
    case 'invert':
      return pixels.map((p) => 255 - p);
    case 'noise':
      return pixels.map((p) => Math.max(0, Math.min(255, Math.round(p + 45 * gaussian(rng)))));
    case 'texture': {
      // Diagonal stripes of a random period and phase under the digit.
      const period = 4 + rng.next() * 4;
      const phase = rng.next() * Math.PI * 2;
      const angle = rng.next() * Math.PI;
      const out = new Uint8Array(pixels.length);
      for (let y = 0; y < SIDE; y++) {
        for (let x = 0; x < SIDE; x++) {
          const t = (x * Math.cos(angle) + y * Math.sin(angle)) / period;
          const bg = 70 + 60 * Math.sin(2 * Math.PI * t + phase);
          out[y * SIDE + x] = Math.max(pixels[y * SIDE + x], Math.round(bg));
        }
      }
      return out;
    }
  }
}

function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-9);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Rotates by `degrees` around the centre, keeping 28x28 (corners filled black). */
async function rotate(pixels: Uint8Array, degrees: number): Promise<Uint8Array> {
  const rotated = await sharp(Buffer.from(pixels), { raw: { width: SIDE, height: SIDE, channels: 1 } })
    .rotate(degrees, { background: { r: 0, g: 0, b: 0 } })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = rotated.info;
  const left = Math.floor((width - SIDE) / 2);
  const top = Math.floor((height - SIDE) / 2);
  const out = new Uint8Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) out[y * SIDE + x] = rotated.data[((top + y) * width + left + x) * channels];
  return out;
}

/** One field frame of camera `camera` made from a clean digit, as JPEG bytes. */
export async function fieldFrame(pixels: Uint8Array, camera: number, rng: Rng): Promise<Buffer> {
  let p = pixels;
  for (const shift of CAMERA_SHIFTS[camera]) {
    if (shift === 'rotate') {
      const magnitude = 25 + rng.next() * 20;
      p = await rotate(p, rng.next() < 0.5 ? -magnitude : magnitude);
    } else {
      p = applyPixelShift(p, shift, rng);
    }
  }
  return sharp(Buffer.from(p), { raw: { width: SIDE, height: SIDE, channels: 1 } }).jpeg({ quality: 90 }).toBuffer();
}

export interface FieldSet {
  /** Per camera: the frames' files (in the device's folder, or the evaluation folder). */
  files: string[][];
  /** The frames preprocessed as the bundles' manifest says, with their true labels. */
  dataset: Dataset;
  /** Which camera each sample of `dataset` came from. */
  cameras: Int32Array;
}

/**
 * Writes `perCamera` frames per camera to `<dir>/<camera name>/` from the digits `indices` of
 * `source` (split evenly over cameras) and returns them as a labeled tensor set.
 */
export async function writeFieldSet(
  dir: string, cameraNames: readonly string[], source: Dataset, indices: ArrayLike<number>, perCamera: number, preprocessing: Preprocessing, seed: number,
): Promise<FieldSet> {
  const rng = new Rng(seed);
  const preprocessor = new Preprocessor(preprocessing);
  const count = perCamera * cameraNames.length;
  if (indices.length < count) throw new Error(`field set: ${count} frames need ${count} digits, got ${indices.length}`);
  const size = SIDE * SIDE;
  const inputs = new Float32Array(count * size);
  const labels = new Int32Array(count);
  const cameras = new Int32Array(count);
  const files: string[][] = [];
  for (const [camera, name] of cameraNames.entries()) {
    const folder = join(dir, name);
    await mkdir(folder, { recursive: true });
    const written: string[] = [];
    for (let k = 0; k < perCamera; k++) {
      const at = camera * perCamera + k;
      const digit = indices[at];
      const jpeg = await fieldFrame(digitPixels(source, digit), camera % CAMERA_SHIFTS.length, rng);
      const file = join(folder, `frame-${String(k).padStart(4, '0')}.jpg`);
      await writeFile(file, jpeg);
      written.push(file);
      await preprocessor.run(jpeg, { out: inputs.subarray(at * size, (at + 1) * size) });
      labels[at] = source.labels![digit];
      cameras[at] = camera;
    }
    files.push(written);
  }
  return { files, dataset: { inputs, sampleShape: [1, SIDE, SIDE], count, labels }, cameras };
}

/**
 * The teacher's world: training digits, each shifted like one camera's frames with probability
 * `fraction` (rotation comes from the trainer's augmentation), the rest clean.
 */
export function teacherTrainingSet(train: Dataset, fraction: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const size = SIDE * SIDE;
  const inputs = new Float32Array(train.inputs);
  for (let i = 0; i < train.count; i++) {
    if (rng.next() >= fraction) continue;
    const camera = Math.floor(rng.next() * CAMERA_SHIFTS.length);
    let p = digitPixels(train, i);
    for (const shift of CAMERA_SHIFTS[camera]) p = applyPixelShift(p, shift, rng);
    for (let j = 0; j < size; j++) inputs[i * size + j] = (p[j] / 255 - MEAN) / STD;
  }
  return { ...train, inputs };
}
