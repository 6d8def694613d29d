/**
 * Area under the ROC curve, equal to sklearn's `roc_auc_score` for binary labels.
 *
 * Why: the standard image- and pixel-level anomaly-detection metric (ResAD,
 * MVTec AD, VisA report it). It must stay fast at pixel level, where one class
 * of a benchmark has millions of scores (100 maps x 224 x 224 = 5M).
 *
 * ```ts
 * auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.75
 * ```
 *
 * Reference: sklearn.metrics.roc_auc_score (trapezoid over roc_curve, equal
 * scores grouped into one point; equivalently P(pos > neg) + P(pos = neg) / 2).
 * The trapezoids are summed in integer counts (exact below ~1e8 samples) and
 * divided once, so the result is the correctly rounded exact AUROC; sklearn's
 * floating trapezoid agrees to ~1e-15. Cost: one native sort of the scores
 * (see SortedScores), no index sort. Throws on a single class, like sklearn.
 */
import { LabeledChunk, SortedScores } from './sorted-scores';

/** AUROC from already sorted scores (share one sort with AP / F1-max). */
export function aurocFromSorted(sorted: SortedScores): number {
  sorted.requireBothClasses('auroc');
  let twiceArea = 0; // sum of (fp - fpPrev) * (tp + tpPrev): twice the area in count units
  let tpPrev = 0;
  let fpPrev = 0;
  sorted.forEachThreshold((_t, tp, fp) => {
    twiceArea += (fp - fpPrev) * (tp + tpPrev);
    tpPrev = tp;
    fpPrev = fp;
  });
  return twiceArea / (2 * sorted.positives * sorted.negatives);
}

/** sklearn.metrics.roc_auc_score(labels, scores). Labels 0/1, scores finite. */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return aurocFromSorted(SortedScores.from(scores, labels, 'auroc'));
}

/** AUROC over several score/label blocks (e.g. per-image maps and masks) as if concatenated. */
export function aurocChunks(chunks: readonly LabeledChunk[]): number {
  return aurocFromSorted(SortedScores.fromChunks(chunks, 'auroc'));
}
