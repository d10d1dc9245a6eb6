// Spatial geometry shared by Conv / pooling gradient rules: explicit pads (auto_pad resolved for
// the static input shape) and the ConvTranspose that maps an output-shaped gradient back onto
// an input of exactly the forward input's size.
import type { Emitter } from './emitter.js';
import type { GradContext } from './rule-types.js';

export interface Geometry {
  /** Input spatial sizes. */
  size: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin..., end...] as ONNX writes them. */
  pads: number[];
  /** Output spatial sizes. */
  out: number[];
}

export function geometry(ctx: GradContext, inputSpatial: number[], outputSpatial: number[], kernel: number[]): Geometry {
  const rank = inputSpatial.length;
  const strides = ctx.attrInts('strides') ?? new Array<number>(rank).fill(1);
  const dilations = ctx.attrInts('dilations') ?? new Array<number>(rank).fill(1);
  const autoPad = ctx.attrString('auto_pad', 'NOTSET');
  let pads = ctx.attrInts('pads') ?? new Array<number>(2 * rank).fill(0);
  if (autoPad === 'VALID') pads = new Array<number>(2 * rank).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const begin: number[] = [];
    const end: number[] = [];
    for (let i = 0; i < rank; i++) {
      const effective = (kernel[i] - 1) * dilations[i] + 1;
      const total = Math.max(0, (outputSpatial[i] - 1) * strides[i] + effective - inputSpatial[i]);
      const small = Math.floor(total / 2);
      begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
      end.push(total - begin[i]);
    }
    pads = [...begin, ...end];
  }
  return { size: inputSpatial, kernel, strides, dilations, pads, out: outputSpatial };
}

/**
 * ConvTranspose of `g` (forward-output shaped) with weights `w`, sized to the forward input:
 * the remainder the forward conv dropped ((size + pads - effective kernel) mod stride) comes back
 * as output_padding.
 */
export function convTransposeToInput(e: Emitter, g: string, w: string, geo: Geometry, group: number): string {
  const rank = geo.size.length;
  const outputPadding: number[] = [];
  for (let i = 0; i < rank; i++) {
    const natural = geo.strides[i] * (geo.out[i] - 1) + (geo.kernel[i] - 1) * geo.dilations[i] + 1 - geo.pads[i] - geo.pads[i + rank];
    outputPadding.push(geo.size[i] - natural);
  }
  const attrs: Record<string, number[] | number> = {
    strides: geo.strides, dilations: geo.dilations, pads: geo.pads, group, kernel_shape: geo.kernel,
  };
  if (outputPadding.some((p) => p !== 0)) attrs.output_padding = outputPadding;
  return e.op('ConvTranspose', [g, w], attrs);
}
