/**
 * ROC curve and precision-recall curve of binary scores, point-for-point equal
 * to sklearn's `roc_curve` and `precision_recall_curve`.
 *
 * Why: the curves are what AUROC, AP and F1-max summarise; exposing them (same
 * layout as sklearn) makes plots and cross-checks against Python trivial.
 *
 * ```ts
 * const { fpr, tpr, thresholds } = rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
 * // fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1], thresholds [Infinity, .8, .4, .35, .1]
 * const pr = precisionRecallCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
 * // precision [.5, .667, .5, 1, 1], recall [1, 1, .5, .5, 0], thresholds [.1, .35, .4, .8]
 * ```
 *
 * Reference: sklearn.metrics.roc_curve / precision_recall_curve (binary, no
 * sample weights). Ties: all samples with the same score form one point.
 * Differences, all deliberate:
 * - `rocCurve` defaults to `dropIntermediate: false` (every distinct threshold
 *   is a point; sklearn defaults to True). `dropIntermediate: true` applies
 *   sklearn's rule (drop points whose fps and tps both have zero second
 *   difference), so either setting matches sklearn called the same way.
 * - The extra first ROC threshold is `Infinity`, as in sklearn >= 1.3
 *   (sklearn < 1.3 used max(score) + 1).
 * - A single class throws instead of warning and returning NaN rates.
 */
import { SortedScores } from './sorted-scores';

export interface RocCurve {
  /** False-positive rate, non-decreasing, starts at 0, ends at 1. */
  fpr: Float64Array;
  /** True-positive rate, non-decreasing, starts at 0, ends at 1. */
  tpr: Float64Array;
  /** thresholds[k] is the score cut (predict positive when score >= it) of point k; decreasing, thresholds[0] = Infinity. */
  thresholds: Float64Array;
}

export interface RocOptions {
  /** Drop collinear points exactly like sklearn's drop_intermediate=True. Default false. */
  dropIntermediate?: boolean;
}

export interface PrecisionRecallCurve {
  /** precision[k] at thresholds[k]; one extra final 1 (sklearn's convention). Length = thresholds.length + 1. */
  precision: Float64Array;
  /** recall[k] at thresholds[k], non-increasing; one extra final 0. */
  recall: Float64Array;
  /** Distinct scores, increasing. */
  thresholds: Float64Array;
}

/** Cumulative counts per distinct threshold, highest threshold first (sklearn's fps, tps, thresholds). */
interface ClfCurve {
  fps: Float64Array;
  tps: Float64Array;
  thresholds: Float64Array;
}

function clfCurve(sorted: SortedScores): ClfCurve {
  const n = sorted.countThresholds();
  const fps = new Float64Array(n);
  const tps = new Float64Array(n);
  const thresholds = new Float64Array(n);
  let k = 0;
  sorted.forEachThreshold((t, tp, fp) => {
    thresholds[k] = t;
    tps[k] = tp;
    fps[k] = fp;
    k++;
  });
  return { fps, tps, thresholds };
}

/** ROC curve from already sorted scores (lets callers share one sort between metrics). */
export function rocCurveFromSorted(sorted: SortedScores, options: RocOptions = {}): RocCurve {
  sorted.requireBothClasses('rocCurve');
  const all = clfCurve(sorted);
  let { fps, tps, thresholds } = all;
  const n = fps.length;
  if (options.dropIntermediate === true && n > 2) {
    // sklearn: keep first, last, and every point where the curve bends (non-zero 2nd difference).
    const keep: number[] = [0];
    for (let k = 1; k < n - 1; k++) {
      const bendF = all.fps[k - 1] - 2 * all.fps[k] + all.fps[k + 1];
      const bendT = all.tps[k - 1] - 2 * all.tps[k] + all.tps[k + 1];
      if (bendF !== 0 || bendT !== 0) keep.push(k);
    }
    keep.push(n - 1);
    fps = Float64Array.from(keep, (k) => all.fps[k]);
    tps = Float64Array.from(keep, (k) => all.tps[k]);
    thresholds = Float64Array.from(keep, (k) => all.thresholds[k]);
  }
  const m = fps.length;
  const fpr = new Float64Array(m + 1);
  const tpr = new Float64Array(m + 1);
  const thr = new Float64Array(m + 1);
  thr[0] = Infinity;
  const nNeg = sorted.negatives;
  const nPos = sorted.positives;
  for (let k = 0; k < m; k++) {
    fpr[k + 1] = fps[k] / nNeg;
    tpr[k + 1] = tps[k] / nPos;
    thr[k + 1] = thresholds[k];
  }
  return { fpr, tpr, thresholds: thr };
}

/** sklearn.metrics.roc_curve(labels, scores, drop_intermediate=options.dropIntermediate ?? false). */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<number>, options: RocOptions = {}): RocCurve {
  return rocCurveFromSorted(SortedScores.from(scores, labels, 'rocCurve'), options);
}

/** Precision-recall curve from already sorted scores. */
export function precisionRecallCurveFromSorted(sorted: SortedScores): PrecisionRecallCurve {
  sorted.requireBothClasses('precisionRecallCurve');
  const { fps, tps, thresholds } = clfCurve(sorted);
  const n = fps.length;
  const nPos = sorted.positives;
  const precision = new Float64Array(n + 1);
  const recall = new Float64Array(n + 1);
  const thr = new Float64Array(n);
  // sklearn reverses to increasing thresholds and appends (precision 1, recall 0).
  for (let k = 0; k < n; k++) {
    const r = n - 1 - k;
    precision[k] = tps[r] / (tps[r] + fps[r]); // tps + fps >= 1 at every threshold
    recall[k] = tps[r] / nPos;
    thr[k] = thresholds[r];
  }
  precision[n] = 1;
  recall[n] = 0;
  return { precision, recall, thresholds: thr };
}

/** sklearn.metrics.precision_recall_curve(labels, scores). */
export function precisionRecallCurve(scores: ArrayLike<number>, labels: ArrayLike<number>): PrecisionRecallCurve {
  return precisionRecallCurveFromSorted(SortedScores.from(scores, labels, 'precisionRecallCurve'));
}
