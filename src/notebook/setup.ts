/**
 * What the notebooks share: the SMOKE switch, the data a notebook runs on
 * (the embedded procedural dataset by default, a real folder when one path is
 * set), the model it uses (loaded when an identical one was trained before,
 * else trained with live progress and saved), and the protocol for the
 * experiments runner.
 *
 * Every notebook keys its model as the experiments runner does
 * (`modelKeyOf`) in one models folder, so notebook 01 trains the model and
 * 02 (its "full" variant), 03, 04 and 06 load it.
 *
 * SMOKE (`RESAD_NOTEBOOK_SMOKE=1`, set by the notebook tests) shrinks
 * everything: a 64 px procedural dataset of 2 known + 2 unseen classes with a
 * few images each (a real dataset: at most SMOKE_IMAGES_PER_CLASS of each
 * kind per class), a 2-epoch model with 2 flow blocks, K in {1, 2}.
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateDataset, defaultSyntheticRoot } from '../data/procedural/index';
import { listClasses, readDataset } from '../data/readers/index';
import type { DatasetFormat } from '../data/sample';
import type { Sample } from '../data/sample';
import { initEngine, describeEngine } from '../engine/index';
import { obtainModel, ResADConfig, ResADModel, withAvailableBackbone } from '../resad/index';
import type { EpochReport } from '../resad/index';
import { customProtocol, OFFLINE_SYNTHETIC_CONFIG, Protocol, SYNTHETIC_CONFIG, SYNTHETIC_TEST_CLASSES, SYNTHETIC_TRAIN_CLASSES } from '../experiments/protocols';
import { ExperimentSession, modelKeyOf } from '../experiments/runner';
import { currentBackend, escapeHtml } from './display';
import { LiveProgress, liveProgress } from './progress';

export const SMOKE_ENV = 'RESAD_NOTEBOOK_SMOKE';

/** True when `RESAD_NOTEBOOK_SMOKE=1`: tiny images, 2 epochs, 2+2 classes, few images. */
export function isSmoke(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[SMOKE_ENV] === '1';
}

export const SMOKE_TRAIN_CLASSES: readonly string[] = ['fabric', 'hex_nut'];
export const SMOKE_TEST_CLASSES: readonly string[] = ['marble', 'capsule'];

/** The smoke model: the synthetic (demo) schedule at 64 px with a small flow. */
export const SMOKE_CONFIG: ResADConfig = {
  ...SYNTHETIC_CONFIG,
  imageSize: 64,
  flowBlocks: 2,
  posEncodingDim: 16,
  flowBatch: 512,
  batchSize: 4,
  trainShots: 2,
  syntheticPerClass: 2,
};

/** SMOKE on a real dataset: per class at most this many training normals, normal test and anomalous test images. */
export const SMOKE_IMAGES_PER_CLASS = 4;

/** The first `n` samples of each (class, split, label) group, in dataset order. */
function firstPerGroup(samples: readonly Sample[], n: number): Sample[] {
  const seen = new Map<string, number>();
  return samples.filter((s) => {
    const key = `${s.className}/${s.split}/${s.label}`;
    const count = seen.get(key) ?? 0;
    seen.set(key, count + 1);
    return count < n;
  });
}

export interface NotebookDataOptions {
  /** A real dataset root ('' or undefined: the procedural dataset). */
  data?: string;
  format?: DatasetFormat | 'auto';
  /** Known classes of a real dataset (default: all but the last third of its classes). */
  trainClasses?: readonly string[];
  /** Unseen classes of a real dataset (default: the last third of its classes). */
  testClasses?: readonly string[];
  /** Replace fields of the model config. */
  config?: Partial<ResADConfig>;
}

