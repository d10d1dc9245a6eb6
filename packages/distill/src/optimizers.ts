// Optimizers updating Float32Array weights in place from gradients returned by the training graph.
// Weight decay skips 1-D tensors (biases, BatchNorm scale/shift) unless `decayAll` is set.
import { TrainingConfigError } from './errors.js';

export type OptimizerSpec =
  | { kind: 'sgd'; momentum?: number; nesterov?: boolean; weightDecay?: number; decayAll?: boolean }
  | { kind: 'adam'; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number; decayAll?: boolean };

export interface Parameter {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Serializable optimizer state (moment buffers by parameter name, step count). */
export interface OptimizerState {
  step: number;
  buffers: Record<string, Float32Array[]>;
}

export interface Optimizer {
  readonly spec: OptimizerSpec;
  /** Applies one update with learning rate `lr`. */
  step(params: readonly Parameter[], grads: ReadonlyMap<string, Float32Array>, lr: number): void;
  state(): OptimizerState;
  load(state: OptimizerState): void;
}

function decays(spec: OptimizerSpec, p: Parameter): number {
  const wd = spec.weightDecay ?? 0;
  return wd > 0 && (spec.decayAll || p.shape.length > 1) ? wd : 0;
}

/** SGD with (Nesterov) momentum and L2 weight decay added to the gradient, as PyTorch's SGD. */
class Sgd implements Optimizer {
  private velocity = new Map<string, Float32Array>();
  private steps = 0;
  constructor(readonly spec: Extract<OptimizerSpec, { kind: 'sgd' }>) {}
  step(params: readonly Parameter[], grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    const mu = this.spec.momentum ?? 0.9;
    const nesterov = this.spec.nesterov ?? false;
    for (const p of params) {
      const g = grads.get(p.name);
      if (!g) continue;
      const wd = decays(this.spec, p);
      let v = this.velocity.get(p.name);
      if (!v) this.velocity.set(p.name, (v = new Float32Array(g.length)));
      const w = p.values;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] + wd * w[i];
        const vi = mu * v[i] + gi;
        v[i] = vi;
        w[i] -= lr * (nesterov ? gi + mu * vi : vi);
      }
    }
    this.steps++;
  }
  state(): OptimizerState {
    return { step: this.steps, buffers: Object.fromEntries([...this.velocity].map(([k, v]) => [k, [v]])) };
  }
  load(state: OptimizerState): void {
    this.steps = state.step;
    this.velocity = new Map(Object.entries(state.buffers).map(([k, [v]]) => [k, Float32Array.from(v)]));
  }
}

/** Adam with decoupled weight decay (AdamW) when weightDecay > 0. */
class Adam implements Optimizer {
  private moments = new Map<string, [Float32Array, Float32Array]>();
  private steps = 0;
  constructor(readonly spec: Extract<OptimizerSpec, { kind: 'adam' }>) {}
  step(params: readonly Parameter[], grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    const b1 = this.spec.beta1 ?? 0.9;
    const b2 = this.spec.beta2 ?? 0.999;
    const eps = this.spec.epsilon ?? 1e-8;
    this.steps++;
    const c1 = 1 - b1 ** this.steps;
    const c2 = 1 - b2 ** this.steps;
    for (const p of params) {
      const g = grads.get(p.name);
      if (!g) continue;
      const wd = decays(this.spec, p);
      let pair = this.moments.get(p.name);
      if (!pair) this.moments.set(p.name, (pair = [new Float32Array(g.length), new Float32Array(g.length)]));
      const [m, v] = pair;
      const w = p.values;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= lr * ((m[i] / c1) / (Math.sqrt(v[i] / c2) + eps) + wd * w[i]);
      }
    }
  }
  state(): OptimizerState {
    return { step: this.steps, buffers: Object.fromEntries([...this.moments].map(([k, pair]) => [k, [...pair]])) };
  }
  load(state: OptimizerState): void {
    this.steps = state.step;
    this.moments = new Map(Object.entries(state.buffers).map(([k, [m, v]]) => [k, [Float32Array.from(m), Float32Array.from(v)]]));
  }
}

export function createOptimizer(spec: OptimizerSpec): Optimizer {
  if (spec.kind === 'sgd') return new Sgd(spec);
  if (spec.kind === 'adam') return new Adam(spec);
  throw new TrainingConfigError(`unknown optimizer ${(spec as { kind: string }).kind}`);
}
