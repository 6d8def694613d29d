/**
 * PaDiM, few-shot (Defard et al., "PaDiM: a Patch Distribution Modeling
 * Framework for Anomaly Detection and Localization", ICPR 2020, arXiv
 * 2011.08785), fitted on the same K normal references ResAD gets.
 *
 * - Embedding: all backbone levels (layer1..3 in the paper), coarser ones
 *   upsampled nearest to the finest grid (its embedding_concat) and
 *   concatenated; then a seeded random subset of `dims` channels (paper:
 *   100 of 448 for ResNet18, 550 of 1792 for WideResNet50; default 100).
 * - Per grid position p: mean mu_p and covariance
 *   Sigma_p = S_p + eps I, S_p the unbiased sample covariance of the K
 *   references (ddof 1, as np.cov) and eps = 0.01 (paper). With K = 1..8 and
 *   d = 100, S_p has rank <= K - 1, so Sigma_p is eps on 100 - (K - 1)
 *   directions: the regulariser dominates, and the Mahalanobis distance is
 *   mostly |x - mu| / sqrt(eps) with the K - 1 directions the references
 *   vary along discounted. K = 1 has no sample covariance (np.cov gives NaN);
 *   we use S = 0, i.e. a scaled L2 distance to the single reference.
 * - Patch score: the Mahalanobis distance sqrt((x - mu)^T Sigma^-1 (x - mu)).
 *   Map: bilinear upsampling (align_corners=False) + Gaussian sigma 4; image
 *   score = max of the map (the reference code). The reference code also
 *   min-max normalises maps over the whole test set; we do not (one image's
 *   score must not depend on the others).
 *
 * Memory: PaDiM stores a d x d inverse per position (3136 x 550^2 floats =
 * 3.8 GB for WideResNet50 at 224 px). Because S_p = U^T U with U the K x d
 * centred references / sqrt(K - 1), the Woodbury identity gives exactly
 *   Sigma^-1 = (I - U^T (eps I_K + U U^T)^-1 U) / eps,
 *   d^2(v) = (|v|^2 - (Uv)^T G^-1 (Uv)) / eps = |v - U^T w|^2 / eps + |w|^2,
 *   with G = eps I_K + U U^T and w = G^-1 U v (the last form has no cancellation),
 * so we keep U ([P, K, d]) and G^-1 ([P, K, K]) only: O(P K d) memory and
 * O(K d) work per position, the same numbers as the explicit inverse.
 *
 * ```ts
 * const fitted = padim({ dims: 100, seed: 0 }).fit(backbone.extract(refs));
 * const { patchScores } = fitted.scoreFeatures(backbone.extract(queries));
 * fitted.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { allLevels, embedLevels, resolveLevels, splitGrids } from './features';
import type { FeatureBaseline, FeatureScores, FittedBaseline } from './types';

export interface PadimOptions {
  /** Levels concatenated (default: all). */
  levels?: number[];
  /** Random channel subset size d (clipped to the embedding size). Default 100. */
  dims?: number;
  /** Regulariser eps of Sigma + eps I. Paper: 0.01. */
  epsilon?: number;
  /** Seed of the channel subset. Default 0. */
  seed?: number;
  /** Floats per [positions, K, d] temporary when scoring (memory bound). Default 8M. */
  maxBlockElements?: number;
}

/** Inverse of a small symmetric positive-definite matrix (row-major n x n), Gauss-Jordan in float64. */
export function invertSmall(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[piv * n + col])) piv = r;
    if (m[piv * n + col] === 0) throw new Error('invertSmall: singular matrix');
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        [m[col * n + j], m[piv * n + j]] = [m[piv * n + j], m[col * n + j]];
        [inv[col * n + j], inv[piv * n + j]] = [inv[piv * n + j], inv[col * n + j]];
      }
    }
    const p = m[col * n + col];
    for (let j = 0; j < n; j++) {
      m[col * n + j] /= p;
      inv[col * n + j] /= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r * n + col];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        m[r * n + j] -= f * m[col * n + j];
        inv[r * n + j] -= f * inv[col * n + j];
      }
    }
  }
  return inv;
}

