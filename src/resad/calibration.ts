/**
 * Turning raw image scores into something a user can act on, without test
 * labels: a threshold, a normalised score and a fixed colour scale derived
 * from the K normal reference images alone (leave-one-out).
 *
 * A raw score (the maximum of the standardised anomaly map) has no absolute
 * meaning: it depends on the class, the references and the model. What is
 * known to be normal are the references, so each reference is scored against
 * a pool built from the OTHER K - 1 references, exactly as a query is scored
 * against all K. Those K leave-one-out (LOO) scores are normal scores:
 *
 *   center    c = median of the LOO scores          (a typical normal image)
 *   spread    s = max(max(LOO) - c, floor)           (how far normals range above it)
 *   threshold t = c + s                              (= the highest LOO score unless floored)
 *   normalised score n = (raw - c) / s              (0 = typical normal, 1 = threshold)
 *   decision  anomalous when n > 1
 *
 * Why max(LOO) is a sensible threshold: a reference scored against K - 1
 * references has fewer near neighbours than a query scored against K, so its
 * score is higher on average; the highest LOO score is therefore on the
 * conservative (few false alarms) side for normal queries. It is still an
 * estimate from K images: with K = 2-4 expect some normal queries above it.
 *
 * Why a floor on the spread: when references are nearly identical, max(LOO)
 * - c goes to 0 and n would turn tiny score differences into huge numbers.
 * The floor is a fraction (default 0.25) of the normal map's peak height
 * max(LOO) - p, where p is the median pixel of the LOO maps: a query must
 * exceed the normals by at least a quarter of the height a normal image's own
 * peak has above its typical pixel to count as anomalous.
 *
 * Colour scale: one fixed range per model + references, never stretched per
 * image (a per-image min-max stretch paints the highest corner of a perfectly
 * uniform image red). The low end is p (the median normal pixel, dark blue),
 * the high end p + 2 (t - p), so the threshold sits in the middle of the
 * colour map (green): yellow to red only where a pixel is above the image
 * threshold.
 *
 * ```ts
 * const cal = calibrateFromReferences(model, refImages);   // K >= 2
 * const { scores } = model.predict([query], pool);
 * normalizedScore(cal, scores[0]); calibratedDecision(cal, scores[0]);  // e.g. 0.4, 'normal'
 * overlayAnomalyMap(image, map, { range: cal.colourRange });
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { ReferencePool } from '../converter/index';
import type { PreprocessedImage } from '../data/transforms';
import { imageScore } from '../scoring/anomaly-map';
import type { ScoringMode } from '../scoring/anomaly-map';
import type { ResADModel, ScoringOverride } from './model';

/** Default floor of the spread, as a fraction of the normal maps' peak height (see module doc). */
export const DEFAULT_SPREAD_FLOOR = 0.25;

export type CalibratedDecision = 'normal' | 'anomalous';

/** A threshold, normalised score and colour scale derived from normal references only. */
export interface ScoreCalibration {
  method: 'leave-one-out';
  /** K, the number of references. */
  references: number;
  /** Raw image score of each reference scored against the other K - 1, in reference order. */
  looScores: number[];
  /** Median of `looScores`: normalised score 0. */
  center: number;
  /** Unit of the normalised score: threshold - center. */
  spread: number;
  /** True when max(looScores) - center was below the floor and `spread` is the floor. */
  spreadFloored: boolean;
  /** Raw score above which an image is called anomalous (normalised score 1). */
  threshold: number;
  /** Median pixel of the references' LOO maps: a typical normal position. */
  normalPixel: number;
  /** Fixed map range for colouring: [normalPixel, normalPixel + 2 (threshold - normalPixel)] (never empty). */
  colourRange: [number, number];
  /** One sentence saying how the threshold was derived (for reports and JSON). */
  description: string;
}

export interface CalibrationOptions {
  /** Scoring to calibrate (must be the one the queries are scored with). */
  scoring?: ScoringOverride;
  /** Spread floor as a fraction of the normal maps' peak height. Default {@link DEFAULT_SPREAD_FLOOR}. */
  spreadFloor?: number;
}

/** The median (mean of the middle two for an even count). */
export function median(values: ArrayLike<number>): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * Leave-one-out calibration over K >= 2 preprocessed normal reference images
 * (see module doc). Costs one backbone pass over the references plus K
 * single-image predictions.
 */
