/**
 * The loss one flow trains on, for a batch of positions of one level, in the
 * paper's form or the official code's:
 *
 * - 'paper' (Eq. 4-5): L = L_ml + lambda * L_bg-spp, with `mlLoss` and
 *   `bgSppLoss` at the chosen reduction;
 * - 'resad++': log-sigmoid ML, the log-barrier BG-SPP (softplus, mean over
 *   violators) and, with BG-SPP, the anomalies' own N(1, I) fitted by
 *   log-sigmoid ML plus the focal loss between the two densities
 *   (resadpp-losses.ts).
 *
 * Without a BG-SPP term (`bgspp: null`: stage 1, no anomaly among the
 * positions, no boundary yet) both kinds are ML only: the official code
 * trains its abnormal density only in the steps that push anomalies.
 *
 * ```ts
 * const { grads } = tf.variableGrads(() => {
 *   const parts = flowLoss(flow, x, cond, isAnomaly, { kind: 'paper', bgspp: { boundary, tau: 0.1, weight: 1, reduction: 'sum' } });
 *   boundaryEstimator.updateSync(parts.logp, isAnomaly);
 *   return parts.total;
 * }, flow.trainableVariables);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { ConditionalFlow, standardNormalLogProb } from './conditional-flow';
import { bgSppLoss, BgSppReduction, mlLoss } from './losses';
import { abnormalLogProbPerDim, focalLoss, logSigmoidMlLoss } from './resadpp-losses';

/** The paper's flow loss (Eq. 4-5) or the official code's ("ResAD++"). */
export type FlowLossKind = 'paper' | 'resad++';

/** The BG-SPP term of a flow loss (Eq. 5). */
export interface BgSppTerm {
  /** Normal boundary b_n, a per-dimension log-likelihood (BoundaryEstimator). */
  boundary: number;
  /** Margin tau below b_n that anomalies are pushed under. */
  tau: number;
  /** lambda, its weight in the total. */
  weight: number;
  /** 'paper' kind only: 'resad++' always takes the log barrier's mean over violators. */
  reduction: BgSppReduction;
}

export interface FlowLossOptions {
  kind: FlowLossKind;
  /** null: maximum likelihood only. */
  bgspp: BgSppTerm | null;
}

/**
 * The total to differentiate and the parts that training reports. The caller
 * owns all of them (intermediates are freed); `total` is the same tensor as
 * `ml` when there is no BG-SPP term, so dispose them together
 * (`tf.dispose(parts)`). Inside a `tf.variableGrads` closure they belong to
 * its scope: read the parts there.
 */
export type FlowLossParts = {
  total: tf.Scalar;
  /** Maximum likelihood of the normal positions (log-sigmoid for 'resad++'). */
  ml: tf.Scalar;
  /** BG-SPP before its weight; absent without the term. */
  bgspp?: tf.Scalar;
  /** log p / C per position: what the boundary is estimated from. */
  logp: tf.Tensor1D;
};

/** The flow loss of positions `x` [N, C] with conditions `cond` [N, D] and labels `isAnomaly` [N] (1 anomalous, 0 normal). */
export function flowLoss(flow: ConditionalFlow, x: tf.Tensor2D, cond: tf.Tensor2D, isAnomaly: tf.Tensor1D, options: FlowLossOptions): FlowLossParts {
  return tf.tidy((): FlowLossParts => {
    const { z, logdet } = flow.forward(x, cond);
    return flowLossFromLatent(z, logdet, isAnomaly, options);
  });
}

/**
 * The same loss from the flow's output: latent codes `z` [N, C] and
 * log-determinants `logdet` [N] (a fused training step differentiates it
 * with respect to those two, then runs the flow's own backward).
 */
export function flowLossFromLatent(z: tf.Tensor2D, logdet: tf.Tensor1D, isAnomaly: tf.Tensor1D, options: FlowLossOptions): FlowLossParts {
  const resadpp = options.kind === 'resad++';
  return tf.tidy((): FlowLossParts => {
    // Same expression as flow.logProbPerDim, which cannot be used here: the 'resad++' terms need z and logdet.
    const logp = tf.div(tf.add(standardNormalLogProb(z), logdet), z.shape[1]) as tf.Tensor1D;
    const normal = tf.sub(1, isAnomaly) as tf.Tensor1D;
    const ml = resadpp ? logSigmoidMlLoss(logp, normal) : mlLoss(logp, normal);
    const term = options.bgspp;
    if (term === null) return { total: ml, ml, logp };
    const bgspp = bgSppLoss(logp, isAnomaly, term.boundary, term.tau, resadpp ? { reduction: 'mean-violators', penalty: 'softplus' } : { reduction: term.reduction });
    let total = tf.add(ml, tf.mul(bgspp, term.weight)) as tf.Scalar;
    if (resadpp) {
      // Anomalies fit their own N(1, I); the focal loss separates the two densities per position.
      const logpA = abnormalLogProbPerDim(z, logdet);
      total = tf.addN([total, logSigmoidMlLoss(logpA, isAnomaly), focalLoss(tf.softmax(tf.stack([logp, logpA], 1)) as tf.Tensor2D, isAnomaly)]) as tf.Scalar;
    }
    return { total, ml, bgspp, logp };
  });
}
