/**
 * Nearest-neighbour matching of query features against one level of a
 * ReferencePool: the "x* = nearest normal reference feature of x" step of
 * ResAD's Feature Converter (paper Eq. 1, spec step 3).
 *
 * Metrics:
 * - 'l2' (DEFAULT, the paper): x* = argmin_b ||x - b||_2. Computed as
 *   argmax_b (2 x.b - ||b||^2) with one matMul against the pool's [C+1, M]
 *   augmented bank (||x||^2 is constant per row, so it is left out of the
 *   argmax and only added back for the distance).
 * - 'cosine' (OPTION, the official code, utils.get_mc_matched_ref_features):
 *   x* = argmax_b <x/|x|, b/|b|>. ENV_NOTES reports cosine matching worked
 *   better than L2 for every backbone tried here, so it is worth trying, but
 *   the paper's choice stays the default.
 * Both return x* itself (the un-normalised reference feature), as the code does.
 *
 * Distances returned with every match (for PatchCore-style scores), computed
 * from x and x* directly: 'l2' -> ||x - x*||_2; 'cosine' -> 1 - cos(x, x*).
 *
 * Memory: the [rows, M] similarity block is the cost (3136 x 12544 floats =
 * 157 MB for one 56x56 map against 4 references), so the query rows are
 * processed in chunks (`chunkSize` rows, or derived from `maxBlockElements`).
 * Results do not depend on the chunking.
 *
 * Ties (several references exactly as near) resolve to the lowest index on the
 * cpu backend; any of them yields the same x* when they are duplicates.
 *
 * ```ts
 * const q = tf.reshape(feat, [-1, C]) as tf.Tensor2D;            // [N, C]
 * const { indices, matched, distances } = nearestNeighbours(q, pool.level(0), { metric: 'l2' });
 * tf.dispose([indices, matched, distances]);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { NORMALIZE_EPS, ReferenceLevel } from './reference-pool';

/** How "nearest" is measured (see module doc). */
export type NnMetric = 'l2' | 'cosine';

/** The paper's choice (Eq. 1, L2); the official code's cosine is the option. */
export const DEFAULT_NN_METRIC: NnMetric = 'l2';

/**
 * Default budget for one similarity block, in floats (8M floats = 32 MiB):
 * chunk = floor(maxBlockElements / M) rows, i.e. 668 query rows against a
 * 4-shot 56x56 bank (M = 12544), whole maps at 28x28 and 14x14. Measured on
 * wasm (bench/nn-matching.ts): blocks from 256 rows (12 MiB) up to the
 * whole 150 MiB block run at the same matMul speed within noise, 128-row
 * blocks are ~1.2-2x slower; so memory, not speed, decides.
 */
export const DEFAULT_MAX_BLOCK_ELEMENTS = 1 << 23;

export interface NnOptions {
  /** Default DEFAULT_NN_METRIC ('l2', the paper). */
  metric?: NnMetric;
  /** Query rows per similarity block. Overrides maxBlockElements. */
  chunkSize?: number;
  /** Floats per [chunk, M] similarity block when chunkSize is not given. Default 8M (32 MiB). */
  maxBlockElements?: number;
}

/** A type alias (not an interface) so it can be returned from tf.tidy. */
export type NnResult = {
  /** [N] int32 index of the match in the level's bank (row of `rows`). */
  indices: tf.Tensor1D;
  /** [N, C] the matched reference features x*. */
  matched: tf.Tensor2D;
  /** [N] distance to the match: Euclidean for 'l2', 1 - cosine for 'cosine'. */
  distances: tf.Tensor1D;
};

/** Query rows per block for a bank of size m under the options. */
export function nnChunkRows(m: number, options: NnOptions = {}): number {
  if (options.chunkSize !== undefined) {
    if (!(Number.isInteger(options.chunkSize) && options.chunkSize >= 1)) {
      throw new Error(`nearestNeighbours: chunkSize must be a positive integer, got ${options.chunkSize}`);
    }
    return options.chunkSize;
  }
  const budget = options.maxBlockElements ?? DEFAULT_MAX_BLOCK_ELEMENTS;
  if (!(budget >= 1)) throw new Error(`nearestNeighbours: maxBlockElements must be >= 1, got ${budget}`);
  return Math.max(1, Math.floor(budget / m));
}

/**
 * For every row of `query` ([N, C]) the nearest reference of `level`.
 * Returns new tensors owned by the caller; `query` is not consumed.
 */
export function nearestNeighbours(query: tf.Tensor2D, level: ReferenceLevel, options: NnOptions = {}): NnResult {
  const metric = options.metric ?? DEFAULT_NN_METRIC;
  if (metric !== 'l2' && metric !== 'cosine') throw new Error(`nearestNeighbours: unknown metric '${String(metric)}'`);
  if (query.rank !== 2) throw new Error(`nearestNeighbours: query must be [N, C], got [${query.shape}]`);
  const [n, c] = query.shape;
  if (c !== level.channels) throw new Error(`nearestNeighbours: query has ${c} channels, bank has ${level.channels}`);
  const chunk = nnChunkRows(level.size, options);
  // Built (and cached by the level) before the loop so no chunk pays for it.
  const bank = metric === 'l2' ? level.l2Bank() : level.unitBank();

  return tf.tidy(() => {
    const idxParts: tf.Tensor1D[] = [];
    for (let start = 0; start < n; start += chunk) {
      const rows = Math.min(chunk, n - start);
      const q = rows === n ? query : (tf.slice(query, [start, 0], [rows, c]) as tf.Tensor2D);
      // Each chunk in its own tidy: the [rows, M] block is freed before the next one is made.
      idxParts.push(
        tf.tidy(() => {
          const lhs = metric === 'l2' ? tf.concat([q, tf.ones([rows, 1])], 1) : unitRows(q);
          const sim = tf.matMul(lhs as tf.Tensor2D, bank); // [rows, M], no transpose flags (fast on wasm)
          return tf.argMax(sim, 1) as tf.Tensor1D;
        }),
      );
    }
    const indices = (idxParts.length === 1 ? idxParts[0] : tf.concat(idxParts)) as tf.Tensor1D;
    const matched = tf.gather(level.rows, indices) as tf.Tensor2D;
    // Distances are recomputed from x and x* ([N, C] work, negligible next to the
    // [N, M] block) rather than read off the block: ||x||^2 - (2 x.b - ||b||^2)
    // cancels badly for large-norm features, and this way a self-match is exactly 0.
    const distances =
      metric === 'l2'
        ? (tf.sqrt(tf.sum(tf.square(tf.sub(query, matched)), 1)) as tf.Tensor1D)
        : (tf.sub(1, tf.sum(tf.mul(unitRows(query), unitRows(matched)), 1)) as tf.Tensor1D);
    return { indices, matched, distances };
  });
}

/** Rows scaled to unit L2 norm: x / max(||x||, 1e-12) (PyTorch F.normalize). */
function unitRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), NORMALIZE_EPS));
}