export function calibrateFromReferences(
  model: ResADModel,
  referenceImages: readonly PreprocessedImage[],
  options: CalibrationOptions = {},
): ScoreCalibration {
  const k = referenceImages.length;
  if (k < 2) {
    throw new Error(`calibrateFromReferences: leave-one-out needs at least 2 reference images, got ${k}; give more normal references`);
  }
  const floorFraction = options.spreadFloor ?? DEFAULT_SPREAD_FLOOR;
  if (!(Number.isFinite(floorFraction) && floorFraction > 0)) {
    throw new Error(`calibrateFromReferences: options.spreadFloor must be a positive number, got ${floorFraction}`);
  }
  const features = model.extract(referenceImages);
  const looScores: number[] = [];
  const pixels = new Float32Array(k * referenceImages[0].width * referenceImages[0].height);
  let filled = 0;
  try {
    for (let i = 0; i < k; i++) {
      // The pool of the other K - 1 references, from features extracted once.
      const others = features.map((f) =>
        tf.tidy(() => {
          const parts: tf.Tensor4D[] = [];
          if (i > 0) parts.push(tf.slice(f, [0, 0, 0, 0], [i, -1, -1, -1]));
          if (i < k - 1) parts.push(tf.slice(f, [i + 1, 0, 0, 0], [k - 1 - i, -1, -1, -1]));
          return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
        }),
      );
      let pool: ReferencePool;
      try {
        pool = ReferencePool.fromFeatures(others);
      } finally {
        tf.dispose(others);
      }
      try {
        const { maps } = model.predict([referenceImages[i]], pool, options.scoring);
        looScores.push(imageScore(maps[0]));
        if (filled + maps[0].data.length > pixels.length) throw new Error('calibrateFromReferences: reference maps differ in size');
        pixels.set(maps[0].data, filled);
        filled += maps[0].data.length;
      } finally {
        pool.dispose();
      }
    }
  } finally {
    tf.dispose(features);
  }
  return calibrationFromLooScores(looScores, median(pixels.subarray(0, filled)), floorFraction);
}

/**
 * The calibration from K >= 2 leave-one-out scores and the median pixel of
 * their maps (the arithmetic of {@link calibrateFromReferences}, for callers
 * that score references their own way).
 */
export function calibrationFromLooScores(looScores: readonly number[], normalPixel: number, spreadFloor = DEFAULT_SPREAD_FLOOR): ScoreCalibration {
  if (looScores.length < 2) throw new Error(`calibrationFromLooScores: needs at least 2 leave-one-out scores, got ${looScores.length}`);
  if (!looScores.every(Number.isFinite) || !Number.isFinite(normalPixel)) {
    throw new Error(`calibrationFromLooScores: scores must be finite, got [${looScores.join(', ')}] and median pixel ${normalPixel}`);
  }
  const center = median(looScores);
  const highest = Math.max(...looScores);
  // The peak height of a normal map; the epsilon keeps constant maps (height 0) usable.
  const peak = Math.max(highest - normalPixel, 1e-6 * Math.max(1, Math.abs(highest)));
  const floor = spreadFloor * peak;
  const spreadFloored = highest - center < floor;
  const spread = spreadFloored ? floor : highest - center;
  const threshold = center + spread;
  const k = looScores.length;
  const description = spreadFloored
    ? `threshold = median of the ${k} references' leave-one-out scores + ${spreadFloor} x the normal maps' peak height ` +
      '(the references agree closely, so their highest score would be too tight a threshold)'
    : `threshold = highest of the ${k} references' leave-one-out scores (each reference scored against the other ${k - 1})`;
  return {
    method: 'leave-one-out',
    references: k,
    looScores: [...looScores],
    center,
    spread,
    spreadFloored,
    threshold,
    normalPixel,
    colourRange: [normalPixel, normalPixel + 2 * Math.max(threshold - normalPixel, peak)],
    description,
  };
}

/** (raw - center) / spread: 0 = a typical normal reference, 1 = the threshold, above 1 anomalous. */
export function normalizedScore(calibration: ScoreCalibration, raw: number): number {
  return (raw - calibration.center) / calibration.spread;
}

/** 'anomalous' when the raw score is above the calibrated threshold. */
export function calibratedDecision(calibration: ScoreCalibration, raw: number): CalibratedDecision {
  return raw > calibration.threshold ? 'anomalous' : 'normal';
}

/**
 * A fixed map range from the model alone, for when no calibration is possible
 * (a single reference). Standardised scorings are sums over levels of
 * per-level z-scores of training normals, so [0, 3 x the number of summed
 * terms] spans "training-normal mean" to "3 standard deviations in every
 * term"; 'paper' scores lie in [0, number of levels].
 */
export function uncalibratedColourRange(model: ResADModel, scoring: ScoringOverride = {}): [number, number] {
  return uncalibratedColourRangeFor(scoring.scoring ?? model.config.scoring, scoring.levelWeights ?? model.config.levelWeights ?? model.flows.map(() => 1));
}

/** {@link uncalibratedColourRange} from the scoring mode and the level weights alone (e.g. an exported file's metadata). */
export function uncalibratedColourRangeFor(mode: ScoringMode, weights: readonly number[]): [number, number] {
  const total = weights.reduce((a, w) => a + Math.abs(w), 0) || 1;
  if (mode === 'paper') return [0, total];
  return [0, 3 * total * (mode === 'nll+distance' || mode === 'nll+abnormal' ? 2 : 1)];
}
