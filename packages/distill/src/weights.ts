// Moving weights between a model's initializers and the Float32Arrays a trainer updates.
import { DataType, createTensor, tensorToTypedArray } from '@edgeloop/compiler';
import type { Model, ValueInfo } from '@edgeloop/compiler';
import { TrainingConfigError } from './errors.js';

/** Copies of the named float32 initializers. */
export function readWeights(model: Model, names: readonly string[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const name of names) {
    const t = model.graph.initializers.find((i) => i.name === name);
    if (!t || t.dataType !== DataType.FLOAT) throw new TrainingConfigError(`weight '${name}' is not a float32 initializer`);
    out.set(name, Float32Array.from(tensorToTypedArray(t) as Float32Array));
  }
  return out;
}

/** The model with the given initializers replaced (copied, so later updates do not leak in). */
export function withWeights(model: Model, weights: ReadonlyMap<string, Float32Array>): Model {
  const initializers = model.graph.initializers.map((t) => {
    const values = weights.get(t.name);
    if (!values) return t;
    if (values.length !== t.dims.reduce((a, b) => a * b, 1)) throw new TrainingConfigError(`weight '${t.name}' has ${values.length} values for [${t.dims.join(', ')}]`);
    return createTensor(t.name, Float32Array.from(values), t.dims);
  });
  return { ...model, graph: { ...model.graph, initializers } };
}

/** The model with the named initializers turned into graph inputs (fed per run). */
export function weightsAsInputs(model: Model, names: readonly string[]): Model {
  const set = new Set(names);
  const inputs: ValueInfo[] = [...model.graph.inputs.filter((v) => !set.has(v.name))];
  for (const t of model.graph.initializers) {
    if (set.has(t.name)) inputs.push({ name: t.name, type: { kind: 'tensor', elemType: t.dataType, shape: [...t.dims] } });
  }
  return { ...model, graph: { ...model.graph, inputs, initializers: model.graph.initializers.filter((t) => !set.has(t.name)) } };
}
