/**
 * The quality benchmark the method is tuned against (`npm run bench:quality`):
 * detection quality on classes the model never trained on, next to the
 * training-free PatchCore baseline and ResAD without residual features.
 *
 * Folds:
 * - leave-one-class-out over every real class found under the shared datasets
 *   folder (`../shared/datasets`, or RESAD_SHARED_DATASETS): train on all the
 *   other real classes (train + test images, real anomalies with masks, as the
 *   paper trains on a whole dataset), test K-shot on the held-out class;
 * - the procedural split of `resad demo` (10 known -> 5 unseen classes).
 *
 * Per fold and method: K-shot evaluation for every reference seed (the same
 * fixed references for every method), image/pixel AUROC and pixel AUPRO per
 * class, mean and spread over seeds, training seconds and per-image evaluation
 * time. ResAD models are stored per (fold, config) and reused by later runs.
 * With `curve`, the ResAD model is also evaluated (first seed only) after every
 * epoch: quality against training time.
 *
 * Test images never shape a model: references are training normals of the
 * held-out class, and the per-level score statistics come from training
 * normals of the known classes.
 *
 * Defect folders whose name ends in `_extra` (MPDD metal_plate's
 * `defective_extra`, meant as extra training anomalies) are used for
 * training only, never as test images of a held-out class.
 *
 * ```ts
 * const folds = await discoverQualityFolds();
 * const report = await runQualityBenchmark({ folds, config: CPU_CONFIG, outDir: 'runs/quality/cpu' });
 * console.log(formatQualityMarkdown(report));
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Sample } from '../data/sample';
import { readDataset } from '../data/readers/index';
import { drawReferences, ReferenceSet } from '../data/references';
import { preprocess } from '../data/transforms';
import { defaultSyntheticRoot, generateDataset } from '../data/procedural/index';
import { createBackbone, Backbone } from '../backbones/index';
import { ResADConfig, validateConfig, weightsConfig, withResADPlusPlus } from '../resad/config';
import { ResADModel } from '../resad/model';
import { loadModel, MODEL_FILE, savedTrainingSeconds } from '../resad/checkpoint';
import { trainResAD } from '../resad/trainer';
import { EvaluationResult, evaluateFewShot, FewShotScorer } from '../resad/evaluate';
import { patchcoreScorerWith, plannedInference, resadScorerWith } from '../onnx/select';
import { calibrateFromReferences } from '../resad/calibration';
import type { ScoringOverride } from '../resad/model';
import { describeEngine, initEngine } from '../engine/index';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../util/atomic-write';
import { hashConfig } from './store';
import type { ScoringMode } from '../scoring/anomaly-map';
import { SYNTHETIC_TEST_CLASSES, SYNTHETIC_TRAIN_CLASSES } from './protocols';

/** Methods the benchmark compares. */
export const QUALITY_METHODS = ['resad', 'resad-no-residual', 'resad-untrained', 'resadpp', 'patchcore'] as const;
export type QualityMethod = (typeof QUALITY_METHODS)[number];
/** What a run without --methods measures. */
export const DEFAULT_QUALITY_METHODS: readonly QualityMethod[] = ['resad', 'resad-no-residual', 'patchcore'];
/**
 * 'resad-untrained': the same training with its updates switched off (this
 * learning rate), so only BatchNorm statistics and the score statistics are
 * measured: what detection owes to the residual alone, and what to training.
 */
export const UNTRAINED_LR = 1e-12;

export interface QualityFold {
  /** Short unique name: the held-out class, or 'procedural'. */
  name: string;
  kind: 'real' | 'procedural';
  /** Dataset folder(s) of the test class, for the record. */
  testRoot: string;
  train: Sample[];
  test: Sample[];
  /** Training normals of the test classes: where the K references are drawn. */
  referencePool: Sample[];
}

/** The three numbers the benchmark reports per class. */
export interface QualityMetrics {
  imageAUROC: number;
  pixelAUROC: number | null;
  pixelAUPRO: number | null;
}

export interface SeedResult extends QualityMetrics {
  seed: number;
  perClass: Record<string, QualityMetrics>;
  msPerImage: number;
  /** ResAD with `calibrationFloors`: how the reference-only threshold of `resad predict` does on this seed's test images. */
  calibration?: CalibrationCheck[];
}

