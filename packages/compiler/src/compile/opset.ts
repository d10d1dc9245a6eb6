// Opset conversion for the compile pipeline: upgrades opset 9-12 models to 13 (static QDQ needs
// per-channel DequantizeLinear, opset 13) and downgrades opset 18-19 models to a target's maximum
// (17 by default: TensorRT 8.6's parser and onnx 1.12's checker stop there). Op support is a
// table: an op whose definition changed between the two versions needs a converter here; an op
// without one, or a use of a new feature the older opset lacks, raises OpsetConversionError naming
// the op and node (never a silent pass-through). Main graph only; subgraph ops are refused.
// Does not mutate its input.
import { nodeLabel, opsetVersion } from '../ir/graph.js';
import { createTensor } from '../ir/tensor.js';
import type { Attribute, Model, Node, Tensor } from '../ir/types.js';
import { intsAttr, nameAllocator, takenNames, valueTypes } from '../passes/graph-rewrite.js';
import type { PassResult } from '../passes/pass.js';
import { OpsetConversionError } from '../errors.js';

/** Lowest opset the converter reads. */
export const MIN_SOURCE_OPSET = 9;
/** Highest opset the converter reads. */
export const MAX_SOURCE_OPSET = 19;

export interface OpsetConversionOptions {
  /** The opset to produce (9..19). */
  target: number;
}

export interface OpsetConversionResult extends PassResult {
  report: { from: number; to: number; rewritten: { node: string; opType: string; change: string }[] };
}

interface ConvertContext {
  node: Node;
  label: string;
  from: number;
  to: number;
  /** Adds an initializer, returning its (fresh) name. */
  constant: (base: string, tensor: (name: string) => Tensor) => string;
  /** A constant initializer's int values, if `name` is one. */
  constantInts: (name: string) => number[] | undefined;
  rank: (name: string) => number | undefined;
  fail: (reason: string) => never;
}

/** Returns the replacement node, or a string describing a no-op (node kept as is). */
type Converter = (ctx: ConvertContext) => { node: Node; change: string } | null;

// Ops whose definitions (for inference) are the same across opsets 9..17: new versions only added
// types or attributes whose defaults keep the old behaviour.
const UNCHANGED_9_TO_17 = new Set([
  'Abs', 'Acos', 'Acosh', 'Add', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool',
  'BatchNormalization', 'Cast', 'Ceil', 'Concat', 'Constant', 'ConstantOfShape', 'Conv', 'ConvTranspose', 'Cos',
  'Cosh', 'DepthToSpace', 'DequantizeLinear', 'Div', 'Einsum', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'Flatten',
  'Floor', 'Gather', 'GatherElements', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'Greater', 'HardSigmoid', 'Identity',
  'InstanceNormalization', 'LRN', 'LeakyRelu', 'Less', 'Log', 'MatMul', 'Max', 'MaxPool', 'Mean', 'Min', 'Mul', 'Neg',
  'NonZero', 'Not', 'Or', 'PRelu', 'Pow', 'QuantizeLinear', 'Reciprocal', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'Relu', 'Reshape',
  'Selu', 'Shape', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Size', 'Softplus', 'Softsign', 'SpaceToDepth', 'Sqrt', 'Sub',
  'Sum', 'Tan', 'Tanh', 'Tile', 'Transpose', 'Where', 'Xor', 'Range', 'HardSwish', 'Round', 'Mod', 'Trilu',
  'GreaterOrEqual', 'LessOrEqual', 'CumSum', 'Celu', 'ScatterND', 'GatherND', 'ScatterElements',
]);

// Ops whose version changed in 18 or 19 but whose older form reads the same when the node does not
// use what was added (checked by the converter below).
const CHANGED_ABOVE_17: Record<string, Converter> = {};

const int64s = (values: readonly number[]): BigInt64Array => BigInt64Array.from(values, (v) => BigInt(v));
const decode = (a: Attribute | undefined): string | undefined => (a?.type === 'string' ? new TextDecoder().decode(a.value) : undefined);
const str = (value: string): Attribute => ({ type: 'string', value: new TextEncoder().encode(value) });
const without = (attrs: Record<string, Attribute>, ...names: string[]): Record<string, Attribute> =>
  Object.fromEntries(Object.entries(attrs).filter(([k]) => !names.includes(k)));

