/**
 * Losses of ResAD's feature distribution estimator (spec step 7; paper Eq. 4-5,
 * inherited from BGAD, Yao et al. CVPR 2023), on per-position log-likelihoods
 * normalised by the channel count C_l (`ConditionalFlow.logProbPerDim`):
 *
 *   L_ml     = -mean_{normal i} logp_i                                         (Eq. 4)
 *   L_bg-spp = sum_{normal i} |min(logp_i - b_n, 0)|
 *            + sum_{anomalous j} |max(logp_j - b_n + tau, 0)|                  (Eq. 5)
 *
 * b_n is the beta-quantile (beta = 0.05) of the normal logps of the batch,
 * smoothed by an exponential moving average (momentum 0.9): `BoundaryEstimator`.
 * It is computed from values read off the device, so no gradient flows into it.
 * Normals below b_n are pulled up to it ("semi-pull": only the low tail),
 * anomalies above b_n - tau are pushed below it.
 *
 * Sums vs means: the paper writes sums (Eq. 5), which is the default here
 * (`reduction: 'sum'`). The official code (ResAD losses/loss.py and BGAD
 * losses.py) instead takes the MEAN over the violating positions only, and
 * ResAD's improved code wraps each violation v in -log sigmoid(-v) = softplus(v)
 * ("log barrier"): `reduction: 'mean-violators'`, `penalty: 'softplus'`.
 * 'mean' (mean over all normal / all anomalous positions) is scale-free in the
 * batch size, a middle ground. With 'sum', L_bg-spp grows with the batch size
 * (8192 positions), so the lambda weight of the total loss is not comparable
 * across reductions.
 *
 * ```ts
 * const boundary = new BoundaryEstimator();          // beta 0.05, momentum 0.9
 * const logp = flow.logProbPerDim(x, cond);          // inside the optimiser's closure
 * const b = boundary.updateSync(logp, isAnomaly);    // batch quantile, EMA, no gradient
 * const loss = tf.add(mlLoss(logp, normalMask), bgSppLoss(logp, isAnomaly, b, 0.1));
 * ```
 */
import * as tf from '@tensorflow/tfjs';

/** How the BG-SPP violations are aggregated (see module doc). */
export type BgSppReduction = 'sum' | 'mean' | 'mean-violators';
/** Penalty on a violation v > 0: v itself (paper) or softplus(v) (ResAD++ log barrier). */
export type BgSppPenalty = 'linear' | 'softplus';

export interface BgSppOptions {
  reduction?: BgSppReduction;
  penalty?: BgSppPenalty;
}

function checkVector(t: tf.Tensor, n: number | null, what: string): void {
  if (t.rank !== 1) throw new Error(`${what} must be rank 1, got shape [${t.shape}]`);
  if (n !== null && t.shape[0] !== n) throw new Error(`${what} has length ${t.shape[0]}, expected ${n}`);
}

/**
 * Maximum-likelihood loss: -mean of logp over the positions with normalMask = 1
 * (all positions when no mask is given). 0 when the mask selects nothing.
 */
export function mlLoss(logpNormalised: tf.Tensor1D, normalMask?: tf.Tensor1D): tf.Scalar {
  checkVector(logpNormalised, null, 'mlLoss: logp');
  if (normalMask === undefined) return tf.tidy(() => tf.neg(tf.mean(logpNormalised)) as tf.Scalar);
  checkVector(normalMask, logpNormalised.shape[0], 'mlLoss: normalMask');
  return tf.tidy(() => {
    const m = tf.cast(normalMask, 'float32');
    // Multiply-and-divide (not a boolean gather) keeps it one fixed-shape graph;
    // the max(count, 1) makes an all-anomalous batch contribute 0, not NaN.
    const total = tf.sum(tf.mul(logpNormalised, m));
    // 0 - x rather than neg(x): an empty mask gives +0, not -0.
    return tf.sub(0, tf.div(total, tf.maximum(tf.sum(m), 1))) as tf.Scalar;
  });
}

/**
 * Boundary-guided semi-push-pull loss (Eq. 5). `logp` and `boundary` are both
 * normalised by C; isAnomaly is 1 for anomalous positions, 0 for normal ones.
 */
