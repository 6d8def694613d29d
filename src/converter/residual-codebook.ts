/**
 * ResAD++ (the official code's models/vq.py and utils.applying_EFDM; IJCV
 * 2026, arXiv 2509.23741): one codebook of normal residuals per level, and
 * exact feature distribution matching (EFDM) of a test image's residuals
 * towards their quantised version before the constraintor. Neither is part
 * of the NeurIPS method, so both are off unless a config asks for them
 * (`vqCodes`, `efdmAlpha`).
 *
 * Codebook (`VectorQuantizer` of the official code):
 * - K codes of dimension C, initialised uniform(-1/K, 1/K);
 * - each NORMAL residual position is assigned its nearest code (Euclidean);
 * - loss = mean((q - r)^2) + beta * mean((q - r)^2) over assigned positions
 *   and channels (the same value twice: the first term's gradient would flow
 *   into the residual, which trains nothing, so only beta's term moves the
 *   codes); the gradient is written out here (exact, no gather backward:
 *   tfjs-wasm has no UnsortedSegmentSum).
 *
 * EFDM: per image and channel, sort the h*w residual values and the h*w
 * values of their quantised version, replace the k-th smallest residual by
 * alpha * itself + (1 - alpha) * the k-th smallest quantised value, and put
 * every value back where it came from. alpha = 1 leaves the residuals as
 * they are; the official `fdm_alpha` is 0.4 (its code blends with 1 - alpha
 * towards the codes, i.e. keeps alpha of the input, as here).
 *
 * ```ts
 * const book = new ResidualCodebook(1536, 144, 7);
 * const { loss, grad } = book.lossAndGradient(normalRows, 0.25);   // rows [N * C]
 * const aligned = matchDistribution(residual, book.quantize(residual), [b, h, w, c], 0.4);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

/** Rows whose code distances are computed at once (bounds memory to ROWS x K floats). */
const DISTANCE_ROWS = 4096;

export class ResidualCodebook {
  readonly codes: tf.Variable<tf.Rank.R2>;

  constructor(readonly size: number, readonly dim: number, seed: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`ResidualCodebook: size must be a positive integer, got ${size}`);
    const rng = new Rng(seed).fork('codebook');
    const init = new Float32Array(size * dim);
    for (let i = 0; i < init.length; i++) init[i] = (2 * rng.uniform() - 1) / size;
    // tfjs names it (variable names are global, and several models may coexist).
    this.codes = tf.variable(tf.tensor2d(init, [size, dim]), true);
  }

  /** Index of the nearest code of every row of `rows` ([N * C], row-major). */
  nearest(rows: Float32Array): Int32Array {
    const n = rows.length / this.dim;
    if (!Number.isInteger(n)) throw new Error(`ResidualCodebook.nearest: ${rows.length} values are not rows of ${this.dim}`);
    const out = new Int32Array(n);
    // argmin ||r - e||^2 = argmin (||e||^2 - 2 r.e): ||r||^2 is the same for every code.
    const codesT = tf.tidy(() => tf.transpose(tf.mul(this.codes, -2)));
    const norms = tf.tidy(() => tf.sum(tf.square(this.codes), 1));
    try {
      for (let start = 0; start < n; start += DISTANCE_ROWS) {
        const count = Math.min(DISTANCE_ROWS, n - start);
        const idx = tf.tidy(() => {
          const x = tf.tensor2d(rows.subarray(start * this.dim, (start + count) * this.dim), [count, this.dim]);
          return tf.argMin(tf.add(tf.matMul(x, codesT), norms), 1);
        });
        out.set(idx.dataSync() as Int32Array, start);
        idx.dispose();
      }
    } finally {
      tf.dispose([codesT, norms]);
    }
    return out;
  }

  /** The nearest code of every row: [N * C] values, row-major. */
  quantize(rows: Float32Array): Float32Array {
    const idx = this.nearest(rows);
    const codes = this.codes.dataSync() as Float32Array;
    const out = new Float32Array(rows.length);
    for (let i = 0; i < idx.length; i++) out.set(codes.subarray(idx[i] * this.dim, (idx[i] + 1) * this.dim), i * this.dim);
    return out;
  }

  /**
   * The official VQ loss on `rows` (normal residuals, [N * C]) and its exact
   * gradient with respect to the codes (all K rows; unassigned codes get 0).
   * Empty `rows` give loss 0 and a zero gradient.
   */
  lossAndGradient(rows: Float32Array, beta: number): { loss: number; grad: tf.Tensor2D } {
    const c = this.dim;
    const n = rows.length / c;
    const grad = new Float32Array(this.size * c);
    if (n === 0) return { loss: 0, grad: tf.tensor2d(grad, [this.size, c]) };
    const idx = this.nearest(rows);
    const codes = this.codes.dataSync() as Float32Array;
    let squares = 0;
    // d/de_j beta * mean((e_idx - r)^2) = beta * 2 / (N C) * sum_{i: idx_i = j} (e_j - r_i)
    const scale = (2 * beta) / (n * c);
    for (let i = 0; i < n; i++) {
      const e = idx[i] * c;
      const r = i * c;
      for (let k = 0; k < c; k++) {
        const d = codes[e + k] - rows[r + k];
        squares += d * d;
        grad[e + k] += scale * d;
      }
    }
    return { loss: ((1 + beta) * squares) / (n * c), grad: tf.tensor2d(grad, [this.size, c]) };
  }

  dispose(): void {
    this.codes.dispose();
  }
}

/**
 * EFDM (see module doc) of `input` towards `target`, both [B, h, w, C]
 * row-major (NHWC) as Float32Arrays: per image and channel, over the h*w
 * positions. `alpha` is the share of the input kept (1: unchanged).
 */
export function matchDistribution(input: Float32Array, target: Float32Array, shape: readonly [number, number, number, number], alpha: number): Float32Array {
  const [b, h, w, c] = shape;
  const hw = h * w;
  if (input.length !== b * hw * c || target.length !== input.length) {
    throw new Error(`matchDistribution: expected ${b * hw * c} values for [${shape.join(', ')}], got ${input.length} and ${target.length}`);
  }
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`matchDistribution: alpha must be in [0, 1], got ${alpha}`);
  const out = new Float32Array(input.length);
  const order = new Int32Array(hw);
  const values = new Float32Array(hw);
  const sortedTarget = new Float32Array(hw);
  for (let img = 0; img < b; img++) {
    const base = img * hw * c;
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < hw; p++) {
        values[p] = input[base + p * c + ch];
        sortedTarget[p] = target[base + p * c + ch];
        order[p] = p;
      }
      order.sort((p, q) => values[p] - values[q] || p - q);
      sortedTarget.sort();
      for (let k = 0; k < hw; k++) {
        const p = order[k];
        out[base + p * c + ch] = alpha * values[p] + (1 - alpha) * sortedTarget[k];
      }
    }
  }
  return out;
}