/** An attribute (ints) moved to an int64 input appended at `index`. */
function attrToInput(ctx: ConvertContext, attr: string, index: number): { node: Node; change: string } | null {
  const values = intsAttr(ctx.node, attr);
  if (values === undefined) return null;
  const inputs = [...ctx.node.inputs];
  while (inputs.length < index) inputs.push('');
  inputs[index] = ctx.constant(`${ctx.node.name || ctx.node.opType}_${attr}`, (n) => createTensor(n, int64s(values), [values.length]));
  return { node: { ...ctx.node, inputs, attributes: without(ctx.node.attributes, attr) }, change: `${attr} attribute -> input` };
}

const UPGRADES_TO_13: Record<string, Converter> = {
  Clip: (ctx) => {
    if (ctx.from >= 11) return null;
    const min = ctx.node.attributes.min;
    const max = ctx.node.attributes.max;
    const inputs = [ctx.node.inputs[0]];
    const base = ctx.node.name || 'Clip';
    inputs.push(min?.type === 'float' ? ctx.constant(`${base}_min`, (n) => createTensor(n, Float32Array.of(min.value), [])) : '');
    if (max?.type === 'float') inputs.push(ctx.constant(`${base}_max`, (n) => createTensor(n, Float32Array.of(max.value), [])));
    return { node: { ...ctx.node, inputs, attributes: without(ctx.node.attributes, 'min', 'max') }, change: 'min/max attributes -> inputs' };
  },
  Unsqueeze: (ctx) => attrToInput(ctx, 'axes', 1),
  Squeeze: (ctx) => attrToInput(ctx, 'axes', 1),
  ReduceSum: (ctx) => attrToInput(ctx, 'axes', 1),
  Split: (ctx) => attrToInput(ctx, 'split', 1),
  Softmax: (ctx) => coercedAxis(ctx),
  LogSoftmax: (ctx) => coercedAxis(ctx),
  Hardmax: (ctx) => coercedAxis(ctx),
  Dropout: (ctx) => {
    // Inference only: Dropout is the identity; a used mask output has no opset-13 equivalent here.
    if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '') ctx.fail('the mask output is used');
    return { node: { ...ctx.node, opType: 'Identity', inputs: [ctx.node.inputs[0]], outputs: [ctx.node.outputs[0]], attributes: {} }, change: 'Dropout (inference) -> Identity' };
  },
  Upsample: (ctx) => {
    const mode = decode(ctx.node.attributes.mode) ?? 'nearest';
    if (mode !== 'nearest' && mode !== 'linear') ctx.fail(`mode '${mode}'`);
    // Upsample's sampling is Resize's 'asymmetric' transform; nearest rounds down.
    const attributes: Record<string, Attribute> = { mode: str(mode), coordinate_transformation_mode: str('asymmetric') };
    if (mode === 'nearest') attributes.nearest_mode = str('floor');
    return { node: { ...ctx.node, opType: 'Resize', inputs: [ctx.node.inputs[0], '', ctx.node.inputs[1]], attributes }, change: 'Upsample -> Resize (asymmetric)' };
  },
  Resize: (ctx) => {
    if (ctx.from >= 11) return null;
    const mode = decode(ctx.node.attributes.mode) ?? 'nearest';
    const attributes: Record<string, Attribute> = { mode: str(mode), coordinate_transformation_mode: str('asymmetric') };
    if (mode === 'nearest') attributes.nearest_mode = str('floor');
    return { node: { ...ctx.node, inputs: [ctx.node.inputs[0], '', ctx.node.inputs[1]], attributes }, change: 'Resize-10 -> Resize-13 (asymmetric)' };
  },
  Slice: (ctx) => {
    if (ctx.from >= 10) return null;
    const starts = intsAttr(ctx.node, 'starts') ?? ctx.fail('no starts');
    const ends = intsAttr(ctx.node, 'ends') ?? ctx.fail('no ends');
    const axes = intsAttr(ctx.node, 'axes');
    const base = ctx.node.name || 'Slice';
    const inputs = [
      ctx.node.inputs[0],
      ctx.constant(`${base}_starts`, (n) => createTensor(n, int64s(starts), [starts.length])),
      ctx.constant(`${base}_ends`, (n) => createTensor(n, int64s(ends), [ends.length])),
    ];
    if (axes) inputs.push(ctx.constant(`${base}_axes`, (n) => createTensor(n, int64s(axes), [axes.length])));
    return { node: { ...ctx.node, inputs, attributes: {} }, change: 'starts/ends/axes attributes -> inputs' };
  },
  Pad: (ctx) => {
    if (ctx.from >= 11) return null;
    const pads = intsAttr(ctx.node, 'pads') ?? ctx.fail('no pads');
    const value = ctx.node.attributes.value;
    const base = ctx.node.name || 'Pad';
    const inputs = [ctx.node.inputs[0], ctx.constant(`${base}_pads`, (n) => createTensor(n, int64s(pads), [pads.length]))];
    if (value?.type === 'float' && value.value !== 0) inputs.push(ctx.constant(`${base}_value`, (n) => createTensor(n, Float32Array.of(value.value), [])));
    return { node: { ...ctx.node, inputs, attributes: without(ctx.node.attributes, 'pads', 'value') }, change: 'pads/value attributes -> inputs' };
  },
  TopK: (ctx) => {
    if (ctx.from >= 10) return null;
    const k = ctx.node.attributes.k;
    if (k?.type !== 'int') ctx.fail('no k');
    const inputs = [ctx.node.inputs[0], ctx.constant(`${ctx.node.name || 'TopK'}_k`, (n) => createTensor(n, int64s([Number(k.value)]), [1]))];
    return { node: { ...ctx.node, inputs, attributes: without(ctx.node.attributes, 'k') }, change: 'k attribute -> input' };
  },
};

