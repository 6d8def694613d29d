/**
 * Where the benchmark datasets live on this machine, and what to say when one
 * is missing. Protocols name datasets by key ('mvtec', 'visa', ...); this
 * module turns a key into a folder.
 *
 * Why a separate lookup: real datasets are never in the repository (licences,
 * size), every user unpacks them somewhere else, and an experiment that fails
 * after an hour because a folder is wrong is expensive. Resolution happens
 * before anything runs, and a missing dataset is an error that says what to
 * download, from where, and how to point resad at it.
 *
 * Lookup order (first hit wins):
 * 1. `options.datasets[key]` (an explicit map, e.g. from a notebook);
 * 2. the environment variable `RESAD_DATA_<KEY>` (e.g. `RESAD_DATA_MVTEC`,
 *    `RESAD_DATA_MVTEC3D`);
 * 3. the JSON file `resad.datasets.json` in the project root (or the file named
 *    by `RESAD_DATASETS_CONFIG`): `{"mvtec": "/data/mvtec_ad", "visa": "../VisA"}`,
 *    relative paths resolved against the file's folder.
 *
 * ```ts
 * const root = resolveDatasetRoot('visa', { needFor: 'protocol mvtec->visa (test)' });
 * // -> '/data/VisA_20220922', or a DatasetNotConfiguredError with download hints
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DatasetFormat } from '../data/sample';

export const BENCHMARK_DATASETS = ['mvtec', 'visa', 'btad', 'mvtec3d', 'brats', 'shanghaitech', 'mpdd', 'loco'] as const;
export type BenchmarkDataset = (typeof BENCHMARK_DATASETS)[number];

export interface BenchmarkDatasetInfo {
  key: BenchmarkDataset;
  title: string;
  format: DatasetFormat;
  /** The official class list (what the paper averages over); undefined: every class in the folder. */
  classes?: readonly string[];
  /** Where to get it. */
  source: string;
  /** Section of datasets/README.md describing the layout. */
  readmeSection: string;
}

export const DATASET_INFO: Readonly<Record<BenchmarkDataset, BenchmarkDatasetInfo>> = {
  mvtec: {
    key: 'mvtec',
    title: 'MVTec AD',
    format: 'mvtec',
    classes: ['bottle', 'cable', 'capsule', 'carpet', 'grid', 'hazelnut', 'leather', 'metal_nut', 'pill', 'screw', 'tile', 'toothbrush', 'transistor', 'wood', 'zipper'],
    source: 'https://www.mvtec.com/company/research/datasets/mvtec-ad',
    readmeSection: 'MVTec AD — --format mvtec',
  },
  visa: {
    key: 'visa',
    title: 'VisA',
    format: 'visa',
    classes: ['candle', 'capsules', 'cashew', 'chewinggum', 'fryum', 'macaroni1', 'macaroni2', 'pcb1', 'pcb2', 'pcb3', 'pcb4', 'pipe_fryum'],
    source: 'https://amazon-visual-anomaly.s3.us-west-2.amazonaws.com/VisA_20220922.tar (https://github.com/amazon-science/spot-diff)',
    readmeSection: 'VisA — --format visa',
  },
  btad: {
    key: 'btad',
    title: 'BTAD',
    format: 'btad',
    classes: ['01', '02', '03'],
    source: 'http://avires.dimi.uniud.it/papers/btad/btad.zip',
    readmeSection: 'BTAD — --format btad',
  },
  mvtec3d: {
    key: 'mvtec3d',
    title: 'MVTec 3D-AD (RGB)',
    format: 'mvtec3d',
    classes: ['bagel', 'cable_gland', 'carrot', 'cookie', 'dowel', 'foam', 'peach', 'potato', 'rope', 'tire'],
    source: 'https://www.mvtec.com/company/research/datasets/mvtec-3d-ad',
    readmeSection: 'MVTec 3D-AD (RGB only) — --format mvtec3d',
  },
  brats: {
    key: 'brats',
    title: 'BraTS (2-D slices)',
    format: 'brats',
    source: 'http://braintumorsegmentation.org (slices: BMAD, https://github.com/DorisBao/BMAD)',
    readmeSection: 'BraTS (2-D slices) — --format brats',
  },
  shanghaitech: {
    key: 'shanghaitech',
    title: 'ShanghaiTech Campus (frames)',
    format: 'shanghaitech',
    source: 'https://svip-lab.github.io/dataset/campus_dataset.html (prepare frames first)',
    readmeSection: 'ShanghaiTech Campus (frames) — --format shanghaitech',
  },
  mpdd: {
    key: 'mpdd',
    title: 'MPDD',
    format: 'mpdd',
    classes: ['bracket_black', 'bracket_brown', 'bracket_white', 'connector', 'metal_plate', 'tubes'],
    source: 'https://github.com/stepanje/MPDD',
    readmeSection: 'MPDD — --format mpdd',
  },
  loco: {
    key: 'loco',
    title: 'MVTec LOCO AD',
    format: 'loco',
    classes: ['breakfast_box', 'juice_bottle', 'pushpins', 'screw_bag', 'splicing_connectors'],
    source: 'https://www.mvtec.com/company/research/datasets/mvtec-loco',
    readmeSection: 'MVTec LOCO AD — --format loco',
  },
};

