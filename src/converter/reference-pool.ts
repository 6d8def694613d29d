/**
 * Reference pool: the few-shot normal reference features of one class, per
 * feature level, laid out for fast nearest-neighbour matching (ResAD spec step
 * 2; paper §3.1 "Feature Converter", P_l of shape [K*H_l*W_l, C_l]).
 *
 * Why this layout: matching is a [N, C] x [C, M] matrix product per level. On
 * the tfjs wasm backend a matMul is fast only without transpose flags (see
 * docs/ENV_NOTES.md: ~25 GFLOP/s plain vs 0.4-2 GFLOP/s transposed), so the
 * pool stores every bank already transposed as [C, M] once, instead of paying
 * a transpose (or the slow transposed kernel) on every query.
 *
 * Per level it keeps:
 * - `rows`   [M, C]   the reference features themselves (gathered to form x*),
 * - `bank`   [C, M]   the same, transposed (plain dot products, PatchCore-style use),
 * - `unitBank` [C, M] columns L2-normalised (cosine matching, the official code),
 * - `l2Bank` [C+1, M] = [2 B ; -||b||^2] so that [x, 1] . l2Bank = 2 x.b - ||b||^2,
 *   whose argmax over M is the L2 nearest neighbour, in ONE matMul (no extra
 *   passes over the [N, M] block).
 * `unitBank` and `l2Bank` are built lazily on first use (only the metric in use
 * costs memory) and kept until `dispose()`.
 *
 * The pool owns its tensors: it keeps its own references, so the caller may
 * dispose the feature maps it was built from.
 *
 * ```ts
 * const refFeats = backbone.extract(refImages);        // per level [K, H, W, C]
 * const pool = ReferencePool.fromFeatures(refFeats);
 * tf.dispose(refFeats);
 * const res = computeResiduals(backbone.extract(img), pool); // see residual.ts
 * pool.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';

/** Columns with a smaller L2 norm than this are divided by it instead (PyTorch F.normalize's eps). */
export const NORMALIZE_EPS = 1e-12;

/** One level of the pool. Tensors are owned by the pool: do not dispose them. */
export class ReferenceLevel {
  /** Channels C. */
  readonly channels: number;
  /** Number of reference vectors M = K * H * W. */
  readonly size: number;
  /** [M, C] reference features, row m = reference vector m. */
  readonly rows: tf.Tensor2D;
  /** [C, M] the same, transposed once for no-transpose matMuls. */
  readonly bank: tf.Tensor2D;
  private unit: tf.Tensor2D | null = null;
  private l2: tf.Tensor2D | null = null;
  private sqNorms: tf.Tensor1D | null = null;
  private released = false;

  /** Takes ownership of `rows` ([M, C]). */
  constructor(rows: tf.Tensor2D) {
    if (rows.rank !== 2) throw new Error(`ReferenceLevel: rows must be [M, C], got shape [${rows.shape}]`);
    const [m, c] = rows.shape;
    if (m < 1 || c < 1) throw new Error(`ReferenceLevel: empty bank [${rows.shape}]`);
    if (rows.dtype !== 'float32') throw new Error(`ReferenceLevel: rows must be float32, got ${rows.dtype}`);
    this.size = m;
    this.channels = c;
    this.rows = tf.keep(rows);
    this.bank = tf.keep(tf.tidy(() => tf.transpose(rows) as tf.Tensor2D));
  }

  /** [C, M] with unit-norm columns: b / max(||b||, 1e-12). Built on first call. */
  unitBank(): tf.Tensor2D {
    this.assertAlive();
    if (this.unit === null) {
      // tf.keep: the first call may happen inside a caller's tf.tidy, which must not free the cache.
      this.unit = tf.keep(
        tf.tidy(() => {
          const norms = tf.maximum(tf.sqrt(tf.sum(tf.square(this.bank), 0, true)), NORMALIZE_EPS);
          return tf.div(this.bank, norms) as tf.Tensor2D;
        }),
      );
    }
    return this.unit;
  }

