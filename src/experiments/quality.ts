/**
 * The quality benchmark the method is tuned against (`npm run bench:quality`),
 * as experiments: detection quality on classes the model never trained on,
 * next to the training-free PatchCore baseline and ResAD without residual
 * features. Each fold is a Protocol, each method a RunSpec, and an
 * ExperimentSession runs them into a results store (runner.ts), so models,
 * references, skipping of finished runs and several processes on one store
 * work as for every experiment.
 *
 * Folds (`discoverQualityFolds`):
 * - leave-one-class-out over every real class found under the shared datasets
 *   folder (`../shared/datasets`, or RESAD_SHARED_DATASETS; none when absent):
 *   train on all the other real classes (train + test images, real anomalies
 *   with masks, as the paper trains on a whole dataset), test K-shot on the
 *   held-out class. One training part per class, in dataset-folder then class
 *   order, so the training sees its images in the order the benchmark always
 *   gave them (the trainings are seeded: the order is part of the result);
 * - the procedural split of `resad demo` (10 known -> 5 unseen classes).
 *
 * Methods (`qualitySpecs`): `resad` (the fold's config), `resad-no-residual`
 * and `resadpp` (the ablation variants `no-residual` and `resad++` of
 * sweeps.ts), `resad-untrained` (the same training with its updates switched
 * off), `patchcore` (the method registry, on ResAD's backbone, pixels and
 * references); extra scoring modes re-score the same trained model (rows
 * `resad[mode]`). Options ride along as run options: a learning curve (first
 * seed, the run that trains the model) and the check of `resad predict`'s
 * reference-only threshold.
 *
 * Test images never shape a model: references are training normals of the
 * held-out class, and the per-level score statistics come from training
 * normals of the known classes. Defect folders whose name ends in `_extra`
 * (MPDD metal_plate's `defective_extra`, meant as extra training anomalies)
 * train the other folds and are never test images.
 *
 * Results are mean ± population sd over reference seeds, then the mean over
 * the real folds, as docs/QUALITY.md has always printed them.
 *
 * ```ts
 * const folds = discoverQualityFolds({ config: CPU_CONFIG });
 * const session = new ExperimentSession({ store: 'runs/quality/cpu' });
 * const outcomes = await session.runAll(qualitySpecs(folds, { seeds: [0, 1, 2] }));
 * session.dispose();
 * console.log(formatQualityMarkdown(outcomes.map((o) => o.record)));
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Sample } from '../data/sample';
import { listClasses, readDataset } from '../data/readers/index';
import { defaultSyntheticRoot, generateDataset } from '../data/procedural/index';
import { CPU_CONFIG, ResADConfig } from '../resad/config';
import type { ScoringMode } from '../scoring/anomaly-map';
import { DataPart, Protocol, SYNTHETIC_TEST_CLASSES, SYNTHETIC_TRAIN_CLASSES, testImagesOf, trainingImagesOf } from './protocols';
import { runKeyOf, RunSpec } from './runner';
import { hashConfig, ResultsStore, RunRecord } from './store';
import { ABLATIONS, summarizeSweep, SweepPoint } from './sweeps';
import { Cell, Table, tableToMarkdown } from './tables';

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
export const DEFAULT_QUALITY_SHOTS = 4;
export const DEFAULT_QUALITY_SEEDS: readonly number[] = [0, 1, 2];

function ablation(name: string): Partial<ResADConfig> {
  const found = ABLATIONS.find((a) => a.name === name);
  if (!found) throw new Error(`quality: no ablation variant ${name}`);
  return found.overrides;
}

/** The ResAD methods as variants of the fold's config (the ablations' names where sweeps.ts has them). */
const RESAD_VARIANTS: Readonly<Record<Exclude<QualityMethod, 'patchcore'>, { variant: string; overrides: Partial<ResADConfig> }>> = {
  resad: { variant: '', overrides: {} },
  'resad-no-residual': { variant: 'no-residual', overrides: ablation('no-residual') },
  'resad-untrained': { variant: 'untrained', overrides: { lr: UNTRAINED_LR } },
  resadpp: { variant: 'resad++', overrides: ablation('resad++') },
};

