/**
 * Helpers shared by the backbone implementations: input normalisation,
 * stride inference from a probe run, a base class that implements the parts
 * of the Backbone contract that do not depend on the network (input checks,
 * featureSizes cache, tidy/dispose bookkeeping).
 *
 * Why a base class: every backbone must check the same input contract and
 * must not leak tensors; doing it once keeps the implementations to "build the
 * network, run it".
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone, FeatureLevelInfo, InputNormalization } from './types';

/** ImageNet statistics (torchvision / timm) for inputs in [0,1]. */
export const IMAGENET_NORMALIZATION: InputNormalization = Object.freeze({
  scale: 1,
  mean: [0.485, 0.456, 0.406] as const,
  std: [0.229, 0.224, 0.225] as const,
});

/** Inputs go to the network unchanged. */
export const IDENTITY_NORMALIZATION: InputNormalization = Object.freeze({
  scale: 1,
  mean: [0, 0, 0] as const,
  std: [1, 1, 1] as const,
});

/** Completes a partial normalisation with identity defaults and validates it. */
export function resolveNormalization(n: Partial<InputNormalization> | undefined, where: string): InputNormalization {
  const out: InputNormalization = {
    scale: n?.scale ?? 1,
    mean: n?.mean ?? [0, 0, 0],
    std: n?.std ?? [1, 1, 1],
  };
  const finite = (v: number): boolean => Number.isFinite(v);
  if (!finite(out.scale) || out.scale === 0) throw new Error(`${where}: input.scale must be a finite non-zero number, got ${out.scale}`);
  if (out.mean.length !== 3 || !out.mean.every(finite)) throw new Error(`${where}: input.mean must be 3 finite numbers, got ${JSON.stringify(out.mean)}`);
  if (out.std.length !== 3 || !out.std.every((v) => finite(v) && v !== 0)) {
    throw new Error(`${where}: input.std must be 3 finite non-zero numbers, got ${JSON.stringify(out.std)}`);
  }
  return out;
}

function isIdentity(n: InputNormalization): boolean {
  return n.scale === 1 && n.mean.every((v) => v === 0) && n.std.every((v) => v === 1);
}

/** (x * scale - mean) / std as one multiply-add (x * a + b per channel). */
export function applyNormalization(x: tf.Tensor4D, n: InputNormalization): tf.Tensor4D {
  if (isIdentity(n)) return x;
  return tf.tidy(() => {
    const a = tf.tensor1d(n.std.map((s) => n.scale / s));
    const b = tf.tensor1d(n.mean.map((m, i) => -m / n.std[i]));
    return tf.add(tf.mul(x, a), b) as tf.Tensor4D;
  });
}

/** Nearest power of two of probe / featureSize (valid-padding nets give e.g. 224/52 = 4.3 -> 4). */
export function inferStride(inputSize: number, featureSize: number): number {
  if (featureSize <= 0) return inputSize;
  return 2 ** Math.round(Math.log2(inputSize / featureSize));
}

/**
 * Base class: subclasses set name/levels/normalisation and implement
 * `forward` (normalised NHWC -> per-level NHWC, inside a tidy) and `release`.
 */
export abstract class BaseBackbone implements Backbone {
  abstract readonly name: string;
  abstract readonly levels: readonly FeatureLevelInfo[];
  abstract readonly inputNormalization: InputNormalization;
  private readonly sizeCache = new Map<string, Array<[number, number]>>();
  private disposed = false;

  /** The network on already-normalised input; called inside tf.tidy. */
  protected abstract forward(x: tf.Tensor4D): tf.Tensor4D[];
  /** Frees the network's weights. */
  protected abstract release(): void;

  extract(images: tf.Tensor4D): tf.Tensor4D[] {
    if (this.disposed) throw new Error(`backbone ${this.name}: extract() after dispose()`);
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw new Error(`backbone ${this.name}: extract() wants NHWC RGB images [N, H, W, 3], got shape [${images.shape.join(', ')}]`);
    }
    if (images.dtype !== 'float32') throw new Error(`backbone ${this.name}: extract() wants float32 images in [0,1], got ${images.dtype}`);
    return tf.tidy(() => {
      const outs = this.forward(applyNormalization(images, this.inputNormalization));
      if (outs.length !== this.levels.length) {
        throw new Error(`backbone ${this.name}: network returned ${outs.length} maps for ${this.levels.length} levels`);
      }
      return outs;
    });
  }

  featureSizes(height: number, width: number): Array<[number, number]> {
    const key = `${height}x${width}`;
    let sizes = this.sizeCache.get(key);
    if (!sizes) {
      const outs = tf.tidy(() => this.extract(tf.zeros([1, height, width, 3]) as tf.Tensor4D));
      sizes = outs.map((o) => [o.shape[1], o.shape[2]] as [number, number]);
      tf.dispose(outs);
      this.sizeCache.set(key, sizes);
    }
    return sizes.map((s) => [s[0], s[1]] as [number, number]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.release();
  }
}

/**
 * Probes a network with one zero image of probeSize x probeSize and returns
 * the level infos (channels from the outputs, strides inferred). Errors name
 * the level whose output is not a 4-D map.
 */
export function probeLevels(
  where: string,
  names: readonly string[],
  run: (x: tf.Tensor4D) => tf.Tensor[],
  probeHeight: number,
  probeWidth: number,
): FeatureLevelInfo[] {
  const outs = tf.tidy(() => run(tf.zeros([1, probeHeight, probeWidth, 3]) as tf.Tensor4D));
  try {
    return names.map((name, i) => {
      const o = outs[i];
      if (!o || o.rank !== 4) {
        throw new Error(`${where}: level '${name}' is not a 4-D NHWC feature map (its output has shape [${o?.shape.join(', ') ?? '?'}])`);
      }
      return { name, channels: o.shape[3] as number, stride: inferStride(Math.min(probeHeight, probeWidth), Math.min(o.shape[1] as number, o.shape[2] as number)) };
    });
  } finally {
    tf.dispose(outs);
  }
}
