/**
 * Few-shot evaluation of any scorer on classes it never saw: for each class,
 * the scorer prepares its K normal references (ResAD builds its reference
 * pool, a baseline fits on their features), then scores every test image
 * (independently of the other test images), then image/pixel AUROC, AP,
 * F1-max and pixel AUPRO (metrics/). ResAD (resad/), the baselines and the
 * onnxruntime path are FewShotScorers, so all are evaluated by this one loop.
 *
 * ```ts
 * const result = await evaluateFewShot(scorer, testSamples, referenceSet);
 * console.log(formatResultsTable(result));
 * ```
 */
import type { Sample } from '../data/sample';
import { loadSample, LoadedSample, PreprocessedImage } from '../data/transforms';
import type { BinaryMask } from '../data/image';
import type { ReferenceSet } from '../data/references';
import { computeMetrics, meanMetrics, MetricSet, METRIC_KEYS } from '../metrics/index';
import { Progress } from '../util/progress';
import type { ScoreMap } from '../scoring/anomaly-map';

export interface ImageResult {
  path: string;
  label: 0 | 1;
  defectType: string;
  score: number;
}

/** A few maps kept for reports: the image, its map and its ground truth. */
export interface MapExample {
  path: string;
  label: 0 | 1;
  score: number;
  image: PreprocessedImage;
  map: ScoreMap;
  mask: BinaryMask;
}

export interface ClassResult extends MetricSet {
  class: string;
  images: number;
  references: string[];
  msPerImage: number;
}

export interface EvaluationResult {
  perClass: ClassResult[];
  mean: MetricSet;
  perImage: Record<string, ImageResult[]>;
  examples: Record<string, MapExample[]>;
}

export interface EvaluateOptions {
  /** Classes to evaluate (default: every class of `samples` that has references). */
  classes?: string[];
  batchSize?: number;
  /** Anomaly maps kept per class for reports (highest-scoring anomalies and normals). Default 0. */
  keepExamples?: number;
  quiet?: boolean;
}

/** Maps and image scores of a batch. */
export interface BatchScores {
  maps: ScoreMap[];
  scores: number[];
}

/** One class ready to score (its references prepared). */
export interface PreparedClass {
  score(images: PreprocessedImage[]): BatchScores | Promise<BatchScores>;
  release(): void;
}

/** Anything that scores a batch of preprocessed images of one class against its references (tfjs or onnxruntime). */
export interface FewShotScorer {
  readonly imageSize: number;
  readonly preprocess: Parameters<typeof loadSample>[1];
  /** Prepares the class (e.g. builds the reference pool); returns the per-batch scorer and a release function. */
  prepareClass(references: PreprocessedImage[]): PreparedClass | Promise<PreparedClass>;
}

/** Evaluates any FewShotScorer on the test split of `samples` with the given references. */
export async function evaluateFewShot(scorer: FewShotScorer, samples: readonly Sample[], references: ReferenceSet, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const test = samples.filter((s) => s.split === 'test');
  const classes = options.classes ?? [...new Set(test.map((s) => s.className))].filter((c) => references.classes[c] !== undefined).sort();
  if (classes.length === 0) throw new Error('evaluate: no test class has references');
  const batchSize = options.batchSize ?? 8;
  const perClass: ClassResult[] = [];
  const perImage: Record<string, ImageResult[]> = {};
  const examples: Record<string, MapExample[]> = {};

  for (const cls of classes) {
    const refPaths = references.classes[cls];
    if (!refPaths) throw new Error(`evaluate: no references for class ${cls} in the reference set`);
    const classSamples = test.filter((s) => s.className === cls);
    if (classSamples.length === 0) throw new Error(`evaluate: class ${cls} has no test images`);
    const refs = await Promise.all(refPaths.map((p) => loadSample({ imagePath: p, className: cls, split: 'train', label: 0, defectType: 'good', maskPaths: [] }, scorer.preprocess)));
    const prepared = await scorer.prepareClass(refs.map((r) => r.image));
    const progress = new Progress(`evaluating ${cls}`, classSamples.length, { quiet: options.quiet });
    const scores: number[] = [];
    const maps: ScoreMap[] = [];
    const masks: BinaryMask[] = [];
    let pixelLabelsComplete = true;
    const kept: MapExample[] = [];
    const t0 = Date.now();
    try {
      for (let start = 0; start < classSamples.length; start += batchSize) {
        const batch: LoadedSample[] = await Promise.all(classSamples.slice(start, start + batchSize).map((s) => loadSample(s, scorer.preprocess)));
        const out = await prepared.score(batch.map((b) => b.image));
        batch.forEach((b, i) => {
          scores.push(out.scores[i]);
          maps.push(out.maps[i]);
          masks.push(b.mask);
          if (!b.hasMask) pixelLabelsComplete = false;
          if (options.keepExamples) kept.push({ path: b.sample.imagePath, label: b.sample.label, score: out.scores[i], image: b.image, map: out.maps[i], mask: b.mask });
        });
        progress.tick(batch.length);
      }
    } finally {
      prepared.release();
    }
    const msPerImage = (Date.now() - t0) / classSamples.length;
    const labels = classSamples.map((s) => s.label);
    const anyDefectPixel = masks.some((m) => m.data.some((v) => v > 0));
    const metrics = computeMetrics({
      imageScores: scores,
      imageLabels: labels,
      ...(pixelLabelsComplete && anyDefectPixel ? { pixelMaps: maps, pixelMasks: masks } : {}),
    });
    perClass.push({ class: cls, ...metrics, images: classSamples.length, references: refPaths, msPerImage });
    perImage[cls] = classSamples.map((s, i) => ({ path: s.imagePath, label: s.label, defectType: s.defectType, score: scores[i] }));
    if (options.keepExamples) examples[cls] = pickExamples(kept, options.keepExamples);
  }
  return { perClass, mean: meanMetrics(perClass), perImage, examples };
}

/** Mostly the highest-scoring anomalies, plus the highest-scoring normal (the likeliest false alarm). */
function pickExamples(all: MapExample[], n: number): MapExample[] {
  const anomalies = all.filter((e) => e.label === 1).sort((a, b) => b.score - a.score);
  const normals = all.filter((e) => e.label === 0).sort((a, b) => b.score - a.score);
  const out = [...anomalies.slice(0, Math.max(1, n - 1)), ...normals.slice(0, 1)];
  return out.slice(0, n);
}

/** Per-class table with the mean, metrics in percent. */
export function formatResultsTable(result: Pick<EvaluationResult, 'perClass' | 'mean'>): string {
  const keys = METRIC_KEYS;
  const header = ['class', ...keys];
  const fmt = (v: number | undefined): string => (v === undefined ? '-' : (100 * v).toFixed(1));
  const rows = [...result.perClass.map((r) => [r.class, ...keys.map((k) => fmt(r[k]))]), ['mean', ...keys.map((k) => fmt(result.mean[k]))]];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(0, -1).map(line), line(widths.map((w) => '-'.repeat(w))), line(rows[rows.length - 1])].join('\n');
}