export interface NotebookData {
  smoke: boolean;
  synthetic: boolean;
  root: string;
  format: DatasetFormat | 'auto';
  trainClasses: string[];
  testClasses: string[];
  config: ResADConfig;
  /** K values of sweeps: 1, 2, 4, 8 (SMOKE: 1, 2). */
  shots: number[];
  /** Where notebooks keep models and results (git-ignored `runs/`). */
  runsDir: string;
  /** Every sample of the train and test classes. */
  samples: Sample[];
  /** Known classes' training normals plus their anomalies (what the model trains on). */
  train: Sample[];
  /** All samples of the unseen classes. */
  test: Sample[];
  engine: string;
  /** One paragraph saying what this run uses. */
  description: string;
}

/** Initialises the engine, generates (or finds) the data and splits it into known / unseen classes. */
export async function notebookData(options: NotebookDataOptions = {}): Promise<NotebookData> {
  const smoke = isSmoke();
  const engine = describeEngine(await initEngine({ quiet: true }));
  const synthetic = !options.data;
  let root: string;
  let format: DatasetFormat | 'auto' = options.format ?? 'auto';
  let trainClasses: string[];
  let testClasses: string[];
  if (synthetic) {
    format = 'mvtec';
    trainClasses = [...(smoke ? SMOKE_TRAIN_CLASSES : SYNTHETIC_TRAIN_CLASSES)];
    testClasses = [...(smoke ? SMOKE_TEST_CLASSES : SYNTHETIC_TEST_CLASSES)];
    root = smoke ? path.join(path.dirname(defaultSyntheticRoot()), 'resad-synthetic-smoke') : defaultSyntheticRoot();
    await generateDataset(
      smoke
        ? { root, size: 64, classes: [...trainClasses, ...testClasses], trainPerClass: 6, testGoodPerClass: 3, testDefectPerType: 1, quiet: true }
        : { root, quiet: true },
    );
  } else {
    root = path.resolve(options.data as string);
    if (!fs.existsSync(root)) throw new Error(`notebookData: ${root} does not exist (set the data path in the first cell, or '' for the procedural dataset)`);
    const all = listClasses(root, format);
    const split = Math.max(1, Math.round(all.length / 3));
    testClasses = options.testClasses ? [...options.testClasses] : all.slice(all.length - split);
    trainClasses = options.trainClasses ? [...options.trainClasses] : all.filter((c) => !testClasses.includes(c));
    if (trainClasses.length === 0) throw new Error(`notebookData: ${root} has ${all.length} class(es); give trainClasses/testClasses explicitly`);
  }
  // The ImageNet backbone when its weights are here, else the packaged one (resad/presets.ts).
  const preset = smoke ? SMOKE_CONFIG : SYNTHETIC_CONFIG;
  const offline = smoke ? { ...SMOKE_CONFIG, backbone: OFFLINE_SYNTHETIC_CONFIG.backbone } : OFFLINE_SYNTHETIC_CONFIG;
  const available = options.config?.backbone === undefined ? withAvailableBackbone(preset, offline) : { config: preset, note: null };
  const config: ResADConfig = { ...available.config, ...(options.config ?? {}) };
  const all = readDataset(root, { format, classes: [...trainClasses, ...testClasses] });
  const samples = smoke && !synthetic ? firstPerGroup(all, SMOKE_IMAGES_PER_CLASS) : all;
  const train = samples.filter((s) => trainClasses.includes(s.className) && (s.split === 'train' || s.label === 1));
  const test = samples.filter((s) => testClasses.includes(s.className));
  const runsDir = notebookRunsDir();
  const description =
    `${synthetic ? 'Procedural dataset (embedded, offline)' : 'Dataset'} at \`${root}\`${smoke ? ' — **SMOKE mode** (tiny images, 2 epochs, few images; numbers are meaningless)' : ''}. ` +
    `Known classes (${train.length} training images): ${trainClasses.join(', ')}. Unseen classes (${test.length} test images): ${testClasses.join(', ')}. ` +
    `Model: backbone ${config.backbone}, ${config.imageSize} px, ${config.epochs} epochs (${config.firstStageEpochs} in stage 1), ${config.flowBlocks} flow blocks` +
    `${available.note ? ` (${available.note})` : ''}. ${engine}.`;
  return {
    smoke,
    synthetic,
    root,
    format,
    trainClasses,
    testClasses,
    config,
    shots: smoke ? [1, 2] : [1, 2, 4, 8],
    runsDir,
    samples,
    train,
    test,
    engine,
    description,
  };
}

