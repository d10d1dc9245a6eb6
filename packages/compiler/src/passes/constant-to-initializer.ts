// Turns Constant nodes of the main graph into initializers (value, value_float(s), value_int(s);
// sparse and string-list constants stay nodes). Does not mutate its input.
import { DataType } from '../ir/data-type.js';
import { createTensor } from '../ir/tensor.js';
import type { Model, Node, Tensor } from '../ir/types.js';
import type { PassResult } from './pass.js';

function constantTensor(node: Node, name: string): Tensor | undefined {
  const entries = Object.entries(node.attributes);
  if (entries.length !== 1) return undefined;
  const [key, a] = entries[0];
  if (key === 'value' && a.type === 'tensor' && !a.value.external) return { ...a.value, name };
  if (key === 'value_float' && a.type === 'float') return createTensor(name, Float32Array.of(a.value), []);
  if (key === 'value_floats' && a.type === 'floats') return createTensor(name, Float32Array.from(a.value), [a.value.length]);
  if (key === 'value_int' && a.type === 'int') return createTensor(name, BigInt64Array.of(BigInt(a.value)), []);
  if (key === 'value_ints' && a.type === 'ints') return createTensor(name, BigInt64Array.from(a.value, (v) => BigInt(v)), [a.value.length]);
  if (key === 'value_string' && a.type === 'string') return { name, dataType: DataType.STRING, dims: [], data: new Uint8Array(0), strings: [a.value] };
  return undefined;
}

export function constantToInitializer(model: Model): PassResult {
  const graph = model.graph;
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const added: Tensor[] = [];
  const nodes = graph.nodes.filter((n) => {
    if (n.opType !== 'Constant' || (n.domain !== '' && n.domain !== 'ai.onnx') || outputs.has(n.outputs[0])) return true;
    const t = constantTensor(n, n.outputs[0]);
    if (!t) return true;
    added.push(t);
    return false;
  });
  if (added.length === 0) return { model, modified: false };
  return { model: { ...model, graph: { ...graph, nodes, initializers: [...graph.initializers, ...added] } }, modified: true };
}
