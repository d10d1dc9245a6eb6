// Contracts between the gradient builder and its op table (STYLE item 4).
import type { Node } from '../ir/types.js';
import type { Emitter } from './emitter.js';

/** What a rule sees of one forward node while building the backward graph. */
export interface GradContext {
  readonly node: Node;
  readonly emit: Emitter;
  readonly opset: number;
  /** Static shape of a forward value. */
  shape(value: string): number[];
  /** Gradient of output `i` (already summed over consumers); undefined when nothing downstream needs it. */
  dy(i?: number): string | undefined;
  /** Whether input `i` needs a gradient (a trainable weight lies upstream of it). */
  needsGrad(i: number): boolean;
  /** Values the training-mode forward lowering of this node recorded (batch statistics, masks). */
  saved: Record<string, string>;
  attrInt(name: string, fallback: number): number;
  attrInts(name: string): number[] | undefined;
  attrFloat(name: string, fallback: number): number;
  attrString(name: string, fallback: string): string;
  /** Values of a constant input (initializer or Constant node), e.g. Clip bounds, Dropout ratio. */
  constantInput(i: number): number[] | undefined;
  /** Throws GradientGraphError naming the node. */
  fail(reason: string): never;
}

/** What a training-mode forward lowering sees: it must produce the node's outputs under their names. */
export interface LowerContext extends Omit<GradContext, 'dy' | 'needsGrad' | 'saved'> {
  /** Records a graph output carrying new state for an input (BatchNormalization running stats). */
  stateUpdate(input: string, value: string): void;
  options: TrainingModeOptions;
  /** Position of the node in the forward graph (distinct random seeds per Dropout). */
  readonly nodeIndex: number;
}

export interface TrainingModeOptions {
  /** 'train' (default): batch statistics and running-average updates; 'frozen': running statistics, no update. */
  batchNorm: 'train' | 'frozen';
  /** 'mask' (default): random mask each step; 'identity': Dropout passes values through. */
  dropout: 'mask' | 'identity';
  /** Seed of RandomUniformLike nodes drawing dropout masks. */
  seed: number;
}

/** Input gradients in input order; undefined where the input needs none or has none. */
export type GradientRule = (ctx: GradContext) => (string | undefined)[];

export interface OpGradient {
  backward: GradientRule;
  /** Replaces the node in the training forward graph; returns values `backward` reads as `ctx.saved`. */
  lowerForTraining?: (ctx: LowerContext) => Record<string, string> | undefined;
}
