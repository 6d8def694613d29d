/** The work of `resad predict` (see predict.ts), apart from its option spec so that help does not load tfjs. */
import * as path from 'path';
import { optionInt, ParsedArgs, requiredString, UsageError } from '../args';
import { inferenceOption, isOnnxModelFile, modelFolderBackbone } from '../common';
import { applyWeightsOption } from '../weights-option';
import { onnxFileScorer, resadRunnerWith, resolveInferenceRequest } from '../../onnx/select';
import type { OnnxResADRunner } from '../../onnx/scorer';
import type { ReferencePool } from '../../converter/index';
import { describeEngine, initEngine } from '../../engine/index';
import {
  calibratedDecision,
  calibrateFromReferences,
  CalibratedDecision,
  loadModel,
  normalizedScore,
  ResADModel,
  ScoreCalibration,
  uncalibratedColourRange,
  uncalibratedColourRangeFor,
} from '../../resad/index';
import { preprocessGeometry, PreprocessedImage, preprocessImage, resizeBicubic } from '../../data/transforms';
import { readImage, writeGreyPng, writePng } from '../../data/image-io';
import type { RgbImage } from '../../data/image';
import type { ScoreMap } from '../../scoring/anomaly-map';
import { DEFAULT_MAX_OUTPUT_SIZE, mapToSourceGeometry, overlayAnomalyMap } from '../../report/overlay';
import { writeJsonAtomicSync } from '../../util/atomic-write';
import { checkOutputDir } from '../../util/output-check';

/** One scored query as scores.json records it. */
export interface PredictResult {
  image: string;
  /** Raw image score (maximum of the anomaly map), in the model's scoring units. */
  score: number;
  /** (score - center) / spread of the calibration: 0 = typical normal reference, 1 = threshold; null with one reference. */
  normalizedScore: number | null;
  /** Against the calibrated threshold; null with one reference (no threshold can be derived). */
  decision: CalibratedDecision | null;
  overlay: string;
  map: string;
  /** Size of the input image. */
  width: number;
  height: number;
  /** Size of the written map and overlay (the input's, or smaller under --max-size). */
  outputWidth: number;
  outputHeight: number;
  /** Part of the input (its pixels) the model saw; outside it the map is black and the overlay dimmed. */
  scoredRegion: { left: number; top: number; width: number; height: number };
}

export interface PredictFailure {
  image: string;
  error: string;
}

/** The written size: the input's, scaled down to fit `maxSide` on its longer side (0 = no cap). */
export function outputSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longer = Math.max(width, height);
  if (maxSide <= 0 || longer <= maxSide) return { width, height };
  const s = maxSide / longer;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/**
 * Output stems: the file name, or parent_name where names repeat (e.g. good/000.png
 * and broken/000.png), with a counter as the last resort, so no output overwrites another.
 */
