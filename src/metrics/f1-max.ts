/**
 * Maximum F1 score over all thresholds of the precision-recall curve, and the
 * threshold achieving it (anomalib's `F1Max`).
 *
 * Why: F1-max is the third metric ResAD reports (image and pixel level); the
 * threshold is what a deployment would use to binarise scores.
 *
 * ```ts
 * f1Max([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // { f1: 0.8, threshold: 0.35 }
 * ```
 *
 * Reference: anomalib.metrics.F1Max (max of 2PR/(P+R) over
 * torchmetrics' precision_recall_curve, threshold = thresholds[argmax]).
 * F1 at a threshold is computed as 2TP / (TP + FP + #positives), an exact
 * rational with one rounding, so equal F1 values compare equal; anomalib adds
 * 1e-10 to the denominator, a relative difference of ~1e-10. "Predict anomalous"
 * means score >= threshold. Among thresholds with exactly the same F1 the lowest
 * is returned (argmax's first hit in the PR curve's increasing-threshold order).
 * Throws on a single class.
 */
import { LabeledChunk, SortedScores } from './sorted-scores';

export interface F1MaxResult {
  /** Best F1 over thresholds, in (0, 1]. */
  f1: number;
  /** Score cut achieving it: predict anomalous when score >= threshold. */
  threshold: number;
}

/** F1-max from already sorted scores (share one sort with AUROC / AP). */
export function f1MaxFromSorted(sorted: SortedScores): F1MaxResult {
  sorted.requireBothClasses('f1Max');
  const nPos = sorted.positives;
  let best = -1;
  let bestThreshold = NaN;
  // Descending sweep: `>=` lets a later (lower) threshold with an equal F1 win.
  sorted.forEachThreshold((t, tp, fp) => {
    const f1 = (2 * tp) / (tp + fp + nPos);
    if (f1 >= best) {
      best = f1;
      bestThreshold = t;
    }
  });
  return { f1: best, threshold: bestThreshold };
}

/** Max F1 and its threshold. Labels 0/1, scores finite. */
export function f1Max(scores: ArrayLike<number>, labels: ArrayLike<number>): F1MaxResult {
  return f1MaxFromSorted(SortedScores.from(scores, labels, 'f1Max'));
}

/** F1-max over several score/label blocks as if concatenated. */
export function f1MaxChunks(chunks: readonly LabeledChunk[]): F1MaxResult {
  return f1MaxFromSorted(SortedScores.fromChunks(chunks, 'f1Max'));
}
