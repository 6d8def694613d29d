/**
 * Abnormal-invariant OCC loss on the constrained residuals r' = C(r) (ResAD
 * paper §3.2, Eq. 2; spec step 5). Per position i of a level, with y_i = 1 at
 * anomalies (the ground-truth mask downsampled to the level, nearest):
 *
 *   'paper' (DEFAULT):
 *     normalTerm  = mean over normal positions of  | sqrt(||r'_i||_2 + 1) - 1 |
 *                   (a pseudo-Huber pull of normal residuals into a hypersphere)
 *     anomalyTerm = mean over anomaly positions of  || r'_i - r_i ||_2
 *                   (abnormal residuals kept as they are: "abnormal invariant")
 *     loss = normalTerm + anomalyTerm
 *     Each term is averaged over its own positions (as the official
 *     calculate_occ_loss also does), so it does not shrink with how rare
 *     anomalies are; an empty group contributes 0.
 *   'paper-first-term': normalTerm only (ablation "w/o abnormal-invariant term").
 *   'mse-cos': the paper's normalTerm; anomalyTerm = MSE(r'_a, r_a) (mean over
 *     anomalies x channels) + mean_a (1 - cos(r'_a, r_a)), the official code's
 *     abnormal-invariant term. Per element and per direction, so it stays on
 *     the normal term's scale whatever ||r|| is (the 'paper' term ||r' - r||
 *     grows with the residual's norm and, averaged over the few anomalous
 *     positions, dominates the loss).
 *   Any variant: `pushMargin` m > 0 adds mean_a max(0, m - A_a), pushing
 *   anomalies out beyond the sphere (the official barrier's intent, linear).
 *   'logbarrier': the official ResAD++ calculate_log_barrier_bi_occ_loss.
 *     A_i = sqrt(||r'_i|| + 1) - 1;  r_max = min(0.9 min_{anomalies} A, 0.4)
 *     (0.4 without anomalies), r_min = 0.99 r_max.
 *     normalTerm = mean_{normal, A > r_max} softplus(A - r_max) w + mean_{normal, A < r_min} softplus(r_min - A) w
 *                  with w = exp(violation) NOT back-propagated (-log sigmoid(-v) = softplus(v));
 *     anomalyTerm = MSE(r'_a, r_a) (mean over anomalies x channels)
 *                 + mean_a (1 - cos(r'_a, r_a))
 *                 + mean_{anomalies, A < r_max + 0.1} softplus(r_max + 0.1 - A) w   (the code's
 *                   barrier pushing anomalies out of the sphere; `anomalyBarrier: false` drops it)
 *     r_max, the violation sets and the weights are constants (the code uses .item()/.detach()).
 *
 * The target r is a constant (the code detaches it); it never depends on
 * trainable variables here, so no gradient reaches it anyway.
 *
 * Numerics: ||.|| is computed as sqrt(max(sum(x^2), 1e-24)) so that an exactly
 * zero vector (r' = 0 after a ReLU, or r' = r) has gradient 0 instead of NaN
 * (PyTorch's norm gives 0 there too); values differ by at most 1e-12.
 *
 * ```ts
 * const c = createConstraintor('conv-bn-relu', channels, 0);
 * const opt = tf.train.adam(1e-5);
 * opt.minimize(() => {
 *   const rp = c.apply(residuals, true);
 *   return occLossLevels(rp, residuals, levelMasks, { variant: 'paper' }).loss;
 * }, false, c.trainableVariables);
 * ```
 */
import * as tf from '@tensorflow/tfjs';

import { OCC_VARIANTS, OccVariant } from './kinds';
export { OCC_VARIANTS, OccVariant };

export const DEFAULT_OCC_VARIANT: OccVariant = 'paper';

export interface OccLossOptions {
  /** Default 'paper'. */
  variant?: OccVariant;
  /** 'logbarrier' only: include the code's push of anomalies beyond r_max + 0.1. Default true (as the code). */
  anomalyBarrier?: boolean;
  /** Push anomalies to A >= m (see module doc); 0 / absent = off. */
  pushMargin?: number;
}

/** Loss value (differentiable) and its two parts as plain numbers (for logging). */
export type OccLossResult = {
  loss: tf.Scalar;
  normalTerm: number;
  anomalyTerm: number;
};

/** Per-position anomaly flags: a tensor or array of N values, > 0.5 = anomaly. */
export type AnomalyFlags = tf.Tensor | ArrayLike<number>;

const NORM_FLOOR = 1e-24;
/** PyTorch F.cosine_similarity eps. */
const COS_EPS = 1e-8;
const R_MAX_CAP = 0.4;
const R_MIN_RATIO = 0.99;
const ANOMALY_MARGIN = 0.1;