/** Before 13, Softmax-like ops flattened from `axis` on; they agree with 13 only for the last axis. */
function coercedAxis(ctx: ConvertContext): null {
  const a = ctx.node.attributes.axis;
  const axis = a?.type === 'int' ? Number(a.value) : 1;
  const rank = ctx.rank(ctx.node.inputs[0]);
  if (rank === undefined) ctx.fail(`input rank unknown, so axis ${axis} cannot be checked`);
  if (axis !== -1 && axis !== rank - 1) ctx.fail(`axis ${axis} of a rank-${rank} input flattens trailing dims in the old opset`);
  return null;
}

// Downgrade 18/19 -> 17: Reduce* axes input -> attribute (constant only); ops with new features
// are accepted when they do not use them.
for (const op of ['ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare']) {
  CHANGED_ABOVE_17[op] = (ctx) => {
    const axesName = ctx.node.inputs[1];
    if (!axesName) return null;
    const axes = ctx.constantInts(axesName) ?? ctx.fail('axes is not a constant');
    const attributes: Record<string, Attribute> = { ...ctx.node.attributes, axes: { type: 'ints', value: axes } };
    return { node: { ...ctx.node, inputs: [ctx.node.inputs[0]], attributes }, change: 'axes input -> attribute' };
  };
}
const unusedAttributes = (...names: string[]): Converter => (ctx) => {
  const used = names.filter((n) => ctx.node.attributes[n] !== undefined);
  if (used.length > 0) ctx.fail(`uses ${used.join(', ')} (added after opset 17)`);
  return null;
};
CHANGED_ABOVE_17.Split = unusedAttributes('num_outputs');
CHANGED_ABOVE_17.Resize = (ctx) => {
  unusedAttributes('antialias', 'axes', 'keep_aspect_ratio_policy')(ctx);
  if (decode(ctx.node.attributes.coordinate_transformation_mode) === 'half_pixel_symmetric') ctx.fail('uses half_pixel_symmetric');
  return null;
};
CHANGED_ABOVE_17.Pad = (ctx) => {
  if (ctx.node.inputs[3]) ctx.fail('uses the axes input (added in opset 18)');
  if (decode(ctx.node.attributes.mode) === 'wrap') ctx.fail("uses mode 'wrap' (added in opset 19)");
  return null;
};
CHANGED_ABOVE_17.AveragePool = unusedAttributes('dilations');
CHANGED_ABOVE_17.Cast = unusedAttributes('saturate');
for (const op of ['Constant', 'Equal', 'Identity', 'Reshape', 'Shape', 'Size', 'DequantizeLinear', 'QuantizeLinear', 'CastLike', 'ScatterElements', 'ScatterND', 'LpPool']) {
  // Opset 18/19 versions add float8 types or reductions; float models read the same.
  CHANGED_ABOVE_17[op] ??= (ctx) => {
    const reduction = decode(ctx.node.attributes.reduction);
    if (reduction === 'max' || reduction === 'min') ctx.fail(`uses reduction '${reduction}' (added in opset 18)`);
    return null;
  };
}