/**
 * The reference-only threshold (src/resad/calibration.ts, what `resad predict`
 * decides with) measured on a fold's test images: test labels are only used
 * here, to measure it, never to set it.
 */
export interface CalibrationCheck {
  spreadFloor: number;
  /** Normal test images above the threshold / normal test images. */
  falseAlarmRate: number;
  /** Anomalous test images above the threshold / anomalous test images. */
  detectionRate: number;
}

export interface MethodResult {
  method: QualityMethod;
  /** Row name: the method, or `resad[scoring]` for an extra scoring mode of the same trained model. */
  label: string;
  /** ResAD only: the scoring mode used (the config's unless an extra mode). */
  scoring?: ScoringMode;
  seeds: SeedResult[];
  /** Means over seeds of the per-seed class means. */
  mean: QualityMetrics;
  /** Population standard deviation over seeds. */
  std: QualityMetrics;
  trainSeconds: number | null;
  modelReused: boolean;
  msPerImage: number;
}

export interface CurvePoint {
  epoch: number;
  scoring: ScoringMode;
  /** Training seconds so far (features included). */
  seconds: number;
  imageAUROC: number;
  pixelAUROC: number | null;
}

export interface FoldResult {
  fold: string;
  kind: QualityFold['kind'];
  trainClasses: string[];
  testClasses: string[];
  trainImages: number;
  testImages: number;
  methods: MethodResult[];
  curve?: CurvePoint[];
}

export interface QualityReport {
  version: 1;
  createdAt: string;
  engine: string;
  shots: number;
  seeds: number[];
  config: ResADConfig;
  configHash: string;
  folds: FoldResult[];
  /** Mean over the real (leave-one-class-out) folds, per method label. */
  looMean: Record<string, QualityMetrics>;
  seconds: number;
}

export interface DiscoverOptions {
  /** Folder with one sub-folder per dataset (default ../shared/datasets or RESAD_SHARED_DATASETS). */
  sharedRoot?: string;
  /** Include the procedural fold (default true). */
  procedural?: boolean;
  /** Procedural dataset folder (default: the demo's). */
  proceduralRoot?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where the shared real datasets live (may not exist). */
export function defaultSharedDatasetsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RESAD_SHARED_DATASETS ?? path.join(process.cwd(), '..', 'shared', 'datasets'));
}

/** True for defect folders meant as extra training anomalies only (see module doc). */
export function isTrainingOnlyDefect(sample: Sample): boolean {
  return sample.label === 1 && sample.defectType.endsWith('_extra');
}

/**
 * Every real class under `sharedRoot` as one leave-one-class-out fold, plus the
 * procedural fold. A missing shared folder gives only the procedural fold.
 */
export async function discoverQualityFolds(options: DiscoverOptions = {}): Promise<QualityFold[]> {
  const shared = options.sharedRoot ?? defaultSharedDatasetsRoot(options.env);
  const real: Array<{ root: string; className: string; samples: Sample[] }> = [];
  if (fs.existsSync(shared)) {
    for (const entry of fs.readdirSync(shared, { withFileTypes: true }).filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const root = path.join(shared, entry.name);
      const samples = readDataset(root, { format: 'auto' });
      for (const cls of [...new Set(samples.map((s) => s.className))].sort()) {
        real.push({ root, className: cls, samples: samples.filter((s) => s.className === cls) });
      }
    }
  }
  const names = real.map((r) => r.className);
  const folds: QualityFold[] = real.map((held) => ({
    // A class name shared by two datasets is qualified by its dataset folder.
    name: names.filter((n) => n === held.className).length > 1 ? `${path.basename(held.root)}/${held.className}` : held.className,
    kind: 'real',
    testRoot: held.root,
    train: real.filter((r) => r !== held).flatMap((r) => r.samples),
    test: held.samples.filter((s) => s.split === 'test' && !isTrainingOnlyDefect(s)),
    referencePool: held.samples.filter((s) => s.split === 'train' && s.label === 0),
  }));
  if (options.procedural ?? true) {
    const root = options.proceduralRoot ?? defaultSyntheticRoot();
    await generateDataset({ root });
    const samples = readDataset(root, { format: 'mvtec' });
    folds.push({
      name: 'procedural',
      kind: 'procedural',
      testRoot: root,
      // As `resad demo`: training normals plus the test anomalies of the known classes.
      train: samples.filter((s) => SYNTHETIC_TRAIN_CLASSES.includes(s.className) && (s.split === 'train' || s.label === 1)),
      test: samples.filter((s) => SYNTHETIC_TEST_CLASSES.includes(s.className) && s.split === 'test'),
      referencePool: samples.filter((s) => SYNTHETIC_TEST_CLASSES.includes(s.className) && s.split === 'train' && s.label === 0),
    });
  }
  return folds;
}

