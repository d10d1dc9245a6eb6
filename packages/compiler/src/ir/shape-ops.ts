// The shape-inference op table: opType -> handler. Dims are numbers, symbolic names or null;
// symbolic names propagate where an op copies a dimension unchanged.
import { DataType } from './data-type.js';
import { tensorToNumbers } from './tensor.js';
import type { ShapeContext, ShapeHandler, ShapeResult, TensorInfo } from './shape-inference.js';
import type { Dim } from './types.js';

const isNum = (d: Dim): d is number => typeof d === 'number';
const one = (out: TensorInfo | undefined): ShapeResult => ({ outputs: [out] });

function normalizeAxis(ctx: ShapeContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Two dims that must agree: the more specific one wins; numbers that differ are an error. */
function mergeDim(ctx: ShapeContext, a: Dim, b: Dim): Dim {
  if (isNum(a) && isNum(b) && a !== b) ctx.fail(`dimensions ${a} and ${b} differ`);
  if (isNum(a)) return a;
  if (isNum(b)) return b;
  return a ?? b;
}

/** Numpy-style multidirectional broadcasting. */
export function broadcastShapes(ctx: ShapeContext, shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s.length - rank + i >= 0 ? s[s.length - rank + i] : 1;
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (isNum(dim) && isNum(d)) {
        if (dim !== d) ctx.fail(`cannot broadcast ${dim} with ${d}`);
      } else if (isNum(d)) dim = d;
      else if (!isNum(dim) && dim !== d) dim = null;
    }
    out.push(dim);
  }
  return out;
}

function product(dims: Dim[]): Dim {
  return dims.every(isNum) ? dims.reduce((a: number, b) => a * (b as number), 1) : null;
}

const sameAsInput = (elemType?: number): ShapeHandler => (ctx) => {
  const x = ctx.input(0);
  return one(x && { elemType: elemType ?? x.elemType, shape: x.shape });
};

const broadcasting = (resultType: 'first' | 'bool' | 'second'): ShapeHandler => (ctx) => {
  const inputs = ctx.node.inputs.map((_, i) => ctx.input(i));
  const typed = inputs[resultType === 'second' ? 1 : 0];
  const elemType = resultType === 'bool' ? DataType.BOOL : typed?.elemType;
  if (elemType === undefined) return one(undefined);
  if (inputs.some((x) => !x || !x.shape)) return one({ elemType, shape: null });
  return one({ elemType, shape: broadcastShapes(ctx, inputs.map((x) => x?.shape as Dim[])) });
};

interface WindowOptions {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
  ceilMode: boolean;
}

function windowOptions(ctx: ShapeContext, kernel: number[]): WindowOptions {
  const n = kernel.length;
  return {
    kernel,
    strides: ctx.attrInts('strides') ?? new Array<number>(n).fill(1),
    dilations: ctx.attrInts('dilations') ?? new Array<number>(n).fill(1),
    pads: ctx.attrInts('pads') ?? new Array<number>(2 * n).fill(0),
    autoPad: ctx.attrString('auto_pad', 'NOTSET'),
    ceilMode: ctx.attrInt('ceil_mode', 0) === 1,
  };
}

