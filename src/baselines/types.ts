/**
 * The contract shared by the training-free baselines: a method is fitted on
 * the K reference images' backbone features and then scores query features,
 * returning per-position patch scores on the feature grid (and, where the
 * method defines one, its own image score). `baselineScorer` (scorer.ts)
 * turns any of them into a `FewShotScorer` for `evaluateFewShot`.
 *
 * Working on features (not images) keeps the methods testable with small
 * hand-made tensors whose expected scores can be computed by hand.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ScoreMap } from '../scoring/anomaly-map';
export type BaselineMethod = 'patchcore' | 'spade' | 'padim';

export const BASELINE_METHODS: readonly BaselineMethod[] = ['patchcore', 'spade', 'padim'];

/** What a fitted baseline returns for a batch of query images. */
export interface FeatureScores {
  /** One patch-score grid per image, on the method's feature grid (before upsampling). */
  patchScores: ScoreMap[];
  /**
   * Image scores when the method defines its own (PatchCore: max patch score,
   * optionally reweighted; SPADE: mean distance to the k nearest reference
   * images). Absent: the image score is the max of the final smoothed map (PaDiM).
   */
  imageScores?: number[];
}

/** A baseline fitted on one class's references. Owns tensors until `dispose()`. */
export interface FittedBaseline {
  /** Query features, one [B, h, w, C] tensor per backbone level (not consumed). */
  scoreFeatures(features: readonly tf.Tensor4D[]): FeatureScores;
  /** Bytes held for this class (memory bank / Gaussians), for logs and docs. */
  readonly memoryBytes: number;
  dispose(): void;
}

/** A baseline method with its options bound. */
export interface FeatureBaseline {
  readonly method: BaselineMethod;
  /** Reference features, one [K, h, w, C] tensor per backbone level (not consumed). */
  fit(referenceFeatures: readonly tf.Tensor4D[]): FittedBaseline;
  /** The resolved options, as recorded in results files. */
  describe(): Record<string, unknown>;
}
