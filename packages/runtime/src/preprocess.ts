// Camera frame or image file -> model input tensor. One sharp pipeline decodes, orients and
// resizes to 8-bit RGB; one tight loop then applies colour order, normalisation and layout into
// a (reusable) output buffer. Normalisation goes through a 256-entry table per channel, so each
// value is exactly (pixel * scale - mean[c]) / std[c] rounded once to float32.

import type { Preprocessing } from '@edgeloop/bundle';
import sharp, { type Sharp } from 'sharp';

import type { RuntimeTensor } from './backend.js';
import { ImageDecodeError, PreprocessConfigError, describeError } from './errors.js';

/**
 * How a model wants its input: @edgeloop/bundle's manifest type, re-exported. value =
 * (pixel * scale - mean[c]) / std[c]; for dtype 'uint8' the raw pixels, without normalisation.
 */
export type { Preprocessing };

/** Undecoded pixels, e.g. from a camera: 8-bit, row-major, interleaved RGB / RGBA / grey. */
export interface RawFrame {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** Encoded image bytes (JPEG, PNG, WebP, ...) or a raw frame. */
export type ImageInput = Uint8Array | RawFrame;

export interface LetterboxInfo {
  /** Source pixels -> model pixels, the same on both axes. */
  scale: number;
  padX: number;
  padY: number;
  srcWidth: number;
  srcHeight: number;
}

/** Exact geometry for every resize mode: modelX = srcX * scaleX + offsetX (likewise y). */
export interface ImageTransform {
  srcWidth: number;
  srcHeight: number;
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

export interface PreprocessResult {
  tensor: RuntimeTensor;
  /** Present for resize 'letterbox': what postprocessing needs to map boxes back. */
  letterbox?: LetterboxInfo;
  transform: ImageTransform;
}

export interface PreprocessCallOptions {
  /**
   * Output buffer to fill instead of allocating one per frame: Float32Array for dtype 'float32',
   * Uint8Array for 'uint8', at least channels*width*height long. The tensor's data is a view of it.
   */
  out?: Float32Array | Uint8Array;
}

export interface PreprocessorOptions {
  /** Resampling kernel; 'linear' is closest to the bilinear resizes most training pipelines use. */
  kernel?: 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
}

const DEFAULT_LETTERBOX_COLOR = [114, 114, 114];

interface Geometry {
  transform: ImageTransform;
  letterbox?: LetterboxInfo;
}

export class Preprocessor {
  readonly spec: Readonly<Preprocessing>;
  readonly channels: 1 | 3;
  readonly dims: readonly number[];
  readonly #kernel: NonNullable<PreprocessorOptions['kernel']>;
  readonly #tables: Float32Array[];
  readonly #background: { r: number; g: number; b: number };
  // The geometry of a frame already at the model size (identity in every resize mode), made once.
  readonly #modelSize: Geometry;

  constructor(spec: Preprocessing, options: PreprocessorOptions = {}) {
    validateSpec(spec);
    this.spec = { ...spec, mean: [...spec.mean], std: [...spec.std] };
    this.channels = spec.colorOrder === 'GRAY' ? 1 : 3;
    this.dims = spec.layout === 'NCHW' ? [1, this.channels, spec.height, spec.width] : [1, spec.height, spec.width, this.channels];
    this.#kernel = options.kernel ?? 'linear';
    this.#tables = [];
    for (let c = 0; c < this.channels; c++) {
      const mean = spec.mean.length === 1 ? spec.mean[0] : spec.mean[c];
      const std = spec.std.length === 1 ? spec.std[0] : spec.std[c];
      const table = new Float32Array(256);
      for (let p = 0; p < 256; p++) table[p] = (p * spec.scale - mean) / std;
      this.#tables.push(table);
    }
    const color = spec.letterboxColor ?? DEFAULT_LETTERBOX_COLOR;
    this.#background = color.length === 1 ? { r: color[0], g: color[0], b: color[0] } : { r: color[0], g: color[1], b: color[2] };
    const identity = this.#geometry(spec.width, spec.height);
    this.#modelSize = Object.freeze({
      transform: Object.freeze(identity.transform),
      ...(identity.letterbox ? { letterbox: Object.freeze(identity.letterbox) } : {}),
    });
  }

