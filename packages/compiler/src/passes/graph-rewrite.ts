// Small helpers the rewriting passes share: float weights in and out of tensors, renaming values,
// fresh names, element types of values. Never mutate their inputs.
import { DataType } from '../ir/data-type.js';
import { inferShapes } from '../ir/shape-inference.js';
import type { TensorInfo } from '../ir/shape-inference.js';
import { createTensor, tensorToTypedArray } from '../ir/tensor.js';
import type { Graph, Model, Node, Tensor } from '../ir/types.js';

/** A float32 copy of a FLOAT / DOUBLE / FLOAT16 tensor's elements. */
export function floatValues(t: Tensor): Float32Array {
  if (t.dataType === DataType.FLOAT) return Float32Array.from(tensorToTypedArray(t) as Float32Array);
  if (t.dataType === DataType.DOUBLE) return Float32Array.from(tensorToTypedArray(t) as Float64Array);
  if (t.dataType === DataType.FLOAT16) return Float32Array.from(tensorToTypedArray(t) as Uint16Array, halfToFloat);
  throw new TypeError(`tensor '${t.name}' is not a float tensor (data type ${t.dataType})`);
}

export function floatTensor(name: string, values: Float32Array, dims: readonly number[]): Tensor {
  return createTensor(name, values, dims);
}

/** IEEE binary16 bits -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** number -> IEEE binary16 bits, round to nearest even (as numpy / onnxruntime do). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Replaces reads of `from` by `to` in the given nodes (returns new node objects only where changed). */
export function replaceReads(nodes: readonly Node[], from: string, to: string): Node[] {
  return nodes.map((n) => (n.inputs.includes(from) ? { ...n, inputs: n.inputs.map((i) => (i === from ? to : i)) } : n));
}

/** Every name defined or used in a graph (values, initializers, nodes), for picking fresh names. */
export function takenNames(graph: Graph): Set<string> {
  const names = new Set<string>();
  for (const v of [...graph.inputs, ...graph.outputs, ...graph.valueInfo]) names.add(v.name);
  for (const t of graph.initializers) names.add(t.name);
  for (const n of graph.nodes) {
    names.add(n.name);
    for (const v of [...n.inputs, ...n.outputs]) names.add(v);
  }
  return names;
}

/** Hands out names not yet in `taken` (and records them). */
export function nameAllocator(taken: Set<string>): (base: string) => string {
  return (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
}

/** Element type and shape of every tensor value shape inference can type (inputs, initializers, node outputs). */
export function valueTypes(model: Model): Map<string, TensorInfo> {
  const inferred = inferShapes(model).model.graph;
  const types = new Map<string, TensorInfo>();
  for (const v of [...inferred.inputs, ...inferred.valueInfo, ...inferred.outputs]) {
    if (v.type?.kind === 'tensor') types.set(v.name, { elemType: v.type.elemType, shape: v.type.shape });
  }
  for (const t of inferred.initializers) types.set(t.name, { elemType: t.dataType, shape: [...t.dims] });
  return types;
}

/** Element count of a static shape, or undefined when some dimension is not a number. */
export function staticSize(shape: readonly (number | string | null)[] | null | undefined): number | undefined {
  if (!shape) return undefined;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/** Integer attribute with a default (int64 attributes may be bigints). */
export function intAttr(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.type === 'int' ? Number(a.value) : fallback;
}

export function floatAttr(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.type === 'float' ? a.value : fallback;
}

export function intsAttr(node: Node, name: string): number[] | undefined {
  const a = node.attributes[name];
  return a && a.type === 'ints' ? a.value.map(Number) : undefined;
}
