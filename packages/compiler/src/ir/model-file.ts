// Model files on disk: load (file -> bytes -> serde) and save (serde -> bytes, plus the external
// data side file). Protobuf handling itself stays in serde.ts.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { OnnxLoadError, OnnxSaveError } from '../errors.js';
import { DataType } from './data-type.js';
import { decodeModel, encodeModelWithPlan } from './serde.js';
import type { ExternalPlan } from './serde.js';
import type { Model } from './types.js';

function loadError(path: string, err: unknown): OnnxLoadError {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
  return new OnnxLoadError(path, reason, { cause: err });
}

/**
 * Reads a model file (or decodes bytes). External data resolve against `baseDir` (default: the
 * file's folder). Initializer data are views into the file buffer (no copy).
 */
export async function loadModel(pathOrBytes: string | Uint8Array, options: { baseDir?: string } = {}): Promise<Model> {
  if (typeof pathOrBytes !== 'string') return decodeModel(pathOrBytes, options);
  let bytes: Buffer;
  try {
    bytes = await readFile(pathOrBytes);
  } catch (err) {
    throw loadError(pathOrBytes, err);
  }
  return decodeModel(bytes, { baseDir: options.baseDir ?? dirname(pathOrBytes), source: pathOrBytes });
}

/** Synchronous loadModel. */
export function loadModelSync(pathOrBytes: string | Uint8Array, options: { baseDir?: string } = {}): Model {
  if (typeof pathOrBytes !== 'string') return decodeModel(pathOrBytes, options);
  let bytes: Buffer;
  try {
    bytes = readFileSync(pathOrBytes);
  } catch (err) {
    throw loadError(pathOrBytes, err);
  }
  return decodeModel(bytes, { baseDir: options.baseDir ?? dirname(pathOrBytes), source: pathOrBytes });
}

export interface SaveOptions {
  /** Move large initializers into one side file next to the model (ONNX external data). */
  externalData?: {
    /** Initializers of at least this many bytes go to the side file. */
    threshold: number;
    /** Side file name, relative to the model's folder; default `<model file>.data`. */
    fileName?: string;
  };
}

/** Offsets in the side file are aligned so onnxruntime can map tensors directly. */
const EXTERNAL_ALIGNMENT = 4096;
/** protobuf messages cannot exceed 2 GiB. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

interface ExternalLayout {
  file: string;
  plan: ExternalPlan;
  /** In file order: zero padding to reach the next aligned offset, then the tensor's bytes. */
  chunks: { pad: number; data: Uint8Array }[];
}

function layoutExternalData(model: Model, path: string, options: SaveOptions): ExternalLayout | undefined {
  const ext = options.externalData;
  if (!ext) return undefined;
  const fileName = ext.fileName ?? `${basename(path)}.data`;
  if (isAbsolute(fileName) || normalize(fileName).split(sep).includes('..')) {
    throw new OnnxSaveError(path, `external data file '${fileName}' must be inside the model folder`);
  }
  const plan: ExternalPlan = new Map();
  const chunks: ExternalLayout['chunks'] = [];
  let offset = 0;
  for (const t of model.graph.initializers) {
    if (t.dataType === DataType.STRING || t.data.byteLength < ext.threshold) continue;
    const pad = (EXTERNAL_ALIGNMENT - (offset % EXTERNAL_ALIGNMENT)) % EXTERNAL_ALIGNMENT;
    offset += pad;
    const length = t.data.byteLength;
    plan.set(t, {
      location: fileName, offset, length,
      entries: [{ key: 'location', value: fileName }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(length) }],
    });
    chunks.push({ pad, data: t.data });
    offset += length;
  }
  return { file: join(dirname(path), fileName), plan, chunks };
}

function encodeForSave(model: Model, path: string, layout: ExternalLayout | undefined): Uint8Array {
  const bytes = encodeModelWithPlan(model, layout?.plan);
  if (bytes.byteLength > PROTOBUF_LIMIT) throw new OnnxSaveError(path, 'model exceeds 2 GiB; save with externalData');
  return bytes;
}

/** Writes the model to `path`; with `externalData`, large initializers go to a side file. */
export async function saveModel(model: Model, path: string, options: SaveOptions = {}): Promise<void> {
  const layout = layoutExternalData(model, path, options);
  // Encode before writing the side file: the model may hold views into the file being replaced.
  const bytes = encodeForSave(model, path, layout);
  try {
    if (layout) {
      const handle = await open(layout.file, 'w');
      try {
        for (const { pad, data } of layout.chunks) {
          if (pad) await handle.write(new Uint8Array(pad));
          await handle.write(data);
        }
      } finally {
        await handle.close();
      }
    }
    await writeFile(path, bytes);
  } catch (err) {
    throw new OnnxSaveError(path, (err as Error).message, { cause: err });
  }
}

/** Synchronous saveModel. */
export function saveModelSync(model: Model, path: string, options: SaveOptions = {}): void {
  const layout = layoutExternalData(model, path, options);
  const bytes = encodeForSave(model, path, layout);
  try {
    if (layout) {
      const fd = openSync(layout.file, 'w');
      try {
        for (const { pad, data } of layout.chunks) {
          if (pad) writeSync(fd, new Uint8Array(pad));
          writeSync(fd, data);
        }
      } finally {
        closeSync(fd);
      }
    }
    writeFileSync(path, bytes);
  } catch (err) {
    throw new OnnxSaveError(path, (err as Error).message, { cause: err });
  }
}