export function outputStems(files: readonly string[]): string[] {
  const base = files.map((f) => path.parse(f).name);
  const count = new Map<string, number>();
  for (const b of base) count.set(b, (count.get(b) ?? 0) + 1);
  const stems = files.map((f, i) => (count.get(base[i])! > 1 ? `${path.basename(path.dirname(path.resolve(f)))}_${base[i]}` : base[i]));
  const used = new Set<string>();
  return stems.map((s) => {
    let stem = s;
    for (let n = 2; used.has(stem); n++) stem = `${s}_${n}`;
    used.add(stem);
    return stem;
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readReferences(preprocess: PreprocessConfigPart, refs: readonly string[]): Promise<PreprocessedImage[]> {
  const out: PreprocessedImage[] = [];
  for (const r of refs) {
    try {
      out.push(preprocessImage(await readImage(r), preprocess));
    } catch (err) {
      throw new Error(`--refs ${r}: ${message(err)}. Every reference must be a readable normal image of the class; fix or remove it.`, { cause: err });
    }
  }
  return out;
}

type PreprocessConfigPart = ResADModel['preprocess'];

/** What predict needs from a model, on either engine (a model folder on tfjs or onnxruntime, or an exported file). */
interface Predictor {
  preprocess: PreprocessConfigPart;
  /** The leave-one-out threshold (K >= 2 references). */
  calibrate(references: PreprocessedImage[]): Promise<ScoreCalibration>;
  /** A fixed map range when there is no calibration (one reference). */
  uncalibratedRange(): [number, number];
  /** Prepares the class; returns the per-image scorer. */
  prepare(references: PreprocessedImage[]): Promise<(image: PreprocessedImage) => Promise<{ map: ScoreMap; score: number }>>;
  release(): Promise<void>;
}

/** A trained model folder on the requested engine. */
async function folderPredictor(modelDir: string, request: string | undefined, engineLine: string): Promise<Predictor> {
  const model = await loadModel(modelDir);
  const { runner, description } = await resadRunnerWith(model, {}, request).catch((err: unknown) => {
    model.dispose();
    throw err;
  });
  console.error(runner === null ? `${engineLine}; ${description}` : description);
  if (runner !== null) return runnerPredictor(runner, () => uncalibratedColourRange(model), async () => model.dispose());
  let pool: ReferencePool | null = null;
  return {
    preprocess: model.preprocess,
    calibrate: async (refs) => calibrateFromReferences(model, refs),
    uncalibratedRange: () => uncalibratedColourRange(model),
    async prepare(refs) {
      pool = model.buildPool(refs);
      const p = pool;
      return async (image) => {
        const r = model.predict([image], p);
        return { map: r.maps[0], score: r.scores[0] };
      };
    },
    async release() {
      pool?.dispose();
      model.dispose();
    },
  };
}

function runnerPredictor(runner: OnnxResADRunner, uncalibratedRange: () => [number, number], releaseMore: () => Promise<void>): Predictor {
  return {
    preprocess: { size: runner.info.imageSize, mode: runner.info.resizeMode, normalize: false },
    calibrate: (refs) => runner.calibrate(refs),
    uncalibratedRange,
    async prepare(refs) {
      const pool = await runner.pool(refs);
      return async (image) => {
        const r = await runner.score([image], pool);
        return { map: r.maps[0], score: r.scores[0] };
      };
    },
    async release() {
      await runner.release();
      await releaseMore();
    },
  };
}

/** A file written by `resad export` (onnxruntime only). */
async function filePredictor(file: string): Promise<Predictor> {
  const { runner, description } = await onnxFileScorer(file);
  console.error(description);
  const info = runner.info;
  return runnerPredictor(runner, () => {
    if (info.kind !== 'resad') throw new Error(`${file}: a ${info.kind} export has no model-wide score scale; give at least 2 references (--refs) for a threshold`);
    return uncalibratedColourRangeFor(info.scoring, info.levelWeights);
  }, async () => undefined);
}

interface Scoring {
  preprocess: PreprocessConfigPart;
  /** One preprocessed query -> its map and score, on the engine in use. */
  predict(image: PreprocessedImage): Promise<{ map: ScoreMap; score: number }>;
  calibration: ScoreCalibration | null;
  colourRange: [number, number];
  maxSide: number;
}

async function scoreOne(file: string, stem: string, out: string, s: Scoring): Promise<PredictResult> {
  let raw: RgbImage | null = await readImage(file);
  const geometry = preprocessGeometry(raw.width, raw.height, s.preprocess);
  const predicted = await s.predict(preprocessImage(raw, s.preprocess));
  const size = outputSize(raw.width, raw.height, s.maxSide);
  const display = size.width === raw.width && size.height === raw.height ? raw : resizeBicubic(raw, size.width, size.height, { precision: 'float' });
  const { width, height } = raw;
  raw = null; // a large input's full-resolution copy is not needed past this point
  const map = mapToSourceGeometry(predicted.map, geometry, size.width, size.height);
  const overlay = path.join(out, `${stem}_overlay.png`);
  const mapFile = path.join(out, `${stem}_map.png`);
  await writePng(overlay, overlayAnomalyMap(display, map, { range: s.colourRange }));
  await writeGreyPng(mapFile, map, s.colourRange);
  const score = predicted.score;
  const sx = width / geometry.resizeWidth;
  const sy = height / geometry.resizeHeight;
  return {
    image: path.resolve(file),
    score,
    normalizedScore: s.calibration ? normalizedScore(s.calibration, score) : null,
    decision: s.calibration ? calibratedDecision(s.calibration, score) : null,
    overlay,
    map: mapFile,
    width,
    height,
    outputWidth: size.width,
    outputHeight: size.height,
    scoredRegion: {
      left: Math.round(geometry.cropLeft * sx),
      top: Math.round(geometry.cropTop * sy),
      width: Math.round(geometry.width * sx),
      height: Math.round(geometry.height * sy),
    },
  };
}

function table(rows: readonly string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

function describeCalibration(c: ScoreCalibration | null, k: number): string {
  if (c === null) {
    return `1 reference: no threshold can be derived without test labels (needs --refs with at least 2 images); ` +
      'scores are raw, normalizedScore and decision are null, colours use the model-wide scale.';
  }
  return `threshold ${c.threshold.toFixed(4)} (raw): ${c.description}; normalised score = (raw - center) / spread with center ${c.center.toFixed(4)}, spread ${c.spread.toFixed(4)}: ` +
    `1.0 = threshold, above 1 = anomalous. Leave-one-out scores of the ${k} references: ${c.looScores.map((v) => v.toFixed(4)).join(', ')}.`;
}

export async function run(args: ParsedArgs): Promise<number> {
  const modelDir = requiredString(args, 'model');
  const out = requiredString(args, 'out');
  const refs = args.options.get('refs') ?? [];
  if (refs.length === 0) throw new UsageError('option --refs needs at least one normal image');
  // A reference given twice matches itself in leave-one-out and would make the threshold far too low.
  const twice = refs.find((r, i) => refs.findIndex((o) => path.resolve(o) === path.resolve(r)) !== i);
  if (twice !== undefined) throw new UsageError(`option --refs names ${twice} more than once; give each reference image once`);
  const queries = args.positionals;
  if (queries.length === 0) throw new UsageError('no images to score (give them after --out DIR)');
  const maxSide = optionInt(args, 'max-size', DEFAULT_MAX_OUTPUT_SIZE, 0);
  const failFast = args.flags.has('fail-fast');
  checkOutputDir(out, '--out');
  const request = inferenceOption(args);
  const engine = await initEngine({ quiet: true });
  const onnxFile = isOnnxModelFile(modelDir, resolveInferenceRequest(request));
  if (onnxFile && args.options.has('weights')) throw new UsageError(`--weights: ${modelDir} is an ONNX file, which holds its backbone's weights`);
  if (!onnxFile) applyWeightsOption(args, () => modelFolderBackbone(modelDir));
  const predictor = onnxFile ? await filePredictor(modelDir) : await folderPredictor(modelDir, request, describeEngine(engine));
  const results: PredictResult[] = [];
  const shown: string[] = []; // each result's path as the user gave it
  const failures: PredictFailure[] = [];
  let calibration: ScoreCalibration | null = null;
  let colourRange: [number, number] = [0, 1];
  const scoresFile = path.join(out, 'scores.json');
  try {
    const refImages = await readReferences(predictor.preprocess, refs);
    calibration = refImages.length < 2 ? null : await predictor.calibrate(refImages);
    colourRange = calibration?.colourRange ?? predictor.uncalibratedRange();
    console.error(describeCalibration(calibration, refImages.length));
    const predict = await predictor.prepare(refImages);
    const stems = outputStems(queries);
    for (let i = 0; i < queries.length; i++) {
      try {
        const r = await scoreOne(queries[i], stems[i], out, { preprocess: predictor.preprocess, predict, calibration, colourRange, maxSide });
        results.push(r);
        shown.push(queries[i]);
        const norm = r.normalizedScore === null ? '' : `, normalised ${r.normalizedScore.toFixed(2)} (${r.decision})`;
        console.error(`[${i + 1}/${queries.length}] ${queries[i]}: raw ${r.score.toFixed(4)}${norm}`);
      } catch (err) {
        failures.push({ image: path.resolve(queries[i]), error: message(err) });
        console.error(`[${i + 1}/${queries.length}] ${queries[i]}: FAILED: ${message(err)}`);
        if (failFast) break;
      }
    }
  } finally {
    await predictor.release();
  }
  writeJsonAtomicSync(scoresFile, {
    model: path.resolve(modelDir),
    references: refs.map((r) => path.resolve(r)),
    calibration,
    colourScale: {
      range: colourRange,
      basis: calibration
        ? "fixed per model and references: low = median pixel of the references' leave-one-out maps, threshold at the middle"
        : 'fixed per model (one reference: 0 = training-normal mean, high = 3 standard deviations in every summed level term)',
    },
    results,
    failures,
  });

  if (results.length > 0) {
    const rows = [['image', 'raw score', 'normalised', 'decision', 'overlay', 'map']];
    results.forEach((r, i) => {
      rows.push([
        shown[i],
        r.score.toFixed(4),
        r.normalizedScore === null ? '-' : r.normalizedScore.toFixed(2),
        r.decision ?? '-',
        r.overlay,
        r.map,
      ]);
    });
    console.log(table(rows));
  }
  console.log(`scores: ${scoresFile}`);
  if (calibration) console.log(`threshold: raw ${calibration.threshold.toFixed(4)} = normalised 1.00 (${calibration.description})`);
  else console.log('threshold: none (one reference; give at least 2 with --refs for a decision)');
  if (failures.length > 0) {
    const skipped = queries.length - results.length - failures.length;
    console.error(`${failures.length} of ${queries.length} images failed${skipped > 0 ? ` (--fail-fast: ${skipped} not tried)` : ''}:`);
    for (const f of failures) console.error(`  ${f.image}: ${f.error}`);
    return 1;
  }
  return 0;
}
