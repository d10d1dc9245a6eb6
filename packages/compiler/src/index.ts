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
// --- issue 3: cleanup, quantization, fp16, pruning, pass manager (begin) ---
export { removeIdentity } from './passes/remove-identity.js';
export { initializerInputsToConstants } from './passes/initializer-inputs.js';
export { constantToInitializer } from './passes/constant-to-initializer.js';
export { foldConstants } from './passes/fold-constants.js';
export type { FoldConstantsOptions } from './passes/fold-constants.js';
export { constEvaluators } from './passes/constant-eval.js';
export type { ConstEvaluator, ConstValue, EvalContext } from './passes/constant-eval.js';
export { foldBatchNorm } from './passes/fold-batch-norm.js';
export { CLEANUP_PIPELINE, registerPass, registeredPasses, runPipeline } from './passes/manager.js';
export type { AnyPass, PipelineRecord, PipelineResult, PipelineStep } from './passes/manager.js';
export { ActivationHistogram } from './quantize/histogram.js';
export type { RangeMethod, RangeOptions } from './quantize/histogram.js';
export { calibrateModel, calibrationStatistics, floatTensorNames } from './quantize/calibrate.js';
export type { CalibrateOptions, CalibrationData, CalibrationFeed } from './quantize/calibrate.js';
export { activationQParams, quantizeBias, quantizeWeights } from './quantize/qparams.js';
export type { ActivationType, QParams, WeightQuantization } from './quantize/qparams.js';
export { ACTIVATION_FUSERS, quantHandlers } from './quantize/op-table.js';
export type { BiasPlan, QuantContext, QuantHandler, QuantPlan, WeightPlan } from './quantize/op-table.js';
export { quantizeStatic, staticQuantizationTargets } from './passes/quantize-static.js';
export type { QuantizationReport, StaticQuantizeOptions, StaticQuantizeResult } from './passes/quantize-static.js';
export { quantizeStaticCalibrated } from './passes/quantize-calibrated.js';
export type { CalibratedQuantizeOptions, CalibratedQuantizeResult } from './passes/quantize-calibrated.js';
export { quantizeDynamic } from './passes/quantize-dynamic.js';
export type { DynamicQuantizeOptions, DynamicQuantizeResult } from './passes/quantize-dynamic.js';
export { DEFAULT_FP16_BLOCK_LIST, convertToFp16 } from './passes/convert-fp16.js';
export type { Fp16Options, Fp16Result } from './passes/convert-fp16.js';
export { compressedModelSize, pruneMagnitude } from './passes/prune-magnitude.js';
export type { CompressedSize, MagnitudePruneOptions, MagnitudePruneResult } from './passes/prune-magnitude.js';
export { pruneChannels, sliceAxis } from './passes/prune-channels.js';
export type { ChannelPruneOptions, ChannelPruneResult } from './passes/prune-channels.js';
export { analyzeChannels } from './prune/channel-dependencies.js';
export type { ChannelAnalysis, ChannelEdit, ChannelLayout, ChannelSegment } from './prune/channel-dependencies.js';
export { analyzePruningSensitivity } from './prune/sensitivity.js';
export { imageCalibrationSamples, imageToTensor, listImages } from './quantize/image-samples.js';
export type { ImageSampleOptions } from './quantize/image-samples.js';
export type { LayerSensitivity, SensitivityOptions } from './prune/sensitivity.js';
export * from './compile/index.js';
// --- issue 3 (end) ---
