/**
 * The official code's ("ResAD++") extra flow losses, offered as an option
 * (`flowLoss: 'resad++'`) beside the paper's ML + BG-SPP:
 *
 * - anomalies get their own Gaussian N(1, I) in latent space:
 *   log p_a(x) = (log N(z; 1, I) + log|det J|) / C;
 * - ML terms are wrapped in log-sigmoid: -mean(log sigmoid(logp));
 * - a focal loss (gamma 2, label smoothing 1e-5) classifies each position as
 *   normal/anomalous from softmax([logp_n, logp_a]);
 * - BG-SPP uses the log-barrier form (softplus of the violation, averaged over
 *   violators) — `bgSppLoss(..., { reduction: 'mean-violators', penalty: 'softplus' })`.
 *
 * ```ts
 * const { z, logdet } = flow.forward(x, cond);
 * const logpA = abnormalLogProbPerDim(z, logdet);
 * const loss = focalLoss(tf.softmax(tf.stack([logpN, logpA], 1)), flags);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { LOG_2PI } from './conditional-flow';

/** (log N(z; 1, I) + logdet) / C, per row. */
export function abnormalLogProbPerDim(z: tf.Tensor2D, logdet: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const c = z.shape[1];
    const logN1 = tf.sub(tf.mul(tf.sum(tf.square(tf.sub(z, 1)), 1), -0.5), 0.5 * c * LOG_2PI);
    return tf.div(tf.add(logN1, logdet), c) as tf.Tensor1D;
  });
}

/** -mean(log sigmoid(logp)) over the rows where `weights` is 1 (all rows when omitted); 0 when none. */
export function logSigmoidMlLoss(logp: tf.Tensor1D, weights?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    // -log sigmoid(x) = softplus(-x); tf.logSigmoid's gradient breaks on the wasm backend.
    const nll = tf.softplus(tf.neg(logp));
    if (!weights) return tf.mean(nll) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(nll, weights)), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  });
}

/**
 * Binary focal loss on class probabilities [N, 2] (column 1 = anomalous), as
 * the FocalLoss the official code uses: one-hot targets clamped to
 * [smooth, 1 - smooth], p_t = sum(onehot * p) + smooth, loss = -(1 - p_t)^gamma log p_t, mean.
 */
export function focalLoss(probs: tf.Tensor2D, isAnomaly: tf.Tensor1D, gamma = 2, smooth = 1e-5): tf.Scalar {
  if (probs.shape[1] !== 2) throw new Error(`focalLoss: probabilities must be [N, 2], got [${probs.shape}]`);
  return tf.tidy(() => {
    const t = tf.cast(isAnomaly, 'float32');
    const oneHot = tf.clipByValue(tf.stack([tf.sub(1, t), t], 1), smooth, 1 - smooth);
    const pt = tf.add(tf.sum(tf.mul(oneHot, probs), 1), smooth);
    return tf.mean(tf.mul(tf.neg(tf.pow(tf.sub(1, pt), gamma)), tf.log(pt))) as tf.Scalar;
  });
}