export interface QualityBenchmarkOptions {
  folds: readonly QualityFold[];
  config: ResADConfig;
  methods?: readonly QualityMethod[];
  shots?: number;
  seeds?: readonly number[];
  /** Results folder: results.json, results.md, models/. */
  outDir: string;
  /** Evaluate ResAD after every epoch (first seed) for a learning curve. */
  curve?: boolean;
  /** Retrain models that already exist. */
  retrain?: boolean;
  /** Extra scoring modes to evaluate the trained ResAD model with (no retraining): rows `resad[mode]`. */
  scorings?: readonly ScoringMode[];
  /**
   * Also measure the reference-only threshold of `resad predict` with these
   * spread floors (see CalibrationCheck); default none.
   */
  calibrationFloors?: readonly number[];
  /** A backbone already loaded for config.backbone (kept open); default: created and disposed here. */
  backbone?: Backbone;
  /** Inference engine for ResAD: 'auto' (default: onnxruntime when installed), 'onnx' or 'tfjs'. */
  inference?: string;
  log?: (line: string) => void;
  quiet?: boolean;
}

function classMean(per: ReadonlyArray<QualityMetrics>): QualityMetrics {
  const avg = (key: keyof QualityMetrics): number | null => {
    const vals = per.map((m) => m[key]).filter((v): v is number => v !== null && v !== undefined);
    return vals.length === 0 ? null : vals.reduce((a, b) => a + b, 0) / vals.length;
  };
  return { imageAUROC: avg('imageAUROC') ?? NaN, pixelAUROC: avg('pixelAUROC'), pixelAUPRO: avg('pixelAUPRO') };
}

function classStd(per: ReadonlyArray<QualityMetrics>, mean: QualityMetrics): QualityMetrics {
  const sd = (key: keyof QualityMetrics): number | null => {
    const m = mean[key];
    const vals = per.map((p) => p[key]).filter((v): v is number => v !== null && v !== undefined);
    if (m === null || vals.length === 0) return null;
    return Math.sqrt(vals.reduce((a, v) => a + (v - m) ** 2, 0) / vals.length);
  };
  return { imageAUROC: sd('imageAUROC') ?? NaN, pixelAUROC: sd('pixelAUROC'), pixelAUPRO: sd('pixelAUPRO') };
}

type SeedCheck = (refs: ReferenceSet, result: EvaluationResult) => Promise<Pick<SeedResult, 'calibration'>>;

async function evaluateSeeds(scorer: FewShotScorer, fold: QualityFold, shots: number, seeds: readonly number[], quiet: boolean, check?: SeedCheck): Promise<SeedResult[]> {
  const out: SeedResult[] = [];
  for (const seed of seeds) {
    const refs = drawReferences(fold.referencePool, { shots, seed });
    const result = await evaluateFewShot(scorer, fold.test, refs, { quiet });
    const extra = check ? await check(refs, result) : {};
    const perClass: Record<string, QualityMetrics> = {};
    for (const c of result.perClass) perClass[c.class] = { imageAUROC: c.imageAUROC, pixelAUROC: c.pixelAUROC ?? null, pixelAUPRO: c.pixelAUPRO ?? null };
    const images = result.perClass.reduce((s, c) => s + c.images, 0);
    const ms = result.perClass.reduce((s, c) => s + c.msPerImage * c.images, 0) / Math.max(1, images);
    out.push({ seed, perClass, ...classMean(Object.values(perClass)), msPerImage: ms, ...extra });
  }
  return out;
}

