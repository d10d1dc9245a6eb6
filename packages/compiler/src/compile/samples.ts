// Sample sets for compile: a calibration folder of images (preprocessed exactly as the manifest
// says, through imageToTensor) or of tensors (.bin: raw little-endian float32 of the input's
// element count; .npy: float32 C-order arrays), and a labeled evaluation folder (one sub-folder per
// class). Sets are held in memory: the search runs every candidate over the same samples.
// An image that cannot be decoded is skipped and counted with its reason; a tensor of the wrong
// size is an error (it says the preprocessing differs from what the model takes).
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Preprocessing } from '@edgeloop/bundle';
import { listImages, imageToTensor } from '../quantize/image-samples.js';
import { CompileError } from '../errors.js';

export interface Sample {
  data: Float32Array;
  /** [1, ...input dims]. */
  dims: number[];
  /** Class index (evaluation sets only). */
  label?: number;
  source: string;
}

export interface SampleSet {
  folder: string;
  kind: 'images' | 'tensors';
  samples: Sample[];
  skipped: { file: string; reason: string }[];
}

export interface InputSpec {
  name: string;
  /** Concrete shape with batch 1. */
  dims: number[];
  preprocessing?: Preprocessing;
}

const TENSOR_EXTENSIONS = new Set(['.bin', '.npy']);

