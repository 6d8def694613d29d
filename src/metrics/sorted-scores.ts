/**
 * Shared core of the threshold metrics (ROC, PR, AUROC, AP, F1-max): scores
 * split by label and each half sorted with the native numeric typed-array sort.
 *
 * Why: every threshold metric depends only on how many positives and negatives
 * score >= t for each distinct t. Sorting the two halves separately and merging
 * them from the top gives exactly that (ties grouped, like sklearn's
 * `_binary_clf_curve`) without an index sort (a JS-comparator index sort is
 * ~5x slower than sorting values). Float32-valued scores (anomaly maps) use a
 * radix sort (radix-sort.ts, ~3x faster than the native comparison sort);
 * other values use the native `Float64Array.prototype.sort`. One
 * `SortedScores` can feed several metrics, so pixel AUROC/AP/F1 share a sort.
 *
 * ```ts
 * const s = SortedScores.from([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
 * s.forEachThreshold((t, tp, fp) => console.log(t, tp, fp)); // 0.8 1 0, 0.4 1 1, 0.35 2 1, 0.1 2 2
 * ```
 *
 * Reference: sklearn.metrics._ranking._binary_clf_curve (sample_weight=None).
 * Input rules (all violations throw an Error naming the caller): equal, non-zero
 * lengths; finite scores (sklearn also rejects NaN/inf); labels exactly 0 or 1.
 */

import { sortFloat32Valued } from './radix-sort';

/** One block of scores with their 0/1 labels, e.g. one anomaly map and its mask. */
export interface LabeledChunk {
  readonly scores: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
}

/** Called once per distinct threshold, from the highest score down: `tp`/`fp` count positives/negatives with score >= threshold. */
export type ThresholdVisitor = (threshold: number, tp: number, fp: number) => void;

/** Below this size the native sort's lower fixed cost wins over the radix sort's 2 x 64K-bucket histograms. */
const RADIX_MIN = 1 << 14;

function sortAscending(values: Float64Array, float32Valued: boolean): void {
  if (float32Valued && values.length >= RADIX_MIN) sortFloat32Valued(values);
  else values.sort();
}

export class SortedScores {
  /** Scores of label-1 samples, ascending. */
  readonly pos: Float64Array;
  /** Scores of label-0 samples, ascending. */
  readonly neg: Float64Array;

  private constructor(pos: Float64Array, neg: Float64Array) {
    this.pos = pos;
    this.neg = neg;
  }

  get positives(): number {
    return this.pos.length;
  }

  get negatives(): number {
    return this.neg.length;
  }

  /** Validates and sorts one score/label pair. `what` prefixes error messages (e.g. 'auroc'). */
  static from(scores: ArrayLike<number>, labels: ArrayLike<number>, what = 'metrics'): SortedScores {
    return SortedScores.fromChunks([{ scores, labels }], what);
  }

  /** Like `from` over the concatenation of the chunks, without materialising the concatenation. */
  static fromChunks(chunks: readonly LabeledChunk[], what = 'metrics'): SortedScores {
    let nPos = 0;
    let total = 0;
    for (let c = 0; c < chunks.length; c++) {
      const { scores, labels } = chunks[c];
      const where = chunks.length > 1 ? ` (chunk ${c})` : '';
      if (scores.length !== labels.length) {
        throw new Error(`${what}: scores and labels differ in length${where}: ${scores.length} vs ${labels.length}`);
      }
      for (let i = 0; i < labels.length; i++) {
        const l = labels[i];
        if (l === 1) nPos++;
        else if (l !== 0) throw new Error(`${what}: labels must be 0 or 1, got labels[${i}] = ${l}${where}`);
      }
      total += labels.length;
    }
    if (total === 0) throw new Error(`${what}: no samples`);
    const pos = new Float64Array(nPos);
    const neg = new Float64Array(total - nPos);
    let p = 0;
    let n = 0;
    let allFloat32 = true;
    for (let c = 0; c < chunks.length; c++) {
      const { scores, labels } = chunks[c];
      const isF32 = scores instanceof Float32Array;
      for (let i = 0; i < scores.length; i++) {
        // `+ 0` turns -0 into +0 so the two zeros are one threshold (they compare equal anyway).
        const s = scores[i] + 0;
        if (!Number.isFinite(s)) {
          const where = chunks.length > 1 ? ` (chunk ${c})` : '';
          throw new Error(`${what}: scores must be finite, got scores[${i}] = ${scores[i]}${where}`);
        }
        if (!isF32 && allFloat32 && Math.fround(s) !== s) allFloat32 = false;
        if (labels[i] === 1) pos[p++] = s;
        else neg[n++] = s;
      }
    }
    sortAscending(pos, allFloat32);
    sortAscending(neg, allFloat32);
    return new SortedScores(pos, neg);
  }

  /**
   * Throws unless both classes are present: every metric here is undefined for
   * a single class (sklearn's roc_auc_score raises the same way).
   */
  requireBothClasses(what: string): void {
    if (this.pos.length === 0 || this.neg.length === 0) {
      throw new Error(
        `${what}: only one class present in labels (${this.pos.length} positives, ${this.neg.length} negatives); ` +
          'the metric is undefined',
      );
    }
  }

  /** Number of distinct score values (= points of the ROC curve without its (0, 0) start). */
  countThresholds(): number {
    let k = 0;
    this.forEachThreshold(() => {
      k++;
    });
    return k;
  }

  /** Merges the two sorted halves from the top; equal scores form one threshold (sklearn's tie grouping). */
  forEachThreshold(visit: ThresholdVisitor): void {
    const pos = this.pos;
    const neg = this.neg;
    let i = pos.length - 1;
    let j = neg.length - 1;
    let tp = 0;
    let fp = 0;
    while (i >= 0 || j >= 0) {
      const t = i < 0 ? neg[j] : j < 0 ? pos[i] : pos[i] > neg[j] ? pos[i] : neg[j];
      while (i >= 0 && pos[i] === t) {
        tp++;
        i--;
      }
      while (j >= 0 && neg[j] === t) {
        fp++;
        j--;
      }
      visit(t, tp, fp);
    }
  }
}