/** Output size of a sliding window (convolution / pooling) along each spatial axis. */
function windowOutput(ctx: ShapeContext, spatial: Dim[], o: WindowOptions): Dim[] {
  const n = spatial.length;
  if (o.kernel.length !== n) ctx.fail(`kernel rank ${o.kernel.length} does not match ${n} spatial dims`);
  return spatial.map((size, i) => {
    const s = o.strides[i];
    const effK = (o.kernel[i] - 1) * o.dilations[i] + 1;
    const same = o.autoPad === 'SAME_UPPER' || o.autoPad === 'SAME_LOWER';
    if (!isNum(size)) {
      const identity = s === 1 && (same || (o.autoPad !== 'VALID' && effK === 1 + o.pads[i] + o.pads[i + n]));
      return identity ? size : null;
    }
    let out: number;
    if (same) out = Math.ceil(size / s);
    else if (o.autoPad === 'VALID') out = Math.floor((size - effK) / s) + 1;
    else {
      const span = size + o.pads[i] + o.pads[i + n] - effK;
      out = (o.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      // With ceil_mode the last window must start inside the (left-padded) input.
      if (o.ceilMode && (out - 1) * s >= size + o.pads[i]) out -= 1;
    }
    if (out < 1) ctx.fail(`window of ${effK} does not fit input size ${size}`);
    return out;
  });
}

const conv: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const w = ctx.input(1);
  if (!x) return one(undefined);
  if (!x.shape || !w?.shape) return one({ elemType: x.elemType, shape: null });
  if (x.shape.length < 3 || w.shape.length !== x.shape.length) ctx.fail(`input rank ${x.shape.length} and weight rank ${w.shape.length} do not fit`);
  const kernel = ctx.attrInts('kernel_shape') ?? w.shape.slice(2).map((d) => (isNum(d) ? d : ctx.fail('kernel shape is not static')));
  const group = ctx.attrInt('group', 1);
  const c = x.shape[1];
  const wc = w.shape[1];
  if (isNum(c) && isNum(wc) && c !== wc * group) ctx.fail(`input has ${c} channels, weight expects ${wc} x group ${group}`);
  const spatial = windowOutput(ctx, x.shape.slice(2), windowOptions(ctx, kernel));
  return one({ elemType: x.elemType, shape: [x.shape[0], w.shape[0], ...spatial] });
};

const convTranspose: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const w = ctx.input(1);
  if (!x) return one(undefined);
  if (!x.shape || !w?.shape) return one({ elemType: x.elemType, shape: null });
  const group = ctx.attrInt('group', 1);
  const channels = isNum(w.shape[1]) ? w.shape[1] * group : null;
  const n = x.shape.length - 2;
  const kernel = ctx.attrInts('kernel_shape') ?? w.shape.slice(2).map((d) => (isNum(d) ? d : ctx.fail('kernel shape is not static')));
  const outputShape = ctx.attrInts('output_shape');
  if (outputShape) return one({ elemType: x.elemType, shape: [x.shape[0], channels, ...outputShape.slice(-n)] });
  const o = windowOptions(ctx, kernel);
  const outputPadding = ctx.attrInts('output_padding') ?? new Array<number>(n).fill(0);
  const spatial = x.shape.slice(2).map((size, i) => {
    if (!isNum(size)) return null;
    if (o.autoPad === 'SAME_UPPER' || o.autoPad === 'SAME_LOWER') return size * o.strides[i];
    const pads = o.autoPad === 'VALID' ? 0 : o.pads[i] + o.pads[i + n];
    return o.strides[i] * (size - 1) + outputPadding[i] + (kernel[i] - 1) * o.dilations[i] + 1 - pads;
  });
  return one({ elemType: x.elemType, shape: [x.shape[0], channels, ...spatial] });
};

const pool: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  const indices = ctx.node.outputs.length > 1;
  if (!x.shape) return { outputs: [{ elemType: x.elemType, shape: null }, indices ? { elemType: DataType.INT64, shape: null } : undefined] };
  const kernel = ctx.attrInts('kernel_shape') ?? ctx.fail('kernel_shape is required');
  const shape = [x.shape[0], x.shape[1], ...windowOutput(ctx, x.shape.slice(2), windowOptions(ctx, kernel))];
  return { outputs: [{ elemType: x.elemType, shape }, indices ? { elemType: DataType.INT64, shape } : undefined] };
};

const globalPool: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  return one({ elemType: x.elemType, shape: x.shape && [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] });
};

const gemm: ShapeHandler = (ctx) => {
  const a = ctx.input(0);
  const b = ctx.input(1);
  if (!a) return one(undefined);
  if (!a.shape || !b?.shape) return one({ elemType: a.elemType, shape: null });
  if (a.shape.length !== 2 || b.shape.length !== 2) ctx.fail('A and B must be 2-D');
  const [m, ka] = ctx.attrInt('transA', 0) ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = ctx.attrInt('transB', 0) ? [b.shape[1], b.shape[0]] : b.shape;
  mergeDim(ctx, ka, kb);
  return one({ elemType: a.elemType, shape: [m, n] });
};