  /** The transform of a frame already at the model size: identity. */
  get modelTransform(): ImageTransform {
    return this.#modelSize.transform;
  }

  get elementCount(): number {
    return this.channels * this.spec.width * this.spec.height;
  }

  async run(image: ImageInput, options: PreprocessCallOptions = {}): Promise<PreprocessResult> {
    const out = this.#outputBuffer(options.out);
    const direct = isRawFrame(image) ? this.#writeDirect(image, out) : undefined;
    if (direct) return this.#result(out, direct);
    const { pixels, geometry } = await this.#decodeAndResize(image);
    this.#write(pixels, 3, out);
    return this.#result(out, geometry);
  }

  /**
   * The synchronous path, for a raw frame already at the model size (no decode, no resampling):
   * its result, or undefined when the image needs sharp (then call `run`). Throws ImageDecodeError
   * for a malformed raw frame, like `run`.
   */
  runSync(image: ImageInput, out?: Float32Array | Uint8Array): PreprocessResult | undefined {
    if (!isRawFrame(image)) return undefined;
    const buffer = this.#outputBuffer(out);
    const direct = this.#writeDirect(image, buffer);
    return direct && this.#result(buffer, direct);
  }

  /**
   * `runSync` for a caller that keeps its own tensor over `out` (the engine's batch-1 path): fills
   * `out` and returns the (shared, frozen) transform, or undefined when the image needs `run`.
   */
  writeSync(image: ImageInput, out: Float32Array | Uint8Array): ImageTransform | undefined {
    if (!isRawFrame(image)) return undefined;
    return this.#writeDirect(image, this.#outputBuffer(out))?.transform;
  }

