// Initializers listed as graph inputs (PyTorch's keep_initializers_as_inputs, opset <= 8 habits)
// are, by ONNX semantics, defaults a caller may override, so every pass must treat them as
// unknown values: BatchNormalization does not fold, Conv weights do not quantize. A compiled
// bundle is fed only its real inputs, so compile makes them constants by dropping them from the
// graph inputs. First step of CLEANUP_PIPELINE, so the graph it returns takes only its real
// inputs. Does not mutate its input.
import type { Model } from '../ir/types.js';
import type { PassResult } from './pass.js';

export function initializerInputsToConstants(model: Model): PassResult {
  const initializers = new Set(model.graph.initializers.map((t) => t.name));
  const inputs = model.graph.inputs.filter((v) => !initializers.has(v.name));
  if (inputs.length === model.graph.inputs.length) return { model, modified: false };
  return { model: { ...model, graph: { ...model.graph, inputs } }, modified: true };
}
