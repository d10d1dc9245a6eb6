// Static shapes of every value in a forward graph. Gradient graphs are built for one concrete
// input shape (the training batch), so every dim must be a number; the builder then turns
// broadcasting and reductions into constant axes and shapes. Built on the compiler's shape
// inference (its op table and value propagation), run strictly from the given input shapes.
import { ShapeInferenceError, UnsupportedOpError } from '../errors.js';
import type { ShapeContext } from '../ir/shape-inference.js';
import { inferShapes } from '../ir/shape-inference.js';
import type { Dim, Graph, Model, ValueInfo } from '../ir/types.js';
import { GradientGraphError } from './errors.js';

export interface StaticInfo {
  elemType: number;
  shape: number[];
}

/** Axes a Reduce* node reduces over (attribute before opset 13/18, input after), normalized and sorted. */
export function reduceAxes(ctx: Pick<ShapeContext, 'node' | 'opset' | 'attrInts' | 'constantInput' | 'attrInt'>, rank: number): number[] {
  const axesFromInput = ctx.node.opType === 'ReduceSum' ? ctx.opset >= 13 : ctx.opset >= 18;
  const axes = axesFromInput ? ctx.constantInput(1) : ctx.attrInts('axes');
  if (axes === undefined || axes.length === 0) {
    if (axesFromInput && ctx.attrInt('noop_with_empty_axes', 0) === 1) return [];
    return Array.from({ length: rank }, (_, i) => i);
  }
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

const isStatic = (shape: readonly Dim[] | null | undefined): shape is number[] =>
  shape !== null && shape !== undefined && shape.every((d) => typeof d === 'number' && d >= 0);

function staticInputs(graph: Graph, inputShapes: Record<string, number[]>): ValueInfo[] {
  return graph.inputs.map((v) => {
    if (v.type?.kind !== 'tensor') return v;
    const shape = inputShapes[v.name] ?? v.type.shape;
    if (!isStatic(shape)) throw new GradientGraphError(`input '${v.name}' has no static shape; pass inputShapes or batchSize`);
    return { ...v, type: { ...v.type, shape: [...shape] } };
  });
}

/**
 * Shapes of all values (inputs, initializers, node outputs) of the main graph. `inputShapes`
 * overrides declared input shapes. Throws GradientGraphError when a value's shape is not fully static.
 */
export function staticShapes(model: Model, inputShapes: Record<string, number[]> = {}): Map<string, StaticInfo> {
  const graph = model.graph;
  const inputs = staticInputs(graph, inputShapes);
  // Declared value and output types may be for another batch size: shapes come from the inputs alone.
  const outputs = graph.outputs.map((v) => ({ ...v, type: null }));
  let inferred: Graph;
  try {
    inferred = inferShapes({ ...model, graph: { ...graph, inputs, outputs, valueInfo: [] } }, { strict: true }).model.graph;
  } catch (error) {
    if (error instanceof UnsupportedOpError) {
      throw new GradientGraphError(`node '${error.nodeName}': no shape rule for op '${error.opType}'`, { cause: error });
    }
    if (error instanceof ShapeInferenceError) throw new GradientGraphError(error.message, { cause: error });
    throw error;
  }
  const types = new Map<string, StaticInfo>();
  for (const v of [...inputs, ...inferred.valueInfo, ...inferred.outputs]) {
    if (v.type?.kind === 'tensor' && isStatic(v.type.shape)) types.set(v.name, { elemType: v.type.elemType, shape: v.type.shape });
  }
  for (const t of graph.initializers) types.set(t.name, { elemType: t.dataType, shape: [...t.dims] });
  for (const node of graph.nodes) {
    for (const name of node.outputs) {
      if (name !== '' && !types.has(name)) throw new GradientGraphError(`node '${node.name}': output '${name}' has no static shape`);
    }
  }
  return types;
}
