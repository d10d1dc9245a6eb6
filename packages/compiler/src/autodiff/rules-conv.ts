// Gradient rules of convolution and pooling.
//
// Conv weight gradient as a Conv: dW[m, c, k] = sum_{n, o} dY[n, m, o] * X[n, c, o*s + k*d - p].
// Swapping the roles of batch and channels turns this into a convolution of X (batch <- input
// channels) with dY (filters <- output channels) where stride and dilation trade places. For
// groups, X is reordered to [C/G, G*N, ...] so group g's filters read exactly its own N images
// of its own channels: Conv(group=G) then gives [C/G, M, ...K] -> transpose to [M, C/G, ...K].
import { convTransposeToInput, geometry } from './conv-geometry.js';
import type { Geometry } from './conv-geometry.js';
import type { GradContext, OpGradient } from './rule-types.js';

function dy(ctx: GradContext): string {
  const g = ctx.dy(0);
  if (g === undefined) return ctx.fail('no output gradient');
  return g;
}

function swap01(rank: number): number[] {
  return [1, 0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}

function convWeightGradient(ctx: GradContext, geo: Geometry, group: number, wShape: number[]): string {
  const e = ctx.emit;
  const [x] = ctx.node.inputs;
  const xShape = ctx.shape(x);
  const [n, c] = xShape;
  const rank = xShape.length;
  const spatial = xShape.slice(2);
  const cg = c / group;
  let xr: string;
  if (group === 1) xr = e.transpose(x, swap01(rank));
  else {
    const split = e.reshape(x, [n, group, cg, ...spatial]);
    const perm = [2, 1, 0, ...Array.from({ length: rank - 2 }, (_, i) => i + 3)];
    xr = e.reshape(e.transpose(split, perm), [cg, group * n, ...spatial]);
  }
  const gr = e.transpose(dy(ctx), swap01(rank));
  // Trim end padding the forward conv never reached so the result has exactly the kernel's size.
  const sr = spatial.length;
  const pads = [...geo.pads];
  const resultSize: number[] = [];
  for (let i = 0; i < sr; i++) {
    const reach = (geo.out[i] - 1) * geo.strides[i] + 1;
    const slack = geo.size[i] + pads[i] + pads[i + sr] - reach - (geo.kernel[i] - 1) * geo.dilations[i];
    const trim = Math.min(pads[i + sr], slack);
    pads[i + sr] -= trim;
    resultSize.push(Math.floor((geo.size[i] + pads[i] + pads[i + sr] - reach) / geo.dilations[i]) + 1);
  }
  let r = e.op('Conv', [xr, gr], {
    group, strides: geo.dilations, dilations: geo.strides, pads, kernel_shape: spatial.map((_, i) => geo.out[i]),
  });
  if (resultSize.some((s, i) => s !== geo.kernel[i])) {
    const axes = Array.from({ length: sr }, (_, i) => i + 2);
    r = e.op('Slice', [r, e.int64(axes.map(() => 0)), e.int64(geo.kernel), e.int64(axes)]);
  }
  const dw = e.transpose(r, swap01(rank));
  return dw === r ? e.reshape(r, wShape) : dw;
}

const conv: OpGradient = {
  backward: (ctx) => {
    const e = ctx.emit;
    const [x, w, b] = ctx.node.inputs;
    const xShape = ctx.shape(x);
    const wShape = ctx.shape(w);
    const yShape = ctx.shape(ctx.node.outputs[0]);
    const group = ctx.attrInt('group', 1);
    const geo = geometry(ctx, xShape.slice(2), yShape.slice(2), wShape.slice(2));
    const grads: (string | undefined)[] = [undefined, undefined, undefined];
    if (ctx.needsGrad(0)) grads[0] = convTransposeToInput(e, dy(ctx), w, geo, group);
    if (ctx.needsGrad(1)) grads[1] = convWeightGradient(ctx, geo, group, wShape);
    if (b && ctx.needsGrad(2)) {
      grads[2] = e.reduceSum(dy(ctx), [0, ...Array.from({ length: yShape.length - 2 }, (_, i) => i + 2)], false);
    }
    return grads;
  },
};

/**
 * Non-overlapping 2-D max pooling (kernel == stride, no padding or dilation, sizes divisible):
 * the gradient goes to the window elements equal to the max, split evenly among ties, using
 * reshapes into [N, C, OH, kh, OW, kw] blocks (several times faster than onnxruntime's MaxPool
 * with indices). Other geometries scatter through argmax indices.
 */
function blockPooling(ctx: Pick<GradContext, 'node' | 'shape' | 'attrInts' | 'attrString' | 'attrInt'>): number[] | undefined {
  const xShape = ctx.shape(ctx.node.inputs[0]);
  const kernel = ctx.attrInts('kernel_shape');
  if (xShape.length !== 4 || !kernel) return undefined;
  const strides = ctx.attrInts('strides') ?? [1, 1];
  const plain = (ctx.attrInts('pads') ?? [0]).every((p) => p === 0) && (ctx.attrInts('dilations') ?? [1]).every((d) => d === 1) &&
    ['NOTSET', 'VALID'].includes(ctx.attrString('auto_pad', 'NOTSET')) && ctx.attrInt('ceil_mode', 0) === 0;
  const fits = kernel[0] === kernel[1] && kernel.every((k, i) => k === strides[i] && xShape[i + 2] % k === 0);
  return plain && fits ? kernel : undefined;
}

const maxPool: OpGradient = {
  lowerForTraining: (ctx): Record<string, string> => {
    const { node, emit } = ctx;
    if (blockPooling(ctx) || node.outputs[1]) {
      emit.nodes.push(node);
      return node.outputs[1] ? { indices: node.outputs[1] } : {};
    }
    if (ctx.attrInt('storage_order', 0) !== 0) ctx.fail('storage_order=1 is not supported');
    const indices = emit.fresh('maxpool_indices');
    emit.ops('MaxPool', [node.inputs[0]], node.attributes, [node.outputs[0], indices]);
    return { indices };
  },
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined];
    const e = ctx.emit;
    const [x] = ctx.node.inputs;
    const y = ctx.node.outputs[0];
    const xShape = ctx.shape(x);
    const kernel = blockPooling(ctx);
    if (kernel && !ctx.saved.indices) {
      // Window elements become channel blocks ([N, k*k, C*OH*OW]), so the max broadcasts along
      // an outer axis over contiguous spans, the layout onnxruntime's elementwise kernels like.
      const [n, c, h, w] = xShape;
      const [k] = kernel;
      const span = (c * h * w) / (k * k);
      const blocks = e.reshape(e.op('SpaceToDepth', [x], { blocksize: k }), [n, k * k, span]);
      const mask = e.op('Cast', [e.op('Equal', [blocks, e.reshape(y, [n, 1, span])])], { to: e.floatType });
      const ties = e.reduceSum(mask, [1], true);
      const share = e.op('Div', [e.reshape(dy(ctx), [n, 1, span]), ties]);
      const routed = e.reshape(e.op('Mul', [mask, share]), [n, k * k * c, h / k, w / k]);
      return [e.op('DepthToSpace', [routed], { blocksize: k, mode: 'DCR' })];
    }
    const yCount = ctx.shape(y).reduce((a, b) => a * b, 1);
    const total = xShape.reduce((a, b) => a * b, 1);
    const scattered = e.op(
      'ScatterElements',
      [e.zeros([1, total]), e.reshape(ctx.saved.indices, [1, yCount]), e.reshape(dy(ctx), [1, yCount])],
      { axis: 1, reduction: 'add' },
    );
    return [e.reshape(scattered, xShape)];
  },
};

