// Static shapes of every value in a forward graph. Gradient graphs are built for one concrete
// input shape (the training batch), so every dim must be a number; the builder then turns
// broadcasting and reductions into constant axes and shapes. Reuses the compiler's shape table
// and adds the reductions the trainer's graphs need.
import { DataType } from '../ir/data-type.js';
import { opsetVersion } from '../ir/graph.js';
import { shapeHandlers } from '../ir/shape-ops.js';
import type { ShapeContext, ShapeHandler, ShapeResult, TensorInfo } from '../ir/shape-inference.js';
import { tensorToNumbers } from '../ir/tensor.js';
import type { Attribute, Model, Node, Tensor } from '../ir/types.js';
import { GradientGraphError } from './errors.js';

export interface StaticInfo {
  elemType: number;
  shape: number[];
}

const toNumber = (v: number | bigint): number => (typeof v === 'bigint' ? Number(v) : v);

class Context implements ShapeContext {
  constructor(
    readonly node: Node,
    readonly opset: number,
    private readonly types: Map<string, StaticInfo>,
    private readonly constants: Map<string, number[]>,
  ) {}
  hasInput(i: number): boolean {
    return i < this.node.inputs.length && this.node.inputs[i] !== '';
  }
  input(i: number): TensorInfo | undefined {
    return this.hasInput(i) ? this.types.get(this.node.inputs[i]) : undefined;
  }
  constantInput(i: number): number[] | undefined {
    return this.hasInput(i) ? this.constants.get(this.node.inputs[i]) : undefined;
  }
  private attr(name: string): Attribute | undefined {
    return this.node.attributes[name];
  }
  attrInt(name: string, fallback: number): number {
    const a = this.attr(name);
    return a?.type === 'int' ? toNumber(a.value) : fallback;
  }
  attrInts(name: string): number[] | undefined {
    const a = this.attr(name);
    return a?.type === 'ints' ? a.value.map(toNumber) : undefined;
  }
  attrFloat(name: string, fallback: number): number {
    const a = this.attr(name);
    return a?.type === 'float' ? a.value : fallback;
  }
  attrFloats(name: string): number[] | undefined {
    const a = this.attr(name);
    return a?.type === 'floats' ? a.value : undefined;
  }
  attrString(name: string, fallback: string): string {
    const a = this.attr(name);
    return a?.type === 'string' ? new TextDecoder().decode(a.value) : fallback;
  }
  attrTensor(name: string): Tensor | undefined {
    const a = this.attr(name);
    return a?.type === 'tensor' ? a.value : undefined;
  }
  fail(reason: string): never {
    throw new GradientGraphError(`${this.node.opType} node '${this.node.name}': ${reason}`);
  }
}

/** Axes a Reduce* node reduces over (attribute before opset 13/18, input after), normalized. */
export function reduceAxes(ctx: Pick<ShapeContext, 'node' | 'opset' | 'attrInts' | 'constantInput' | 'attrInt'>, rank: number): number[] {
  const axesFromInput = ctx.node.opType === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
  const axes = axesFromInput ? ctx.constantInput(1) : ctx.attrInts('axes');
  if (axes === undefined || axes.length === 0) {
    if (axesFromInput && ctx.attrInt('noop_with_empty_axes', 0) === 1) return [];
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

const reduce: ShapeHandler = (ctx) => {
  const x = ctx.input(0);
  if (!x?.shape) return { outputs: [x && { elemType: x.elemType, shape: null }] };
  const axes = new Set(reduceAxes(ctx, x.shape.length));
  const keep = ctx.attrInt('keepdims', 1) === 1;
  const shape = x.shape.flatMap((d, i) => (axes.has(i) ? (keep ? [1] : []) : [d]));
  return { outputs: [{ elemType: x.elemType, shape }] };
};

const sameShape: ShapeHandler = (ctx) => ({ outputs: [ctx.input(0)] });

const extraHandlers: Record<string, ShapeHandler> = {
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  RandomUniformLike: (ctx) => {
    const x = ctx.input(0);
    const dtype = ctx.attrInt('dtype', x?.elemType ?? DataType.FLOAT);
    return { outputs: [x && { elemType: dtype, shape: x.shape }] };
  },
  Expand: (ctx) => {
    const x = ctx.input(0);
    const target = ctx.constantInput(1);
    if (!x?.shape || !target) return { outputs: [undefined] };
    const rank = Math.max(x.shape.length, target.length);
    const a = [...Array(rank - x.shape.length).fill(1), ...x.shape] as number[];
    const b = [...Array(rank - target.length).fill(1), ...target];
    return { outputs: [{ elemType: x.elemType, shape: a.map((d, i) => (d === 1 ? b[i] : d)) }] };
  },
  Identity: sameShape,
};

function constantValues(t: Tensor): number[] | undefined {
  if (t.dataType !== DataType.INT64 && t.dataType !== DataType.INT32) return undefined;
  if (t.dims.reduce((a, b) => a * b, 1) > 64) return undefined;
  return tensorToNumbers(t);
}

/**
 * Shapes of all values (inputs, initializers, node outputs) of the main graph. `inputShapes`
 * overrides declared input shapes. Throws GradientGraphError when a value's shape is not fully static.
 */
export function staticShapes(model: Model, inputShapes: Record<string, number[]> = {}): Map<string, StaticInfo> {
  const graph = model.graph;
  const opset = opsetVersion(model, '') ?? 1;
  const types = new Map<string, StaticInfo>();
  const constants = new Map<string, number[]>();
  for (const v of graph.inputs) {
    if (v.type?.kind !== 'tensor') continue;
    const override = inputShapes[v.name];
    const shape = override ?? v.type.shape;
    if (!shape || shape.some((d) => typeof d !== 'number' || d < 0)) {
      throw new GradientGraphError(`input '${v.name}' has no static shape; pass inputShapes or batchSize`);
    }
    types.set(v.name, { elemType: v.type.elemType, shape: shape as number[] });
  }
  for (const t of graph.initializers) {
    types.set(t.name, { elemType: t.dataType, shape: [...t.dims] });
    const values = constantValues(t);
    if (values) constants.set(t.name, values);
  }
  for (const node of graph.nodes) {
    if (node.opType === 'Constant') {
      const a = node.attributes.value;
      if (a?.type === 'tensor') {
        types.set(node.outputs[0], { elemType: a.value.dataType, shape: [...a.value.dims] });
        const values = constantValues(a.value);
        if (values) constants.set(node.outputs[0], values);
        continue;
      }
    }
    const handler = extraHandlers[node.opType] ?? shapeHandlers[node.opType];
    if (!handler) throw new GradientGraphError(`node '${node.name}': no shape rule for op '${node.opType}'`);
    const result: ShapeResult = handler(new Context(node, opset, types, constants));
    node.outputs.forEach((name, i) => {
      const out = result.outputs[i];
      if (name === '') return;
      if (!out?.shape || out.shape.some((d) => typeof d !== 'number')) {
        throw new GradientGraphError(`node '${node.name}': output '${name}' has no static shape`);
      }
      types.set(name, { elemType: out.elemType, shape: out.shape as number[] });
      const c = result.constants?.[i];
      if (c) constants.set(name, c);
    });
  }
  return types;
}