/** Where notebooks keep models and results: runs/notebooks (SMOKE: runs/notebooks-smoke) under the working directory. */
export function notebookRunsDir(): string {
  return path.resolve(isSmoke() ? 'runs/notebooks-smoke' : 'runs/notebooks');
}

/** The models folder every notebook and notebookSession shares (keys include data and config, so sharing is safe). */
export function notebookModelsDir(): string {
  return path.join(notebookRunsDir(), 'models');
}

/** The model folder for (data, known classes, config), keyed as the experiments runner keys it. */
export function notebookModelDir(data: NotebookData, config: ResADConfig = data.config): string {
  return path.join(notebookModelsDir(), modelKeyOf(notebookProtocol(data, 'notebook'), config));
}

export interface NotebookModel {
  model: ResADModel;
  dir: string;
  /** False when the model was loaded from `dir`. */
  trained: boolean;
  seconds: number;
  epochs: readonly EpochReport[];
}

/**
 * Loads the model of `notebookModelDir` when it holds this model (`obtainModel`'s
 * rule), else trains it on `data.train` with a live progress area and saves it
 * there (resumable).
 */
export async function loadOrTrainModel(data: NotebookData, options: { config?: ResADConfig; retrain?: boolean } = {}): Promise<NotebookModel> {
  const config = options.config ?? data.config;
  const dir = notebookModelDir(data, config);
  const live: { progress?: LiveProgress } = {};
  const got = await obtainModel(dir, config, data.train, {
    ifDifferent: 'retrain',
    force: options.retrain,
    quiet: true,
    onPlan: (plan) => {
      if (plan.kind === 'train') live.progress = liveProgress({ title: `Training ResAD on ${data.trainClasses.join(', ')}`, totalEpochs: config.epochs });
    },
    onEpoch: (report) => live.progress?.onEpoch(report),
  });
  if (got.trained) live.progress?.finish(`done in ${(got.trainSeconds ?? 0).toFixed(0)} s; saved to ${dir}`);
  return { model: got.model, dir, trained: got.trained, seconds: got.trainSeconds ?? 0, epochs: got.epochs };
}

/** The notebook's data as an experiments protocol (custom parts over the same folders and classes). */
export function notebookProtocol(data: NotebookData, name = data.synthetic ? 'notebook-synthetic' : `notebook:${path.basename(data.root)}`): Protocol {
  const part = (classes: readonly string[]): string => `${data.format === 'auto' ? '' : `${data.format}=`}${data.root}:${classes.join(',')}`;
  return customProtocol({
    name,
    train: [part(data.trainClasses)],
    test: [part(data.testClasses)],
    trainImages: 'train+anomalies',
    shots: data.shots,
    config: data.config,
    configPreset: data.smoke ? 'smoke' : data.synthetic ? 'synthetic' : 'custom',
  });
}

/**
 * An experiments session for a notebook: results in `notebookRunsDir()/<store>`,
 * models shared with the other notebooks, and one live area listing the runs
 * plus a live training chart for each model it has to train.
 */
export function notebookSession(store: string): ExperimentSession {
  const lines: string[] = [];
  const area = currentBackend().newHandle();
  let progress: LiveProgress | null = null;
  return new ExperimentSession({
    store: path.join(notebookRunsDir(), store),
    modelsDir: notebookModelsDir(),
    quiet: true,
    keepExamples: 0,
    log: (line) => {
      lines.push(line);
      // html keeps the last lines in one area; plain text (the console backend prints it) is just the new line.
      area.show({ 'text/html': `<pre class="resad-runs">${escapeHtml(lines.slice(-10).join('\n'))}</pre>`, 'text/plain': line });
      if (/: training on /.test(line)) progress = liveProgress({ title: line.replace(/^model \w+: /, '') });
    },
    onEpoch: (report) => progress?.onEpoch(report),
  });
}
