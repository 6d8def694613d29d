/**
 * Exact t-SNE (van der Maaten & Hinton 2008) for feature plots, written here
 * because no t-SNE package is installed and the algorithm is short: O(N^2)
 * memory and time per iteration, fine up to ~2000 points (subsample first,
 * see project.ts). Seeded through Rng, so a seed reproduces a plot exactly.
 *
 * Same recipe as the reference implementation / scikit-learn's exact method:
 * squared Euclidean input distances, per-point Gaussian bandwidth by binary
 * search on the perplexity, symmetrised P, early exaggeration (x12, 250
 * iterations), momentum 0.5 -> 0.8, delta-bar-delta gains, learning rate
 * max(N / exaggeration / 4, 50) ("auto"). Checked against scikit-learn
 * 1.2's exact t-SNE (test/notebook/tsne-sklearn.test.ts): same P, KL reached
 * and trustworthiness within its seed-to-seed spread.
 *
 * ```ts
 * const { x, y, klDivergence } = tsne(vectors, { seed: 0, perplexity: 30 });
 * ```
 */
import { Rng } from '../util/rng';

export interface TsneOptions {
  seed?: number;
  /** Effective number of neighbours; clamped to (N - 1) / 3. Default 30. */
  perplexity?: number;
  /** Total gradient iterations. Default 1000. */
  iterations?: number;
  earlyExaggeration?: number;
  /** Iterations with exaggeration and momentum 0.5. Default 250. */
  exaggerationIterations?: number;
  /** Default "auto": max(N / earlyExaggeration / 4, 50). */
  learningRate?: number;
}

export interface Embedding2d {
  x: number[];
  y: number[];
}

export interface TsneEmbedding extends Embedding2d {
  /** KL(P || Q) at the last iteration, as scikit-learn's `kl_divergence_` (lower = the map keeps neighbourhoods better). */
  klDivergence: number;
}

/** Rows as Float64 vectors of equal length (accepts typed arrays or number arrays). */
export function toRows(points: ReadonlyArray<ArrayLike<number>>): Float64Array[] {
  if (points.length === 0) return [];
  const dim = points[0].length;
  return points.map((p, i) => {
    if (p.length !== dim) throw new Error(`point ${i} has ${p.length} values, expected ${dim}`);
    return Float64Array.from(p as ArrayLike<number>);
  });
}

function squaredDistances(rows: readonly Float64Array[]): Float64Array {
  const n = rows.length;
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = rows[i];
    for (let j = i + 1; j < n; j++) {
      const b = rows[j];
      let s = 0;
      for (let k = 0; k < a.length; k++) {
        const t = a[k] - b[k];
        s += t * t;
      }
      d[i * n + j] = s;
      d[j * n + i] = s;
    }
  }
  return d;
}

/** Conditional P_{j|i} with per-row beta found by bisection so that entropy = log(perplexity). */
function conditionalP(dist: Float64Array, n: number, perplexity: number): Float64Array {
  const p = new Float64Array(n * n);
  const target = Math.log(perplexity);
  const row = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    // Shift by the nearest distance so exp() does not underflow for large-scale features.
    let dmin = Infinity;
    for (let j = 0; j < n; j++) if (j !== i && dist[i * n + j] < dmin) dmin = dist[i * n + j];
    for (let iter = 0; iter < 100; iter++) {
      let sum = 0;
      let dsum = 0;
      for (let j = 0; j < n; j++) {
        const v = j === i ? 0 : Math.exp(-(dist[i * n + j] - dmin) * beta);
        row[j] = v;
        sum += v;
        dsum += v * (dist[i * n + j] - dmin);
      }
      if (sum === 0) sum = 1e-300;
      const entropy = Math.log(sum) + (beta * dsum) / sum;
      for (let j = 0; j < n; j++) p[i * n + j] = row[j] / sum;
      const diff = entropy - target;
      if (Math.abs(diff) < 1e-5) break;
      if (diff > 0) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
  }
  return p;
}

/** The perplexity actually used for N points: clamped to (N - 1) / 3 (and at least 1). */
function effectivePerplexity(n: number, perplexity = 30): number {
  return Math.max(1, Math.min(perplexity, (n - 1) / 3));
}

/**
 * The symmetrised input affinities P (N x N, row-major, summing to 1 up to the floor) that
 * t-SNE matches: scikit-learn's `_joint_probabilities` of the squared
 * Euclidean distances, floored at 1e-12 so that KL(P || Q) stays finite.
 */
export function jointProbabilities(points: ReadonlyArray<ArrayLike<number>>, perplexity = 30): Float64Array {
  const rows = toRows(points);
  const n = rows.length;
  const cond = conditionalP(squaredDistances(rows), n, effectivePerplexity(n, perplexity));
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (j !== i) P[i * n + j] = Math.max((cond[i * n + j] + cond[j * n + i]) / (2 * n), 1e-12);
  return P;
}

