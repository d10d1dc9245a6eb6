// Constant folding: a node whose inputs are all constants (initializers that are not graph inputs,
// or values folded before it) is evaluated at compile time and replaced by an initializer. Shape
// and Size also fold when shape inference knows their input's static shape. Evaluation is the
// table in constant-eval.ts; ops outside it are left alone. Main graph only; nodes in the
// default domain only; results larger than `maxElements` are not materialised.
// Shape inference runs again afterwards. Does not mutate its input.
import { opsetVersion } from '../ir/graph.js';
import { inferShapes } from '../ir/shape-inference.js';
import type { Model, Tensor } from '../ir/types.js';
import { constEvaluators, constFromTensor, constToTensor } from './constant-eval.js';
import type { ConstValue } from './constant-eval.js';
import { valueTypes } from './graph-rewrite.js';
import type { PassResult } from './pass.js';

export interface FoldConstantsOptions {
  /** Largest folded tensor (elements); default 1 << 20. */
  maxElements?: number;
}

export function foldConstants(model: Model, options: FoldConstantsOptions = {}): PassResult {
  const maxElements = options.maxElements ?? 1 << 20;
  const graph = model.graph;
  const opset = opsetVersion(model) ?? 17;
  const inputNames = new Set(graph.inputs.map((v) => v.name));
  const outputNames = new Set(graph.outputs.map((v) => v.name));
  const constants = new Map<string, ConstValue | null>();
  const constantOf = (name: string): ConstValue | undefined => {
    const cached = constants.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const t = initializers.get(name);
    const value = t && !inputNames.has(name) ? constFromTensor(t) ?? null : null;
    constants.set(name, value);
    return value ?? undefined;
  };
  const initializers = new Map(graph.initializers.map((t) => [t.name, t]));
  let types: ReturnType<typeof valueTypes> | undefined;
  const added: Tensor[] = [];
  const nodes = graph.nodes.filter((node) => {
    const evaluate = (node.domain === '' || node.domain === 'ai.onnx') ? constEvaluators[node.opType] : undefined;
    if (!evaluate || node.outputs.length !== 1 || outputNames.has(node.outputs[0])) return true;
    const inputs = node.inputs.map((i) => (i === '' ? undefined : constantOf(i)));
    const shapeOnly = node.opType === 'Shape' || node.opType === 'Size';
    if (!shapeOnly && node.inputs.some((name, i) => name !== '' && !inputs[i])) return true;
    let result: ConstValue | undefined;
    try {
      result = evaluate({
        node,
        opset,
        inputs,
        inputShape: (i) => {
          types ??= valueTypes(model);
          const shape = types.get(node.inputs[i])?.shape;
          return shape && shape.every((d) => typeof d === 'number') ? (shape as number[]) : undefined;
        },
      });
    } catch {
      result = undefined;
    }
    if (!result || result.values.length > maxElements || result.values.length !== result.dims.reduce((a, b) => a * b, 1)) return true;
    constants.set(node.outputs[0], result);
    added.push(constToTensor(node.outputs[0], result));
    return false;
  });
  if (added.length === 0) return { model, modified: false };
  const folded = new Set(added.map((t) => t.name));
  const valueInfo = graph.valueInfo.filter((v) => !folded.has(v.name));
  // Folded shapes often make downstream shapes (and rank-unknown outputs) knowable.
  const out = { ...model, graph: { ...graph, nodes, valueInfo, initializers: [...graph.initializers, ...added] } };
  return { model: inferShapes(out).model, modified: true };
}
