// Shape inference over the IR. Op support is a table (shape-ops.ts: opType -> handler); an op not in
// the table leaves its outputs unknown, or, with `strict`, raises UnsupportedOpError naming op and node.
// Alongside types it propagates the values of small tensors (shape-values.ts), so shapes computed in
// the graph (Shape -> Gather -> Concat -> Reshape) are known, symbolic dims included.
import { ShapeInferenceError, UnsupportedOpError } from '../errors.js';
import { DataType } from './data-type.js';
import { nodeLabel, opsetVersion } from './graph.js';
import { isNum } from './shape-dims.js';
import { shapeHandlers } from './shape-ops.js';
import { MAX_TRACKED_ELEMENTS, trackableValue } from './shape-values.js';
import { tensorToNumbers } from './tensor.js';
import type { Attribute, Dim, Graph, Model, Node, Tensor, ValueInfo, ValueType } from './types.js';

/** What a handler knows about one tensor value. */
export interface TensorInfo {
  elemType: number;
  /** null: rank unknown. */
  shape: Dim[] | null;
}

/** A handler's view of one node: typed inputs, constant inputs, attributes, and a way to fail. */
export interface ShapeContext {
  readonly node: Node;
  /** Default-domain opset of the model. */
  readonly opset: number;
  /** Type of input `i`, or undefined when unknown / omitted. */
  input(i: number): TensorInfo | undefined;
  /** Values of input `i` when every element is known (initializer, Constant node, static Shape, ...). */
  constantInput(i: number): number[] | undefined;
  /**
   * Elements of input `i` as far as they are known: numbers, symbolic dim names, null for unknown
   * ones (see shape-values.ts). Optional: contexts that track only constants leave it out, and
   * handlers read it through inputValue(), which falls back to constantInput().
   */
  inputValue?(i: number): Dim[] | undefined;
  hasInput(i: number): boolean;
  attrInt(name: string, fallback: number): number;
  attrInts(name: string): number[] | undefined;
  attrFloat(name: string, fallback: number): number;
  attrFloats(name: string): number[] | undefined;
  attrString(name: string, fallback: string): string;
  attrTensor(name: string): Tensor | undefined;
  fail(reason: string): never;
}

/** Types of the node's outputs, in order; undefined entries stay unknown. */
export interface ShapeResult {
  outputs: (TensorInfo | undefined)[];
  /** Values of outputs that are compile-time constants (e.g. Shape of a static tensor). */
  constants?: (number[] | undefined)[];
  /** Partly known or symbolic values of outputs (Shape of a ['batch', 3] tensor); wins over `constants`. */
  values?: (Dim[] | undefined)[];
}

export type ShapeHandler = (ctx: ShapeContext) => ShapeResult;

export interface InferShapesOptions {
  /** Throw on ops without a handler and on inconsistent shapes instead of leaving values unknown. */
  strict?: boolean;
}

export interface InferShapesResult {
  model: Model;
  modified: boolean;
  /** Non-strict mode: one line per node whose outputs were left unknown, and why. */
  issues: string[];
}

const toNumber = (v: number | bigint): number => (typeof v === 'bigint' ? Number(v) : v);

function tensorInfoOf(t: ValueType | null): TensorInfo | undefined {
  return t && t.kind === 'tensor' ? { elemType: t.elemType, shape: t.shape } : undefined;
}

function knownness(info: TensorInfo | undefined): number {
  if (!info) return -1;
  if (!info.shape) return 0;
  return 1 + info.shape.filter((d) => typeof d === 'number').length / (info.shape.length + 1);
}

class NodeContext implements ShapeContext {
  constructor(
    readonly node: Node,
    readonly opset: number,
    private readonly types: Map<string, TensorInfo>,
    private readonly values: Map<string, Dim[]>,
  ) {}
  hasInput(i: number): boolean {
    return i < this.node.inputs.length && this.node.inputs[i] !== '';
  }
  input(i: number): TensorInfo | undefined {
    return this.hasInput(i) ? this.types.get(this.node.inputs[i]) : undefined;
  }
  constantInput(i: number): number[] | undefined {
    const value = this.inputValue(i);
    return value?.every(isNum) ? value : undefined;
  }
  inputValue(i: number): Dim[] | undefined {
    return this.hasInput(i) ? this.values.get(this.node.inputs[i]) : undefined;
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
    throw new ShapeInferenceError(this.node.opType, this.node.name, reason);
  }
}