/** KL(P || Q) of an embedding (interleaved x, y) under the Student-t kernel with one degree of freedom. */
export function klDivergence(P: Float64Array, Y: ArrayLike<number>): number {
  const n = Y.length / 2;
  let sumQ = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) sumQ += 2 / (1 + (Y[2 * i] - Y[2 * j]) ** 2 + (Y[2 * i + 1] - Y[2 * j + 1]) ** 2);
  let kl = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const q = Math.max(1 / (1 + (Y[2 * i] - Y[2 * j]) ** 2 + (Y[2 * i + 1] - Y[2 * j + 1]) ** 2) / sumQ, 1e-300);
      kl += P[i * n + j] * Math.log(P[i * n + j] / q);
    }
  return kl;
}

/**
 * The t-SNE gradient 4 sum_j (ex p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j)
 * for the embedding Y (interleaved x, y), written into `grad`; `num` (N x N)
 * is scratch space. With ex = 1 it is the gradient of klDivergence(P, Y);
 * ex > 1 is early exaggeration, applied to P only, as scikit-learn does.
 */
export function klGradient(P: Float64Array, Y: Float64Array, ex: number, grad: Float64Array, num: Float64Array = new Float64Array(P.length)): void {
  const n = Y.length / 2;
  // Student-t kernel, symmetric: fill both halves in one pass.
  let sumQ = 0;
  for (let i = 0; i < n; i++) {
    const yi0 = Y[2 * i];
    const yi1 = Y[2 * i + 1];
    for (let j = i + 1; j < n; j++) {
      const d0 = yi0 - Y[2 * j];
      const d1 = yi1 - Y[2 * j + 1];
      const q = 1 / (1 + d0 * d0 + d1 * d1);
      num[i * n + j] = q;
      num[j * n + i] = q;
      sumQ += 2 * q;
    }
  }
  for (let i = 0; i < n; i++) {
    const yi0 = Y[2 * i];
    const yi1 = Y[2 * i + 1];
    let g0 = 0;
    let g1 = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const q = num[i * n + j];
      const mult = (ex * P[i * n + j] - q / sumQ) * q;
      g0 += mult * (yi0 - Y[2 * j]);
      g1 += mult * (yi1 - Y[2 * j + 1]);
    }
    grad[2 * i] = 4 * g0;
    grad[2 * i + 1] = 4 * g1;
  }
}

/** Exact t-SNE to 2-D. Duplicate points are fine; N < 2 returns zeros. */
export function tsne(points: ReadonlyArray<ArrayLike<number>>, options: TsneOptions = {}): TsneEmbedding {
  const n = points.length;
  if (n < 2) return { x: new Array<number>(n).fill(0), y: new Array<number>(n).fill(0), klDivergence: 0 };
  const rng = new Rng(options.seed ?? 0);
  const iterations = options.iterations ?? 1000;
  const exaggeration = options.earlyExaggeration ?? 12;
  const exIters = Math.min(options.exaggerationIterations ?? 250, iterations);
  const eta = options.learningRate ?? Math.max(n / exaggeration / 4, 50);
  const P = jointProbabilities(points, options.perplexity);

  const Y = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) Y[i] = rng.normal(0, 1e-4);
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const grad = new Float64Array(2 * n);
  const num = new Float64Array(n * n);

  for (let it = 0; it < iterations; it++) {
    const ex = it < exIters ? exaggeration : 1;
    const momentum = it < exIters ? 0.5 : 0.8;
    klGradient(P, Y, ex, grad, num);
    for (let k = 0; k < 2 * n; k++) {
      // Delta-bar-delta: grow the step where the gradient keeps its direction against the last update.
      gains[k] = Math.sign(grad[k]) !== Math.sign(update[k]) ? gains[k] + 0.2 : Math.max(gains[k] * 0.8, 0.01);
      update[k] = momentum * update[k] - eta * gains[k] * grad[k];
      Y[k] += update[k];
    }
    let m0 = 0;
    let m1 = 0;
    for (let i = 0; i < n; i++) {
      m0 += Y[2 * i];
      m1 += Y[2 * i + 1];
    }
    m0 /= n;
    m1 /= n;
    for (let i = 0; i < n; i++) {
      Y[2 * i] -= m0;
      Y[2 * i + 1] -= m1;
    }
  }
  const x = new Array<number>(n);
  const y = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    x[i] = Y[2 * i];
    y[i] = Y[2 * i + 1];
  }
  return { x, y, klDivergence: klDivergence(P, Y) };
}
