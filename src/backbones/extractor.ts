/**
 * A frozen backbone's forward pass on the fastest engine here: onnxruntime
 * when it loads and the backbone exports to ONNX, else tfjs. Training uses it
 * to featurise its images once (the backbone never trains), and so do the
 * other forward-only jobs that hold tfjs tensors.
 *
 * Why: at 224 px a ResNet50 forward is most of the cost of featurising a
 * training set, and onnxruntime runs it several times faster than tfjs-wasm
 * (docs/ENGINE.md has the measurement). The engine follows the same request
 * as scoring: `--inference` / RESAD_INFERENCE (auto | onnx | tfjs).
 *
 * ```ts
 * const fx = await frozenExtractor(backbone);
 * console.error(fx.description);                 // "features: onnxruntime, 1 thread (backbone ... exported in memory)"
 * const levels = await fx.extract(batch);        // one NHWC tensor per level, caller disposes
 * await fx.release();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from './types';
import { exportBackboneGraph } from './onnx-export';
import { OnnxSession, onOnnxRuntime } from '../engine/onnxruntime';

export interface FrozenExtractor {
  readonly engine: 'onnx' | 'tfjs';
  /** One line for logs: which engine and why. */
  readonly description: string;
  /** NHWC RGB images in [0,1] -> one NHWC feature map per level (same as Backbone.extract). */
  extract(images: tf.Tensor4D): Promise<tf.Tensor4D[]>;
  release(): Promise<void>;
}

function tfjsExtractor(backbone: Backbone, why: string): FrozenExtractor {
  return {
    engine: 'tfjs',
    description: `features: tfjs (${why})`,
    extract: async (images) => backbone.extract(images),
    release: async () => undefined,
  };
}

/** The extractor for `backbone` on the requested engine (default: RESAD_INFERENCE, else auto). */
export async function frozenExtractor(backbone: Backbone, request?: string): Promise<FrozenExtractor> {
  const { value: session, why } = await onOnnxRuntime(request, `backbone ${backbone.name}`, () => OnnxSession.create(exportBackboneGraph(backbone).toBytes()));
  if (session === null) return tfjsExtractor(backbone, why);
  return {
    engine: 'onnx',
    description: `features: onnxruntime, 1 thread (backbone ${backbone.name} exported in memory)`,
    async extract(images) {
      const out = await session.run({ images: { data: images.dataSync() as Float32Array, dims: [...images.shape] } });
      return backbone.levels.map((_, l) => {
        const t = out[`level${l}`];
        return tf.tensor4d(t.data, t.dims as [number, number, number, number]);
      });
    },
    release: () => session.release(),
  };
}
