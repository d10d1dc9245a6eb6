// fp16 conversion: float32 weights and activations become float16, the model's inputs and outputs
// stay float32 (a Cast at each boundary), and numerically fragile ops (the block list: exp-based
// and reducing ops, Resize, normalisations) run in float32 between Casts. Cast(to=float) inside
// the graph becomes Cast(to=float16); float Constant / ConstantOfShape values are converted.
// Inputs that must stay float32 whatever the op (Resize roi / scales) are left alone. Main graph
// only. Shape inference runs again at the end. Does not mutate its input.
import { DataType } from '../ir/data-type.js';
import { inferShapes } from '../ir/shape-inference.js';
import { createTensor } from '../ir/tensor.js';
import type { Attribute, Model, Node, Tensor } from '../ir/types.js';
import { floatToHalf, floatValues, nameAllocator, takenNames, valueTypes } from './graph-rewrite.js';
import type { PassResult } from './pass.js';

/** Ops kept in float32 by default. */
export const DEFAULT_FP16_BLOCK_LIST: readonly string[] = [
  'Softmax', 'LogSoftmax', 'Exp', 'Log', 'Pow', 'Erf', 'Sqrt', 'Reciprocal',
  'ReduceMean', 'ReduceSum', 'ReduceSumSquare', 'ReduceL2', 'ReduceLogSumExp', 'ReduceProd',
  'Resize', 'Upsample', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization',
  'Range', 'CumSum', 'TopK', 'NonMaxSuppression', 'RoiAlign', 'Einsum',
];

/** Inputs that are float32 by the op's definition, not data (index lists). */
const FLOAT32_ONLY_INPUTS: Readonly<Record<string, readonly number[]>> = { Resize: [1, 2], Upsample: [1] };

export interface Fp16Options {
  /** Ops to keep in float32 (default DEFAULT_FP16_BLOCK_LIST). */
  blockList?: readonly string[];
  /** Node names to keep in float32 in addition to the block list. */
  exclude?: readonly string[];
}

export interface Fp16Result extends PassResult {
  report: { converted: number; keptFloat32: string[]; casts: number };
}

function halfTensor(t: Tensor, name: string): Tensor {
  return createTensor(name, Uint16Array.from(floatValues(t), floatToHalf), t.dims, 'float16');
}