const matMul: ShapeHandler = (ctx) => {
  const a = ctx.input(0);
  const b = ctx.input(1);
  if (!a) return one(undefined);
  if (!a.shape || !b?.shape) return one({ elemType: a.elemType, shape: null });
  if (a.shape.length === 0 || b.shape.length === 0) ctx.fail('MatMul inputs must not be scalars');
  const sa = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const sb = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  mergeDim(ctx, sa[sa.length - 1], sb[sb.length - 2]);
  const batch = broadcastShapes(ctx, [sa.slice(0, -2), sb.slice(0, -2)]);
  const shape = [...batch];
  if (a.shape.length > 1) shape.push(sa[sa.length - 2]);
  if (b.shape.length > 1) shape.push(sb[sb.length - 1]);
  return one({ elemType: a.elemType, shape });
};

const flatten: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  if (!x.shape) return one({ elemType: x.elemType, shape: [null, null] });
  const rank = x.shape.length;
  let axis = ctx.attrInt('axis', 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) ctx.fail(`axis out of range for rank ${rank}`);
  const outer = axis === 1 ? x.shape[0] : product(x.shape.slice(0, axis));
  const inner = axis === rank - 1 ? x.shape[rank - 1] : product(x.shape.slice(axis));
  return one({ elemType: x.elemType, shape: [outer, inner] });
};

/** Size of Reshape's -1 dim: input elements / other output dims, cancelling shared symbols. */
function inferredDim(input: Dim[], others: Dim[]): Dim {
  if (input.includes(null) || others.includes(null)) return null;
  const symbols = input.filter((d): d is string => typeof d === 'string');
  for (const s of others.filter((d): d is string => typeof d === 'string')) {
    const at = symbols.indexOf(s);
    if (at < 0) return null;
    symbols.splice(at, 1);
  }
  const ratio = (product(input.filter(isNum)) as number) / (product(others.filter(isNum)) as number);
  if (symbols.length === 0) return Number.isInteger(ratio) ? ratio : null;
  return symbols.length === 1 && ratio === 1 ? symbols[0] : null;
}

const reshape: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  const target = ctx.opset >= 5 ? ctx.constantInput(1) : ctx.attrInts('shape');
  if (!target) {
    const rank = ctx.input(1)?.shape?.[0] ?? null;
    return one({ elemType: x.elemType, shape: isNum(rank) ? new Array<Dim>(rank).fill(null) : null });
  }
  const allowZero = ctx.attrInt('allowzero', 0) === 1;
  const dims: Dim[] = target.map((d, i) => {
    if (d === 0 && !allowZero) return x.shape ? (x.shape[i] ?? ctx.fail(`shape[${i}] = 0 copies a dim the input lacks`)) : null;
    return d;
  });
  const minusOne = target.indexOf(-1);
  if (minusOne >= 0) {
    if (target.lastIndexOf(-1) !== minusOne) ctx.fail('shape has more than one -1');
    dims[minusOne] = x.shape ? inferredDim(x.shape, dims.filter((_, i) => i !== minusOne)) : null;
  } else if (x.shape && x.shape.every(isNum) && dims.every(isNum) && product(x.shape) !== product(dims)) {
    ctx.fail(`cannot reshape [${x.shape.join(',')}] to [${dims.join(',')}]`);
  }
  return one({ elemType: x.elemType, shape: dims });
};

const transpose: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return one(x && { elemType: x.elemType, shape: null });
  const shape = x.shape;
  const perm = ctx.attrInts('perm') ?? shape.map((_, i) => shape.length - 1 - i);
  if (perm.length !== shape.length) ctx.fail(`perm has ${perm.length} entries for rank ${shape.length}`);
  return one({ elemType: x.elemType, shape: perm.map((p) => shape[normalizeAxis(ctx, p, shape.length)]) });
};

