/**
 * Feature Converter: initial features -> residual features (ResAD paper §3.1,
 * Eq. 1; spec step 3). For every feature x at level l, x* is its nearest
 * reference feature in the class's ReferencePool and the residual is
 *
 *   'diff'   r = x - x*          the paper (DEFAULT)
 *   'sqdiff' r = (x - x*)^2      the official code (utils.get_residual_features
 *                                with pos_flag=True, used for WideResNet50)
 *   'none'   r = x               ablation "w/o residual" (no matching is done)
 *
 * Matching metric: 'l2' by default (paper), 'cosine' as in the official code
 * (see nearest-neighbour.ts).
 *
 * A batch may share one pool (all images of the same class, e.g. testing) or
 * have one pool per image (training: every image gets K references of its own
 * class, redrawn every step, spec step 8).
 *
 * ```ts
 * const pool = ReferencePool.fromFeatures(backbone.extract(refImages));
 * const feats = backbone.extract(images);                 // per level [B, H, W, C]
 * const residuals = computeResiduals(feats, pool, { mode: 'diff', metric: 'l2' });
 * tf.dispose([feats, residuals]); pool.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { nearestNeighbours, NnOptions } from './nearest-neighbour';
import { ReferencePool } from './reference-pool';

/** How the residual is formed from x and its match x* (see module doc). */
export type ResidualMode = 'diff' | 'sqdiff' | 'none';

/** The paper's choice. */
export const DEFAULT_RESIDUAL_MODE: ResidualMode = 'diff';

export interface ResidualOptions extends NnOptions {
  /** Default 'diff' (paper). */
  mode?: ResidualMode;
}

/** Matching result for one level, in map layout. A type alias so tf.tidy can return it. */
export type LevelMatch = {
  /** [B, H, W, C] the matched reference features x*. */
  matched: tf.Tensor4D;
  /** [B, H, W] int32 index into the pool level's bank (of the image's own pool). */
  indices: tf.Tensor3D;
  /** [B, H, W] distance to the match (Euclidean for 'l2', 1 - cosine for 'cosine'). */
  distances: tf.Tensor3D;
};

/** One pool for the whole batch, or one per batch item. */
export type PoolSource = ReferencePool | readonly ReferencePool[];

function poolFor(pools: PoolSource, item: number, batch: number): ReferencePool {
  if (pools instanceof ReferencePool) return pools;
  if (pools.length !== batch) throw new Error(`computeResiduals: ${pools.length} pools for a batch of ${batch}`);
  return pools[item];
}

function checkLevels(features: readonly tf.Tensor4D[], pools: PoolSource): void {
  const list = pools instanceof ReferencePool ? [pools] : pools;
  features.forEach((f, l) => {
    if (f.rank !== 4) throw new Error(`computeResiduals: level ${l} must be [B, H, W, C], got [${f.shape}]`);
    for (const p of list) {
      if (l >= p.numLevels) throw new Error(`computeResiduals: pool has ${p.numLevels} levels, features have ${features.length}`);
      if (p.level(l).channels !== f.shape[3]) {
        throw new Error(`computeResiduals: level ${l} has ${f.shape[3]} channels, pool has ${p.level(l).channels}`);
      }
    }
  });
}

/**
 * Nearest reference for every position of every level. New tensors owned by
 * the caller; the inputs are not consumed.
 */
export function matchLevels(features: readonly tf.Tensor4D[], pools: PoolSource, options: NnOptions = {}): LevelMatch[] {
  checkLevels(features, pools);
  return features.map((f, l) => matchLevel(f, l, pools, options));
}

function matchLevel(f: tf.Tensor4D, l: number, pools: PoolSource, options: NnOptions): LevelMatch {
  return tf.tidy(() => {
    const [b, h, w, c] = f.shape;
    // With one pool the whole batch is one query matrix; with per-image pools
    // each image is matched against its own references.
    const items = pools instanceof ReferencePool ? [f] : tf.split(f, b, 0);
    const parts = items.map((x, i) => nearestNeighbours(tf.reshape(x, [-1, c]), poolFor(pools, i, b).level(l), options));
    const cat = <T extends tf.Tensor>(ts: T[]): T => (ts.length === 1 ? ts[0] : (tf.concat(ts, 0) as T));
    return {
      matched: tf.reshape(cat(parts.map((p) => p.matched)), [b, h, w, c]) as tf.Tensor4D,
      indices: tf.reshape(cat(parts.map((p) => p.indices)), [b, h, w]) as tf.Tensor3D,
      distances: tf.reshape(cat(parts.map((p) => p.distances)), [b, h, w]) as tf.Tensor3D,
    };
  });
}

/** r from x and x* by mode ('none' returns a copy of x). */
export function residualFrom<T extends tf.Tensor>(x: T, matched: T | null, mode: ResidualMode): T {
  switch (mode) {
    case 'none':
      return tf.clone(x);
    case 'diff':
    case 'sqdiff':
      if (matched === null) throw new Error(`residualFrom: mode '${mode}' needs the matched features`);
      return mode === 'diff' ? tf.sub(x, matched) : tf.squaredDifference(x, matched);
    default:
      throw new Error(`residualFrom: unknown mode '${String(mode)}'`);
  }
}

/**
 * Residual features per level (same shapes as `features`). New tensors owned by
 * the caller; the inputs are not consumed. Mode 'none' skips matching entirely.
 */
export function computeResiduals(features: readonly tf.Tensor4D[], pools: PoolSource, options: ResidualOptions = {}): tf.Tensor4D[] {
  const mode = options.mode ?? DEFAULT_RESIDUAL_MODE;
  if (mode === 'none') return features.map((f) => residualFrom(f, null, 'none'));
  if (mode !== 'diff' && mode !== 'sqdiff') throw new Error(`computeResiduals: unknown mode '${String(mode)}'`);
  checkLevels(features, pools);
  return features.map((f, l) =>
    tf.tidy(() => residualFrom(f, matchLevel(f, l, pools, options).matched, mode)),
  );
}
