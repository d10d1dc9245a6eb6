// The mnist package's digits as image files in class folders (<out>/<digit>/<n>.png): the input
// `edgeloop dataset import` and `edgeloop distill` take, for the digits example and the CLI tests.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../random.js';
import { DIGITS_PREPROCESSING, loadDigits } from './digits.js';

export interface DigitImagesOptions {
  /** Images per class (default all, about 1,000). */
  perClass?: number;
  /** Which digits are taken when `perClass` is less than all (default seed 1). */
  seed?: number;
  /** Skip these many per class first (to write disjoint sets). */
  skip?: number;
}

/** Writes 28x28 greyscale PNGs; returns how many per class. */
export async function writeDigitImages(outDir: string, options: DigitImagesOptions = {}): Promise<Record<string, number>> {
  const digits = loadDigits();
  const side = 28;
  const [mean] = DIGITS_PREPROCESSING.mean;
  const [std] = DIGITS_PREPROCESSING.std;
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  for (let i = 0; i < digits.count; i++) byClass[digits.labels?.[i] ?? 0].push(i);
  const rng = new Rng(options.seed ?? 1);
  const written: Record<string, number> = {};
  for (let digit = 0; digit < 10; digit++) {
    const order = rng.shuffle(Int32Array.from(byClass[digit]));
    const skip = options.skip ?? 0;
    const take = order.subarray(skip, skip + (options.perClass ?? order.length));
    const dir = join(outDir, String(digit));
    await mkdir(dir, { recursive: true });
    for (let n = 0; n < take.length; n++) {
      const x = digits.inputs.subarray(take[n] * side * side, (take[n] + 1) * side * side);
      const pixels = Uint8Array.from(x, (v) => Math.max(0, Math.min(255, Math.round((v * std + mean) * 255))));
      const png = await sharp(pixels, { raw: { width: side, height: side, channels: 1 } }).png().toBuffer();
      await writeFile(join(dir, `${n}.png`), png);
    }
    written[String(digit)] = take.length;
  }
  return written;
}
