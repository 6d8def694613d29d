/**
 * Greedy k-center coreset subsampling of a memory bank (PatchCore, Roth et
 * al. 2022, Algorithm 1; Sener & Savarese 2018): start from one point, then
 * repeatedly add the point farthest from everything chosen so far. Distances
 * are measured after a seeded Gaussian random projection to `projectionDim`
 * dimensions (Johnson-Lindenstrauss), as the reference code (128-d linear
 * projection) and anomalib (sparse random projection) do, because the greedy
 * loop touches the whole bank once per chosen point.
 *
 * Choices: the start point is drawn with the seed and is itself part of the
 * coreset (anomalib draws it but only uses it to initialise the distances);
 * ties go to the lowest index. The projection is one tfjs matMul; the greedy
 * loop is O(count * M * d) plain JS over Float32Arrays, which beats per-step
 * tfjs op overhead at these sizes (M = a few thousand few-shot patches).
 *
 * ```ts
 * const idx = kCenterGreedy(bankRows, Math.round(0.1 * bankRows.shape[0]), { seed: 0 });
 * const coreset = tf.gather(bankRows, idx);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

export interface CoresetOptions {
  /** Seeds the projection and the start point. Default 0. */
  seed?: number;
  /** Projected dimension; 0 (or >= C) measures distances on the raw features. Default 128. */
  projectionDim?: number;
  /** Index of the first center (default: drawn with the seed). */
  start?: number;
}

/** Indices (in selection order) of `count` rows of `rows` ([M, C]) chosen by greedy k-center. */
export function kCenterGreedy(rows: tf.Tensor2D, count: number, options: CoresetOptions = {}): number[] {
  const [m, c] = rows.shape;
  if (!(Number.isInteger(count) && count >= 1 && count <= m)) throw new Error(`kCenterGreedy: count must be in 1..${m}, got ${count}`);
  const rng = new Rng(options.seed ?? 0).fork('coreset');
  const dim = options.projectionDim ?? 128;
  const project = dim > 0 && dim < c;
  const projected = tf.tidy(() => {
    if (!project) return tf.clone(rows);
    // N(0, 1/d) entries keep squared distances unbiased; [C, d] so the matMul needs no transpose.
    const w = Float32Array.from({ length: c * dim }, () => rng.normal(0, 1 / Math.sqrt(dim)));
    return tf.matMul(rows, tf.tensor2d(w, [c, dim]));
  });
  const d = project ? dim : c;
  const x = projected.dataSync() as Float32Array;
  projected.dispose();

  const start = options.start ?? rng.int(m);
  if (!(Number.isInteger(start) && start >= 0 && start < m)) throw new Error(`kCenterGreedy: start must be in 0..${m - 1}, got ${start}`);
  const minDist = new Float64Array(m).fill(Infinity);
  const chosen: number[] = [];
  let next = start;
  for (let it = 0; it < count; it++) {
    chosen.push(next);
    // -Infinity: a chosen point is never picked again, even when only duplicates remain.
    minDist[next] = -Infinity;
    const base = next * d;
    let best = -1;
    let bestDist = -Infinity;
    for (let i = 0; i < m; i++) {
      let s = 0;
      const row = i * d;
      for (let j = 0; j < d; j++) {
        const diff = x[row + j] - x[base + j];
        s += diff * diff;
      }
      if (s < minDist[i]) minDist[i] = s;
      if (minDist[i] > bestDist) {
        bestDist = minDist[i];
        best = i;
      }
    }
    next = best;
  }
  return chosen;
}
