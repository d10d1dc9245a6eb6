// Helpers for the gradient-rule tests: tiny graphs with seeded weights and a weighted-sum loss.
import assert from 'node:assert/strict';
import { GraphBuilder } from '../ir/builder.js';
import type { Model } from '../ir/types.js';
import { seededRandom } from '../packaging/golden.js';
import { checkGradients } from './gradient-check.js';
import type { GradientCheckOptions, WeightCheck } from './gradient-check.js';

export function randomValues(count: number, seed: number, low = -1, high = 1): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => low + (high - low) * random());
}

export class TinyGraph {
  readonly b = new GraphBuilder('tiny');
  private seed = 1;
  /** A trainable weight with seeded values in [low, high). */
  weight(name: string, dims: number[], low = -1, high = 1): string {
    const count = dims.reduce((a, c) => a * c, 1);
    return this.b.initializer(name, randomValues(count, this.seed++ * 7919, low, high), dims);
  }
  /** A constant (trainable by default too, unless excluded from `trainable`). */
  values(name: string, values: number[], dims: number[]): string {
    return this.b.initializer(name, Float32Array.from(values), dims);
  }
  /** loss = sum(y * R) with fixed random R, so every output element gets a distinct gradient. */
  weightedSumLoss(y: string, dims: number[]): Model {
    const r = this.b.initializer('loss_weights', randomValues(dims.reduce((a, c) => a * c, 1), 99), dims);
    const prod = this.b.node('Mul', [y, r]);
    const loss = this.b.node('ReduceSum', [prod], { keepdims: 0 }, { name: 'loss_sum', outputs: ['objective'] });
    this.b.output(loss, 'float32', []);
    return this.b.build({ opset: 17 });
  }
}

export interface Tolerance {
  /** Largest accepted |analytic - numeric| / max(|analytic|, |numeric|, 1e-3). */
  rel: number;
}

/** Runs checkGradients and asserts every checked element is within tolerance. */
export async function assertGradients(model: Model, options: GradientCheckOptions, tolerance: Tolerance): Promise<WeightCheck[]> {
  const results = await checkGradients(model, options);
  assert.ok(results.length > 0, 'no trainable weights checked');
  for (const r of results) {
    assert.ok(r.checked > 0, `${r.name}: nothing checked`);
    assert.ok(
      r.maxRelError <= tolerance.rel,
      `${r.name}: max relative error ${r.maxRelError.toExponential(2)} (abs ${r.maxAbsError.toExponential(2)}) at element ${r.worst.index}: analytic ${r.worst.analytic}, numeric ${r.worst.numeric}`,
    );
  }
  return results;
}

/** Float64 numeric side: float32 analytic rounding dominates, well under 1e-3 relative. */
export const DOUBLE_TOL: Tolerance = { rel: 2e-3 };
/**
 * Float32 numeric side (ops without CPU double kernels: Conv, ConvTranspose, AveragePool,
 * HardSigmoid, HardSwish): the losses are linear in each checked weight (or smooth between kinks
 * kept away from), so the difference quotient's truncation error vanishes and what is left is
 * float32 rounding of the loss, ~1e-7 * |loss| / eps with eps = 1e-2.
 */
export const FLOAT_TOL: Tolerance = { rel: 2e-2 };
