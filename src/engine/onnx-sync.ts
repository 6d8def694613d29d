/**
 * Synchronous onnxruntime-node sessions, for work that must return at once:
 * tfjs kernels (onnx-kernels.ts) and the fused flow update of training
 * (src/flow/onnx-flow-grad.ts).
 *
 * Why not the public API: onnxruntime-node's `session.run` returns a Promise,
 * but the native binding under it runs synchronously (the public wrapper
 * only defers it with setImmediate). This module calls that binding, pinned
 * to the onnxruntime-node version in package.json, and reports a clear
 * reason when the binding is not what it expects (callers then stay on tfjs).
 *
 * ```ts
 * const s = syncSession(graph.toBytes());          // throws when onnxruntime-node is missing
 * const { y } = s.run({ x: { data, dims: [2, 3] } }, ['y']);
 * ```
 */
import * as tf from '@tensorflow/tfjs';

/** A float32 array and its shape, as sessions take and give them. */
export interface SyncTensor {
  data: Float32Array;
  dims: readonly number[];
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: Record<string, unknown>): Record<string, SyncTensor>;
  dispose?(): void;
}
interface OrtTensorCtor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): unknown;
}

let runtime: { Session: new () => NativeSession; Tensor: OrtTensorCtor; version: string } | null | undefined;
let problem = '';

function load(): typeof runtime {
  if (runtime !== undefined) return runtime;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('onnxruntime-node/dist/binding') as { binding?: { InferenceSession?: new () => NativeSession }; initOrt?: () => void };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as { Tensor: OrtTensorCtor };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const version = (require('onnxruntime-node/package.json') as { version: string }).version;
    const Session = mod.binding?.InferenceSession;
    if (typeof mod.initOrt !== 'function' || typeof Session !== 'function') throw new Error(`onnxruntime-node ${version}'s binding has another shape than 1.30's (no initOrt / InferenceSession)`);
    mod.initOrt();
    runtime = { Session, Tensor: ort.Tensor, version };
  } catch (err) {
    runtime = null;
    problem = (err as Error).message.split('\n')[0];
  }
  return runtime;
}

/** Why synchronous sessions cannot be made here, or null when they can. */
export function syncOnnxProblem(): string | null {
  return load() === null ? `onnxruntime-node's synchronous binding could not be loaded (${problem})` : null;
}

/** onnxruntime-node's version, or null when it cannot be loaded. */
export function syncOnnxVersion(): string | null {
  return load()?.version ?? null;
}

/** A loaded model, one thread, run synchronously. */
export class SyncSession {
  private constructor(private readonly native: NativeSession, private readonly Tensor: OrtTensorCtor) {}

  static create(model: Uint8Array): SyncSession {
    const rt = load();
    if (rt == null) throw new Error(syncOnnxProblem()!);
    const native = new rt.Session();
    native.loadModel(model.buffer, model.byteOffset, model.byteLength, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    return new SyncSession(native, rt.Tensor);
  }

  /**
   * Runs the model; inputs are read in place (views into another heap are
   * fine while this runs). An output given as a SyncTensor is written into
   * its array (no allocation, no copy); one given by name comes back new.
   */
  run(feeds: Record<string, SyncTensor>, outputs: readonly string[] | Record<string, SyncTensor>): Record<string, SyncTensor> {
    const inputs: Record<string, unknown> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new this.Tensor('float32', t.data, t.dims);
    const fetches: Record<string, unknown> = {};
    if (Array.isArray(outputs)) for (const name of outputs) fetches[name] = null;
    else for (const [name, t] of Object.entries(outputs as Record<string, SyncTensor>)) fetches[name] = new this.Tensor('float32', t.data, t.dims);
    return this.native.run(inputs, fetches as Record<string, null>, {});
  }

  dispose(): void {
    this.native.dispose?.();
  }
}

/** What the wasm backend offers for in-place access (public methods of BackendWasm). */
interface WasmBackendLike {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * A float32 tensor's values without a copy when it lives on the wasm heap
 * (valid until the next tfjs allocation, which may grow the heap), else a
 * copy from dataSync.
 */
export function tensorValues(t: tf.TensorInfo): Float32Array {
  const backend = tf.engine().backendName === 'wasm' ? (tf.backend() as unknown as Partial<WasmBackendLike>) : null;
  if (backend?.typedArrayFromHeap) return backend.typedArrayFromHeap(t);
  return (t instanceof tf.Tensor ? t : tf.engine().makeTensorFromTensorInfo(t)).dataSync() as Float32Array;
}
