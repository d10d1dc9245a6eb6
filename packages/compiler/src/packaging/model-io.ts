// What a bundle manifest says about a model's inputs and outputs, read from the IR, plus the
// preprocessing and labels edgeloop's trainer records in the model's metadata_props.
import type { Dim as ManifestDim, ModelInput, ModelOutput, Preprocessing, Task, TensorDtype } from '@edgeloop/bundle';
import { TENSOR_DTYPES } from '@edgeloop/bundle';
import { dataTypeName } from '../ir/data-type.js';
import type { Dim, Model, ValueInfo } from '../ir/types.js';
import { PackagingError } from '../errors.js';

/** Keys in ONNX metadata_props written by edgeloop's trainer and read back by compile/bundle. */
export const METADATA_KEYS = {
  preprocessing: 'edgeloop.preprocessing',
  labels: 'edgeloop.labels',
  task: 'edgeloop.task',
} as const;

export interface ModelIo {
  inputs: { name: string; dtype: TensorDtype; shape: Dim[] }[];
  outputs: { name: string; dtype: TensorDtype; shape: Dim[] }[];
}

function tensorInfo(v: ValueInfo, role: 'input' | 'output'): { name: string; dtype: TensorDtype; shape: Dim[] } {
  if (!v.type || v.type.kind !== 'tensor') {
    throw new PackagingError(`${role} ${v.name} is not a tensor (${v.type?.kind ?? 'untyped'}); bundles carry tensor models only`);
  }
  const dtype = dataTypeName(v.type.elemType);
  if (!(TENSOR_DTYPES as readonly string[]).includes(dtype)) {
    throw new PackagingError(`${role} ${v.name} has element type ${dtype}; bundles support ${TENSOR_DTYPES.join(', ')}`);
  }
  if (v.type.shape === null) throw new PackagingError(`${role} ${v.name} has no declared shape`);
  return { name: v.name, dtype: dtype as TensorDtype, shape: [...v.type.shape] };
}

/** The graph's real inputs (initializers listed as inputs by old exporters are left out) and outputs. */
export function modelIo(model: Model): ModelIo {
  const initializers = new Set(model.graph.initializers.map((t) => t.name));
  return {
    inputs: model.graph.inputs.filter((v) => !initializers.has(v.name)).map((v) => tensorInfo(v, 'input')),
    outputs: model.graph.outputs.map((v) => tensorInfo(v, 'output')),
  };
}

/** Manifest dims: integers stay, symbolic names stay, unknown dims become 'dynamic'. */
export function manifestShape(shape: readonly Dim[]): ManifestDim[] {
  return shape.map((d) => (d === null ? 'dynamic' : d));
}

/** Replaces every non-numeric dim with 1 (or the override), giving a shape to run once. */
export function concreteShape(shape: readonly Dim[], override?: readonly number[]): number[] {
  if (override) {
    if (override.length !== shape.length) {
      throw new PackagingError(`--input-shape has ${override.length} dims, the model input has ${shape.length}`);
    }
    shape.forEach((d, i) => {
      if (typeof d === 'number' && d !== override[i]) {
        throw new PackagingError(`--input-shape dim ${i} is ${override[i]} but the model fixes it to ${d}`);
      }
    });
    return [...override];
  }
  return shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
}

function metadata(model: Model, key: string): string | undefined {
  return model.metadataProps.find((e) => e.key === key)?.value;
}

export interface EdgeloopMetadata {
  preprocessing?: Partial<Preprocessing>;
  labels?: string[];
  task?: Task;
}

/** Reads what edgeloop's trainer recorded; malformed entries are an error, not silently ignored. */
export function readEdgeloopMetadata(model: Model): EdgeloopMetadata {
  const out: EdgeloopMetadata = {};
  const parse = (key: string): unknown => {
    const raw = metadata(model, key);
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw);
    } catch (error) {
      throw new PackagingError(`model metadata ${key} is not valid JSON`, { cause: error });
    }
  };
  const pre = parse(METADATA_KEYS.preprocessing);
  if (pre !== undefined) out.preprocessing = pre as Partial<Preprocessing>;
  const labels = parse(METADATA_KEYS.labels);
  if (labels !== undefined) {
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
      throw new PackagingError(`model metadata ${METADATA_KEYS.labels} must be a JSON array of strings`);
    }
    out.labels = labels;
  }
  const task = metadata(model, METADATA_KEYS.task);
  if (task !== undefined) {
    if (task !== 'classification' && task !== 'detection' && task !== 'raw') {
      throw new PackagingError(`model metadata ${METADATA_KEYS.task} is ${JSON.stringify(task)}`);
    }
    out.task = task;
  }
  return out;
}