export const DATASETS_CONFIG_FILE = 'resad.datasets.json';
export const DATASETS_CONFIG_ENV = 'RESAD_DATASETS_CONFIG';

/** The environment variable naming a dataset's folder, e.g. RESAD_DATA_MVTEC3D. */
export function datasetEnvVar(key: string): string {
  return `RESAD_DATA_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export interface DatasetLocationOptions {
  /** Explicit key -> folder map; wins over everything else. */
  datasets?: Readonly<Record<string, string>>;
  /** Environment to read RESAD_DATA_* from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Project root holding resad.datasets.json (default process.cwd()). */
  projectRoot?: string;
  /** Config file path (default $RESAD_DATASETS_CONFIG, else PROJECT/resad.datasets.json). */
  configFile?: string;
}

/** A benchmark dataset that is not configured or whose folder is absent. */
export class DatasetNotConfiguredError extends Error {
  constructor(
    message: string,
    readonly dataset: string,
    /** The message without the protocol that needed the dataset (one text for every protocol missing it). */
    readonly detail: string = message,
  ) {
    super(message);
    this.name = 'DatasetNotConfiguredError';
  }
}

function configFilePath(options: DatasetLocationOptions): string {
  const env = options.env ?? process.env;
  return path.resolve(options.configFile ?? env[DATASETS_CONFIG_ENV] ?? path.join(options.projectRoot ?? process.cwd(), DATASETS_CONFIG_FILE));
}

/** Reads the dataset config file; {} when it does not exist. Keys starting with '$' or '_' are comments. */
export function readDatasetsConfig(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: expected an object {"mvtec": "/path", ...}`);
  const obj = (raw as Record<string, unknown>).datasets ?? raw;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (k.startsWith('$') || k.startsWith('_')) continue;
    if (typeof v !== 'string' || v.trim() === '') throw new Error(`${file}: "${k}" must be a folder path string`);
    out[k] = path.resolve(path.dirname(file), v);
  }
  return out;
}

/** Where a dataset was found, and how (for run records and error messages). */
export interface DatasetLocation {
  root: string;
  via: 'option' | 'env' | 'config';
  /** The variable or file that named it. */
  detail: string;
}

function missingHelp(key: string, configFile: string): string {
  const info = (DATASET_INFO as Record<string, BenchmarkDatasetInfo | undefined>)[key];
  const what = info ? `${info.title}: download it from ${info.source}, unpack it, then` : 'Then';
  return (
    `${what} set ${datasetEnvVar(key)}=/path/to/it or add "${key}": "/path/to/it" to ${configFile}. ` +
    `Expected layout: datasets/README.md${info ? `, section "${info.readmeSection}"` : ''}.`
  );
}

/** Finds the folder of dataset `key` or throws a DatasetNotConfiguredError saying what to download and where to put it. */
export function resolveDatasetRoot(key: string, options: DatasetLocationOptions & { needFor?: string } = {}): DatasetLocation {
  const env = options.env ?? process.env;
  const file = configFilePath(options);
  const need = options.needFor ? ` (needed by ${options.needFor})` : '';
  let found: DatasetLocation | undefined;
  const explicit = options.datasets?.[key];
  if (explicit !== undefined) found = { root: path.resolve(explicit), via: 'option', detail: 'datasets option' };
  else if (env[datasetEnvVar(key)]) found = { root: path.resolve(env[datasetEnvVar(key)] as string), via: 'env', detail: datasetEnvVar(key) };
  else {
    const fromFile = readDatasetsConfig(file)[key];
    if (fromFile !== undefined) found = { root: fromFile, via: 'config', detail: file };
  }
  if (!found) {
    throw new DatasetNotConfiguredError(`Dataset "${key}" is not configured${need}. ${missingHelp(key, file)}`, key, `Dataset "${key}" is not configured. ${missingHelp(key, file)}`);
  }
  if (!fs.existsSync(found.root) || !fs.statSync(found.root).isDirectory()) {
    const problem = `${found.detail} points to ${found.root}, which is not a folder. ${missingHelp(key, file)}`;
    throw new DatasetNotConfiguredError(`Dataset "${key}"${need}: ${problem}`, key, `Dataset "${key}": ${problem}`);
  }
  return found;
}