/** [N] L2 norms of the rows, with gradient 0 (not NaN) at zero rows. */
function safeRowNorm(x: tf.Tensor2D): tf.Tensor1D {
  return tf.sqrt(tf.maximum(tf.sum(tf.square(x), 1), NORM_FLOOR)) as tf.Tensor1D;
}

function flagsToArray(flags: AnomalyFlags, n: number): Uint8Array {
  const values = flags instanceof tf.Tensor ? flags.dataSync() : flags;
  if (values.length !== n) throw new Error(`occLoss: ${values.length} anomaly flags for ${n} positions`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i] > 0.5 ? 1 : 0;
  return out;
}

/** sum(values * weights) / count, or 0 when count is 0. weights are constants. */
function weightedMean(values: tf.Tensor1D, weights: Float32Array, count: number): tf.Scalar {
  if (count === 0) return tf.scalar(0);
  return tf.div(tf.sum(tf.mul(values, tf.tensor1d(weights))), count) as tf.Scalar;
}

/**
 * OCC loss of one level, rows = positions. `constrained` r' and `original` r
 * are [N, C]; `isAnomaly` has N flags. Inputs are not consumed.
 */
export function occLoss(
  constrained: tf.Tensor2D,
  original: tf.Tensor2D,
  isAnomaly: AnomalyFlags,
  options: OccLossOptions = {},
): OccLossResult {
  const variant = options.variant ?? DEFAULT_OCC_VARIANT;
  if (!OCC_VARIANTS.includes(variant)) {
    throw new Error(`occLoss: unknown variant '${String(variant)}'`);
  }
  if (constrained.rank !== 2 || original.rank !== 2 || constrained.shape.some((d, i) => d !== original.shape[i])) {
    throw new Error(`occLoss: constrained [${constrained.shape}] and original [${original.shape}] must both be [N, C]`);
  }
  const [n, c] = constrained.shape;
  const flags = flagsToArray(isAnomaly, n);
  let nAnomalies = 0;
  for (let i = 0; i < n; i++) nAnomalies += flags[i];
  const nNormal = n - nAnomalies;
  const normalMask = Float32Array.from(flags, (f) => 1 - f);
  const anomalyMask = Float32Array.from(flags);

  const pushMargin = options.pushMargin ?? 0;
  if (!(pushMargin >= 0)) throw new Error(`occLoss: pushMargin must be >= 0, got ${pushMargin}`);
  // MSE over anomalies x channels, and mean (1 - cos) over anomalies: the official abnormal-invariant term.
  const mseTerm = (): tf.Scalar => weightedMean(tf.sum(tf.square(tf.sub(constrained, original)), 1) as tf.Tensor1D, anomalyMask, nAnomalies * c);
  const cosineTerm = (): tf.Scalar => {
    const dot = tf.sum(tf.mul(constrained, original), 1);
    const normProd = tf.sqrt(tf.maximum(tf.mul(tf.sum(tf.square(constrained), 1), tf.sum(tf.square(original), 1)), COS_EPS * COS_EPS));
    return weightedMean(tf.sub(1, tf.div(dot, normProd)) as tf.Tensor1D, anomalyMask, nAnomalies);
  };

  const terms = tf.tidy(() => {
    const radius = tf.sub(tf.sqrt(tf.add(safeRowNorm(constrained), 1)), 1) as tf.Tensor1D; // A, >= 0
    const push = (term: tf.Scalar): tf.Scalar =>
      pushMargin > 0 && nAnomalies > 0 ? (tf.add(term, weightedMean(tf.relu(tf.sub(pushMargin, radius)) as tf.Tensor1D, anomalyMask, nAnomalies)) as tf.Scalar) : term;
    if (variant !== 'logbarrier') {
      const normalTerm = weightedMean(tf.abs(radius), normalMask, nNormal);
      let anomalyTerm: tf.Scalar = tf.scalar(0);
      if (variant === 'paper') anomalyTerm = weightedMean(safeRowNorm(tf.sub(constrained, original)), anomalyMask, nAnomalies);
      if (variant === 'mse-cos' && nAnomalies > 0) anomalyTerm = tf.add(mseTerm(), cosineTerm()) as tf.Scalar;
      return [normalTerm, push(anomalyTerm)];
    }

    // ResAD++ log-barrier variant: the radii are read once (r_max, violation sets, detached weights).
    const a = radius.dataSync();
    let minAnomaly = Infinity;
    for (let i = 0; i < n; i++) if (flags[i] === 1) minAnomaly = Math.min(minAnomaly, a[i]);
    const rMax = nAnomalies > 0 ? Math.min(0.9 * minAnomaly, R_MAX_CAP) : R_MAX_CAP;
    const rMin = R_MIN_RATIO * rMax;
    const boundary = rMax + ANOMALY_MARGIN;
    const wAbove = new Float32Array(n);
    const wBelow = new Float32Array(n);
    const wPush = new Float32Array(n);
    let nAbove = 0;
    let nBelow = 0;
    let nPush = 0;
    for (let i = 0; i < n; i++) {
      if (flags[i] === 0) {
        if (a[i] > rMax) {
          wAbove[i] = Math.exp(a[i] - rMax);
          nAbove++;
        }
        if (a[i] < rMin) {
          wBelow[i] = Math.exp(rMin - a[i]);
          nBelow++;
        }
      } else if (a[i] < boundary) {
        wPush[i] = Math.exp(boundary - a[i]);
        nPush++;
      }
    }
    const normalTerm = tf.add(
      weightedMean(tf.softplus(tf.sub(radius, rMax)) as tf.Tensor1D, wAbove, nAbove),
      weightedMean(tf.softplus(tf.sub(rMin, radius)) as tf.Tensor1D, wBelow, nBelow),
    ) as tf.Scalar;
    if (nAnomalies === 0) return [normalTerm, tf.scalar(0)];
    let anomalyTerm = tf.add(mseTerm(), cosineTerm()) as tf.Scalar;
    if (options.anomalyBarrier ?? true) {
      anomalyTerm = tf.add(anomalyTerm, weightedMean(tf.softplus(tf.sub(boundary, radius)) as tf.Tensor1D, wPush, nPush));
    }
    return [normalTerm, push(anomalyTerm)];
  });

  const [normalTerm, anomalyTerm] = terms;
  const loss = tf.add(normalTerm, anomalyTerm) as tf.Scalar;
  const result = { loss, normalTerm: normalTerm.dataSync()[0], anomalyTerm: anomalyTerm.dataSync()[0] };
  tf.dispose(terms);
  return result;
}