/**
 * The preprocessing for an image input: the trainer's metadata, then explicit options, over
 * defaults inferred from the input's shape (NCHW with 1 or 3 channels, or NHWC). Returns
 * undefined for inputs that are not images (rank other than 4, or no channel dim of 1/3).
 */
export function resolvePreprocessing(
  input: { name: string; shape: readonly Dim[] },
  concrete: readonly number[],
  ...layers: (Partial<Preprocessing> | undefined)[]
): Preprocessing | undefined {
  const given: Partial<Preprocessing> = Object.assign({}, ...layers.filter(Boolean));
  if (concrete.length !== 4) {
    if (Object.keys(given).length > 0) {
      throw new PackagingError(`input ${input.name} has rank ${concrete.length}; image preprocessing needs a rank-4 input`);
    }
    return undefined;
  }
  const nchwChannels = concrete[1] ?? 0;
  const nhwcChannels = concrete[3] ?? 0;
  let layout = given.layout;
  if (!layout) {
    if (nchwChannels === 1 || nchwChannels === 3) layout = 'NCHW';
    else if (nhwcChannels === 1 || nhwcChannels === 3) layout = 'NHWC';
    else if (Object.keys(given).length === 0) return undefined;
    else throw new PackagingError(`input ${input.name} [${concrete.join(', ')}] has no channel dim of 1 or 3; pass --layout`);
  }
  const [channels, height, width] =
    layout === 'NCHW' ? [concrete[1]!, concrete[2]!, concrete[3]!] : [concrete[3]!, concrete[1]!, concrete[2]!];
  if (channels !== 1 && channels !== 3) {
    throw new PackagingError(`input ${input.name} has ${channels} channels in ${layout}; images have 1 or 3`);
  }
  const colorOrder = given.colorOrder ?? (channels === 1 ? 'GRAY' : 'RGB');
  if ((colorOrder === 'GRAY') !== (channels === 1)) {
    throw new PackagingError(`input ${input.name}: colour order ${colorOrder} does not fit ${channels} channel(s)`);
  }
  if (given.width !== undefined && given.width !== width) {
    throw new PackagingError(`input ${input.name}: preprocessing width ${given.width} != model width ${width}`);
  }
  if (given.height !== undefined && given.height !== height) {
    throw new PackagingError(`input ${input.name}: preprocessing height ${given.height} != model height ${height}`);
  }
  const dtype = given.dtype ?? 'float32';
  const pre: Preprocessing = {
    width,
    height,
    resize: given.resize ?? 'stretch',
    colorOrder,
    layout,
    dtype,
    scale: given.scale ?? (dtype === 'uint8' ? 1 : 1 / 255),
    mean: given.mean ?? [0],
    std: given.std ?? [1],
  };
  if (given.letterboxColor) pre.letterboxColor = given.letterboxColor;
  for (const [key, values] of [['mean', pre.mean], ['std', pre.std]] as const) {
    if (values.length !== 1 && values.length !== channels) {
      throw new PackagingError(`input ${input.name}: --${key} needs 1 or ${channels} values, got ${values.length}`);
    }
  }
  return pre;
}

export function toManifestInput(
  io: ModelIo['inputs'][number],
  preprocessing: Preprocessing | undefined,
): ModelInput {
  const out: ModelInput = { name: io.name, dtype: io.dtype, shape: manifestShape(io.shape) };
  if (preprocessing) out.preprocessing = preprocessing;
  return out;
}

export function toManifestOutput(io: ModelIo['outputs'][number]): ModelOutput {
  return { name: io.name, dtype: io.dtype, shape: manifestShape(io.shape) };
}