const concat: ShapeHandler = (ctx) => {
  const inputs = ctx.node.inputs.map((_, i) => ctx.input(i));
  const first = inputs.find((x) => x);
  if (!first) return one(undefined);
  if (inputs.some((x) => !x?.shape)) return one({ elemType: first.elemType, shape: null });
  const shapes = inputs.map((x) => x?.shape as Dim[]);
  const rank = shapes[0].length;
  if (shapes.some((s) => s.length !== rank)) ctx.fail('inputs have different ranks');
  const axis = normalizeAxis(ctx, ctx.attrInt('axis', 0), rank);
  const shape = shapes[0].map((_, i) =>
    i !== axis ? shapes.map((s) => s[i]).reduce((a, b) => mergeDim(ctx, a, b))
      : shapes.every((s) => isNum(s[i])) ? shapes.reduce((sum, s) => sum + (s[i] as number), 0) : null,
  );
  return one({ elemType: first.elemType, shape });
};

const resize: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  if (!x.shape) return one({ elemType: x.elemType, shape: null });
  const rank = x.shape.length;
  const axes = (ctx.attrInts('axes') ?? x.shape.map((_, i) => i)).map((a) => normalizeAxis(ctx, a, rank));
  const scalesIndex = ctx.opset >= 11 && ctx.node.opType === 'Resize' ? 2 : 1;
  const sizes = ctx.opset >= 11 ? ctx.constantInput(3) : undefined;
  const scales = ctx.attrFloats('scales') ?? ctx.constantInput(scalesIndex);
  const shape = [...x.shape];
  if (sizes && sizes.length > 0) {
    if (sizes.length !== axes.length) ctx.fail(`sizes has ${sizes.length} entries for ${axes.length} axes`);
    axes.forEach((a, i) => (shape[a] = sizes[i]));
  } else if (scales && scales.length > 0) {
    if (scales.length !== axes.length) ctx.fail(`scales has ${scales.length} entries for ${axes.length} axes`);
    axes.forEach((a, i) => {
      const d = shape[a];
      shape[a] = isNum(d) ? Math.floor(d * scales[i]) : scales[i] === 1 ? d : null;
    });
  } else {
    return one({ elemType: x.elemType, shape: shape.map(() => null) });
  }
  return one({ elemType: x.elemType, shape });
};

const pad: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return one(x && { elemType: x.elemType, shape: null });
  const rank = x.shape.length;
  const pads = ctx.opset >= 11 ? ctx.constantInput(1) : ctx.attrInts('pads') ?? ctx.attrInts('paddings');
  if (!pads) return one({ elemType: x.elemType, shape: x.shape.map(() => null) });
  const axesValues = ctx.constantInput(3);
  if (ctx.hasInput(3) && !axesValues) return one({ elemType: x.elemType, shape: x.shape.map(() => null) });
  const axes = (axesValues ?? x.shape.map((_, i) => i)).map((a) => normalizeAxis(ctx, a, rank));
  if (pads.length !== 2 * axes.length) ctx.fail(`pads has ${pads.length} entries for ${axes.length} axes`);
  const shape = [...x.shape];
  axes.forEach((a, i) => {
    const d = shape[a];
    const extra = pads[i] + pads[i + axes.length];
    shape[a] = isNum(d) ? d + extra : extra === 0 ? d : null;
  });
  return one({ elemType: x.elemType, shape });
};

const squeeze: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return one(x && { elemType: x.elemType, shape: null });
  const shape = x.shape;
  const axes = ctx.opset >= 13 ? ctx.constantInput(1) : ctx.attrInts('axes');
  if (ctx.opset >= 13 && ctx.hasInput(1) && !axes) return one({ elemType: x.elemType, shape: null });
  if (!axes) {
    if (!shape.every(isNum)) return one({ elemType: x.elemType, shape: null });
    return one({ elemType: x.elemType, shape: shape.filter((d) => d !== 1) });
  }
  const drop = new Set(axes.map((a) => normalizeAxis(ctx, a, shape.length)));
  for (const a of drop) if (isNum(shape[a]) && shape[a] !== 1) ctx.fail(`cannot squeeze axis ${a} of size ${shape[a]}`);
  return one({ elemType: x.elemType, shape: shape.filter((_, i) => !drop.has(i)) });
};

const unsqueeze: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return one(x && { elemType: x.elemType, shape: null });
  const axes = ctx.opset >= 13 ? ctx.constantInput(1) : ctx.attrInts('axes');
  if (!axes) return one({ elemType: x.elemType, shape: null });
  const rank = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => normalizeAxis(ctx, a, rank)));
  if (at.size !== axes.length) ctx.fail('axes has duplicates');
  const rest = [...x.shape];
  return one({ elemType: x.elemType, shape: Array.from({ length: rank }, (_, i) => (at.has(i) ? 1 : (rest.shift() as Dim))) });
};