/** Parses a .npy file (format 1.0-3.0) holding float32 ('<f4') in C order. */
export function parseNpy(bytes: Uint8Array, file: string): { data: Float32Array; shape: number[] } {
  const magic = String.fromCharCode(...bytes.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new CompileError(`${file}: not a .npy file`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4') throw new CompileError(`${file}: .npy dtype ${descr ?? '?'}; calibration tensors must be float32 ('<f4')`);
  if (fortran !== 'False') throw new CompileError(`${file}: Fortran-order .npy arrays are not supported`);
  const shape = (shapeText ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const offset = start + headerLength;
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.byteLength - offset !== count * 4) throw new CompileError(`${file}: .npy payload is ${bytes.byteLength - offset} bytes, shape (${shape.join(', ')}) needs ${count * 4}`);
  // A copy, aligned for Float32Array (Buffer.slice would be a view into a shared pool).
  const copy = Uint8Array.prototype.slice.call(bytes, offset, offset + count * 4);
  return { data: new Float32Array(copy.buffer, copy.byteOffset, count), shape };
}

async function tensorFiles(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && TENSOR_EXTENSIONS.has(extname(e.name).toLowerCase())).map((e) => join(folder, e.name)).sort();
}

async function readTensor(file: string, input: InputSpec): Promise<Sample> {
  const bytes = new Uint8Array(await readFile(file));
  const count = input.dims.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  if (extname(file).toLowerCase() === '.npy') {
    const parsed = parseNpy(bytes, file);
    data = parsed.data;
    const dims = parsed.shape[0] === 1 ? parsed.shape : [1, ...parsed.shape];
    if (dims.length !== input.dims.length || dims.some((d, i) => d !== input.dims[i])) {
      throw new CompileError(`calibration tensor ${file} has shape (${parsed.shape.join(', ')}), input '${input.name}' takes [${input.dims.join(', ')}]`);
    }
  } else {
    if (bytes.byteLength !== count * 4) {
      throw new CompileError(`calibration tensor ${file} is ${bytes.byteLength} bytes; input '${input.name}' [${input.dims.join(', ')}] as float32 needs ${count * 4}`);
    }
    data = new Float32Array(bytes.slice().buffer, 0, count);
  }
  if (data.some((v) => !Number.isFinite(v))) throw new CompileError(`calibration tensor ${file} holds NaN or infinite values`);
  return { data, dims: [...input.dims], source: file };
}

async function readImages(files: readonly string[], input: InputSpec, skipped: SampleSet['skipped'], label?: number): Promise<Sample[]> {
  if (!input.preprocessing) throw new CompileError(`input '${input.name}' has no image preprocessing; give tensors (.bin/.npy) or preprocessing flags`);
  const out: Sample[] = [];
  for (const file of files) {
    try {
      const t = await imageToTensor(new Uint8Array(await readFile(file)), input.preprocessing);
      out.push({ data: t.data, dims: t.dims, source: file, ...(label === undefined ? {} : { label }) });
    } catch (error) {
      skipped.push({ file, reason: error instanceof Error ? error.message.split('\n')[0] : String(error) });
    }
  }
  return out;
}

/**
 * Images of a labeled folder (`folder/<class>/<image>`), taken round-robin across classes so a
 * calibration limit still sees every class.
 */
async function classFolderImages(folder: string): Promise<string[]> {
  const classes = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const lists = await Promise.all(classes.map((c) => listImages(join(folder, c))));
  const out: string[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

/** The calibration set: images or tensors of `folder` (or images of its class sub-folders), the first `limit` in name order. */
export async function loadCalibrationSet(folder: string, input: InputSpec, limit?: number): Promise<SampleSet> {
  let images: string[];
  let tensors: string[];
  try {
    [images, tensors] = await Promise.all([listImages(folder), tensorFiles(folder)]);
  } catch (error) {
    throw new CompileError(`calibration folder ${folder}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message}`, { cause: error });
  }
  if (images.length > 0 && tensors.length > 0) {
    throw new CompileError(`calibration folder ${folder} mixes images (${images.length}) and tensors (${tensors.length}); use one kind`);
  }
  if (images.length === 0 && tensors.length === 0) images = await classFolderImages(folder);
  if (images.length === 0 && tensors.length === 0) {
    throw new CompileError(`calibration folder ${folder} holds no images (.jpg, .png, ...) and no tensors (.bin, .npy)`);
  }
  const skipped: SampleSet['skipped'] = [];
  if (tensors.length > 0) {
    const chosen = tensors.slice(0, limit ?? tensors.length);
    const samples: Sample[] = [];
    for (const file of chosen) samples.push(await readTensor(file, input));
    return { folder, kind: 'tensors', samples, skipped };
  }
  // Unreadable images are skipped, so read past `limit` files until `limit` samples decode.
  const want = limit ?? images.length;
  const samples: Sample[] = [];
  for (const file of images) {
    if (samples.length >= want) break;
    samples.push(...(await readImages([file], input, skipped)));
  }
  if (samples.length === 0) {
    throw new CompileError(`no usable calibration images in ${folder}: ${skipped.length} unreadable (first: ${basename(skipped[0]?.file ?? '')}: ${skipped[0]?.reason ?? ''})`);
  }
  return { folder, kind: 'images', samples, skipped };
}

/**
 * A labeled evaluation set: `folder/<class>/<image>`. A class folder maps to the label of the same
 * name when the model has labels (an unknown name is an error), else to its index in sorted order.
 */
export async function loadEvalSet(folder: string, input: InputSpec, labels: readonly string[], limitPerClass?: number): Promise<SampleSet & { classes: string[] }> {
  let classes: string[];
  try {
    classes = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (error) {
    throw new CompileError(`evaluation folder ${folder}: ${(error as Error).message}`, { cause: error });
  }
  if (classes.length === 0) throw new CompileError(`evaluation folder ${folder} has no class sub-folders (expected ${folder}/<label>/<image>)`);
  const skipped: SampleSet['skipped'] = [];
  const samples: Sample[] = [];
  for (const [k, name] of classes.entries()) {
    const index = labels.length > 0 ? labels.indexOf(name) : k;
    if (index < 0) throw new CompileError(`evaluation class folder '${name}' is not one of the model's labels (${labels.slice(0, 12).join(', ')}${labels.length > 12 ? ', …' : ''})`);
    const files = (await listImages(join(folder, name))).slice(0, limitPerClass);
    samples.push(...(await readImages(files, input, skipped, index)));
  }
  if (samples.length === 0) throw new CompileError(`no usable evaluation images in ${folder}`);
  return { folder, kind: 'images', samples, skipped, classes };
}
