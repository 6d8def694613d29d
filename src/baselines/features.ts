/**
 * Shared building blocks of the training-free baselines (PatchCore, SPADE,
 * PaDiM): level selection, multi-level embeddings on one grid, 3x3 local
 * averaging, chunked k-nearest-neighbour distances, and the common map
 * post-processing (bilinear upsampling + Gaussian sigma 4).
 *
 * Why here and not in the converter: the converter only needs the single
 * nearest neighbour (argmax); the baselines need k neighbours (SPADE's kappa,
 * PatchCore's reweighting support set) and concatenated multi-level features.
 * The bank layout is the converter's `ReferenceLevel` ([C+1, M] augmented
 * L2 bank, no transpose flags: fast on wasm, see ENV_NOTES).
 *
 * ```ts
 * const emb = embedLevels(features, { levels: [1, 2], upsample: 'bilinear', localPool: true });
 * const bank = new ReferenceLevel(tf.reshape(emb, [-1, emb.shape[3]]) as tf.Tensor2D);
 * const { distances } = knnDistances(query, bank, 1);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_MAX_BLOCK_ELEMENTS, localAverage, ReferenceLevel } from '../converter/index';
import { gaussianBlur, resizeBilinear, ScoreMap } from '../scoring/anomaly-map';

/** How coarser levels are brought onto the finest selected grid. */
export type UpsampleMode = 'bilinear' | 'nearest';

export interface EmbedOptions {
  /** Indices into the feature list; the first one's grid is the target grid. */
  levels: readonly number[];
  /** PatchCore/SPADE: bilinear (PyTorch align_corners=False); PaDiM: nearest (its embedding_concat). */
  upsample: UpsampleMode;
  /** PatchCore's "locally aware patch features": 3x3 average pooling, stride 1, zero padding counted (PyTorch AvgPool2d(3, 1, 1)). */
  localPool?: boolean;
}

/** Checks level indices against the number of levels and returns them. */
export function resolveLevels(levels: readonly number[] | undefined, available: number, fallback: readonly number[]): number[] {
  const chosen = [...(levels ?? fallback)];
  if (chosen.length === 0) throw new Error('baseline: no feature levels selected');
  for (const l of chosen) {
    if (!Number.isInteger(l) || l < 0 || l >= available) throw new Error(`baseline: level ${l} does not exist (the backbone gives ${available} levels)`);
  }
  return chosen;
}

/** The last two levels (PatchCore's layer2 + layer3 of layer1..3), or all when fewer. */
export function lastTwoLevels(available: number): number[] {
  return available >= 2 ? [available - 2, available - 1] : [0];
}

/** All levels, finest first (SPADE's and PaDiM's layer1..3). */
export function allLevels(available: number): number[] {
  return Array.from({ length: available }, (_, i) => i);
}

/** 3x3 mean with zero padding included in the count (PyTorch AvgPool2d(3, 1, 1), count_include_pad=True). */
export function localAverage3x3(x: tf.Tensor4D): tf.Tensor4D {
  return localAverage(x, 3);
}

/**
 * Selected levels resized to the grid of the first selected level and
 * concatenated along channels: [B, H, W, sum C]. Inputs are not consumed.
 */
export function embedLevels(features: readonly tf.Tensor4D[], options: EmbedOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const parts = options.levels.map((l) => {
      const f = features[l];
      if (f === undefined) throw new Error(`embedLevels: no level ${l}`);
      return options.localPool ? localAverage3x3(f) : f;
    });
    const [, h, w] = parts[0].shape;
    const resized = parts.map((p) => {
      if (p.shape[1] === h && p.shape[2] === w) return p;
      return options.upsample === 'bilinear'
        ? tf.image.resizeBilinear(p, [h, w], false, true)
        : tf.image.resizeNearestNeighbor(p, [h, w], false, false);
    });
    return (resized.length === 1 ? tf.clone(resized[0]) : tf.concat(resized, 3)) as tf.Tensor4D;
  });
}

