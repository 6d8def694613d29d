/**
 * Any feature baseline + a frozen backbone -> a `FewShotScorer`, so that
 * `evaluateFewShot` evaluates PatchCore / SPADE / PaDiM exactly as it
 * evaluates ResAD (same references, same preprocessing, same metrics).
 *
 * Per class: the K references go through the backbone once and the method is
 * fitted on their features; per batch: features -> patch-score grids ->
 * bilinear upsampling to the image size (align_corners=False) -> Gaussian
 * sigma 4 -> image score (the method's own, else the max of the map).
 *
 * ```ts
 * const scorer = await createBaselineScorer('patchcore', { backbone: 'resnet50_v2', imageSize: 224 });
 * const result = await evaluateFewShot(scorer, samples, referenceSet);
 * scorer.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../backbones/index';
import { createBackbone, defaultBackboneInput } from '../backbones/index';
import { DEFAULT_PREPROCESS, toBatchTensor, PreprocessedImage } from '../data/transforms';
import type { FewShotScorer } from '../evaluation/index';
import { imageScore, ScoreMap } from '../scoring/anomaly-map';
import { gridToMap } from './features';
import { padim, PadimOptions } from './padim';
import { patchcore, PatchCoreOptions } from './patchcore';
import { spade, SpadeOptions } from './spade';
import { BaselineMethod, FeatureBaseline } from './types';

/**
 * Same backbone and input size as ResAD's CPU preset on this machine (the
 * packaged fallback without the ImageNet weights), so the numbers compare
 * with ResAD's: both are the default backbone (backbones/defaults.ts).
 * `note` says when the fallback applies.
 */
export function defaultBaselineSettings(options: { weightsFileGiven?: boolean } = {}): { backbone: string; imageSize: number; note: string | null } {
  return defaultBackboneInput(options);
}

export interface BaselineScorerOptions {
  /** Square input side (default: the CPU preset's, defaultBaselineSettings). */
  imageSize?: number;
  /** Gaussian smoothing sigma in output pixels (all three papers: 4). */
  sigma?: number;
  /** Preprocessing resize mode (default: the paper's, as every preset: resize shorter side + centre crop). */
  resizeMode?: 'resize-crop' | 'resize-whole';
  /** Images per backbone call when extracting reference features. Default 8. */
  batchSize?: number;
}

/** A FewShotScorer that also owns resources. */
export interface BaselineScorer extends FewShotScorer {
  readonly baseline: FeatureBaseline;
  readonly backbone: Backbone;
  /** Resolved options, for results files. */
  describe(): Record<string, unknown>;
  /** Frees the backbone when this scorer created it. */
  dispose(): void;
}

/** Wraps a fitted-on-features baseline and a backbone (the caller keeps ownership of the backbone). */
export function baselineScorer(baseline: FeatureBaseline, backbone: Backbone, options: BaselineScorerOptions = {}, ownsBackbone = false): BaselineScorer {
  const imageSize = options.imageSize ?? defaultBaselineSettings().imageSize;
  const sigma = options.sigma ?? 4;
  const resizeMode = options.resizeMode ?? DEFAULT_PREPROCESS.mode;
  const batchSize = options.batchSize ?? 8;
  const extract = (images: readonly PreprocessedImage[]): tf.Tensor4D[] => {
    const input = toBatchTensor(images, imageSize);
    try {
      return backbone.extract(input);
    } finally {
      input.dispose();
    }
  };
  return {
    baseline,
    backbone,
    imageSize,
    // The backbone normalises internally (Backbone contract): feed it [0, 1].
    preprocess: { size: imageSize, mode: resizeMode, normalize: false },
    describe: () => ({ ...baseline.describe(), backbone: backbone.name, imageSize, sigma, resizeMode, upsampling: 'bilinear, align_corners=False' }),
    prepareClass(references) {
      if (references.length === 0) throw new Error(`${baseline.method}: no reference images`);
      // Reference features in batches, concatenated per level (bounded peak for large K).
      const perLevel: tf.Tensor4D[][] = backbone.levels.map(() => []);
      for (let s = 0; s < references.length; s += batchSize) {
        extract(references.slice(s, s + batchSize)).forEach((f, l) => perLevel[l].push(f));
      }
      const feats = perLevel.map((parts) => (parts.length === 1 ? parts[0] : (tf.concat(parts, 0) as tf.Tensor4D)));
      let fitted;
      try {
        fitted = baseline.fit(feats);
      } finally {
        tf.dispose(perLevel.flat());
        tf.dispose(feats);
      }
      const model = fitted;
      return {
        score(images) {
          const features = extract(images);
          let result;
          try {
            result = model.scoreFeatures(features);
          } finally {
            tf.dispose(features);
          }
          const maps: ScoreMap[] = result.patchScores.map((g) => gridToMap(g, imageSize, imageSize, sigma));
          const scores = result.imageScores ?? maps.map(imageScore);
          return { maps, scores };
        },
        release: () => model.dispose(),
      };
    },
    dispose: () => {
      if (ownsBackbone) backbone.dispose();
    },
  };
}

/** Options of every method, by name. */
export interface BaselineOptions {
  patchcore?: PatchCoreOptions;
  spade?: SpadeOptions;
  padim?: PadimOptions;
}

/** The method object for a name, with its options. */
export function createBaseline(method: BaselineMethod, options: BaselineOptions = {}): FeatureBaseline {
  switch (method) {
    case 'patchcore':
      return patchcore(options.patchcore);
    case 'spade':
      return spade(options.spade);
    case 'padim':
      return padim(options.padim);
    default:
      throw new Error(`unknown baseline method '${String(method)}' (patchcore, spade, padim)`);
  }
}

/** Builds the backbone by registry name (default: the CPU preset's) and wraps the method; `dispose()` frees the backbone. */
export async function createBaselineScorer(
  method: BaselineMethod,
  options: BaselineScorerOptions & BaselineOptions & { backbone?: string; backboneInstance?: Backbone } = {},
): Promise<BaselineScorer> {
  const baseline = createBaseline(method, options);
  if (options.backboneInstance) return baselineScorer(baseline, options.backboneInstance, options, false);
  const backbone = await createBackbone(options.backbone ?? defaultBaselineSettings().backbone);
  return baselineScorer(baseline, backbone, options, true);
}
