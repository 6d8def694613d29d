/**
 * Local context of a feature map before matching: a k x k average around
 * every position, zero padding counted in the mean (PyTorch
 * AvgPool2d(k, 1, k // 2), count_include_pad=True). k = 3 is PatchCore's
 * "locally aware patch features"; ResAD's `featurePooling` option applies it
 * to every level before residuals are formed, so a single-cell difference
 * between an image and its references weighs less than a structured one.
 *
 * ```ts
 * const pooled = localAverage(features, 3);   // [B, H, W, C] -> same shape
 * ```
 */
import * as tf from '@tensorflow/tfjs';

/** k x k local mean (k odd; 1 returns a copy). The input is not consumed. */
export function localAverage(x: tf.Tensor4D, k: number): tf.Tensor4D {
  if (!(Number.isInteger(k) && k >= 1 && k % 2 === 1)) throw new Error(`localAverage: window must be an odd positive integer, got ${k}`);
  if (k === 1) return tf.clone(x);
  const r = (k - 1) / 2;
  return tf.tidy(() => {
    // tf's 'same' pooling excludes the padding from the count; explicit zero
    // padding + 'valid' reproduces PyTorch's count_include_pad average exactly.
    const padded = tf.pad(x, [[0, 0], [r, r], [r, r], [0, 0]]);
    return tf.avgPool(padded, k, 1, 'valid') as tf.Tensor4D;
  });
}
