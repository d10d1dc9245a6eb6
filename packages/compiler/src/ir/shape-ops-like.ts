// Shape handlers for ops whose output has an input's shape but an element type from an attribute
// or another input: CastLike, EyeLike, Random*Like, Bernoulli, QuantizeLinear / DequantizeLinear.
import { DataType } from './data-type.js';
import { one } from './shape-dims.js';
import type { ShapeContext, ShapeHandler } from './shape-inference.js';

/** Output shaped like input 0, typed by `elemType(ctx)` (undefined: leave the output unknown). */
const shapedLikeInput = (elemType: (ctx: ShapeContext) => number | undefined): ShapeHandler => (ctx) => {
  const x = ctx.input(0);
  const type = elemType(ctx);
  return one(type === undefined ? undefined : { elemType: type, shape: x ? x.shape : null });
};

/** The `dtype` attribute, or input 0's element type when it is absent. */
const dtypeOrInput = (ctx: ShapeContext): number | undefined => {
  const dtype = ctx.attrInt('dtype', 0);
  return dtype !== 0 ? dtype : ctx.input(0)?.elemType;
};

export const likeHandlers: Readonly<Record<string, ShapeHandler>> = {
  CastLike: shapedLikeInput((ctx) => ctx.input(1)?.elemType),
  EyeLike: shapedLikeInput(dtypeOrInput),
  RandomUniformLike: shapedLikeInput(dtypeOrInput),
  RandomNormalLike: shapedLikeInput(dtypeOrInput),
  Bernoulli: shapedLikeInput(dtypeOrInput),
  // The zero point's type; without one, output_dtype (opset 21) or uint8.
  QuantizeLinear: shapedLikeInput((ctx) => ctx.input(2)?.elemType ?? (ctx.attrInt('output_dtype', 0) || DataType.UINT8)),
  // The scale's type from opset 19; float before.
  DequantizeLinear: shapedLikeInput((ctx) => (ctx.opset >= 19 ? ctx.input(1)?.elemType : DataType.FLOAT)),
};