/** Number of input (non-pad) elements under each pooling window, for count_include_pad=0. */
function windowCounts(geo: Geometry): number[] {
  const rank = geo.size.length;
  const total = geo.out.reduce((a, b) => a * b, 1);
  const counts = new Array<number>(total).fill(1);
  let stride = total;
  for (let d = 0; d < rank; d++) {
    stride /= geo.out[d];
    for (let idx = 0; idx < total; idx++) {
      const o = Math.floor(idx / stride) % geo.out[d];
      const start = o * geo.strides[d] - geo.pads[d];
      const lo = Math.max(0, start);
      const hi = Math.min(geo.size[d], start + geo.kernel[d]);
      counts[idx] *= Math.max(0, hi - lo);
    }
  }
  return counts;
}

const averagePool: OpGradient = {
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined];
    const e = ctx.emit;
    const xShape = ctx.shape(ctx.node.inputs[0]);
    const yShape = ctx.shape(ctx.node.outputs[0]);
    const kernel = ctx.attrInts('kernel_shape') ?? ctx.fail('kernel_shape is required');
    const geo = geometry(ctx, xShape.slice(2), yShape.slice(2), kernel);
    if (geo.dilations.some((d) => d !== 1)) ctx.fail('dilated AveragePool is not supported');
    for (let i = 0; i < kernel.length; i++) {
      const floorOut = Math.floor((geo.size[i] + geo.pads[i] + geo.pads[i + kernel.length] - kernel[i]) / geo.strides[i]) + 1;
      if (floorOut !== geo.out[i]) ctx.fail('ceil_mode windows past the input are not supported');
    }
    const channels = xShape[1];
    const window = kernel.reduce((a, b) => a * b, 1);
    const ones = e.float(new Array<number>(channels * window).fill(1), [channels, 1, ...kernel]);
    const padded = geo.pads.some((p) => p !== 0);
    let scaled: string;
    if (ctx.attrInt('count_include_pad', 0) === 1 || !padded) scaled = e.mulScalar(dy(ctx), 1 / window);
    else {
      const inverse = windowCounts(geo).map((c) => 1 / c);
      scaled = e.op('Mul', [dy(ctx), e.float(inverse, [1, 1, ...geo.out])]);
    }
    return [convTransposeToInput(e, scaled, ones, geo, channels)];
  },
};

const globalAveragePool: OpGradient = {
  backward: (ctx) => {
    if (!ctx.needsGrad(0)) return [undefined];
    const e = ctx.emit;
    const xShape = ctx.shape(ctx.node.inputs[0]);
    const area = xShape.slice(2).reduce((a, b) => a * b, 1);
    return [e.op('Expand', [e.mulScalar(dy(ctx), 1 / area), e.int64(xShape)])];
  },
};

export const convRules: Record<string, OpGradient> = {
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
};