/** Rates of the reference-only threshold per spread floor, pooled over the fold's test classes. */
function calibrationCheck(model: ResADModel, scoring: ScoringOverride, floors: readonly number[]): SeedCheck {
  return async (refs, result) => {
    const counts = floors.map(() => ({ normals: 0, falseAlarms: 0, anomalies: 0, detected: 0 }));
    for (const [cls, images] of Object.entries(result.perImage)) {
      const refImages = await Promise.all(refs.classes[cls].map((p) => preprocess(p, model.preprocess)));
      floors.forEach((spreadFloor, i) => {
        const { threshold } = calibrateFromReferences(model, refImages, { scoring, spreadFloor });
        for (const im of images) {
          const c = counts[i];
          if (im.label === 0) {
            c.normals++;
            if (im.score > threshold) c.falseAlarms++;
          } else {
            c.anomalies++;
            if (im.score > threshold) c.detected++;
          }
        }
      });
    }
    return {
      calibration: floors.map((spreadFloor, i) => ({
        spreadFloor,
        falseAlarmRate: counts[i].falseAlarms / Math.max(1, counts[i].normals),
        detectionRate: counts[i].detected / Math.max(1, counts[i].anomalies),
      })),
    };
  };
}

/** Runs `fn` with a ResAD scorer on the requested inference engine, released afterwards. */
async function withResADScorer<T>(model: ResADModel, scoring: ScoringOverride, options: QualityBenchmarkOptions, fn: (scorer: FewShotScorer) => Promise<T>): Promise<T> {
  const choice = await resadScorerWith(model, scoring, options.inference);
  try {
    return await fn(choice.scorer);
  } finally {
    await choice.release();
  }
}

/** Model folder of a fold and config; scoring settings are left out of the key (they do not change the weights). */
function modelDirFor(outDir: string, fold: QualityFold, config: ResADConfig): string {
  const safe = fold.name.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return path.join(outDir, 'models', `${safe}-${hashConfig({ fold: fold.name, trainImages: fold.train.length, config: weightsConfig(config) })}`);
}

async function trainedModel(
  fold: QualityFold,
  config: ResADConfig,
  options: QualityBenchmarkOptions,
  backbone: Backbone,
  onCurve: ((p: CurvePoint) => void) | null,
): Promise<{ model: ResADModel; seconds: number | null; reused: boolean }> {
  const dir = modelDirFor(options.outDir, fold, config);
  if (!options.retrain && fs.existsSync(path.join(dir, MODEL_FILE))) {
    const model = await loadModel(dir, { backbone });
    return { model, seconds: savedTrainingSeconds(dir), reused: true };
  }
  if (options.retrain) fs.rmSync(dir, { recursive: true, force: true });
  const model = await ResADModel.create(config, { backbone });
  const curveSeed = (options.seeds ?? [0])[0];
  try {
    const report = await trainResAD(model, fold.train, {
      outDir: dir,
      quiet: options.quiet,
      inference: options.inference,
      afterEpoch: onCurve
        ? async (epoch, seconds) => {
            for (const scoring of [config.scoring, ...(options.scorings ?? []).filter((m) => m !== config.scoring)]) {
              const [r] = await withResADScorer(model, { scoring }, options, (scorer) => evaluateSeeds(scorer, fold, options.shots ?? 4, [curveSeed], true));
              onCurve({ epoch: epoch + 1, scoring, seconds, imageAUROC: r.imageAUROC, pixelAUROC: r.pixelAUROC });
            }
          }
        : undefined,
    });
    return { model, seconds: report.seconds, reused: false };
  } catch (err) {
    model.dispose({ keepBackbone: true });
    throw err;
  }
}