  #writeDirect(image: RawFrame, out: Float32Array | Uint8Array): Geometry | undefined {
    validateRawFrame(image);
    // A camera already delivering the model's size needs no resampling at all.
    if (image.width !== this.spec.width || image.height !== this.spec.height) return undefined;
    this.#write(image.data, image.channels, out);
    return this.#modelSize;
  }

  #result(data: Float32Array | Uint8Array, geometry: Geometry): PreprocessResult {
    const tensor: RuntimeTensor = { dtype: this.spec.dtype, dims: this.dims, data };
    return geometry.letterbox ? { tensor, letterbox: geometry.letterbox, transform: geometry.transform } : { tensor, transform: geometry.transform };
  }

  #outputBuffer(given: Float32Array | Uint8Array | undefined): Float32Array | Uint8Array {
    const count = this.elementCount;
    if (given === undefined) return this.spec.dtype === 'float32' ? new Float32Array(count) : new Uint8Array(count);
    const wanted = this.spec.dtype === 'float32' ? Float32Array : Uint8Array;
    if (!(given instanceof wanted)) throw new PreprocessConfigError(`output buffer must be a ${wanted.name} for dtype ${this.spec.dtype}`);
    if (given.length < count) throw new PreprocessConfigError(`output buffer holds ${given.length} values, needs ${count}`);
    return given.length === count ? given : given.subarray(0, count);
  }

  #geometry(srcWidth: number, srcHeight: number): Geometry {
    const { width, height, resize } = this.spec;
    if (resize === 'stretch') {
      return { transform: { srcWidth, srcHeight, scaleX: width / srcWidth, scaleY: height / srcHeight, offsetX: 0, offsetY: 0 } };
    }
    if (resize === 'letterbox') {
      const scale = Math.min(width / srcWidth, height / srcHeight);
      const newWidth = clamp(Math.round(srcWidth * scale), 1, width);
      const newHeight = clamp(Math.round(srcHeight * scale), 1, height);
      const padX = Math.floor((width - newWidth) / 2);
      const padY = Math.floor((height - newHeight) / 2);
      return {
        letterbox: { scale, padX, padY, srcWidth, srcHeight },
        transform: { srcWidth, srcHeight, scaleX: newWidth / srcWidth, scaleY: newHeight / srcHeight, offsetX: padX, offsetY: padY },
      };
    }
    const scale = Math.max(width / srcWidth, height / srcHeight);
    const coverWidth = Math.max(width, Math.round(srcWidth * scale));
    const coverHeight = Math.max(height, Math.round(srcHeight * scale));
    const left = Math.floor((coverWidth - width) / 2);
    const top = Math.floor((coverHeight - height) / 2);
    return {
      transform: { srcWidth, srcHeight, scaleX: coverWidth / srcWidth, scaleY: coverHeight / srcHeight, offsetX: 0 - left, offsetY: 0 - top },
    };
  }

  async #decodeAndResize(image: ImageInput): Promise<{ pixels: Uint8Array; geometry: Geometry }> {
    const { width, height } = this.spec;
    try {
      let pipeline: Sharp;
      let srcWidth: number;
      let srcHeight: number;
      if (isRawFrame(image)) {
        pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
        srcWidth = image.width;
        srcHeight = image.height;
      } else {
        if (image.length === 0) throw new ImageDecodeError('empty input (0 bytes)');
        pipeline = sharp(image, { autoOrient: true, failOn: 'warning' });
        // Camera frames (JPEG without EXIF, PNG) carry their size in the first bytes: reading it
        // here saves a round trip through sharp's thread pool per frame. Anything that might be
        // rotated by EXIF orientation, or another format, asks sharp.
        const probed = probeImageSize(image);
        if (probed) {
          srcWidth = probed.width;
          srcHeight = probed.height;
        } else {
          const meta = await pipeline.metadata();
          srcWidth = meta.autoOrient?.width ?? meta.width;
          srcHeight = meta.autoOrient?.height ?? meta.height;
          if (!srcWidth || !srcHeight) throw new ImageDecodeError(`no dimensions in ${meta.format} header`);
        }
      }
      const geometry = this.#geometry(srcWidth, srcHeight);
      const t = geometry.transform;
      const scaledWidth = Math.round(srcWidth * t.scaleX);
      const scaledHeight = Math.round(srcHeight * t.scaleY);
      if (scaledWidth !== srcWidth || scaledHeight !== srcHeight) {
        pipeline = pipeline.resize(scaledWidth, scaledHeight, { fit: 'fill', kernel: this.#kernel });
      }
      if (this.spec.resize === 'letterbox' && (scaledWidth !== width || scaledHeight !== height)) {
        pipeline = pipeline.extend({
          left: t.offsetX,
          top: t.offsetY,
          right: width - scaledWidth - t.offsetX,
          bottom: height - scaledHeight - t.offsetY,
          background: this.#background,
        });
      } else if (this.spec.resize === 'center-crop' && (scaledWidth !== width || scaledHeight !== height)) {
        pipeline = pipeline.extract({ left: -t.offsetX, top: -t.offsetY, width, height });
      }
      const { data, info } = await pipeline
        .removeAlpha()
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (info.width !== width || info.height !== height || info.channels !== 3) {
        throw new ImageDecodeError(`pipeline produced ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
      }
      return { pixels: data, geometry };
    } catch (error) {
      if (error instanceof ImageDecodeError) throw error;
      throw new ImageDecodeError(describeError(error), { cause: error });
    }
  }

  /** The one pass over the pixels: colour order, normalisation, layout. */
  #write(pixels: Uint8Array, srcChannels: number, out: Float32Array | Uint8Array): void {
    // Plain Uint8Array views (not Buffer) keep the loops below monomorphic; it roughly halves their time.
    const src = pixels.constructor === Uint8Array ? pixels : new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length);
    const pixelCount = this.spec.width * this.spec.height;
    const grey = srcChannels === 1;
    // Source channel read for output channel 0, 1, 2.
    const order: ChannelOrder = {
      first: grey ? 0 : this.spec.colorOrder === 'BGR' ? 2 : 0,
      second: grey ? 0 : 1,
      third: grey ? 0 : this.spec.colorOrder === 'BGR' ? 0 : 2,
    };
    const nchw = this.spec.layout === 'NCHW';
    if (out instanceof Float32Array) {
      if (this.channels === 1) writeFloatGrey(src, srcChannels, pixelCount, this.#tables[0], out);
      else if (nchw) writeFloatPlanar(src, srcChannels, pixelCount, order, this.#tables, out);
      else writeFloatInterleaved(src, srcChannels, pixelCount, order, this.#tables, out);
    } else if (this.channels === 1) {
      writeByteGrey(src, srcChannels, pixelCount, out);
    } else if (nchw) {
      writeBytePlanar(src, srcChannels, pixelCount, order, out);
    } else if (srcChannels === 3 && order.first === 0) {
      out.set(src.subarray(0, pixelCount * 3));
    } else {
      writeByteInterleaved(src, srcChannels, pixelCount, order, out);
    }
  }
}

interface ChannelOrder {
  first: number;
  second: number;
  third: number;
}

function writeFloatGrey(src: Uint8Array, channels: number, count: number, table: Float32Array, out: Float32Array): void {
  if (channels === 1) {
    for (let i = 0; i < count; i++) out[i] = table[src[i]];
    return;
  }
  for (let i = 0, s = 0; i < count; i++, s += channels) out[i] = table[luma(src[s], src[s + 1], src[s + 2])];
}

function writeFloatPlanar(src: Uint8Array, channels: number, count: number, order: ChannelOrder, tables: Float32Array[], out: Float32Array): void {
  const [t0, t1, t2] = tables;
  const { first, second, third } = order;
  const plane1 = count;
  const plane2 = 2 * count;
  for (let i = 0, s = 0; i < count; i++, s += channels) {
    out[i] = t0[src[s + first]];
    out[plane1 + i] = t1[src[s + second]];
    out[plane2 + i] = t2[src[s + third]];
  }
}

function writeFloatInterleaved(src: Uint8Array, channels: number, count: number, order: ChannelOrder, tables: Float32Array[], out: Float32Array): void {
  const [t0, t1, t2] = tables;
  const { first, second, third } = order;
  for (let i = 0, s = 0, o = 0; i < count; i++, s += channels, o += 3) {
    out[o] = t0[src[s + first]];
    out[o + 1] = t1[src[s + second]];
    out[o + 2] = t2[src[s + third]];
  }
}

function writeByteGrey(src: Uint8Array, channels: number, count: number, out: Uint8Array): void {
  if (channels === 1) {
    out.set(src.subarray(0, count));
    return;
  }
  for (let i = 0, s = 0; i < count; i++, s += channels) out[i] = luma(src[s], src[s + 1], src[s + 2]);
}

function writeBytePlanar(src: Uint8Array, channels: number, count: number, order: ChannelOrder, out: Uint8Array): void {
  const { first, second, third } = order;
  for (let i = 0, s = 0; i < count; i++, s += channels) {
    out[i] = src[s + first];
    out[count + i] = src[s + second];
    out[2 * count + i] = src[s + third];
  }
}

function writeByteInterleaved(src: Uint8Array, channels: number, count: number, order: ChannelOrder, out: Uint8Array): void {
  const { first, second, third } = order;
  for (let i = 0, s = 0, o = 0; i < count; i++, s += channels, o += 3) {
    out[o] = src[s + first];
    out[o + 1] = src[s + second];
    out[o + 2] = src[s + third];
  }
}

/** ITU-R 601 luma with the rounding of PIL's convert('L'), which most training code used. */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/**
 * Width and height of a JPEG (from its SOF segment) or PNG (from IHDR) when the file cannot carry an
 * EXIF orientation (a JPEG without an APP1 Exif segment before its frame header, a PNG without an
 * eXIf chunk before IDAT); undefined otherwise, or when the header is incomplete.
 */
export function probeImageSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const n = bytes.length;
  if (n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let p = 2;
    while (p + 4 <= n) {
      if (bytes[p] !== 0xff) return undefined;
      const marker = bytes[p + 1];
      if (marker === 0xff) {
        p++;
        continue;
      }
      if (marker === 0xd8 || marker === 0xd9 || marker === 0xda || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) return undefined;
      const length = (bytes[p + 2] << 8) | bytes[p + 3];
      if (length < 2 || p + 2 + length > n) return undefined;
      // APP1 "Exif": may hold an orientation; let sharp read it.
      if (marker === 0xe1 && length >= 8 && bytes[p + 4] === 0x45 && bytes[p + 5] === 0x78 && bytes[p + 6] === 0x69 && bytes[p + 7] === 0x66) return undefined;
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        if (length < 7) return undefined;
        const height = (bytes[p + 5] << 8) | bytes[p + 6];
        const width = (bytes[p + 7] << 8) | bytes[p + 8];
        return width > 0 && height > 0 ? { width, height } : undefined;
      }
      p += 2 + length;
    }
    return undefined;
  }
  if (n >= 33 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(12) !== 0x49484452) return undefined; // IHDR first, as the format requires
    const width = view.getUint32(16);
    const height = view.getUint32(20);
    // Walk the chunks before the image data for an eXIf chunk.
    for (let p = 8; p + 8 <= n; ) {
      const length = view.getUint32(p);
      const type = view.getUint32(p + 4);
      if (type === 0x49444154) return width > 0 && height > 0 ? { width, height } : undefined; // IDAT
      if (type === 0x65584966) return undefined; // eXIf
      p += 12 + length;
    }
    return undefined;
  }
  return undefined;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function isRawFrame(image: ImageInput): image is RawFrame {
  return !(image instanceof Uint8Array);
}

function validateRawFrame(frame: RawFrame): void {
  const { width, height, channels, data } = frame;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageDecodeError(`raw frame has invalid size ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new ImageDecodeError(`raw frame has ${String(channels)} channels; 1, 3 or 4 supported`);
  if (!(data instanceof Uint8Array) || data.length !== width * height * channels) {
    throw new ImageDecodeError(`raw frame ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data?.length ?? 0}`);
  }
}

function validateSpec(spec: Preprocessing): void {
  const fail = (detail: string): never => {
    throw new PreprocessConfigError(detail);
  };
  if (!Number.isInteger(spec.width) || !Number.isInteger(spec.height) || spec.width <= 0 || spec.height <= 0) {
    fail(`size ${spec.width}x${spec.height} is not a positive integer size`);
  }
  if (!['stretch', 'letterbox', 'center-crop'].includes(spec.resize)) fail(`unknown resize mode '${spec.resize}'`);
  if (!['RGB', 'BGR', 'GRAY'].includes(spec.colorOrder)) fail(`unknown colour order '${spec.colorOrder}'`);
  if (!['NCHW', 'NHWC'].includes(spec.layout)) fail(`unknown layout '${spec.layout}'`);
  if (!['float32', 'uint8'].includes(spec.dtype)) fail(`unknown dtype '${spec.dtype}'`);
  if (spec.dtype === 'float32') {
    const channels = spec.colorOrder === 'GRAY' ? 1 : 3;
    if (!Number.isFinite(spec.scale)) fail(`scale ${spec.scale} is not finite`);
    for (const [name, values] of [['mean', spec.mean], ['std', spec.std]] as const) {
      if (!Array.isArray(values) || (values.length !== 1 && values.length !== channels)) {
        fail(`${name} needs 1 or ${channels} values for ${spec.colorOrder}, got ${Array.isArray(values) ? values.length : typeof values}`);
      }
      if (values.some((v) => !Number.isFinite(v))) fail(`${name} has a non-finite value`);
    }
    if (spec.std.some((v) => v === 0)) fail('std has a zero');
  }
  const color = spec.letterboxColor;
  if (color !== undefined && ((color.length !== 1 && color.length !== 3) || color.some((v) => !(v >= 0 && v <= 255)))) {
    fail('letterboxColor needs 1 or 3 values in 0..255');
  }
}

export function createPreprocessor(spec: Preprocessing, options?: PreprocessorOptions): Preprocessor {
  return new Preprocessor(spec, options);
}

/** One-off convenience; a camera loop should keep one Preprocessor and pass `out`. */
export async function preprocessImage(image: ImageInput, spec: Preprocessing, options: PreprocessCallOptions & PreprocessorOptions = {}): Promise<PreprocessResult> {
  return new Preprocessor(spec, options).run(image, options);
}
