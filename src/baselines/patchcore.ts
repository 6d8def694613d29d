/**
 * PatchCore, few-shot (Roth et al., "Towards Total Recall in Industrial
 * Anomaly Detection", CVPR 2022, arXiv 2106.08265), fitted on the same K
 * normal references ResAD gets, with no training.
 *
 * - Patch features: the backbone's last two levels (WideResNet50 layer2 +
 *   layer3 in the paper; `levels` to change), each 3x3 locally averaged
 *   ("locally aware patch features", AvgPool2d(3, 1, 1)), the coarser one
 *   upsampled bilinearly to the finer grid and concatenated (as anomalib).
 *   No channel projection (anomalib keeps the full concatenation too).
 * - Memory bank: every patch feature of the K references; optionally a greedy
 *   k-center coreset of `coresetRatio` of it (coreset.ts). The paper's 1-10 %
 *   targets banks of hundreds of thousands of patches; a few-shot bank has a
 *   few thousand, so the default keeps all of it (ratio 1).
 * - Patch score: L2 distance to the nearest bank entry. Map: bilinear
 *   upsampling (align_corners=False) + Gaussian sigma 4 (scorer.ts).
 * - Image score: the maximum patch score s* (paper Eq. 6). The paper's
 *   reweighting (Eq. 7, `reweight: true`) multiplies s* by
 *   1 - softmax(distances from the test patch to the b = 9 bank neighbours
 *   of its match m*)[m*], as anomalib; default off: with a few-shot bank the
 *   neighbourhood of m* is sparse and the weight mostly adds noise.
 *
 * ```ts
 * const pc = patchcore({ coresetRatio: 0.25 });
 * const fitted = pc.fit(backbone.extract(refs));           // per level [K, h, w, C]
 * const { patchScores, imageScores } = fitted.scoreFeatures(backbone.extract(queries));
 * fitted.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { ReferenceLevel } from '../converter/index';
import { kCenterGreedy } from './coreset';
import { embedLevels, knnDistances, lastTwoLevels, resolveLevels, splitGrids } from './features';
import type { FeatureBaseline, FeatureScores, FittedBaseline } from './types';

export interface PatchCoreOptions {
  /** Backbone level indices (default: the last two, layer2 + layer3 for layer1..3). */
  levels?: number[];
  /** 3x3 local averaging of each level. Default true (paper). */
  localPool?: boolean;
  /** Fraction of the bank kept by the greedy coreset, (0, 1]. Default 1 (all; few-shot banks are small). */
  coresetRatio?: number;
  /** Random projection dimension of the coreset distances (default 128, as the reference code). */
  coresetProjection?: number;
  /** Seed of the coreset's projection and start point. Default 0. */
  seed?: number;
  /** Paper Eq. 7 image-score reweighting. Default false. */
  reweight?: boolean;
  /** Support-set size b of the reweighting (anomalib: 9). */
  reweightNeighbours?: number;
}

export function patchcore(options: PatchCoreOptions = {}): FeatureBaseline {
  const localPool = options.localPool ?? true;
  const coresetRatio = options.coresetRatio ?? 1;
  const projection = options.coresetProjection ?? 128;
  const seed = options.seed ?? 0;
  const reweight = options.reweight ?? false;
  const neighbours = options.reweightNeighbours ?? 9;
  if (!(coresetRatio > 0 && coresetRatio <= 1)) throw new Error(`patchcore: coresetRatio must be in (0, 1], got ${coresetRatio}`);
  if (!(Number.isInteger(neighbours) && neighbours >= 1)) throw new Error(`patchcore: reweightNeighbours must be a positive integer, got ${neighbours}`);

  return {
    method: 'patchcore',
    describe: () => ({ method: 'patchcore', levels: options.levels ?? 'last two', localPool, coresetRatio, coresetProjection: projection, seed, reweight, reweightNeighbours: neighbours, distance: 'l2' }),
    fit(referenceFeatures): FittedBaseline {
      const levels = resolveLevels(options.levels, referenceFeatures.length, lastTwoLevels(referenceFeatures.length));
      const embed = (feats: readonly tf.Tensor4D[]): tf.Tensor4D => embedLevels(feats, { levels, upsample: 'bilinear', localPool });
      const rows = tf.tidy(() => {
        const e = embed(referenceFeatures);
        return tf.reshape(e, [-1, e.shape[3]]) as tf.Tensor2D;
      });
      let bankRows = rows;
      if (coresetRatio < 1) {
        const count = Math.max(1, Math.round(rows.shape[0] * coresetRatio));
        const picked = kCenterGreedy(rows, count, { seed, projectionDim: projection });
        bankRows = tf.tidy(() => tf.gather(rows, tf.tensor1d(picked, 'int32')) as tf.Tensor2D);
        rows.dispose();
      }
      const bank = new ReferenceLevel(bankRows); // takes ownership

      return {
        memoryBytes: bank.size * bank.channels * 4 * 3, // rows + transposed bank + augmented L2 bank
        scoreFeatures(features): FeatureScores {
          const emb = embed(features);
          const [b, h, w, c] = emb.shape;
          const query = tf.reshape(emb, [b * h * w, c]) as tf.Tensor2D;
          try {
            const nn = knnDistances(query, bank, 1);
            const grids = splitGrids(nn.distances, b, h, w);
            const imageScores = grids.map((g, i) => {
              let best = 0;
              for (let p = 1; p < g.data.length; p++) if (g.data[p] > g.data[best]) best = p;
              const sStar = g.data[best];
              if (!reweight) return sStar;
              return sStar * reweightFactor(query, i * h * w + best, nn.indices[i * h * w + best], bank, neighbours);
            });
            return { patchScores: grids, imageScores };
          } finally {
            tf.dispose([emb, query]);
          }
        },
        dispose: () => bank.dispose(),
      };
    },
  };
}

/**
 * Paper Eq. 7 as anomalib computes it: with m* the bank match of the most
 * anomalous test patch m_test and N_b(m*) the b nearest bank entries of m*
 * (m* itself first), w = 1 - exp(|m_test - m*|) / sum_{m in N_b(m*)} exp(|m_test - m|).
 */
function reweightFactor(query: tf.Tensor2D, row: number, matchIndex: number, bank: ReferenceLevel, b: number): number {
  const support = tf.tidy(() => tf.slice(bank.rows, [matchIndex, 0], [1, bank.channels]) as tf.Tensor2D);
  const nb = knnDistances(support, bank, Math.min(b, bank.size));
  support.dispose();
  // Keep m* first even if a duplicate entry tied with it.
  const ids = [matchIndex, ...Array.from(nb.indices).filter((i) => i !== matchIndex)].slice(0, nb.k);
  const d = tf.tidy(() => {
    const t = tf.slice(query, [row, 0], [1, query.shape[1]]);
    const m = tf.gather(bank.rows, tf.tensor1d(ids, 'int32'));
    return tf.sqrt(tf.sum(tf.square(tf.sub(m, t)), 1));
  });
  const dist = Array.from(d.dataSync());
  d.dispose();
  const top = Math.max(...dist); // stable softmax
  const exps = dist.map((v) => Math.exp(v - top));
  return 1 - exps[0] / exps.reduce((a, v) => a + v, 0);
}
