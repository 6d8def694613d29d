/** ONNX export of trained models and onnxruntime inference (docs/ONNX.md). */
export { OnnxGraph, float as onnxFloat, floats as onnxFloats } from '../util/onnx-graph';
export type { AttrValue } from '../util/onnx-graph';
export { ONNX_IR_VERSION, ONNX_OPSET, decodeModel, encodeModel } from '../util/onnx-proto';
export { EXPORTABLE_LAYER_CLASSES, addBackbone, exportBackboneGraph } from '../backbones/onnx-export';
export { ONNX_METADATA_KEY, addConstraintorLevel, exportResADGraph, exportResADOnnx, mapOperator } from './resad';
export type { OnnxModelInfo, OnnxModelInfoBase, PatchCoreOnnxInfo, ResADOnnxInfo } from './resad';
export { exportPatchCoreGraph, exportPatchCoreOnnx } from './patchcore';
export type { PatchCoreExportOptions } from './patchcore';
export { OnnxSession, onnxRuntime, onnxRuntimeProblem } from '../engine/onnxruntime';
export type { FloatTensor } from '../engine/onnxruntime';
export { OnnxResADRunner, onnxResADScorer, readOnnxModelInfo } from './scorer';
export { INFERENCE_ENV_VAR, INFERENCE_REQUESTS, onnxFileScorer, plannedInference, resadRunnerWith, resadScorerWith, resolveInferenceRequest } from './select';
export type { InferenceEngine, InferenceRequest, ScorerChoice } from './select';