/** Runs every fold and method, writes results.json and results.md, and returns the report. */
export async function runQualityBenchmark(options: QualityBenchmarkOptions): Promise<QualityReport> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.error(line));
  const config = validateConfig(options.config);
  const methods = options.methods ?? DEFAULT_QUALITY_METHODS;
  const shots = options.shots ?? 4;
  const seeds = options.seeds ?? [0, 1, 2];
  const quiet = options.quiet ?? false;
  const engine = await initEngine({ quiet: true });
  const backbone = options.backbone ?? (await createBackbone(config.backbone, { layers: config.backboneLayers }));
  fs.mkdirSync(options.outDir, { recursive: true });
  const report: QualityReport = {
    version: 1,
    createdAt: new Date().toISOString(),
    engine: `${describeEngine(engine)}; ResAD ${plannedInference(options.inference)}`,
    shots,
    seeds: [...seeds],
    config,
    configHash: hashConfig(config),
    folds: [],
    looMean: {},
    seconds: 0,
  };
  const save = (): void => {
    report.seconds = (Date.now() - started) / 1000;
    writeQualityReport(options.outDir, report);
  };
  const logMethod = (fold: QualityFold, m: MethodResult): void =>
    log(`  ${fold.name} ${m.label}: image ${pct(m.mean.imageAUROC)} pixel ${pct(m.mean.pixelAUROC)} AUPRO ${pct(m.mean.pixelAUPRO)}` + (m.trainSeconds !== null ? ` (trained ${m.trainSeconds.toFixed(0)} s${m.modelReused ? ', reused' : ''})` : ''));
  try {
    for (const fold of options.folds) {
      log(`fold ${fold.name}: train ${fold.train.length} images of ${new Set(fold.train.map((s) => s.className)).size} classes, test ${fold.test.length} images`);
      const result: FoldResult = {
        fold: fold.name,
        kind: fold.kind,
        trainClasses: [...new Set(fold.train.map((s) => s.className))].sort(),
        testClasses: [...new Set(fold.test.map((s) => s.className))].sort(),
        trainImages: fold.train.length,
        testImages: fold.test.length,
        methods: [],
      };
      for (const method of methods) {
        if (method === 'patchcore') {
          const choice = await patchcoreScorerWith(backbone, { imageSize: config.imageSize, resizeMode: config.resizeMode, sigma: config.scoreSigma }, options.inference);
          let perSeed: SeedResult[];
          try {
            perSeed = await evaluateSeeds(choice.scorer, fold, shots, seeds, quiet);
          } finally {
            await choice.release();
          }
          result.methods.push(summarise(method, perSeed, null, false));
        } else {
          const cfg: ResADConfig =
            method === 'resad-no-residual' ? { ...config, residual: 'none' } : method === 'resad-untrained' ? { ...config, lr: UNTRAINED_LR } : method === 'resadpp' ? withResADPlusPlus(config) : config;
          const curve: CurvePoint[] = [];
          const wantCurve = options.curve === true && method === 'resad';
          const { model, seconds, reused } = await trainedModel(fold, cfg, options, backbone, wantCurve ? (p) => {
            curve.push(p);
            log(`  curve ${fold.name} epoch ${p.epoch} [${p.scoring}]: ${p.seconds.toFixed(0)} s, image ${(100 * p.imageAUROC).toFixed(1)} / pixel ${p.pixelAUROC === null ? '-' : (100 * p.pixelAUROC).toFixed(1)}`);
          } : null);
          try {
            // A reused model may have been saved with other scoring settings: the benchmark's config decides.
            const scoring: ScoringOverride = { scoring: cfg.scoring, levelWeights: cfg.levelWeights, scoreSigma: cfg.scoreSigma };
            const check = method === 'resad' && options.calibrationFloors?.length ? calibrationCheck(model, scoring, options.calibrationFloors) : undefined;
            const perSeed = await withResADScorer(model, scoring, options, (scorer) => evaluateSeeds(scorer, fold, shots, seeds, quiet, check));
            result.methods.push({ ...summarise(method, perSeed, seconds, reused), scoring: cfg.scoring });
            if (method === 'resad' || method === 'resadpp') {
              for (const scoring of (options.scorings ?? []).filter((m) => m !== cfg.scoring)) {
                const extra = await withResADScorer(model, { scoring, levelWeights: cfg.levelWeights, scoreSigma: cfg.scoreSigma }, options, (scorer) => evaluateSeeds(scorer, fold, shots, seeds, quiet));
                result.methods.push({ ...summarise(method, extra, seconds, reused), label: `${method}[${scoring}]`, scoring });
                logMethod(fold, result.methods[result.methods.length - 1]);
              }
            }
          } finally {
            model.dispose({ keepBackbone: true });
          }
          if (curve.length > 0) result.curve = curve;
        }
        logMethod(fold, result.methods.find((m) => m.label === method)!);
      }
      report.folds.push(result);
      save();
    }
  } finally {
    if (!options.backbone) backbone.dispose();
  }
  save();
  return report;
}

/** Writes results.json and results.md into `outDir` (atomically), after recomputing the leave-one-class-out means. */
export function writeQualityReport(outDir: string, report: QualityReport): void {
  report.looMean = looMeans(report.folds);
  fs.mkdirSync(outDir, { recursive: true });
  writeJsonAtomicSync(path.join(outDir, 'results.json'), report);
  writeFileAtomicSync(path.join(outDir, 'results.md'), formatQualityMarkdown(report));
}