/** k nearest bank entries of every query row: exact L2 distances, ascending, and bank indices; both [N * k] row-major. */
export interface KnnResult {
  distances: Float32Array;
  indices: Int32Array;
  k: number;
}

/**
 * For every row of `query` ([N, C]) the k nearest rows of the bank by L2.
 * One no-transpose matMul per chunk against the [C+1, M] augmented bank gives
 * 2 x.b - |b|^2 (argmax = nearest); the k best are then gathered and their
 * distances recomputed from x and b directly, so they are exact (a
 * self-match is 0) rather than |x|^2 minus a large number.
 * Memory: one [chunk, M] block at a time (`maxBlockElements`, default 32 MiB).
 */
export function knnDistances(query: tf.Tensor2D, bank: ReferenceLevel, k: number, maxBlockElements = DEFAULT_MAX_BLOCK_ELEMENTS): KnnResult {
  const [n, c] = query.shape;
  if (c !== bank.channels) throw new Error(`knnDistances: query has ${c} channels, bank has ${bank.channels}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= bank.size)) throw new Error(`knnDistances: k must be in 1..${bank.size}, got ${k}`);
  const chunk = Math.max(1, Math.floor(maxBlockElements / bank.size));
  const l2 = bank.l2Bank();
  const distances = new Float32Array(n * k);
  const indices = new Int32Array(n * k);
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const [d, i] = tf.tidy(() => {
      const q = rows === n ? query : (tf.slice(query, [start, 0], [rows, c]) as tf.Tensor2D);
      const sim = tf.matMul(tf.concat([q, tf.ones([rows, 1])], 1) as tf.Tensor2D, l2);
      const idx = (k === 1 ? tf.reshape(tf.argMax(sim, 1), [rows, 1]) : tf.topk(sim, k).indices).toInt();
      const matched = tf.gather(bank.rows, tf.reshape(idx, [-1]));
      const qRep = k === 1 ? q : tf.reshape(tf.tile(q, [1, k]), [rows * k, c]);
      const dist = tf.sqrt(tf.sum(tf.square(tf.sub(qRep, matched)), 1));
      return [dist, idx];
    });
    const dv = d.dataSync() as Float32Array;
    const iv = i.dataSync() as Int32Array;
    tf.dispose([d, i]);
    // topk orders by 2x.b - |b|^2, i.e. by distance; the recomputed distances keep
    // that order up to float rounding, so sort each row to guarantee ascending output.
    for (let r = 0; r < rows; r++) {
      const base = r * k;
      const pairs = Array.from({ length: k }, (_, j) => [dv[base + j], iv[base + j]] as const).sort((a, b) => a[0] - b[0]);
      pairs.forEach(([dist, idx], j) => {
        distances[(start + r) * k + j] = dist;
        indices[(start + r) * k + j] = idx;
      });
    }
  }
  return { distances, indices, k };
}

/** Mean of the k distances of each row: [N]. */
export function meanOfRows(knn: KnnResult): Float32Array {
  const n = knn.distances.length / knn.k;
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < knn.k; j++) s += knn.distances[r * knn.k + j];
    out[r] = s / knn.k;
  }
  return out;
}

/** Splits [B * H * W] per-position scores into one ScoreMap per image. */
export function splitGrids(values: Float32Array, batch: number, height: number, width: number): ScoreMap[] {
  const per = height * width;
  return Array.from({ length: batch }, (_, b) => ({ width, height, data: values.slice(b * per, (b + 1) * per) }));
}

/**
 * Patch-score grid -> anomaly map at the image size: bilinear upsampling with
 * align_corners=False (what PatchCore, SPADE and PaDiM's reference code use)
 * then scipy-equivalent Gaussian smoothing (sigma 4 in all three papers).
 */
export function gridToMap(grid: ScoreMap, width: number, height: number, sigma: number): ScoreMap {
  const up = grid.width === width && grid.height === height ? grid : resizeBilinear(grid, width, height, false);
  return gaussianBlur(up, sigma);
}
