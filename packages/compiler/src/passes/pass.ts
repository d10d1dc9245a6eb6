// The pass contract: a pass takes a model and returns `{ model, modified }`. Each pass documents
// whether it mutates its input; the passes here never do (they return new graph objects and share
// untouched nodes and tensors with the input).
import type { Model } from '../ir/types.js';

export interface PassResult {
  model: Model;
  /** False when the returned model is equivalent to (and may be the same object as) the input. */
  modified: boolean;
}

export type Pass<Options = void> = (model: Model, options: Options) => PassResult;