export function readQualityReport(file: string): QualityReport {
  let report: QualityReport;
  try {
    report = JSON.parse(fs.readFileSync(file, 'utf8')) as QualityReport;
  } catch (err) {
    throw new Error(`${file}: not a readable quality report (${(err as Error).message})`);
  }
  if (report.version !== 1 || !Array.isArray(report.folds)) throw new Error(`${file}: not a quality report (version ${String(report.version)})`);
  return report;
}

/**
 * Combines reports of one benchmark run made in parts (e.g. folds split over
 * two processes, or the same trained models scored again with another
 * scoring mode). The reports must agree on shots, seeds and every config
 * field that shapes the weights; the first report's scoring is the merged
 * report's, and ResAD rows scored differently are relabelled
 * `resad[mode]` / `resad-no-residual[mode]`. A row present twice keeps the
 * later report's result.
 */
export function mergeQualityReports(reports: readonly QualityReport[]): QualityReport {
  if (reports.length === 0) throw new Error('mergeQualityReports: no reports');
  const [first] = reports;
  const weightsKey = (r: QualityReport): string => hashConfig(weightsConfig(r.config));
  for (const r of reports) {
    if (weightsKey(r) !== weightsKey(first) || r.shots !== first.shots || r.seeds.join(',') !== first.seeds.join(',')) {
      throw new Error(
        `mergeQualityReports: reports differ in their model config, shots or seeds (config ${weightsKey(r)} vs ${weightsKey(first)}, shots ${r.shots} vs ${first.shots}, seeds ${r.seeds.join(',')} vs ${first.seeds.join(',')}); merge only parts of one run`,
      );
    }
  }
  const folds = new Map<string, FoldResult>();
  for (const r of reports) {
    for (const f of r.folds) {
      const rows = f.methods.map((m) =>
        m.method !== 'patchcore' && m.scoring !== undefined && m.scoring !== first.config.scoring && m.label === m.method ? { ...m, label: `${m.method}[${m.scoring}]` } : m,
      );
      const prev = folds.get(f.fold);
      const kept = prev ? prev.methods.filter((m) => !rows.some((n) => n.label === m.label)) : [];
      folds.set(f.fold, { ...(prev ?? f), ...f, methods: [...kept, ...rows], curve: f.curve ?? prev?.curve });
    }
  }
  const merged: QualityReport = { ...first, createdAt: new Date().toISOString(), folds: [...folds.values()], seconds: reports.reduce((s, r) => s + r.seconds, 0) };
  merged.looMean = looMeans(merged.folds);
  return merged;
}

function summarise(method: QualityMethod, seeds: SeedResult[], trainSeconds: number | null, reused: boolean): MethodResult {
  const mean = classMean(seeds);
  return {
    method,
    label: method,
    seeds,
    mean,
    std: classStd(seeds, mean),
    trainSeconds,
    modelReused: reused,
    msPerImage: seeds.reduce((s, r) => s + r.msPerImage, 0) / Math.max(1, seeds.length),
  };
}

function looMeans(folds: readonly FoldResult[]): Record<string, QualityMetrics> {
  const out: Record<string, QualityMetrics> = {};
  const real = folds.filter((f) => f.kind === 'real');
  for (const label of methodLabels(folds)) {
    const per = real.map((f) => f.methods.find((m) => m.label === label)?.mean).filter((m): m is QualityMetrics => m !== undefined);
    if (per.length > 0 && per.length === real.length) out[label] = classMean(per);
  }
  return out;
}

/** Row labels in first-seen order. */
function methodLabels(folds: readonly FoldResult[]): string[] {
  return [...new Set(folds.flatMap((f) => f.methods.map((m) => m.label)))];
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? '-' : (100 * v).toFixed(1);
}

const METHOD_TITLES: Record<QualityMethod, string> = { resad: 'ResAD', 'resad-no-residual': 'ResAD w/o residual', 'resad-untrained': 'ResAD untrained', resadpp: 'ResAD++', patchcore: 'PatchCore' };

function titleOf(label: string): string {
  const extra = /^(resad|resadpp|resad-no-residual)\[(.+)\]$/.exec(label);
  return extra ? `${METHOD_TITLES[extra[1] as QualityMethod]}, ${extra[2]} scoring` : (METHOD_TITLES[label as QualityMethod] ?? label);
}