/** Small tensors (shapes, axes, pads, scales) are tracked as values for later handlers. */
function constantValues(t: Tensor): number[] | undefined {
  if (t.dataType === DataType.STRING || t.external) return undefined;
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count > MAX_TRACKED_ELEMENTS) return undefined;
  try {
    return tensorToNumbers(t);
  } catch {
    return undefined;
  }
}

/**
 * Infers tensor types and shapes through the main graph (subgraphs are not entered) and records
 * them in graph.valueInfo (and in untyped graph outputs). Does not mutate its input: returns a
 * model with a new graph object sharing nodes and initializers.
 */
export function inferShapes(model: Model, options: InferShapesOptions = {}): InferShapesResult {
  const graph = model.graph;
  const opset = opsetVersion(model, '') ?? 1;
  const types = new Map<string, TensorInfo>();
  const values = new Map<string, Dim[]>();
  for (const v of [...graph.inputs, ...graph.valueInfo, ...graph.outputs]) {
    const info = tensorInfoOf(v.type);
    if (info && knownness(info) > knownness(types.get(v.name))) types.set(v.name, info);
  }
  for (const t of graph.initializers) {
    types.set(t.name, { elemType: t.dataType, shape: [...t.dims] });
    const value = constantValues(t);
    if (value) values.set(t.name, value);
  }
  const issues: string[] = [];
  const inferred = new Map<string, TensorInfo>();
  for (const node of graph.nodes) {
    const isDefaultDomain = node.domain === '' || node.domain === 'ai.onnx';
    const handler = isDefaultDomain ? shapeHandlers[node.opType] : undefined;
    const label = nodeLabel(graph, node);
    if (!handler) {
      if (options.strict) throw new UnsupportedOpError(node.opType, label);
      issues.push(`${label}: no shape handler for ${node.domain ? `${node.domain}::` : ''}${node.opType}`);
      continue;
    }
    let result: ShapeResult;
    try {
      result = handler(new NodeContext(node, opset, types, values));
    } catch (err) {
      if (options.strict || !(err instanceof ShapeInferenceError)) throw err;
      issues.push(`${label}: ${err.message}`);
      continue;
    }
    node.outputs.forEach((name, i) => {
      const out = result.outputs[i];
      if (name === '' || !out) return;
      if (knownness(out) >= knownness(types.get(name))) types.set(name, out);
      inferred.set(name, types.get(name) as TensorInfo);
      const value = trackableValue(out, result.values?.[i] ?? result.constants?.[i]);
      if (value) values.set(name, value);
      else values.delete(name);
    });
  }
  return writeBack(model, graph, inferred, types, issues);
}

function writeBack(
  model: Model, graph: Graph, inferred: Map<string, TensorInfo>, types: Map<string, TensorInfo>, issues: string[],
): InferShapesResult {
  const graphInputs = new Set(graph.inputs.map((v) => v.name));
  const graphOutputs = new Set(graph.outputs.map((v) => v.name));
  const asType = (info: TensorInfo): ValueType => ({ kind: 'tensor', elemType: info.elemType, shape: info.shape ? [...info.shape] : null });
  let modified = false;
  const valueInfo: ValueInfo[] = graph.valueInfo.map((v) => {
    const info = inferred.get(v.name);
    if (!info || knownness(info) <= knownness(tensorInfoOf(v.type))) return v;
    modified = true;
    return { ...v, type: asType(info) };
  });
  const listed = new Set(valueInfo.map((v) => v.name));
  for (const [name, info] of inferred) {
    if (listed.has(name) || graphInputs.has(name) || graphOutputs.has(name)) continue;
    valueInfo.push({ name, type: asType(info) });
    modified = true;
  }
  const outputs = graph.outputs.map((v) => {
    const info = types.get(v.name);
    // Declared output types are the model's contract; only untyped or rank-unknown ones are filled.
    if (!info || (v.type && (v.type.kind !== 'tensor' || v.type.shape !== null))) return v;
    modified = true;
    return { ...v, type: asType(info) };
  });
  return { model: { ...model, graph: { ...graph, valueInfo, outputs } }, modified, issues };
}