export interface OccLevelsOptions extends OccLossOptions {
  /** How levels combine: 'mean' (spec: averaged over levels, DEFAULT) or 'sum' (official code). */
  levelReduction?: 'mean' | 'sum';
}

/** Multi-level result; `perLevel` holds each level's plain-number terms. */
export type OccLevelsResult = OccLossResult & {
  perLevel: Array<{ normalTerm: number; anomalyTerm: number }>;
};

/**
 * OCC loss over all levels. `constrained`/`original`: per level [B, H, W, C];
 * `masks`: per level B*H*W anomaly flags in NHW order (see maskToLevel), or
 * null when every position is normal.
 */
export function occLossLevels(
  constrained: readonly tf.Tensor4D[],
  original: readonly tf.Tensor4D[],
  masks: ReadonlyArray<AnomalyFlags> | null,
  options: OccLevelsOptions = {},
): OccLevelsResult {
  if (constrained.length !== original.length || constrained.length === 0) {
    throw new Error(`occLossLevels: ${constrained.length} constrained vs ${original.length} original levels`);
  }
  if (masks !== null && masks.length !== constrained.length) throw new Error(`occLossLevels: ${masks.length} masks for ${constrained.length} levels`);
  const reduction = options.levelReduction ?? 'mean';
  const scale = reduction === 'mean' ? 1 / constrained.length : 1;
  const perLevel: Array<{ normalTerm: number; anomalyTerm: number }> = [];
  const loss = tf.tidy(() => {
    const losses = constrained.map((rp, l) => {
      const c = rp.shape[3];
      const n = rp.shape[0] * rp.shape[1] * rp.shape[2];
      const flags = masks === null ? new Uint8Array(n) : masks[l];
      const res = occLoss(tf.reshape(rp, [n, c]), tf.reshape(original[l], [n, c]), flags, options);
      perLevel.push({ normalTerm: res.normalTerm, anomalyTerm: res.anomalyTerm });
      return res.loss;
    });
    return tf.mul(tf.addN(losses), scale) as tf.Scalar;
  });
  const sum = (key: 'normalTerm' | 'anomalyTerm'): number => perLevel.reduce((s, p) => s + p[key], 0) * scale;
  return { loss, normalTerm: sum('normalTerm'), anomalyTerm: sum('anomalyTerm'), perLevel };
}

/**
 * Ground-truth mask -> one level's grid by nearest-neighbour sampling, as
 * PyTorch F.interpolate(mode='nearest') (source index floor(dst * in / out)).
 * `mask`: [B, H, W] or [B, H, W, 1]; returns [B, h, w] float32 (caller disposes).
 */
export function maskToLevel(mask: tf.Tensor3D | tf.Tensor4D, height: number, width: number): tf.Tensor3D {
  return tf.tidy(() => {
    const m4 = (mask.rank === 3 ? tf.expandDims(mask, 3) : mask) as tf.Tensor4D;
    // alignCorners=false, halfPixelCenters=false is exactly floor(dst * in / out).
    const r = tf.image.resizeNearestNeighbor(tf.cast(m4, 'float32'), [height, width], false, false);
    return tf.squeeze(r, [3]) as tf.Tensor3D;
  });
}
