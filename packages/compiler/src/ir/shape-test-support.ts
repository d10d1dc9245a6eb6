// Helpers for the shape-inference unit tests: one-node models and the inferred types of outputs.
// Not exported from the package index.
import { GraphBuilder } from './builder.js';
import type { AttributeInput } from './builder.js';
import type { DTypeName } from './data-type.js';
import { inferShapes } from './shape-inference.js';
import type { Dim, Model, ValueType } from './types.js';

/** A graph input, an int64 initializer (1-D, or a scalar), or a float32 initializer. */
export type InputSpec =
  | [string, DTypeName, Dim[]]
  | [string, 'int64-const', number[]]
  | [string, 'int64-scalar', number]
  | [string, 'float-const', number[]];

export const f = (name: string, shape: Dim[]): InputSpec => [name, 'float32', shape];
export const c = (name: string, values: number[]): InputSpec => [name, 'int64-const', values];
export const scalar = (name: string, value: number): InputSpec => [name, 'int64-scalar', value];
export const floats = (name: string, values: number[]): InputSpec => [name, 'float-const', values];

function addInput(b: GraphBuilder, spec: InputSpec): string {
  switch (spec[1]) {
    case 'int64-const': return b.initializer(spec[0], BigInt64Array.from(spec[2].map(BigInt)), [spec[2].length]);
    case 'int64-scalar': return b.initializer(spec[0], BigInt64Array.of(BigInt(spec[2])), []);
    case 'float-const': return b.initializer(spec[0], Float32Array.from(spec[2]), [spec[2].length]);
    default: return b.input(spec[0], spec[1], spec[2]);
  }
}

export interface InferOneOptions {
  opset?: number;
  /** Number of node outputs (default 1). */
  outputs?: number;
}

/** Builds a one-node model, infers shapes strictly, and returns every output's inferred type. */
export function inferTypes(
  opType: string, inputs: (InputSpec | null)[], attributes: Record<string, AttributeInput> = {}, options: InferOneOptions = {},
): (ValueType | null)[] {
  const b = new GraphBuilder('g');
  const names = inputs.map((spec) => (spec ? addInput(b, spec) : null));
  const outs = b.nodeWithOutputs(opType, names, attributes, { name: 'n', outputs: options.outputs ?? 1 });
  for (const o of outs) b.output(o, 'float32', null);
  const model = b.build({ opset: options.opset ?? 17, inferShapes: false });
  return inferShapes(model, { strict: true }).model.graph.outputs.map((o) => o.type);
}

/** The inferred shape of output `index` of a one-node model (undefined when not a tensor). */
export function inferOne(
  opType: string,
  inputs: (InputSpec | null)[],
  attributes: Record<string, AttributeInput> = {},
  options: InferOneOptions & { index?: number } = {},
): Dim[] | null | undefined {
  const type = inferTypes(opType, inputs, attributes, options)[options.index ?? 0];
  return type?.kind === 'tensor' ? type.shape : undefined;
}

/** Shape of graph output `index` after strict inference of a built model. */
export function outputShape(model: Model, index = 0): Dim[] | null | undefined {
  const type = inferShapes(model, { strict: true }).model.graph.outputs[index]?.type;
  return type?.kind === 'tensor' ? type.shape : undefined;
}

/** Element type of graph output `index` after strict inference of a built model. */
export function outputElemType(model: Model, index = 0): number | undefined {
  const type = inferShapes(model, { strict: true }).model.graph.outputs[index]?.type;
  return type?.kind === 'tensor' ? type.elemType : undefined;
}
