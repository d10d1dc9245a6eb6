// Build graphs in code: tests, fixtures and student architectures use this instead of protobuf.
//
//   const b = new GraphBuilder('net');
//   const x = b.input('x', 'float32', [1, 3, 32, 32]);
//   const w = b.initializer('w', Float32Array.from(...), [8, 3, 3, 3]);
//   const y = b.node('Conv', [x, w], { pads: [1, 1, 1, 1] });
//   b.output(y);
//   const model = b.build({ opset: 17 });
import { GraphBuildError } from '../errors.js';
import { dataTypeFromName } from './data-type.js';
import type { DTypeName } from './data-type.js';
import { inferShapes } from './shape-inference.js';
import { createTensor } from './tensor.js';
import type { TypedArray } from './tensor.js';
import type { Attribute, Dim, Graph, Int64, Model, Node, OpsetImport, Tensor, ValueInfo } from './types.js';

/** Explicitly typed attribute constructors, for values whose JS type is ambiguous. */
export const attr = {
  float: (value: number): Attribute => ({ type: 'float', value }),
  int: (value: Int64): Attribute => ({ type: 'int', value }),
  string: (value: string): Attribute => ({ type: 'string', value: new TextEncoder().encode(value) }),
  tensor: (value: Tensor): Attribute => ({ type: 'tensor', value }),
  graph: (value: Graph): Attribute => ({ type: 'graph', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  ints: (value: Int64[]): Attribute => ({ type: 'ints', value }),
  strings: (value: string[]): Attribute => ({ type: 'strings', value: value.map((s) => new TextEncoder().encode(s)) }),
  graphs: (value: Graph[]): Attribute => ({ type: 'graphs', value }),
};

/** A JS value the builder turns into an attribute, or an explicit `attr.*(...)`. */
export type AttributeInput = number | bigint | string | number[] | bigint[] | string[] | Tensor | Graph | Attribute;

/** Attributes that are floats in ONNX even when written as integers (`alpha: 1`). */
const FLOAT_ATTRIBUTES = new Set([
  'alpha', 'beta', 'gamma', 'epsilon', 'momentum', 'bias', 'lambd', 'ratio', 'scale', 'min', 'max',
  'spatial_scale', 'cubic_coeff_a', 'extrapolation_value', 'threshold', 'fmod_float', 'value_float', 'value_floats',
  'scales', 'seed',
]);

/** Names that FLOAT_ATTRIBUTES lists but that some ops define as integers (Dropout's seed). */
const INT_ATTRIBUTES_BY_OP: Record<string, ReadonlySet<string>> = {
  Dropout: new Set(['seed']),
};

function isFloatAttribute(name: string, opType?: string): boolean {
  if (opType !== undefined && INT_ATTRIBUTES_BY_OP[opType]?.has(name)) return false;
  return FLOAT_ATTRIBUTES.has(name);
}

function isAttribute(v: unknown): v is Attribute {
  return typeof v === 'object' && v !== null && 'type' in v && 'value' in v && !('opType' in v) && !('dims' in v);
}
function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'dims' in v && 'dataType' in v;
}
function isGraph(v: unknown): v is Graph {
  return typeof v === 'object' && v !== null && 'nodes' in v && 'initializers' in v;
}

/** Converts a builder attribute value to a typed attribute (see FLOAT_ATTRIBUTES for numbers). */
export function toAttribute(name: string, v: AttributeInput, opType?: string): Attribute {
  if (isAttribute(v)) return v;
  if (isTensor(v)) return { type: 'tensor', value: v };
  if (isGraph(v)) return { type: 'graph', value: v };
  if (typeof v === 'bigint') return { type: 'int', value: v };
  if (typeof v === 'number') {
    return Number.isInteger(v) && !isFloatAttribute(name, opType) ? { type: 'int', value: v } : { type: 'float', value: v };
  }
  if (typeof v === 'string') return attr.string(v);
  if (Array.isArray(v)) {
    const list = v as unknown[];
    if (list.every((x) => typeof x === 'string')) return list.length === 0 ? { type: 'ints', value: [] } : attr.strings(list as string[]);
    if (list.every((x) => typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x))) && !isFloatAttribute(name, opType)) {
      return { type: 'ints', value: list as Int64[] };
    }
    if (list.every((x) => typeof x === 'number')) return { type: 'floats', value: list as number[] };
  }
  throw new GraphBuildError(`attribute '${name}': cannot tell its ONNX type; use attr.*()`);
}

export interface NodeOptions {
  /** Node name; default `<OpType>_<n>`. */
  name?: string;
  domain?: string;
  /** Output value names (their count is the number of outputs); default one output named after the node. */
  outputs?: string[] | number;
}

export interface BuildOptions {
  /** Default-domain opset version (default 17). */
  opset?: number;
  /** Additional opset imports, e.g. { domain: 'com.microsoft', version: 1 }. */
  opsetImports?: OpsetImport[];
  /** Default 8 (onnx 1.12's IR version). */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** Run shape inference to type outputs and fill valueInfo (default true; when false, outputs may stay untyped). */
  inferShapes?: boolean;
}