  /** [M] squared L2 norms ||b_m||^2. Built on first call. */
  squaredNorms(): tf.Tensor1D {
    this.assertAlive();
    if (this.sqNorms === null) {
      this.sqNorms = tf.keep(tf.tidy(() => tf.sum(tf.square(this.bank), 0) as tf.Tensor1D));
    }
    return this.sqNorms;
  }

  /** [C+1, M] = [2 * bank ; -||b||^2]; [x, 1] . l2Bank = ||x||^2 - ||x - b||^2. Built on first call. */
  l2Bank(): tf.Tensor2D {
    this.assertAlive();
    if (this.l2 === null) {
      const sq = this.squaredNorms();
      this.l2 = tf.keep(
        tf.tidy(() => tf.concat([tf.mul(this.bank, 2), tf.neg(tf.reshape(sq, [1, this.size]))], 0) as tf.Tensor2D),
      );
    }
    return this.l2;
  }

  get disposed(): boolean {
    return this.released;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    tf.dispose([this.rows, this.bank]);
    if (this.unit !== null) this.unit.dispose();
    if (this.l2 !== null) this.l2.dispose();
    if (this.sqNorms !== null) this.sqNorms.dispose();
    this.unit = this.l2 = this.sqNorms = null;
  }

  private assertAlive(): void {
    if (this.released) throw new Error('ReferenceLevel: used after dispose()');
  }
}

/** The reference banks of one class, one per feature level. */
export class ReferencePool {
  readonly levels: readonly ReferenceLevel[];
  /** How many reference images went in (0 when built from flat rows). */
  readonly numImages: number;

  private constructor(levels: ReferenceLevel[], numImages: number) {
    this.levels = levels;
    this.numImages = numImages;
  }

  /**
   * From the reference images' feature maps: one [K, H, W, C] tensor per level
   * (what Backbone.extract returns for the K reference images). The inputs are
   * not consumed: the pool keeps its own references.
   */
  static fromFeatures(levels: readonly tf.Tensor4D[]): ReferencePool {
    if (levels.length === 0) throw new Error('ReferencePool.fromFeatures: no levels');
    const k = levels[0].shape[0];
    levels.forEach((f, l) => {
      if (f.rank !== 4) throw new Error(`ReferencePool.fromFeatures: level ${l} must be [K, H, W, C], got [${f.shape}]`);
      if (f.shape[0] !== k) throw new Error(`ReferencePool.fromFeatures: level ${l} has ${f.shape[0]} images, level 0 has ${k}`);
    });
    // reshape shares the data buffer (no copy); NHWC row order = (image, y, x), the
    // same order as the official code's permute(0, 2, 3, 1).reshape(-1, C).
    const built = levels.map((f) => new ReferenceLevel(tf.reshape(f, [-1, f.shape[3]]) as tf.Tensor2D));
    return new ReferencePool(built, k);
  }

  /** From flat banks, one [M, C] tensor per level (e.g. loaded from disk). Inputs are not consumed. */
  static fromRows(levels: readonly tf.Tensor2D[]): ReferencePool {
    if (levels.length === 0) throw new Error('ReferencePool.fromRows: no levels');
    // tf.clone shares data but gives the pool its own handle to dispose.
    return new ReferencePool(levels.map((r) => new ReferenceLevel(tf.clone(r))), 0);
  }

  get numLevels(): number {
    return this.levels.length;
  }

  /** Channels per level. */
  get channels(): number[] {
    return this.levels.map((l) => l.channels);
  }

  /** Bank sizes M per level. */
  get sizes(): number[] {
    return this.levels.map((l) => l.size);
  }

  level(index: number): ReferenceLevel {
    const lvl = this.levels[index];
    if (lvl === undefined) throw new Error(`ReferencePool: no level ${index} (has ${this.levels.length})`);
    if (lvl.disposed) throw new Error('ReferencePool: used after dispose()');
    return lvl;
  }

  get disposed(): boolean {
    return this.levels.every((l) => l.disposed);
  }

  dispose(): void {
    for (const l of this.levels) l.dispose();
  }
}