const batchNormalization: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  const outputs: (TensorInfo | undefined)[] = [x && { elemType: x.elemType, shape: x.shape }];
  for (let i = 1; i < ctx.node.outputs.length; i++) outputs.push(ctx.input(i === 1 ? 3 : i === 2 ? 4 : 3));
  return { outputs };
};

const dropout: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x) return one(undefined);
  return { outputs: [{ elemType: x.elemType, shape: x.shape }, { elemType: DataType.BOOL, shape: x.shape }] };
};

const cast: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  return one({ elemType: ctx.attrInt('to', DataType.UNDEFINED), shape: x ? x.shape : null });
};

const constant: ShapeHandler = (ctx) => {
  const t = ctx.attrTensor('value');
  if (t) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    let values: number[] | undefined;
    try {
      values = count <= 64 && t.dataType !== DataType.STRING && !t.external ? tensorToNumbers(t) : undefined;
    } catch {
      values = undefined; // element types without a typed array (float8, int4) are not tracked
    }
    return { outputs: [{ elemType: t.dataType, shape: [...t.dims] }], constants: [values] };
  }
  const ints = ctx.attrInts('value_ints');
  if (ints) return { outputs: [{ elemType: DataType.INT64, shape: [ints.length] }], constants: [ints] };
  const floats = ctx.attrFloats('value_floats');
  if (floats) return { outputs: [{ elemType: DataType.FLOAT, shape: [floats.length] }], constants: [floats] };
  if (ctx.node.attributes.value_int) return { outputs: [{ elemType: DataType.INT64, shape: [] }], constants: [[ctx.attrInt('value_int', 0)]] };
  if (ctx.node.attributes.value_float) return { outputs: [{ elemType: DataType.FLOAT, shape: [] }], constants: [[ctx.attrFloat('value_float', 0)]] };
  if (ctx.node.attributes.value_string) return one({ elemType: DataType.STRING, shape: [] });
  if (ctx.node.attributes.value_strings?.type === 'strings') {
    return one({ elemType: DataType.STRING, shape: [ctx.node.attributes.value_strings.value.length] });
  }
  return one(undefined);
};

const shapeOp: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return one({ elemType: DataType.INT64, shape: [null] });
  const rank = x.shape.length;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const dims = x.shape.slice(clamp(ctx.attrInt('start', 0)), clamp(ctx.attrInt('end', rank)));
  return { outputs: [{ elemType: DataType.INT64, shape: [dims.length] }], constants: [dims.every(isNum) ? dims : undefined] };
};

const unary = sameAsInput();
const UNARY_OPS = [
  'Relu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Clip', 'Identity', 'Softmax', 'LogSoftmax', 'LeakyRelu', 'Tanh',
  'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Erf', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Elu', 'Selu', 'Softplus', 'Not',
  'PRelu', 'LRN', 'InstanceNormalization', 'LayerNormalization',
];

/** opType (default ONNX domain) -> shape handler. */
export const shapeHandlers: Readonly<Record<string, ShapeHandler>> = {
  ...Object.fromEntries(UNARY_OPS.map((op) => [op, unary])),
  Add: broadcasting('first'), Sub: broadcasting('first'), Mul: broadcasting('first'), Div: broadcasting('first'),
  Pow: broadcasting('first'), Max: broadcasting('first'), Min: broadcasting('first'), Sum: broadcasting('first'),
  Mean: broadcasting('first'), Equal: broadcasting('bool'), Less: broadcasting('bool'), Greater: broadcasting('bool'),
  And: broadcasting('bool'), Or: broadcasting('bool'), Where: broadcasting('second'),
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  Gemm: gemm,
  MatMul: matMul,
  BatchNormalization: batchNormalization,
  Dropout: dropout,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Concat: concat,
  Resize: resize,
  Upsample: resize,
  Pad: pad,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Cast: cast,
  Constant: constant,
  Shape: shapeOp,
};