export function padim(options: PadimOptions = {}): FeatureBaseline {
  const dimsWanted = options.dims ?? 100;
  const eps = options.epsilon ?? 0.01;
  const seed = options.seed ?? 0;
  const maxBlock = options.maxBlockElements ?? 1 << 23;
  if (!(Number.isInteger(dimsWanted) && dimsWanted >= 1)) throw new Error(`padim: dims must be a positive integer, got ${dimsWanted}`);
  if (!(eps > 0)) throw new Error(`padim: epsilon must be > 0, got ${eps}`);

  return {
    method: 'padim',
    describe: () => ({ method: 'padim', levels: options.levels ?? 'all', dims: dimsWanted, epsilon: eps, seed, covariance: 'unbiased (ddof 1) + eps I, Woodbury-exact' }),
    fit(referenceFeatures): FittedBaseline {
      const levels = resolveLevels(options.levels, referenceFeatures.length, allLevels(referenceFeatures.length));
      const total = levels.reduce((a, l) => a + referenceFeatures[l].shape[3], 0);
      const d = Math.min(dimsWanted, total);
      // Sorted: level order is kept (the order of channels does not change any distance).
      const channels = d === total ? allLevels(total) : new Rng(seed).fork('padim').sample(allLevels(total), d).sort((x, y) => x - y);
      const channelIdx = tf.tensor1d(channels, 'int32');
      const embed = (feats: readonly tf.Tensor4D[]): tf.Tensor4D =>
        tf.tidy(() => {
          const e = embedLevels(feats, { levels, upsample: 'nearest' });
          return (d === total ? e : tf.gather(e, channelIdx, 3)) as tf.Tensor4D;
        });

      const k = referenceFeatures[0].shape[0];
      const ref = embed(referenceFeatures);
      const [, h, w] = ref.shape;
      const positions = h * w;
      const { mean, u } = tf.tidy(() => {
        const x = tf.reshape(ref, [k, positions, d]);
        const mu = tf.mean(x, 0); // [P, d]
        // U = centred references / sqrt(K - 1), so S = U^T U (ddof 1); K = 1 -> S = 0 (see module doc).
        const scale = k > 1 ? 1 / Math.sqrt(k - 1) : 0;
        const centred = tf.mul(tf.sub(x, mu), scale);
        return { mean: mu as tf.Tensor2D, u: tf.transpose(centred, [1, 0, 2]) as tf.Tensor3D }; // [P, K, d]
      });
      ref.dispose();

      // G_p = eps I_K + U_p U_p^T and its inverse: K x K per position, float64 in JS (tiny).
      const uData = u.dataSync() as Float32Array;
      const gInv = new Float32Array(positions * k * k);
      const g = new Float64Array(k * k);
      for (let p = 0; p < positions; p++) {
        const base = p * k * d;
        for (let i = 0; i < k; i++) {
          for (let j = i; j < k; j++) {
            let s = 0;
            for (let c = 0; c < d; c++) s += uData[base + i * d + c] * uData[base + j * d + c];
            g[i * k + j] = g[j * k + i] = s + (i === j ? eps : 0);
          }
        }
        gInv.set(invertSmall(g, k), p * k * k);
      }
      const gInvT = tf.tensor3d(gInv, [positions, k, k]);
      const chunk = Math.max(1, Math.floor(maxBlock / (k * d)));

      return {
        memoryBytes: (mean.size + u.size + gInvT.size) * 4,
        scoreFeatures(features): FeatureScores {
          const q = embed(features);
          const [b, qh, qw] = q.shape;
          if (qh !== h || qw !== w) {
            q.dispose();
            throw new Error(`padim: query grid ${qh}x${qw} differs from the references' ${h}x${w}`);
          }
          const out = new Float32Array(b * positions);
          try {
            for (let i = 0; i < b; i++) {
              for (let start = 0; start < positions; start += chunk) {
                const n = Math.min(chunk, positions - start);
                const m = tf.tidy(() => {
                  const v = tf.sub(tf.reshape(tf.slice(q, [i, 0, 0, 0], [1, h, w, d]), [positions, d]).slice([start, 0], [n, d]), tf.slice(mean, [start, 0], [n, d]));
                  const uc = tf.slice(u, [start, 0, 0], [n, k, d]);
                  const uv = tf.sum(tf.mul(uc, tf.expandDims(v, 1)), 2); // [n, K]
                  const wv = tf.sum(tf.mul(tf.slice(gInvT, [start, 0, 0], [n, k, k]), tf.expandDims(uv, 1)), 2); // w = G^-1 U v, [n, K]
                  // |v|^2 - (Uv)^T w loses everything to cancellation in float32 when v lies near
                  // span(U) and eps is small; it equals |v - U^T w|^2 + eps |w|^2 (expand the
                  // square with U U^T = G - eps I), a sum of non-negative terms.
                  const r = tf.sub(v, tf.sum(tf.mul(uc, tf.expandDims(wv, 2)), 1)); // [n, d]
                  const d2 = tf.add(tf.div(tf.sum(tf.square(r), 1), eps), tf.sum(tf.square(wv), 1));
                  return tf.sqrt(d2);
                });
                out.set(m.dataSync(), i * positions + start);
                m.dispose();
              }
            }
          } finally {
            q.dispose();
          }
          return { patchScores: splitGrids(out, b, h, w) };
        },
        dispose: () => tf.dispose([mean, u, gInvT, channelIdx]),
      };
    },
  };
}