export function bgSppLoss(
  logp: tf.Tensor1D,
  isAnomaly: tf.Tensor1D,
  boundary: number,
  tau = 0.1,
  options: BgSppOptions = {},
): tf.Scalar {
  checkVector(logp, null, 'bgSppLoss: logp');
  checkVector(isAnomaly, logp.shape[0], 'bgSppLoss: isAnomaly');
  if (!Number.isFinite(boundary)) throw new Error(`bgSppLoss: boundary must be finite, got ${boundary}`);
  const reduction = options.reduction ?? 'sum';
  const penalty = options.penalty ?? 'linear';
  return tf.tidy(() => {
    const anomalous = tf.cast(isAnomaly, 'float32');
    const normal = tf.sub(1, anomalous);
    // Signed violations: > 0 means on the wrong side of the boundary.
    const vNormal = tf.sub(boundary, logp);              // normal below b_n
    const vAnomaly = tf.add(tf.sub(logp, boundary), tau); // anomaly above b_n - tau
    // Violations include the boundary itself (v >= 0), as the official code's <= and >=: the
    // normal at the quantile counts in 'mean-violators'. 1 - step(-v) is that test with a
    // (zero) gradient, which comparison ops lack under tf.grad.
    const atOrBeyond = (v: tf.Tensor): tf.Tensor => tf.sub(1, tf.step(tf.neg(v)));
    const hitNormal = tf.mul(atOrBeyond(vNormal), normal);
    const hitAnomaly = tf.mul(atOrBeyond(vAnomaly), anomalous);
    const pen = (v: tf.Tensor1D): tf.Tensor => (penalty === 'linear' ? tf.relu(v) : tf.softplus(v));
    const sumNormal = tf.sum(tf.mul(pen(vNormal as tf.Tensor1D), hitNormal));
    const sumAnomaly = tf.sum(tf.mul(pen(vAnomaly as tf.Tensor1D), hitAnomaly));
    if (reduction === 'sum') return tf.add(sumNormal, sumAnomaly) as tf.Scalar;
    const denNormal = reduction === 'mean' ? tf.sum(normal) : tf.sum(hitNormal);
    const denAnomaly = reduction === 'mean' ? tf.sum(anomalous) : tf.sum(hitAnomaly);
    return tf.add(
      tf.div(sumNormal, tf.maximum(denNormal, 1)),
      tf.div(sumAnomaly, tf.maximum(denAnomaly, 1)),
    ) as tf.Scalar;
  });
}

/**
 * The beta-quantile of the normal logps as the official code takes it: sort the
 * normal values ascending and take index floor(count * beta) (a lower order
 * statistic, no interpolation). NaNs are ignored. Returns null when there is no
 * normal value.
 */
export function normalQuantile(logp: ArrayLike<number>, isAnomaly: ArrayLike<number> | undefined, beta: number): number | null {
  if (!(beta >= 0 && beta < 1)) throw new Error(`normalQuantile: beta must be in [0, 1), got ${beta}`);
  if (isAnomaly !== undefined && isAnomaly.length !== logp.length) {
    throw new Error(`normalQuantile: ${logp.length} logps but ${isAnomaly.length} labels`);
  }
  const normals: number[] = [];
  for (let i = 0; i < logp.length; i++) {
    if (isAnomaly !== undefined && isAnomaly[i] > 0.5) continue;
    if (!Number.isNaN(logp[i])) normals.push(logp[i]);
  }
  if (normals.length === 0) return null;
  const sorted = Float64Array.from(normals).sort();
  return sorted[Math.floor(sorted.length * beta)];
}

export interface BoundaryEstimatorOptions {
  /** Quantile of the normal logps. Default 0.05. */
  beta?: number;
  /** EMA momentum: b <- momentum * b + (1 - momentum) * quantile. Default 0.9. */
  momentum?: number;
  /**
   * Starting value: 'first' (default) takes the first batch quantile as is;
   * 'zero' starts the average at 0 like the official `BoundaryAverager`, which
   * biases b_n towards 0 for the first ~1/(1 - momentum) updates.
   */
  init?: 'first' | 'zero';
}

/** Moving-average normal boundary b_n of one feature level (no gradient). */
export class BoundaryEstimator {
  readonly beta: number;
  readonly momentum: number;
  readonly init: 'first' | 'zero';
  private current: number | null;
  private updates = 0;

  constructor(options: BoundaryEstimatorOptions = {}) {
    this.beta = options.beta ?? 0.05;
    this.momentum = options.momentum ?? 0.9;
    this.init = options.init ?? 'first';
    if (!(this.beta >= 0 && this.beta < 1)) throw new Error(`BoundaryEstimator: beta must be in [0, 1), got ${this.beta}`);
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`BoundaryEstimator: momentum must be in [0, 1), got ${this.momentum}`);
    this.current = this.init === 'zero' ? 0 : null;
  }

  /** The current boundary (null before the first update with init 'first'). */
  get value(): number | null {
    return this.current;
  }

  /** Number of batches that changed the boundary. */
  get count(): number {
    return this.updates;
  }

  /** Folds one batch (plain values) into the average; returns the new boundary (unchanged if no normals). */
  updateFromValues(logp: ArrayLike<number>, isAnomaly?: ArrayLike<number>): number | null {
    const q = normalQuantile(logp, isAnomaly, this.beta);
    if (q === null) return this.current;
    this.current = this.current === null ? q : this.momentum * this.current + (1 - this.momentum) * q;
    this.updates++;
    return this.current;
  }

  /** As updateFromValues, reading the tensors synchronously (convenient inside an optimiser closure). */
  updateSync(logp: tf.Tensor1D, isAnomaly?: tf.Tensor1D): number | null {
    return this.updateFromValues(logp.dataSync(), isAnomaly?.dataSync());
  }

  /** As updateFromValues, reading the tensors asynchronously. */
  async update(logp: tf.Tensor1D, isAnomaly?: tf.Tensor1D): Promise<number | null> {
    const [values, labels] = await Promise.all([logp.data(), isAnomaly === undefined ? Promise.resolve(undefined) : isAnomaly.data()]);
    return this.updateFromValues(values, labels);
  }

  /** Serialisable state, for checkpoints. */
  getState(): { value: number | null; count: number } {
    return { value: this.current, count: this.updates };
  }

  setState(state: { value: number | null; count: number }): void {
    this.current = state.value;
    this.updates = state.count;
  }
}