export interface QualityFold {
  /** Short unique name: the held-out class (qualified by its dataset folder when two share it), or 'procedural'. */
  name: string;
  kind: 'real' | 'procedural';
  protocol: Protocol;
}

export interface DiscoverOptions {
  /** Folder with one sub-folder per dataset (default ../shared/datasets or RESAD_SHARED_DATASETS). */
  sharedRoot?: string;
  /** Include the procedural fold (default true). */
  procedural?: boolean;
  /** Procedural dataset folder (default: the demo's; generated by the runner when first needed). */
  proceduralRoot?: string;
  /** The model every fold trains (default CPU_CONFIG) and the preset name it is recorded under. */
  config?: ResADConfig;
  configPreset?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where the shared real datasets live (may not exist). */
export function defaultSharedDatasetsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.RESAD_SHARED_DATASETS ?? path.join(process.cwd(), '..', 'shared', 'datasets'));
}

/**
 * Every real class under `sharedRoot` as one leave-one-class-out fold, plus the
 * procedural fold. A missing shared folder gives only the procedural fold.
 */
export function discoverQualityFolds(options: DiscoverOptions = {}): QualityFold[] {
  const shared = options.sharedRoot ?? defaultSharedDatasetsRoot(options.env);
  const config = options.config ?? CPU_CONFIG;
  const common = { shots: [DEFAULT_QUALITY_SHOTS], referenceSeeds: [...DEFAULT_QUALITY_SEEDS], configPreset: options.configPreset ?? 'custom', config };
  const real: DataPart[] = [];
  if (fs.existsSync(shared)) {
    const datasets = fs.readdirSync(shared, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    // Code-unit order, datasets then classes: the order the benchmark has always trained in.
    for (const name of datasets.sort(byCodeUnit)) {
      const root = path.join(shared, name);
      for (const cls of listClasses(root, 'auto').sort(byCodeUnit)) real.push({ dataset: `shared-${name}`, format: 'auto', root, classes: [cls] });
    }
  }
  const classOf = (p: DataPart): string => (p.classes ?? [])[0];
  const folds: QualityFold[] = real.map((held) => {
    // A class name shared by two datasets is qualified by its dataset folder.
    const name = real.filter((p) => classOf(p) === classOf(held)).length > 1 ? `${path.basename(held.root)}/${classOf(held)}` : classOf(held);
    return {
      name,
      kind: 'real',
      protocol: {
        ...common,
        name: `quality:${name}`,
        description: `Leave ${name} out of ${shared}: train on the other real classes (train + test images, real anomalies), test K-shot on ${name}.`,
        train: real.filter((p) => p !== held),
        test: [{ ...held, testSkipsExtraDefects: true }],
        trainImages: 'all',
      },
    };
  });
  if (options.procedural ?? true) {
    const root = path.resolve(options.proceduralRoot ?? defaultSyntheticRoot());
    const part = (classes: readonly string[]): DataPart => ({ dataset: 'synthetic', format: 'mvtec', root, classes, generated: true });
    folds.push({
      name: 'procedural',
      kind: 'procedural',
      protocol: {
        ...common,
        name: 'quality:procedural',
        description: `The demo's split of the procedural dataset: train on ${SYNTHETIC_TRAIN_CLASSES.length} classes (training normals + anomalies), test K-shot on ${SYNTHETIC_TEST_CLASSES.join(', ')}.`,
        train: [part(SYNTHETIC_TRAIN_CLASSES)],
        test: [part(SYNTHETIC_TEST_CLASSES)],
        trainImages: 'train+anomalies',
      },
    });
  }
  return folds;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A fold's images as the runner reads them: the training images in training
 * order, the test images, and the references' pool (training normals of the
 * test classes). For tools that feed a fold elsewhere (scripts/export-reference-inputs.ts).
 */
export async function qualityFoldSamples(fold: QualityFold): Promise<{ train: Sample[]; test: Sample[]; referencePool: Sample[] }> {
  const read = async (part: DataPart): Promise<Sample[]> => {
    if (part.generated) await generateDataset({ root: part.root, quiet: true });
    return readDataset(part.root, { format: part.format, classes: part.classes });
  };
  const train: Sample[] = [];
  for (const part of fold.protocol.train) train.push(...trainingImagesOf(fold.protocol.trainImages, await read(part)));
  const test: Sample[] = [];
  const referencePool: Sample[] = [];
  for (const part of fold.protocol.test) {
    const samples = await read(part);
    test.push(...testImagesOf(part, samples));
    referencePool.push(...samples.filter((s) => s.split === 'train' && s.label === 0));
  }
  return { train, test, referencePool };
}

export interface QualityRunOptions {
  /** Default DEFAULT_QUALITY_METHODS. */
  methods?: readonly QualityMethod[];
  /** K (default 4). */
  shots?: number;
  /** Reference seeds (default 0, 1, 2). */
  seeds?: readonly number[];
  /** Extra scoring modes of the trained ResAD (and ResAD++) models, no retraining: rows `resad[mode]`. */
  scorings?: readonly ScoringMode[];
  /** Also measure `resad predict`'s reference-only threshold with these spread floors (ResAD, every seed). */
  calibrationFloors?: readonly number[];
  /** A learning curve of ResAD (first seed, every scoring mode), measured when its model is trained. */
  curve?: boolean;
}

/**
 * The runs of the benchmark, fold by fold in the order given, each method's
 * seeds together. Tags name the fold (`fold`, `quality`: its kind) and the
 * row (`row`: 'resad', 'resad[nll]', 'patchcore', ...), which the tables read.
 */
export function qualitySpecs(folds: readonly QualityFold[], options: QualityRunOptions = {}): RunSpec[] {
  const methods = options.methods ?? DEFAULT_QUALITY_METHODS;
  const shots = options.shots ?? DEFAULT_QUALITY_SHOTS;
  const seeds = options.seeds ?? DEFAULT_QUALITY_SEEDS;
  const floors = options.calibrationFloors ?? [];
  const specs: RunSpec[] = [];
  for (const fold of folds) {
    const { protocol } = fold;
    const tags = (row: string): Record<string, string> => ({ quality: fold.kind, fold: fold.name, row });
    for (const method of methods) {
      if (method === 'patchcore') {
        for (const seed of seeds) specs.push({ protocol, method, shots, referenceSeed: seed, tags: tags(method) });
        continue;
      }
      const { variant, overrides } = RESAD_VARIANTS[method];
      const scoring = { ...protocol.config, ...overrides }.scoring;
      const extra = method === 'resad' || method === 'resadpp' ? (options.scorings ?? []).filter((m) => m !== scoring) : [];
      seeds.forEach((seed, i) => {
        specs.push({
          protocol,
          method: 'resad',
          config: overrides,
          shots,
          referenceSeed: seed,
          variant,
          tags: tags(method),
          ...(method === 'resad' && options.curve && i === 0 ? { curve: [scoring, ...(options.scorings ?? []).filter((m) => m !== scoring)] } : {}),
          ...(method === 'resad' && floors.length > 0 ? { calibrationFloors: floors } : {}),
        });
      });
      for (const mode of extra) {
        // Same weights config: the runner scores the model trained for the row above.
        const name = method === 'resad' ? `scoring-${mode}` : `resad++-${mode}`;
        for (const seed of seeds) specs.push({ protocol, method: 'resad', config: { ...overrides, scoring: mode }, shots, referenceSeed: seed, variant: name, tags: tags(`${method}[${mode}]`) });
      }
    }
  }
  return specs;
}

/**
 * The stored records of `specs` (the latest of each key), in the order of the
 * specs, labelled by the specs (a run stored under another row, e.g. an extra
 * scoring mode that is now the config's, reads as the row asked for); runs
 * not in the store are left out.
 */
export function qualityRecords(store: ResultsStore, specs: readonly RunSpec[]): RunRecord[] {
  const byKey = new Map(store.latest().map((r): [string, RunRecord] => [r.key, r]));
  const out: RunRecord[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    const key = runKeyOf(spec);
    const record = byKey.get(key);
    if (!record || seen.has(key)) continue;
    seen.add(key);
    out.push({ ...record, variant: spec.variant ?? '', tags: { ...record.tags, ...(spec.tags ?? {}) } });
  }
  return out;
}

/** The three numbers the benchmark reports. */
export interface QualityMetrics {
  imageAUROC: number | null;
  pixelAUROC: number | null;
  pixelAUPRO: number | null;
}

export interface QualityRow {
  fold: string;
  kind: string;
  /** 'resad', 'resad-no-residual', 'resad[nll]', 'patchcore', ... */
  label: string;
  /** Mean and population sd over the seeds. */
  point: SweepPoint;
  records: RunRecord[];
}

export interface QualitySummary {
  /** Folds in first-seen order, each with its rows in first-seen order. */
  rows: QualityRow[];
  /** Mean over the real folds of each row label present in all of them. */
  looMean: Record<string, QualityMetrics>;
  realFolds: number;
}

const QUALITY_KEYS = ['imageAUROC', 'pixelAUROC', 'pixelAUPRO'] as const;

/** Groups benchmark records (tags from qualitySpecs) by fold and row; records of other experiments are ignored. */
export function summarizeQuality(records: readonly RunRecord[]): QualitySummary {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    if (r.tags.quality === undefined || r.tags.fold === undefined || r.tags.row === undefined) continue;
    const k = JSON.stringify([r.tags.fold, r.tags.row]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const rows: QualityRow[] = [];
  for (const list of groups.values()) {
    const { fold, row, quality } = list[0].tags;
    for (const point of summarizeSweep(list, { spread: 'population' })) rows.push({ fold, kind: quality, label: row, point, records: list.filter((r) => r.shots === point.shots) });
  }
  const folds = [...new Set(rows.map((r) => r.fold))];
  const ordered = folds.flatMap((f) => rows.filter((r) => r.fold === f));
  const realFolds = folds.filter((f) => rows.some((r) => r.fold === f && r.kind === 'real'));
  const looMean: Record<string, QualityMetrics> = {};
  for (const label of [...new Set(ordered.map((r) => r.label))]) {
    const per = realFolds.map((f) => ordered.find((r) => r.fold === f && r.label === label)?.point.mean);
    if (realFolds.length === 0 || per.some((m) => m === undefined)) continue;
    const mean = {} as QualityMetrics;
    for (const key of QUALITY_KEYS) {
      const vals = per.map((m) => m?.[key]).filter((v): v is number => v !== null && v !== undefined);
      mean[key] = vals.length === 0 ? null : vals.reduce((a, b) => a + b, 0) / vals.length;
    }
    looMean[label] = mean;
  }
  return { rows: ordered, looMean, realFolds: realFolds.length };
}

const TITLES: Readonly<Record<QualityMethod, string>> = { resad: 'ResAD', 'resad-no-residual': 'ResAD w/o residual', 'resad-untrained': 'ResAD untrained', resadpp: 'ResAD++', patchcore: 'PatchCore' };

/** Display name of a row label ('resad[nll]' -> 'ResAD, nll scoring'). */
export function qualityTitle(label: string): string {
  const extra = /^([a-z-]+)\[(.+)\]$/.exec(label);
  const title = (m: string): string => (TITLES as Readonly<Record<string, string>>)[m] ?? m;
  return extra ? `${title(extra[1])}, ${extra[2]} scoring` : title(label);
}

/** Percent with one decimal, rounded as docs/QUALITY.md has always printed it. */
function pct(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : Number((100 * v).toFixed(1));
}

/** The benchmark table: per fold and row image AUROC ± sd over seeds, pixel AUROC, AUPRO, then the leave-one-class-out means. */
export function qualityTable(summary: QualitySummary): Table {
  const rows: Cell[][] = summary.rows.map((r) => {
    const sd = r.point.std.imageAUROC;
    return [
      r.fold,
      qualityTitle(r.label),
      pct(r.point.mean.imageAUROC),
      sd === null ? null : Number((100 * sd).toFixed(2)),
      pct(r.point.mean.pixelAUROC),
      pct(r.point.mean.pixelAUPRO),
      r.point.trainSeconds === null ? null : Math.round(r.point.trainSeconds),
      Math.round(r.point.msPerImage),
    ];
  });
  for (const [label, m] of Object.entries(summary.looMean)) {
    rows.push([`leave-one-class-out mean (${summary.realFolds} folds)`, qualityTitle(label), pct(m.imageAUROC), null, pct(m.pixelAUROC), pct(m.pixelAUPRO), null, null]);
  }
  return {
    title: 'K-shot on unseen classes (%): image AUROC ± sd over reference seeds, pixel AUROC, pixel AUPRO',
    columns: ['fold', 'method', 'imageAUROC', 'imageAUROC_std', 'pixelAUROC', 'pixelAUPRO', 'train_s', 'ms_per_image'],
    rows,
  };
}

/** `resad predict`'s reference-only threshold per fold and spread floor: false alarms / detections (%), mean over seeds; null without checks. */
export function calibrationTable(summary: QualitySummary): Table | null {
  const checked = summary.rows.filter((r) => r.label === 'resad' && r.records.length > 0 && r.records.every((x) => x.calibration && x.calibration.length > 0));
  if (checked.length === 0) return null;
  const floors = checked[0].records[0].calibration!.map((c) => c.spreadFloor);
  const rate = (r: QualityRow, i: number, key: 'falseAlarmRate' | 'detectionRate'): number => {
    const seeds = [...r.records].sort((a, b) => a.referenceSeed - b.referenceSeed);
    return seeds.reduce((a, s) => a + (s.calibration![i]?.[key] ?? NaN), 0) / seeds.length;
  };
  const cell = (fa: number, det: number): string => `${pct(fa)?.toFixed(1) ?? '-'} / ${pct(det)?.toFixed(1) ?? '-'}`;
  const rows: Cell[][] = checked.map((r) => [r.fold, ...floors.map((_, i) => cell(rate(r, i, 'falseAlarmRate'), rate(r, i, 'detectionRate')))]);
  const real = checked.filter((r) => r.kind === 'real');
  if (real.length > 0) {
    const mean = (i: number, key: 'falseAlarmRate' | 'detectionRate'): number => real.reduce((a, r) => a + rate(r, i, key), 0) / real.length;
    rows.push([`mean of ${real.length} real folds`, ...floors.map((_, i) => cell(mean(i, 'falseAlarmRate'), mean(i, 'detectionRate')))]);
  }
  return {
    title: "Reference-only threshold (`resad predict`): false alarms on normal / detections of anomalous test images, mean over seeds (%)",
    columns: ['fold', ...floors.map((f) => `floor ${f}`)],
    rows,
  };
}

/** The learning curves (ResAD, first seed): one row per fold, scoring mode and epoch; null without curves. */
export function curveTable(summary: QualitySummary): Table | null {
  const rows: Cell[][] = [];
  for (const r of summary.rows) {
    for (const rec of r.records) for (const p of rec.curve ?? []) rows.push([r.fold, p.scoring, p.epoch, Math.round(p.seconds), pct(p.imageAUROC), pct(p.pixelAUROC)]);
  }
  if (rows.length === 0) return null;
  return { title: 'Learning curves (ResAD, first seed): image / pixel AUROC after each epoch', columns: ['fold', 'scoring', 'epoch', 'train_s', 'imageAUROC', 'pixelAUROC'], rows };
}

/** The benchmark's records as Markdown: what ran, then the tables. */
export function formatQualityMarkdown(records: readonly RunRecord[]): string {
  const summary = summarizeQuality(records);
  const resad = summary.rows.find((r) => r.label === 'resad')?.records[0] ?? summary.rows[0]?.records[0];
  if (!resad) return '# Quality benchmark\n\nNo runs of it in this store yet.\n';
  const seeds = [...new Set(records.map((r) => r.referenceSeed))].sort((a, b) => a - b);
  const cfg = resad.config as Partial<ResADConfig>;
  const main = qualityTable(summary);
  const lines = [
    `# Quality benchmark: ${resad.shots}-shot on unseen classes`,
    '',
    `Seeds ${seeds.join(', ')}; config ${hashConfig(resad.config)} (backbone ${String(cfg.backbone)}, ${String(cfg.imageSize)} px, ${String(cfg.epochs)} epochs); ${resad.engine}.`,
    '',
    `${main.title} (sd: population, over the seeds):`,
    '',
    tableToMarkdown(main),
  ];
  for (const table of [calibrationTable(summary), curveTable(summary)]) if (table) lines.push('', `## ${table.title}`, '', tableToMarkdown(table));
  return lines.join('\n') + '\n';
}
