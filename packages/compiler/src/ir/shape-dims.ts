// Dimension arithmetic shared by the shape handlers. A Dim is a size, a symbolic name ('batch')
// or null (unknown); symbolic names survive wherever an op provably copies a dimension.
import type { ShapeContext, ShapeResult, TensorInfo } from './shape-inference.js';
import type { Dim } from './types.js';

export const isNum = (d: Dim): d is number => typeof d === 'number';

export const one = (out: TensorInfo | undefined): ShapeResult => ({ outputs: [out] });

/** Same element type as `x`, shape unknown (rank too): for inputs whose shape is not known. */
export const unknownShape = (x: TensorInfo | undefined): ShapeResult => one(x && { elemType: x.elemType, shape: null });

/** Same element type, known rank, every dim unknown. */
export const unknownDims = (elemType: number, rank: number): TensorInfo => ({ elemType, shape: new Array<Dim>(rank).fill(null) });

export function normalizeAxis(ctx: ShapeContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.fail(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Two dims that must agree: the more specific one wins; numbers that differ are an error. */
export function mergeDim(ctx: ShapeContext, a: Dim, b: Dim): Dim {
  if (isNum(a) && isNum(b) && a !== b) ctx.fail(`dimensions ${a} and ${b} differ`);
  if (isNum(a)) return a;
  if (isNum(b)) return b;
  return a ?? b;
}

/** Numpy-style multidirectional broadcasting. */
export function broadcastShapes(ctx: ShapeContext, shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s.length - rank + i >= 0 ? s[s.length - rank + i] : 1;
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (isNum(dim) && isNum(d)) {
        if (dim !== d) ctx.fail(`cannot broadcast ${dim} with ${d}`);
      } else if (isNum(d)) dim = d;
      else if (!isNum(dim) && dim !== d) dim = null;
    }
    out.push(dim);
  }
  return out;
}

/** Product of numeric dims; null as soon as one is not a number. */
export function product(dims: Dim[]): Dim {
  return dims.every(isNum) ? dims.reduce((a: number, b) => a * (b as number), 1) : null;
}

/** Like product(), but one symbolic dim times ones stays that symbol (Size of ['batch', 1]). */
export function dimProduct(dims: Dim[]): Dim {
  const rest = dims.filter((d) => d !== 1);
  if (rest.length === 1) return rest[0];
  return product(rest);
}

/** Number of elements of a fully static shape, else undefined. */
export function staticCount(shape: Dim[] | null | undefined): number | undefined {
  if (!shape) return undefined;
  const n = product(shape);
  return isNum(n) ? n : undefined;
}
