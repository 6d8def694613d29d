/**
 * Compute engine layer: backend selection (tfjs-node-gpu -> tfjs-node -> wasm
 * -> cpu, RESAD_BACKEND to force one), the wasm training kernels, and the
 * heavy kernels that onnxruntime-node runs inside wasm (RESAD_ONNX_KERNELS).
 *
 * ```ts
 * import { initEngine, describeEngine } from './engine';
 * await initEngine();                  // prints "[resad] engine: tfjs 4.22.0 on wasm (...)"
 * record.engine = describeEngine();
 * ```
 */
export {
  BACKEND_ENV_VAR,
  BACKEND_REQUESTS,
  currentEngine,
  describeEngine,
  initEngine,
  resetEngine,
} from './backend';
export type { BackendRequest, EngineInfo, EngineOptions } from './backend';
export {
  DEFAULT_FILTER_GRAD,
  MATMUL_REWRITE_MIN_WORK,
  WASM_TRAINING_KERNELS,
  batchMatMulRoute,
  patchedWasmKernels,
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
} from './wasm-kernels';
export type { FilterGradStrategy, MatMulRoute, WasmKernelOptions } from './wasm-kernels';
export {
  ONNX_KERNELS,
  ONNX_KERNELS_ENV_VAR,
  ONNX_KERNEL_MIN_WORK,
  onnxKernelCalls,
  onnxKernelsActive,
  onnxKernelsProblem,
  onnxKernelsRuntime,
  registerOnnxKernels,
  unregisterOnnxKernels,
} from './onnx-kernels';
