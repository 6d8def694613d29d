/**
 * Anomaly-detection metric set of one class (image and pixel level) and the
 * per-class average, as reported by ResAD: image AUROC/AP/F1-max, pixel
 * AUROC/AP/F1-max/AUPRO.
 *
 * Why: experiments need one call per class and one to average over classes,
 * with the pixel metrics sharing work (one sort for pixel AUROC, AP and F1-max).
 *
 * ```ts
 * const m = computeMetrics({ imageScores, imageLabels, pixelMaps, pixelMasks });
 * m.imageAUROC; m.pixelAUPRO;
 * const mean = meanMetrics([mBottle, mCable]); // per key, over classes that have it
 * ```
 *
 * Choices: pixel metrics are `undefined` (not NaN) when no maps/masks are
 * given, so `meanMetrics` can skip them; giving only one of maps/masks throws.
 * Every metric throws when a class is missing (e.g. all masks empty), like
 * sklearn's roc_auc_score. Values are fractions in [0, 1], not percent.
 * References: see the individual modules (sklearn roc_auc_score,
 * average_precision_score, anomalib F1Max, MVTec AD AUPRO).
 */
import { AnomalyMap, aupro } from './aupro';
import { aurocFromSorted } from './auroc';
import { averagePrecisionFromSorted } from './average-precision';
import { Connectivity, MaskLike } from './connected-components';
import { f1MaxFromSorted } from './f1-max';
import { LabeledChunk, SortedScores } from './sorted-scores';

export * from './sorted-scores';
export * from './radix-sort';
export * from './roc';
export * from './auroc';
export * from './average-precision';
export * from './f1-max';
export * from './connected-components';
export * from './aupro';

export interface MetricInputs {
  /** One score per test image (higher = more anomalous). */
  imageScores: ArrayLike<number>;
  /** 0 = normal, 1 = anomalous, per test image. */
  imageLabels: ArrayLike<number>;
  /** Anomaly maps; needs pixelMasks of the same count and sizes. */
  pixelMaps?: readonly AnomalyMap[];
  /** Ground-truth masks (0/1), e.g. data/image BinaryMask. */
  pixelMasks?: readonly MaskLike[];
  /** AUPRO FPR limit, default 0.3. */
  fprLimit?: number;
  /** AUPRO region connectivity, default 8 (MVTec official). */
  connectivity?: Connectivity;
}

export interface MetricSet {
  imageAUROC: number;
  imageAP: number;
  imageF1Max: number;
  pixelAUROC?: number;
  pixelAP?: number;
  pixelF1Max?: number;
  pixelAUPRO?: number;
}

/** Keys of MetricSet in report order. */
export const METRIC_KEYS = [
  'imageAUROC',
  'imageAP',
  'imageF1Max',
  'pixelAUROC',
  'pixelAP',
  'pixelF1Max',
  'pixelAUPRO',
] as const satisfies readonly (keyof MetricSet)[];

export type MetricKey = (typeof METRIC_KEYS)[number];

/** All metrics of one class. Throws on invalid input (see module doc). */
export function computeMetrics(inputs: MetricInputs): MetricSet {
  const image = SortedScores.from(inputs.imageScores, inputs.imageLabels, 'computeMetrics (image level)');
  image.requireBothClasses('computeMetrics (image level)');
  const result: MetricSet = {
    imageAUROC: aurocFromSorted(image),
    imageAP: averagePrecisionFromSorted(image),
    imageF1Max: f1MaxFromSorted(image).f1,
  };
  const { pixelMaps, pixelMasks } = inputs;
  if (pixelMaps === undefined && pixelMasks === undefined) return result;
  if (pixelMaps === undefined || pixelMasks === undefined) {
    throw new Error('computeMetrics: pixelMaps and pixelMasks must be given together');
  }
  if (pixelMaps.length !== pixelMasks.length) {
    throw new Error(`computeMetrics: ${pixelMaps.length} pixel maps but ${pixelMasks.length} masks`);
  }
  const chunks: LabeledChunk[] = [];
  for (let m = 0; m < pixelMaps.length; m++) {
    const map = pixelMaps[m];
    const mask = pixelMasks[m];
    if (map.width !== mask.width || map.height !== mask.height) {
      throw new Error(
        `computeMetrics: pixelMaps[${m}] is ${map.width}x${map.height} but pixelMasks[${m}] is ${mask.width}x${mask.height}`,
      );
    }
    chunks.push({ scores: map.data, labels: mask.data });
  }
  const pixels = SortedScores.fromChunks(chunks, 'computeMetrics (pixel level)');
  pixels.requireBothClasses('computeMetrics (pixel level)');
  result.pixelAUROC = aurocFromSorted(pixels);
  result.pixelAP = averagePrecisionFromSorted(pixels);
  result.pixelF1Max = f1MaxFromSorted(pixels).f1;
  result.pixelAUPRO = aupro(pixelMaps, pixelMasks, { fprLimit: inputs.fprLimit, connectivity: inputs.connectivity });
  return result;
}

/**
 * Per-key mean over classes, skipping classes where the key is undefined (a
 * key undefined everywhere stays undefined). NaN is not skipped: it would hide
 * a bug. Throws on an empty list.
 */
export function meanMetrics(list: readonly MetricSet[]): MetricSet {
  if (list.length === 0) throw new Error('meanMetrics: empty list');
  const mean = (key: MetricKey): number | undefined => {
    let sum = 0;
    let n = 0;
    for (const m of list) {
      const v = m[key];
      if (v !== undefined) {
        sum += v;
        n++;
      }
    }
    return n === 0 ? undefined : sum / n;
  };
  const result: MetricSet = {
    imageAUROC: mean('imageAUROC') as number, // always defined: required keys
    imageAP: mean('imageAP') as number,
    imageF1Max: mean('imageF1Max') as number,
  };
  for (const key of ['pixelAUROC', 'pixelAP', 'pixelF1Max', 'pixelAUPRO'] as const) {
    const v = mean(key);
    if (v !== undefined) result[key] = v;
  }
  return result;
}
