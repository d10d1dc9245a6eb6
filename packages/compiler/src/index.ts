// Public surface of @edgeloop/compiler.
export * from './errors.js';
export { DataType, dataTypeName, dataTypeFromName, dataTypeBits, dataTypeByteLength } from './ir/data-type.js';
export type { DataTypeCode, DTypeName } from './ir/data-type.js';
export type {
  Attribute, AttributeType, Dim, ExternalDataRef, Graph, Int64, Model, Node, OpaqueProto, OpsetImport, StringEntry,
  Tensor, ValueInfo, ValueType,
} from './ir/types.js';
export { createTensor, tensorElementCount, tensorStrings, tensorToNumbers, tensorToTypedArray } from './ir/tensor.js';
export type { TypedArray } from './ir/tensor.js';
export {
  consumerMap, initializerMap, nodeLabel, nodeReads, nodeSubgraphs, opsetVersion, outerScopeReferences, producerMap,
} from './ir/graph.js';
export { decodeModel, decodeTensor, encodeModel, encodeTensor } from './ir/serde.js';
export type { DecodeOptions } from './ir/serde.js';
export { loadModel, loadModelSync, saveModel, saveModelSync } from './ir/model-file.js';
export type { SaveOptions } from './ir/model-file.js';
export { GraphBuilder, attr, toAttribute } from './ir/builder.js';
export type { AttributeInput, BuildOptions, NodeOptions } from './ir/builder.js';
export { inferShapes } from './ir/shape-inference.js';
export type { InferShapesOptions, InferShapesResult, ShapeContext, ShapeHandler, ShapeResult, TensorInfo } from './ir/shape-inference.js';
export { shapeHandlers, broadcastShapes } from './ir/shape-ops.js';
export { summarizeModel } from './ir/summary.js';
export type { ModelSummary, ValueSummary } from './ir/summary.js';
export type { Pass, PassResult } from './passes/pass.js';
export { topologicalSort, sortGraph } from './passes/topological-sort.js';
export { removeDeadCode, removeDeadCodeInGraph } from './passes/remove-dead-code.js';
export { bundleModel } from './packaging/bundle-model.js';
export type { BundleModelOptions, BundledModel } from './packaging/bundle-model.js';
export { makeGoldenPairs, makeGoldenInput, seededRandom } from './packaging/golden.js';
export type { GoldenInputSpec, GoldenPair, GoldenTensor } from './packaging/golden.js';
export {
  METADATA_KEYS, concreteShape, manifestShape, modelIo, readEdgeloopMetadata, resolvePreprocessing,
} from './packaging/model-io.js';
export type { EdgeloopMetadata, ModelIo } from './packaging/model-io.js';
export * from './autodiff/index.js';