export function convertToFp16(model: Model, options: Fp16Options = {}): Fp16Result {
  const graph = model.graph;
  const blocked = new Set(options.blockList ?? DEFAULT_FP16_BLOCK_LIST);
  const excluded = new Set(options.exclude ?? []);
  const types = valueTypes(model);
  const fresh = nameAllocator(takenNames(graph));
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const inits = new Map(graph.initializers.filter((t) => !inputNames.has(t.name)).map((t) => [t.name, t]));
  /** Float values and where they live: 'fp32' or 'fp16'. */
  const domain = new Map<string, 'fp16' | 'fp32'>();
  const isFloat = (name: string): boolean => types.get(name)?.elemType === DataType.FLOAT;
  for (const v of graph.inputs) if (isFloat(v.name) && !inits.has(v.name)) domain.set(v.name, 'fp32');
  const nodes: Node[] = [];
  const added: Tensor[] = [];
  const castCache = new Map<string, string>();
  let casts = 0;
  const cast = (value: string, to: 'fp16' | 'fp32'): string => {
    const key = `${value}->${to}`;
    const cached = castCache.get(key);
    if (cached) return cached;
    const out = fresh(`${value}_${to}`);
    nodes.push({ name: fresh(`Cast_${out}`), opType: 'Cast', domain: '', inputs: [value], outputs: [out], attributes: { to: { type: 'int', value: to === 'fp16' ? DataType.FLOAT16 : DataType.FLOAT } } });
    castCache.set(key, out);
    casts++;
    return out;
  };
  const halfInits = new Map<string, string>();
  const halfInit = (name: string): string => {
    let h = halfInits.get(name);
    if (!h) {
      h = fresh(`${name}_fp16`);
      added.push(halfTensor(inits.get(name) as Tensor, h));
      halfInits.set(name, h);
    }
    return h;
  };
  const keptFloat32: string[] = [];
  let converted = 0;
  for (const node of graph.nodes) {
    const keep = blocked.has(node.opType) || excluded.has(node.name) || (node.domain !== '' && node.domain !== 'ai.onnx');
    const float32Only = new Set(FLOAT32_ONLY_INPUTS[node.opType] ?? []);
    const inputs = node.inputs.map((name, i) => {
      if (name === '') return name;
      const isFloatInit = inits.has(name) && inits.get(name)?.dataType === DataType.FLOAT;
      if (keep || float32Only.has(i)) {
        return domain.get(name) === 'fp16' ? cast(name, 'fp32') : name;
      }
      if (isFloatInit) return halfInit(name);
      return domain.get(name) === 'fp32' ? cast(name, 'fp16') : name;
    });
    const hadFloatInput = node.inputs.some((n) => n !== '' && (isFloat(n) || domain.has(n)));
    let attributes = node.attributes;
    if (!keep) {
      const a: Record<string, Attribute> = { ...node.attributes };
      if (node.opType === 'Cast' && a.to?.type === 'int' && Number(a.to.value) === DataType.FLOAT) a.to = { type: 'int', value: DataType.FLOAT16 };
      if ((node.opType === 'Constant' || node.opType === 'ConstantOfShape') && a.value?.type === 'tensor' && a.value.value.dataType === DataType.FLOAT) {
        a.value = { ...a.value, value: halfTensor(a.value.value, a.value.value.name) };
      }
      if (node.opType === 'Constant' && a.value_float?.type === 'float') {
        a.value = { type: 'tensor', value: halfTensor(createTensor('value', Float32Array.of(a.value_float.value), []), 'value') };
        delete a.value_float;
      }
      if (node.opType === 'Constant' && a.value_floats?.type === 'floats') {
        a.value = { type: 'tensor', value: halfTensor(createTensor('value', Float32Array.from(a.value_floats.value), [a.value_floats.value.length]), 'value') };
        delete a.value_floats;
      }
      attributes = a;
    }
    for (const o of node.outputs) {
      if (o === '') continue;
      const known = types.get(o);
      const floatOut = known ? known.elemType === DataType.FLOAT : hadFloatInput && node.opType !== 'Shape' && node.opType !== 'Size';
      if (floatOut) domain.set(o, keep ? 'fp32' : 'fp16');
    }
    if (keep) keptFloat32.push(node.name || node.opType);
    else converted++;
    nodes.push({ ...node, inputs, attributes });
  }
  // Graph outputs stay float32: an fp16 value is renamed and cast back to the output's name.
  const renames = new Map<string, string>();
  for (const o of graph.outputs) {
    if (domain.get(o.name) !== 'fp16') continue;
    renames.set(o.name, fresh(`${o.name}_fp16`));
  }
  const renamed = nodes.map((n) => (
    n.inputs.some((i) => renames.has(i)) || n.outputs.some((x) => renames.has(x))
      ? { ...n, inputs: n.inputs.map((i) => renames.get(i) ?? i), outputs: n.outputs.map((x) => renames.get(x) ?? x) }
      : n));
  for (const [name, internal] of renames) {
    renamed.push({ name: fresh(`Cast_${name}`), opType: 'Cast', domain: '', inputs: [internal], outputs: [name], attributes: { to: { type: 'int', value: DataType.FLOAT } } });
    casts++;
  }
  const used = new Set(renamed.flatMap((n) => n.inputs));
  const initializers = [...graph.initializers.filter((t) => used.has(t.name) || inputNames.has(t.name)), ...added];
  const out: Model = { ...model, graph: { ...graph, nodes: renamed, initializers, valueInfo: [] } };
  return { model: inferShapes(out).model, modified: converted > 0, report: { converted, keptFloat32, casts } };
}
