/**
 * SPADE, few-shot (Cohen & Hoshen, "Sub-Image Anomaly Detection with Deep
 * Pyramid Correspondences", arXiv 2005.02357, 2020), on the same K normal
 * references ResAD gets, with no training.
 *
 * - Image score (paper §3.1): global average pooling of the last backbone
 *   level (the paper pools WideResNet50's final block; our backbones expose up
 *   to stride 16), then the mean L2 distance to the k nearest reference
 *   images, k = min(K, `imageK` = 50). With K <= 50 references that is the
 *   mean distance to all of them.
 * - Pixel score (paper §3.2-3.3): the gallery is every position of the k
 *   nearest reference images' feature pyramid, all levels (layer1..3 in the
 *   paper) upsampled bilinearly to the finest grid and concatenated; a
 *   position's score is the mean L2 distance to its `kappa` nearest gallery
 *   features (paper: kappa = 1, the default). The popular SPADE-pytorch code
 *   instead averages per-level nearest distances; we follow the paper.
 * - Map: bilinear upsampling (align_corners=False) + Gaussian sigma 4.
 *
 * ```ts
 * const fitted = spade().fit(backbone.extract(refs));
 * const { patchScores, imageScores } = fitted.scoreFeatures(backbone.extract(queries));
 * fitted.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { ReferenceLevel } from '../converter/index';
import { allLevels, embedLevels, knnDistances, meanOfRows, resolveLevels } from './features';
import type { FeatureBaseline, FeatureScores, FittedBaseline } from './types';
import type { ScoreMap } from '../scoring/anomaly-map';

export interface SpadeOptions {
  /** Levels of the pixel gallery (default: all). */
  levels?: number[];
  /** Level that is globally pooled for the image kNN (default: the last). */
  globalLevel?: number;
  /** Nearest reference images for the image score and the gallery: min(K, imageK). Paper: 50. */
  imageK?: number;
  /** Nearest gallery features averaged per position. Paper: 1. */
  kappa?: number;
}

/** The k nearest rows of `refs` ([K, C]) for every row of `queries` ([B, C]): indices and distances, ascending. */
export function nearestImages(queries: Float32Array, refs: Float32Array, channels: number, k: number): Array<{ index: number; distance: number }[]> {
  const nq = queries.length / channels;
  const nr = refs.length / channels;
  const out: Array<{ index: number; distance: number }[]> = [];
  for (let q = 0; q < nq; q++) {
    const d: { index: number; distance: number }[] = [];
    for (let r = 0; r < nr; r++) {
      let s = 0;
      for (let c = 0; c < channels; c++) {
        const diff = queries[q * channels + c] - refs[r * channels + c];
        s += diff * diff;
      }
      d.push({ index: r, distance: Math.sqrt(s) });
    }
    // Stable sort: ties keep the lower reference index first.
    out.push(d.sort((a, b) => a.distance - b.distance).slice(0, k));
  }
  return out;
}

export function spade(options: SpadeOptions = {}): FeatureBaseline {
  const imageK = options.imageK ?? 50;
  const kappa = options.kappa ?? 1;
  if (!(Number.isInteger(imageK) && imageK >= 1)) throw new Error(`spade: imageK must be a positive integer, got ${imageK}`);
  if (!(Number.isInteger(kappa) && kappa >= 1)) throw new Error(`spade: kappa must be a positive integer, got ${kappa}`);

  return {
    method: 'spade',
    describe: () => ({ method: 'spade', levels: options.levels ?? 'all', globalLevel: options.globalLevel ?? 'last', imageK, kappa, distance: 'l2' }),
    fit(referenceFeatures): FittedBaseline {
      const nLevels = referenceFeatures.length;
      const levels = resolveLevels(options.levels, nLevels, allLevels(nLevels));
      const [globalLevel] = resolveLevels(options.globalLevel === undefined ? undefined : [options.globalLevel], nLevels, [nLevels - 1]);
      const numRefs = referenceFeatures[0].shape[0];
      const k = Math.min(numRefs, imageK);
      const globalOf = (feats: readonly tf.Tensor4D[]): Float32Array => {
        const g = tf.mean(feats[globalLevel], [1, 2]);
        const v = g.dataSync() as Float32Array;
        g.dispose();
        return v;
      };
      const refGlobal = globalOf(referenceFeatures);
      const globalChannels = referenceFeatures[globalLevel].shape[3];
      // Per-reference pyramids [K, h*w, C]; galleries are cut from it.
      const refEmb = tf.tidy(() => {
        const e = embedLevels(referenceFeatures, { levels, upsample: 'bilinear' });
        return tf.reshape(e, [numRefs, e.shape[1] * e.shape[2], e.shape[3]]) as tf.Tensor3D;
      });
      const galleryOf = (images: number[]): ReferenceLevel =>
        new ReferenceLevel(tf.tidy(() => tf.reshape(tf.gather(refEmb, tf.tensor1d(images, 'int32')), [-1, refEmb.shape[2]]) as tf.Tensor2D));
      // With k = K (every K <= imageK) all queries share one gallery: build it once.
      const shared = k === numRefs ? galleryOf(allLevels(numRefs)) : null;
      if (kappa > (shared?.size ?? k * refEmb.shape[1])) throw new Error(`spade: kappa ${kappa} exceeds the gallery size`);

      return {
        memoryBytes: refEmb.size * 4 * (shared ? 4 : 1),
        scoreFeatures(features): FeatureScores {
          const neighbours = nearestImages(globalOf(features), refGlobal, globalChannels, k);
          const imageScores = neighbours.map((nb) => nb.reduce((a, n) => a + n.distance, 0) / nb.length);
          const emb = embedLevels(features, { levels, upsample: 'bilinear' });
          const [b, h, w, c] = emb.shape;
          const patchScores: ScoreMap[] = [];
          try {
            for (let i = 0; i < b; i++) {
              const query = tf.tidy(() => tf.reshape(tf.slice(emb, [i, 0, 0, 0], [1, h, w, c]), [h * w, c]) as tf.Tensor2D);
              const gallery = shared ?? galleryOf(neighbours[i].map((n) => n.index).sort((x, y) => x - y));
              try {
                patchScores.push({ width: w, height: h, data: meanOfRows(knnDistances(query, gallery, kappa)) });
              } finally {
                query.dispose();
                if (gallery !== shared) gallery.dispose();
              }
            }
          } finally {
            emb.dispose();
          }
          return { patchScores, imageScores };
        },
        dispose: () => {
          refEmb.dispose();
          shared?.dispose();
        },
      };
    },
  };
}