/** Converts the model's default-domain opset to `options.target`. */
export function convertOpset(model: Model, options: OpsetConversionOptions): OpsetConversionResult {
  const from = opsetVersion(model) ?? 0;
  const to = options.target;
  const report: OpsetConversionResult['report'] = { from, to, rewritten: [] };
  if (from === to) return { model, modified: false, report };
  if (from < MIN_SOURCE_OPSET || from > MAX_SOURCE_OPSET) {
    throw new OpsetConversionError(from, to, `opsets ${MIN_SOURCE_OPSET}-${MAX_SOURCE_OPSET} can be converted`);
  }
  if (to < 13 && to < from) throw new OpsetConversionError(from, to, 'targets below opset 13 are not supported');
  if (from < to && to > 17) throw new OpsetConversionError(from, to, 'upgrades go to opset 13..17');
  if (from > to && to < 17) throw new OpsetConversionError(from, to, 'downgrades go to opset 17');
  const graph = model.graph;
  const fresh = nameAllocator(takenNames(graph));
  const added: Tensor[] = [];
  const inits = new Map(graph.initializers.map((t) => [t.name, t]));
  let types: ReturnType<typeof valueTypes> | undefined;
  const nodes = graph.nodes.map((node) => {
    if (node.domain !== '' && node.domain !== 'ai.onnx') return node;
    const label = nodeLabel(graph, node);
    const fail = (reason: string): never => {
      throw new OpsetConversionError(from, to, `op '${node.opType}' (node '${label}'): ${reason}`);
    };
    const upgrade = from < to;
    const converter = upgrade ? UPGRADES_TO_13[node.opType] : CHANGED_ABOVE_17[node.opType];
    if (!converter) {
      if (UNCHANGED_9_TO_17.has(node.opType)) return node;
      return fail(`no converter between these opsets`);
    }
    const ctx: ConvertContext = {
      node, label, from, to, fail,
      constant: (base, make) => {
        const t = make(fresh(base));
        added.push(t);
        return t.name;
      },
      constantInts: (name) => {
        const t = inits.get(name);
        if (!t || !(t.dataType === 7 || t.dataType === 6)) return undefined;
        const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        const n = t.dims.reduce((a, b) => a * b, 1);
        return Array.from({ length: n }, (_, i) => (t.dataType === 7 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
      },
      rank: (name) => {
        types ??= valueTypes(model);
        return types.get(name)?.shape?.length;
      },
    };
    const result = converter(ctx);
    if (!result) return node;
    report.rewritten.push({ node: label, opType: node.opType, change: result.change });
    return result.node;
  });
  const opsetImports = model.opsetImports.map((o) => (o.domain === '' || o.domain === 'ai.onnx' ? { ...o, version: to } : o));
  // The IR version that goes with the opset (onnx's table): 7 for 12-14, 8 for 15-18, 9 for 19.
  const irVersion = to >= 19 ? 9 : to >= 15 ? 8 : 7;
  return {
    model: { ...model, irVersion, opsetImports, graph: { ...graph, nodes, initializers: [...graph.initializers, ...added] } },
    modified: true,
    report,
  };
}
