// Calibration samples from image files: decodes and preprocesses each image exactly as the
// device runtime does for the bundle manifest's `preprocessing` (sharp: auto-orient, resize by
// stretch / letterbox / center-crop, sRGB 8-bit; then colour order, (pixel * scale - mean) / std
// through a per-channel float32 table, NCHW / NHWC). The compiler may not import the runtime, so
// the pipeline is repeated here; test/calibration-preprocess.test.ts checks both give identical
// tensors. Images stream one at a time, so memory does not grow with the folder.
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Preprocessing } from '@edgeloop/bundle';
import type { CalibrationFeed } from './calibrate.js';
import { CalibrationError } from '../errors.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff', '.gif', '.avif']);

export interface ImageSampleOptions {
  /** The model input the tensors feed. */
  inputName: string;
  /** Most images to use (default all), taken in file-name order. */
  limit?: number;
  /** Resampling kernel; must match the runtime's (default 'linear', as the runtime's). */
  kernel?: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
}

/** Image files of a folder (not recursive), sorted by name. */
export async function listImages(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())).map((e) => join(folder, e.name)).sort();
}

function normalisationTables(spec: Preprocessing): Float32Array[] {
  const channels = spec.colorOrder === 'GRAY' ? 1 : 3;
  return Array.from({ length: channels }, (_, c) => {
    const mean = spec.mean.length === 1 ? spec.mean[0] : spec.mean[c];
    const std = spec.std.length === 1 ? spec.std[0] : spec.std[c];
    const table = new Float32Array(256);
    for (let p = 0; p < 256; p++) table[p] = (p * spec.scale - mean) / std;
    return table;
  });
}

/** ITU-R 601 luma with PIL's rounding, as the runtime. */
const luma = (r: number, g: number, b: number): number => (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;

/** Decoded, resized 8-bit RGB pixels (width x height x 3) of one encoded image. */
async function decodeResized(bytes: Uint8Array, spec: Preprocessing, kernel: NonNullable<ImageSampleOptions['kernel']>): Promise<Uint8Array> {
  const { width, height } = spec;
  // Loaded on first use: calibration from tensors must not need libvips.
  const { default: sharp } = await import('sharp');
  let pipeline = sharp(bytes, { autoOrient: true, failOn: 'warning' });
  const meta = await pipeline.metadata();
  const srcWidth = meta.autoOrient?.width ?? meta.width;
  const srcHeight = meta.autoOrient?.height ?? meta.height;
  if (!srcWidth || !srcHeight) throw new CalibrationError(`image without dimensions (${meta.format})`);
  let scaleX = width / srcWidth;
  let scaleY = height / srcHeight;
  let offsetX = 0;
  let offsetY = 0;
  if (spec.resize === 'letterbox') {
    const scale = Math.min(width / srcWidth, height / srcHeight);
    const w = Math.min(width, Math.max(1, Math.round(srcWidth * scale)));
    const h = Math.min(height, Math.max(1, Math.round(srcHeight * scale)));
    scaleX = w / srcWidth;
    scaleY = h / srcHeight;
    offsetX = Math.floor((width - w) / 2);
    offsetY = Math.floor((height - h) / 2);
  } else if (spec.resize === 'center-crop') {
    const scale = Math.max(width / srcWidth, height / srcHeight);
    const w = Math.max(width, Math.round(srcWidth * scale));
    const h = Math.max(height, Math.round(srcHeight * scale));
    scaleX = w / srcWidth;
    scaleY = h / srcHeight;
    offsetX = -Math.floor((w - width) / 2);
    offsetY = -Math.floor((h - height) / 2);
  }
  const scaledWidth = Math.round(srcWidth * scaleX);
  const scaledHeight = Math.round(srcHeight * scaleY);
  if (scaledWidth !== srcWidth || scaledHeight !== srcHeight) pipeline = pipeline.resize(scaledWidth, scaledHeight, { fit: 'fill', kernel });
  if (spec.resize === 'letterbox' && (scaledWidth !== width || scaledHeight !== height)) {
    const c = spec.letterboxColor ?? [114, 114, 114];
    const background = c.length === 1 ? { r: c[0], g: c[0], b: c[0] } : { r: c[0], g: c[1], b: c[2] };
    pipeline = pipeline.extend({ left: offsetX, top: offsetY, right: width - scaledWidth - offsetX, bottom: height - scaledHeight - offsetY, background });
  } else if (spec.resize === 'center-crop' && (scaledWidth !== width || scaledHeight !== height)) {
    pipeline = pipeline.extract({ left: -offsetX, top: -offsetY, width, height });
  }
  const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new CalibrationError(`pipeline produced ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** One image as the model's float32 input tensor [1, C, H, W] or [1, H, W, C]. */
export async function imageToTensor(bytes: Uint8Array, spec: Preprocessing, kernel: ImageSampleOptions['kernel'] = 'linear'): Promise<{ data: Float32Array; dims: number[] }> {
  if (spec.dtype !== 'float32') throw new CalibrationError(`calibration needs float32 model inputs; preprocessing dtype is ${spec.dtype}`);
  const pixels = await decodeResized(bytes, spec, kernel);
  const tables = normalisationTables(spec);
  const count = spec.width * spec.height;
  const channels = tables.length;
  const out = new Float32Array(count * channels);
  const nchw = spec.layout === 'NCHW';
  const order = spec.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  for (let i = 0, s = 0; i < count; i++, s += 3) {
    if (channels === 1) {
      out[i] = tables[0][luma(pixels[s], pixels[s + 1], pixels[s + 2])];
      continue;
    }
    for (let c = 0; c < 3; c++) out[nchw ? c * count + i : i * 3 + c] = tables[c][pixels[s + order[c]]];
  }
  const dims = nchw ? [1, channels, spec.height, spec.width] : [1, spec.height, spec.width, channels];
  return { data: out, dims };
}

/** Calibration samples from image files or a folder of images, preprocessed as the runtime would. */
export async function* imageCalibrationSamples(
  source: string | readonly string[],
  spec: Preprocessing,
  options: ImageSampleOptions,
): AsyncGenerator<CalibrationFeed> {
  const files = typeof source === 'string' ? await listImages(source) : [...source];
  const chosen = files.slice(0, options.limit ?? files.length);
  if (chosen.length === 0) throw new CalibrationError(`no calibration images in ${typeof source === 'string' ? source : 'the given list'}`);
  for (const file of chosen) {
    let tensor: { data: Float32Array; dims: number[] };
    try {
      tensor = await imageToTensor(await readFile(file), spec, options.kernel);
    } catch (error) {
      throw new CalibrationError(`calibration image ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    yield { [options.inputName]: tensor };
  }
}
