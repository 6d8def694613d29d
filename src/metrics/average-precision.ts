/**
 * Average precision, equal to sklearn's `average_precision_score` for binary labels.
 *
 * Why: AP (area under the PR curve) is reported next to AUROC by ResAD and
 * anomalib because it is sensitive to the rare positive class, which matters
 * at pixel level where defects cover a few percent of the pixels.
 *
 * ```ts
 * averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]); // 0.8333...
 * ```
 *
 * Reference: sklearn.metrics.average_precision_score: AP = sum_k (R_k - R_{k-1}) P_k
 * over distinct thresholds (ties grouped), a step-wise sum, NOT the trapezoid
 * (which is optimistic for PR curves). Difference: sklearn warns and returns 0
 * when there are no positives; here a single class throws, like the other metrics.
 */
import { LabeledChunk, SortedScores } from './sorted-scores';

/** AP from already sorted scores (share one sort with AUROC / F1-max). */
export function averagePrecisionFromSorted(sorted: SortedScores): number {
  sorted.requireBothClasses('averagePrecision');
  let sum = 0; // sum of (tp - tpPrev) * precision; divided by #positives at the end
  let tpPrev = 0;
  sorted.forEachThreshold((_t, tp, fp) => {
    if (tp !== tpPrev) {
      sum += (tp - tpPrev) * (tp / (tp + fp));
      tpPrev = tp;
    }
  });
  return sum / sorted.positives;
}

/** sklearn.metrics.average_precision_score(labels, scores). Labels 0/1, scores finite. */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return averagePrecisionFromSorted(SortedScores.from(scores, labels, 'averagePrecision'));
}

/** AP over several score/label blocks as if concatenated. */
export function averagePrecisionChunks(chunks: readonly LabeledChunk[]): number {
  return averagePrecisionFromSorted(SortedScores.fromChunks(chunks, 'averagePrecision'));
}
