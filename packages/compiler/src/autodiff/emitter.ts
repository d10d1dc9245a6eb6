// Appends nodes and constants to a graph under construction, with the handful of helpers every
// gradient rule needs (broadcast reduction, reshape, transpose). Opset-dependent forms (axes as
// attribute or input) are chosen here so rules stay opset-agnostic.
import { DataType } from '../ir/data-type.js';
import { createTensor } from '../ir/tensor.js';
import type { Attribute, Node, Tensor } from '../ir/types.js';
import { toAttribute } from '../ir/builder.js';
import type { AttributeInput } from '../ir/builder.js';

export class Emitter {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;
  private readonly int64Cache = new Map<string, string>();
  private readonly floatCache = new Map<string, string>();

  /** `floatType`: element type of the graph's float values (FLOAT or DOUBLE); constants use it. */
  constructor(
    readonly opset: number,
    readonly floatType: number,
    private readonly prefix = 'ad',
    private readonly taken: Set<string> = new Set(),
  ) {}

  /** A fresh value name. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}/${hint}_${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Adds a node; returns its output names (`outputs`: a count or explicit names). */
  ops(opType: string, inputs: string[], attrs: Record<string, AttributeInput> = {}, outputs: number | string[] = 1): string[] {
    const name = this.fresh(opType);
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => (i === 0 ? name : `${name}:${i}`)) : outputs;
    for (const o of outs) this.taken.add(o);
    const attributes: Record<string, Attribute> = {};
    for (const [k, v] of Object.entries(attrs)) attributes[k] = toAttribute(k, v, opType);
    this.nodes.push({ name, opType, domain: '', inputs, outputs: outs, attributes });
    return outs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttributeInput> = {}): string {
    return this.ops(opType, inputs, attrs)[0];
  }

  /** Adds a node writing to a given output name. */
  opInto(output: string, opType: string, inputs: string[], attrs: Record<string, AttributeInput> = {}): string {
    return this.ops(opType, inputs, attrs, [output])[0];
  }

  /** A constant int64 tensor (shapes, axes), shared between uses. */
  int64(values: readonly number[], dims: number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    const hit = this.int64Cache.get(key);
    if (hit) return hit;
    const name = this.fresh('i64');
    this.initializers.push(createTensor(name, BigInt64Array.from(values.map((v) => BigInt(v))), dims));
    this.int64Cache.set(key, name);
    return name;
  }

  /** A float constant in the graph's float type; scalar by default. */
  float(values: number | readonly number[], dims?: number[]): string {
    const list = typeof values === 'number' ? [values] : values;
    const shape = dims ?? (typeof values === 'number' ? [] : [list.length]);
    const key = `${shape.join('x')}:${list.length <= 16 ? list.join(',') : `#${this.counter}`}`;
    const hit = this.floatCache.get(key);
    if (hit) return hit;
    const name = this.fresh('f');
    const array = this.floatType === DataType.DOUBLE ? Float64Array.from(list) : Float32Array.from(list);
    this.initializers.push(createTensor(name, array, shape));
    this.floatCache.set(key, name);
    return name;
  }

  reshape(x: string, shape: readonly number[]): string {
    return this.op('Reshape', [x, this.int64(shape)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return perm.every((p, i) => p === i) ? x : this.op('Transpose', [x], { perm: [...perm] });
  }

  /** ReduceSum with axes as attribute or input depending on opset. */
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.opset >= 13) return this.op('ReduceSum', [x, this.int64(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceSum', [x], { axes: [...axes], keepdims: keepdims ? 1 : 0 });
  }

  reduceMean(x: string, axes: readonly number[], keepdims: boolean): string {
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.int64(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op('ReduceMean', [x], { axes: [...axes], keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    if (this.opset >= 13) return this.op('Unsqueeze', [x, this.int64(axes)]);
    return this.op('Unsqueeze', [x], { axes: [...axes] });
  }

  mulScalar(x: string, s: number): string {
    return s === 1 ? x : this.op('Mul', [x, this.float(s)]);
  }

  /** Zeros of a static shape in the float type. */
  zeros(shape: readonly number[]): string {
    const value = createTensor('value', this.floatType === DataType.DOUBLE ? new Float64Array(1) : new Float32Array(1), [1]);
    return this.op('ConstantOfShape', [this.int64(shape)], { value });
  }

  /**
   * Sums a gradient of broadcast shape `from` down to an operand's shape `to` (numpy rules): leading
   * extra axes and axes where the operand has size 1 are summed, then the result is reshaped.
   */
  reduceToShape(g: string, from: readonly number[], to: readonly number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return g;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    }
    const summed = axes.length > 0 ? this.reduceSum(g, axes, true) : g;
    return this.reshape(summed, to);
  }

  /** Adds several gradient contributions (one value passes through unchanged). */
  sum(values: string[]): string {
    if (values.length === 1) return values[0];
    return this.op('Sum', values);
  }
}
