/**
 * The results file every evaluating command writes (`resad eval`, `resad
 * demo`): a stable schema, AUROCs etc. as fractions in [0, 1].
 *
 * {"perClass":[{"class":..,"imageAUROC":..,"pixelAUROC":..,"imageAP":..,"pixelAP":..,
 *   "imageF1Max":..,"pixelF1Max":..,"pixelAUPRO":..}], "mean":{...}, "config":{...}}
 */
import { METRIC_KEYS, MetricSet } from '../metrics/index';
import type { EvaluationResult } from '../evaluation/index';
import { writeJsonAtomicSync } from '../util/atomic-write';

export interface ResultsFile {
  perClass: Array<{ class: string } & Partial<Record<keyof MetricSet, number | null>> & { images: number; msPerImage: number; references: string[] }>;
  mean: Partial<Record<keyof MetricSet, number | null>>;
  config: Record<string, unknown>;
}

function metricsOnly(m: MetricSet): Partial<Record<keyof MetricSet, number | null>> {
  const out: Partial<Record<keyof MetricSet, number | null>> = {};
  // Missing pixel metrics (no masks) are written as null so every key is always present.
  for (const k of METRIC_KEYS) out[k] = m[k] ?? null;
  return out;
}

export function toResultsFile(result: Pick<EvaluationResult, 'perClass' | 'mean'>, config: Record<string, unknown>): ResultsFile {
  return {
    perClass: result.perClass.map((r) => ({ class: r.class, ...metricsOnly(r), images: r.images, msPerImage: r.msPerImage, references: r.references })),
    mean: metricsOnly(result.mean),
    config,
  };
}

export function writeResultsFile(file: string, result: Pick<EvaluationResult, 'perClass' | 'mean'>, config: Record<string, unknown>): ResultsFile {
  const out = toResultsFile(result, config);
  writeJsonAtomicSync(file, out);
  return out;
}