/** The report as a Markdown table (image / pixel AUROC / AUPRO in %, ± sd over seeds for image AUROC). */
export function formatQualityMarkdown(report: QualityReport): string {
  const methods = methodLabels(report.folds);
  const header = ['fold', ...methods.map((m) => `${titleOf(m)} image / pixel / AUPRO`), 'ResAD train s', 'ResAD ms/img', 'PatchCore ms/img'];
  const cell = (m: MethodResult | undefined): string =>
    m ? `${pct(m.mean.imageAUROC)} ± ${pct(m.std.imageAUROC)} / ${pct(m.mean.pixelAUROC)} / ${pct(m.mean.pixelAUPRO)}` : '-';
  const rows = report.folds.map((f) => {
    const get = (k: string): MethodResult | undefined => f.methods.find((m) => m.label === k);
    const r = get('resad');
    return [f.fold, ...methods.map((k) => cell(get(k))), r?.trainSeconds != null ? r.trainSeconds.toFixed(0) : '-', r ? r.msPerImage.toFixed(0) : '-', get('patchcore') ? get('patchcore')!.msPerImage.toFixed(0) : '-'];
  });
  const lm = report.looMean;
  if (Object.keys(lm).length > 0) {
    rows.push([`**leave-one-class-out mean** (${report.folds.filter((f) => f.kind === 'real').length} folds)`, ...methods.map((k) => (lm[k] ? `**${pct(lm[k]!.imageAUROC)} / ${pct(lm[k]!.pixelAUROC)} / ${pct(lm[k]!.pixelAUPRO)}**` : '-')), '', '', '']);
  }
  const lines = [
    `# Quality benchmark: ${report.shots}-shot on unseen classes`,
    '',
    `Seeds ${report.seeds.join(', ')}; config ${report.configHash} (backbone ${report.config.backbone}, ${report.config.imageSize} px, ${report.config.epochs} epochs); ${report.engine}; ${report.seconds.toFixed(0)} s in all.`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const calibrated = report.folds.flatMap((f) => {
    const r = f.methods.find((m) => m.label === 'resad');
    return r && r.seeds.every((s) => s.calibration) ? [{ fold: f.fold, seeds: r.seeds }] : [];
  });
  if (calibrated.length > 0) {
    const floors = calibrated[0].seeds[0].calibration!.map((c) => c.spreadFloor);
    const rate = (seeds: SeedResult[], i: number, key: 'falseAlarmRate' | 'detectionRate'): number => seeds.reduce((a, s) => a + s.calibration![i][key], 0) / seeds.length;
    lines.push(
      '',
      "## Reference-only threshold (`resad predict`): false alarms on normal / detections of anomalous test images, mean over seeds (%)",
      '',
      `| fold | ${floors.map((f) => `floor ${f}`).join(' | ')} |`,
      `|---|${floors.map(() => '---').join('|')}|`,
      ...calibrated.map((c) => `| ${c.fold} | ${floors.map((_, i) => `${pct(rate(c.seeds, i, 'falseAlarmRate'))} / ${pct(rate(c.seeds, i, 'detectionRate'))}`).join(' | ')} |`),
    );
    const real = calibrated.filter((c) => report.folds.find((f) => f.fold === c.fold)?.kind === 'real');
    if (real.length > 0) {
      const mean = (i: number, key: 'falseAlarmRate' | 'detectionRate'): number => real.reduce((a, c) => a + rate(c.seeds, i, key), 0) / real.length;
      lines.push(`| **mean of ${real.length} real folds** | ${floors.map((_, i) => `**${pct(mean(i, 'falseAlarmRate'))} / ${pct(mean(i, 'detectionRate'))}**`).join(' | ')} |`);
    }
  }
  const curves = report.folds.filter((f) => f.curve && f.curve.length > 0);
  if (curves.length > 0) {
    lines.push('', '## Learning curves (ResAD, first seed): epoch (training seconds) image / pixel AUROC, per scoring mode', '');
    for (const f of curves) {
      for (const scoring of [...new Set(f.curve!.map((p) => p.scoring))]) {
        const points = f.curve!.filter((p) => p.scoring === scoring);
        lines.push(`- ${f.fold} [${scoring}]: ` + points.map((p) => `${p.epoch} (${p.seconds.toFixed(0)} s) ${pct(p.imageAUROC)}/${pct(p.pixelAUROC)}`).join(', '));
      }
    }
  }
  return lines.join('\n') + '\n';
}