export class GraphBuilder {
  readonly name: string;
  private readonly nodes: Node[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: Tensor[] = [];
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private counter = 0;

  constructor(name: string) {
    this.name = name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphBuildError(`graph '${this.name}': value '${name}' is defined twice`);
    this.names.add(name);
    return name;
  }

  /** A graph input; dims may be numbers, symbolic names or null (unknown). Returns its value name. */
  input(name: string, dtype: DTypeName | number, shape: Dim[] | null): string {
    const elemType = dataTypeFromName(dtype);
    if (elemType === undefined) throw new GraphBuildError(`input '${name}': unknown dtype '${String(dtype)}'`);
    this.inputs.push({ name: this.claim(name), type: { kind: 'tensor', elemType, shape: shape ? [...shape] : null } });
    return name;
  }

  /** A constant weight; `values` are kept as a view (no copy). Returns its value name. */
  initializer(name: string, values: TypedArray | readonly string[] | Tensor, dims?: readonly number[], dtype?: DTypeName): string {
    const tensor = isTensor(values) ? { ...values, name } : createTensor(name, values, dims ?? [values.length], dtype);
    this.initializers.push(tensor);
    this.claim(name);
    return name;
  }

  /** A `Constant` node producing `values`; returns its output name. */
  constant(values: TypedArray | Tensor, dims?: readonly number[], options: { name?: string; dtype?: DTypeName } = {}): string {
    const nodeName = options.name ?? this.nextNodeName('Constant');
    const tensor = isTensor(values) ? values : createTensor(`${nodeName}_value`, values, dims ?? [values.length], options.dtype);
    return this.node('Constant', [], { value: tensor }, { name: nodeName });
  }

  /** Adds a node with one output; returns the output's value name. Use '' or null for omitted inputs. */
  node(opType: string, inputs: (string | null)[], attributes: Record<string, AttributeInput> = {}, options: NodeOptions = {}): string {
    const outputs = this.nodeWithOutputs(opType, inputs, attributes, { outputs: 1, ...options });
    return outputs[0];
  }

  /** Adds a node with several outputs (`options.outputs`: names or a count); returns their names. */
  nodeWithOutputs(
    opType: string,
    inputs: (string | null)[],
    attributes: Record<string, AttributeInput> = {},
    options: NodeOptions = {},
  ): string[] {
    const name = options.name ?? this.nextNodeName(opType);
    if (this.nodeNames.has(name)) throw new GraphBuildError(`graph '${this.name}': node '${name}' is defined twice`);
    this.nodeNames.add(name);
    const spec = options.outputs ?? 1;
    const outputs = typeof spec === 'number'
      ? Array.from({ length: spec }, (_, i) => (spec === 1 ? `${name}_output` : `${name}_output_${i}`))
      : spec;
    for (const o of outputs) if (o !== '') this.claim(o);
    const attrs: Record<string, Attribute> = {};
    for (const [key, value] of Object.entries(attributes)) attrs[key] = toAttribute(key, value, opType);
    this.nodes.push({ name, opType, domain: options.domain ?? '', inputs: inputs.map((i) => i ?? ''), outputs, attributes: attrs });
    return outputs;
  }

  /** Marks a value as a graph output; dtype/shape are optional when shape inference can derive them. */
  output(name: string, dtype?: DTypeName | number, shape?: Dim[] | null): void {
    if (dtype === undefined) {
      this.outputs.push({ name, type: null });
      return;
    }
    const elemType = dataTypeFromName(dtype);
    if (elemType === undefined) throw new GraphBuildError(`output '${name}': unknown dtype '${String(dtype)}'`);
    this.outputs.push({ name, type: { kind: 'tensor', elemType, shape: shape === undefined ? null : shape } });
  }

  private nextNodeName(opType: string): string {
    let name: string;
    do name = `${opType}_${this.counter++}`;
    while (this.nodeNames.has(name) || this.names.has(name));
    return name;
  }

  /** The graph alone (for If/Loop bodies); outputs keep the types given to `output()`. */
  buildGraph(): Graph {
    return {
      name: this.name,
      nodes: [...this.nodes],
      inputs: [...this.inputs],
      outputs: [...this.outputs],
      initializers: [...this.initializers],
      valueInfo: [],
    };
  }

  /** A model around the graph; untyped outputs get their types from shape inference. */
  build(options: BuildOptions = {}): Model {
    let model: Model = {
      irVersion: options.irVersion ?? 8,
      opsetImports: [{ domain: '', version: options.opset ?? 17 }, ...(options.opsetImports ?? [])],
      producerName: options.producerName ?? 'edgeloop',
      producerVersion: options.producerVersion ?? '0.1.0',
      domain: '',
      modelVersion: 0,
      docString: options.docString ?? '',
      metadataProps: [],
      graph: this.buildGraph(),
      functions: [],
      trainingInfo: [],
    };
    if (options.inferShapes === false) return model;
    model = inferShapes(model).model;
    const untyped = model.graph.outputs.find((o) => o.type === null);
    if (untyped) throw new GraphBuildError(`graph '${this.name}': cannot infer the type of output '${untyped.name}'; pass a dtype to output()`);
    return model;
  }
}
