/**
 * Evaluation protocols as named presets: which dataset/classes ResAD trains
 * on, which unseen dataset/classes it is tested on, the shot counts K, the
 * reference seeds and the model configuration. The names follow the paper's
 * settings (RESAD_SPEC "Evaluation protocols", PAPER_RESULTS.md):
 *
 * | name | train | test | paper |
 * |---|---|---|---|
 * | `mvtec->visa`, `->btad`, `->mvtec3d`, `->brats`, `->shanghaitech` | all of MVTec AD (train + test) | the official classes of the target | Table 1 |
 * | `visa->mvtec` | all of VisA | MVTec AD | Table 1, Table 2, Table 6 |
 * | `mvtec->mpdd`, `mvtec->loco` | MVTec AD | MPDD / MVTec LOCO | (not in the paper) |
 * | `mvtec5->mvtec`, `mvtec10->mvtec`, `visa->mvtec5` | 5 / 10 MVTec classes, or VisA | hazelnut, pill, tile, carpet, zipper | Table 3 |
 * | `synthetic` | the demo's 10 procedural classes | its 5 other classes | (offline, CPU) |
 * | `shared-real` | ../shared/datasets: mvtec_ad bottle+grid, mpdd metal_plate | hazelnut_toy hazelnut | (developers) |
 *
 * Why presets: a notebook or the CLI names a setting in one word and gets the
 * same classes, references and hyper-parameters as everyone else; the run
 * store keys results by what the preset resolves to, so results of a setting
 * stay comparable. `customProtocol` builds the same structure from any
 * folders (the CLI's `--data ROOT:classes` syntax).
 *
 * ```ts
 * const p = resolveProtocol('mvtec->visa');           // throws with download hints if a folder is missing
 * const s = resolveProtocol('synthetic');             // generated on demand by the runner
 * const c = customProtocol({ train: ['/data/mine:a,b'], test: ['/data/new:c'] });
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import { DATASET_FORMATS, DatasetFormat, Sample } from '../data/sample';
import { parseDataSpec } from '../data/readers/index';
import { defaultSyntheticRoot } from '../data/procedural/paths';
import { CPU_CONFIG, OFFLINE_CPU_CONFIG, PAPER_CONFIG, ResADConfig } from '../resad/config';
import { withAvailableBackbone } from '../resad/presets';
import { BenchmarkDataset, BENCHMARK_DATASETS, DATASET_INFO, DatasetLocationOptions, DatasetNotConfiguredError, resolveDatasetRoot } from './datasets';

/** The demo's split of the procedural dataset (kept equal to src/cli/commands/demo-run.ts). */
export const SYNTHETIC_TRAIN_CLASSES: readonly string[] = ['fabric', 'wood', 'brushed_metal', 'wire_mesh', 'leather', 'tiles', 'bottle_top', 'hex_nut', 'screw', 'button'];
export const SYNTHETIC_TEST_CLASSES: readonly string[] = ['marble', 'carpet', 'capsule', 'washer', 'pcb'];
/**
 * The demo's model (`resad demo`, the notebooks' procedural protocol): the CPU
 * preset at 160 px, so that generation, training and evaluation fit the
 * demo's 8-minute budget on 2 cores. On the procedural fold (3 reference
 * seeds) ImageNet MobileNetV2 gave 78.1 image AUROC at 128 px and 84.7 at
 * 160 px (docs/QUALITY.md).
 */
export const SYNTHETIC_CONFIG: ResADConfig = { ...CPU_CONFIG, imageSize: 160, epochs: 3 };

/** The procedural protocol's model on the packaged backbone, for machines without the ImageNet weights (resad/presets.ts). */
export const OFFLINE_SYNTHETIC_CONFIG: ResADConfig = { ...OFFLINE_CPU_CONFIG, imageSize: 128, epochs: 3 };

/** Presets that need ImageNet weights, and what runs without them. */
const OFFLINE_TWINS: Readonly<Record<string, { name: string; config: ResADConfig }>> = {
  cpu: { name: 'cpu-offline', config: OFFLINE_CPU_CONFIG },
  synthetic: { name: 'synthetic-offline', config: OFFLINE_SYNTHETIC_CONFIG },
};

/** Table 3 of the paper: MVTec classes held out for testing, and the two training subsets. */
export const TABLE3_TEST_CLASSES: readonly string[] = ['hazelnut', 'pill', 'tile', 'carpet', 'zipper'];
export const TABLE3_TRAIN_5: readonly string[] = ['bottle', 'cable', 'capsule', 'grid', 'leather'];
export const TABLE3_TRAIN_10: readonly string[] = [...TABLE3_TRAIN_5, 'metal_nut', 'screw', 'toothbrush', 'transistor', 'wood'];

export const DEFAULT_SHOTS: readonly number[] = [1, 2, 4, 8];
/** Three reference groups, as Table 8. */
export const DEFAULT_REFERENCE_SEEDS: readonly number[] = [0, 1, 2];

/** One dataset (or part of one) of a protocol, before its folder is known. */
export interface DataPartSpec {
  /** Benchmark key ('mvtec', ...), 'synthetic', 'shared:<sub>' or a custom name (file-name safe). */
  dataset: string;
  format: DatasetFormat | 'auto';
  /** Folder, when not looked up by key (custom, synthetic, shared). */
  root?: string;
  /** Classes to use; undefined: every class in the folder. */
  classes?: readonly string[];
  /** Generated on demand by the runner (the procedural dataset). */
  generated?: boolean;
  /**
   * As a test part: defect folders named `*_extra` are not test images
   * (isTrainingOnlyDefect). ../shared/datasets keeps MPDD metal_plate's extra
   * defective images there, meant to train the other classes, not to test it.
   */
  testSkipsExtraDefects?: boolean;
}

/** A DataPartSpec whose folder is known. */
export interface DataPart extends DataPartSpec {
  root: string;
}

/** Which training images of the known classes are used. */
export type TrainImages = 'all' | 'train+anomalies';

/** True for defect folders meant as extra training anomalies only (see DataPartSpec.testSkipsExtraDefects). */
export function isTrainingOnlyDefect(sample: Sample): boolean {
  return sample.label === 1 && sample.defectType.endsWith('_extra');
}

/** The images of a training part that train, as `trainImages` says. */
export function trainingImagesOf(trainImages: TrainImages, samples: readonly Sample[]): Sample[] {
  return trainImages === 'all' ? [...samples] : samples.filter((s) => s.split === 'train' || s.label === 1);
}

/** The test images of a test part (the evaluator scores the test split of what it gets). */
export function testImagesOf(part: Pick<DataPartSpec, 'testSkipsExtraDefects'>, samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => s.split === 'test' && !(part.testSkipsExtraDefects && isTrainingOnlyDefect(s)));
}

export interface ProtocolSpec {
  name: string;
  description: string;
  /** Key of the published numbers this setting reproduces (see paper-results.ts), if any. */
  paperSetting?: string;
  train: DataPartSpec[];
  test: DataPartSpec[];
  /**
   * 'all' (paper: train + test images of the known classes, normals and
   * anomalies) or 'train+anomalies' (training normals + test anomalies: the
   * demo's choice, which keeps the known classes' test normals unseen).
   */
  trainImages: TrainImages;
  shots: readonly number[];
  referenceSeeds: readonly number[];
  /** Name of the ResAD preset (`paper`, `cpu`, `synthetic`). */
  configPreset: string;
  config: ResADConfig;
}

export interface Protocol extends Omit<ProtocolSpec, 'train' | 'test'> {
  train: DataPart[];
  test: DataPart[];
  /** Set when the preset's ImageNet backbone has no weights here and its packaged twin runs instead. */
  configNote?: string;
}

function bench(dataset: BenchmarkDataset, classes?: readonly string[]): DataPartSpec {
  const info = DATASET_INFO[dataset];
  return { dataset, format: info.format, classes: classes ?? info.classes };
}

function crossDataset(from: BenchmarkDataset, to: BenchmarkDataset, paper: boolean): ProtocolSpec {
  return {
    name: `${from}->${to}`,
    description: `Train on all of ${DATASET_INFO[from].title} (train + test, real anomalies), test K-shot on ${DATASET_INFO[to].title}.`,
    ...(paper ? { paperSetting: `table1:${to}` } : {}),
    train: [bench(from)],
    test: [bench(to)],
    trainImages: 'all',
    shots: DEFAULT_SHOTS,
    referenceSeeds: DEFAULT_REFERENCE_SEEDS,
    configPreset: 'paper',
    config: PAPER_CONFIG,
  };
}

function sharedDatasetsRoot(options: ProtocolOptions): string {
  const env = options.env ?? process.env;
  return path.resolve(env.RESAD_SHARED_DATASETS ?? path.join(options.projectRoot ?? process.cwd(), '..', 'shared', 'datasets'));
}

/** A Table 3 setting: some training data, tested on the five held-out MVTec classes. */
function table3(name: string, paperSetting: string, train: ReturnType<typeof bench>, what: string): ProtocolSpec {
  return {
    name,
    description: `Table 3: ${what}, test on MVTec ${TABLE3_TEST_CLASSES.join(', ')}.`,
    paperSetting,
    train: [train],
    test: [bench('mvtec', TABLE3_TEST_CLASSES)],
    trainImages: 'all',
    shots: DEFAULT_SHOTS,
    referenceSeeds: DEFAULT_REFERENCE_SEEDS,
    configPreset: 'paper',
    config: PAPER_CONFIG,
  };
}

const PRESET_LIST: ProtocolSpec[] = [
    crossDataset('mvtec', 'visa', true),
    crossDataset('mvtec', 'btad', true),
    crossDataset('mvtec', 'mvtec3d', true),
    crossDataset('mvtec', 'brats', true),
    crossDataset('mvtec', 'shanghaitech', true),
    crossDataset('mvtec', 'mpdd', false),
    crossDataset('mvtec', 'loco', false),
    crossDataset('visa', 'mvtec', true),
    table3('mvtec5->mvtec', 'table3:mvtec5', bench('mvtec', TABLE3_TRAIN_5), `train on 5 MVTec classes (${TABLE3_TRAIN_5.join(', ')})`),
    table3('mvtec10->mvtec', 'table3:mvtec10', bench('mvtec', TABLE3_TRAIN_10), `train on 10 MVTec classes (${TABLE3_TRAIN_10.join(', ')})`),
    table3('visa->mvtec5', 'table3:visa', bench('visa'), 'reference row: train on VisA'),
    {
      name: 'synthetic',
      description: `Offline: the embedded procedural dataset; train on ${SYNTHETIC_TRAIN_CLASSES.length} classes, test on ${SYNTHETIC_TEST_CLASSES.join(', ')} (the demo's split and model).`,
      train: [{ dataset: 'synthetic', format: 'mvtec', classes: SYNTHETIC_TRAIN_CLASSES, generated: true }],
      test: [{ dataset: 'synthetic', format: 'mvtec', classes: SYNTHETIC_TEST_CLASSES, generated: true }],
      trainImages: 'train+anomalies',
      shots: DEFAULT_SHOTS,
      referenceSeeds: [0, 1],
      configPreset: 'synthetic',
      config: SYNTHETIC_CONFIG,
    },
    {
      name: 'shared-real',
      description: 'Developers: ../shared/datasets; train on mvtec_ad bottle+grid and mpdd metal_plate, test on hazelnut_toy hazelnut.',
      train: [
        { dataset: 'shared-mvtec_ad', format: 'mvtec', classes: ['bottle', 'grid'] },
        { dataset: 'shared-mpdd', format: 'mpdd', classes: ['metal_plate'] },
      ],
      test: [{ dataset: 'shared-hazelnut_toy', format: 'mvtec', classes: ['hazelnut'] }],
      trainImages: 'all',
      shots: DEFAULT_SHOTS,
      referenceSeeds: [0, 1],
      configPreset: 'cpu',
      config: CPU_CONFIG,
    },
];

/** The preset protocols, by name. */
export const PROTOCOL_PRESETS: Readonly<Record<string, ProtocolSpec>> = Object.fromEntries(PRESET_LIST.map((p): [string, ProtocolSpec] => [p.name, p]));

export const PROTOCOL_NAMES: readonly string[] = Object.keys(PROTOCOL_PRESETS);

export interface ProtocolOptions extends DatasetLocationOptions {
  /** Replace fields of the protocol's ResAD config (e.g. the CPU preset for a quick look at a paper setting). */
  config?: Partial<ResADConfig>;
  shots?: readonly number[];
  referenceSeeds?: readonly number[];
}

function resolvePart(part: DataPartSpec, protocol: string, role: string, options: ProtocolOptions): DataPart {
  if (part.root !== undefined) return { ...part, root: path.resolve(part.root) };
  if (part.generated) return { ...part, root: defaultSyntheticRoot(options.projectRoot ?? process.cwd()) };
  if (part.dataset.startsWith('shared-')) {
    const shared = sharedDatasetsRoot(options);
    const root = path.join(shared, part.dataset.slice('shared-'.length));
    if (!fs.existsSync(root)) {
      throw new Error(
        `Protocol ${protocol} needs the developers' shared datasets: ${root} does not exist ` +
          `(set RESAD_SHARED_DATASETS to the folder holding mvtec_ad/, mpdd/ and hazelnut_toy/; see "Development data" in datasets/README.md).`,
      );
    }
    return { ...part, root };
  }
  if (!(BENCHMARK_DATASETS as readonly string[]).includes(part.dataset)) {
    throw new Error(`Protocol ${protocol}: dataset "${part.dataset}" has no root and is not one of ${BENCHMARK_DATASETS.join(', ')}`);
  }
  const where = resolveDatasetRoot(part.dataset, { ...options, needFor: `protocol ${protocol} (${role})` });
  return { ...part, root: where.root };
}

/**
 * A preset (by name) or a spec with every folder resolved. Throws, naming the
 * dataset, the download source, the variable/config entry to set and the
 * README section, when a folder is missing.
 */
export function resolveProtocol(nameOrSpec: string | ProtocolSpec | Protocol, options: ProtocolOptions = {}): Protocol {
  let spec: ProtocolSpec;
  if (typeof nameOrSpec === 'string') {
    const preset = PROTOCOL_PRESETS[nameOrSpec];
    if (!preset) throw new Error(`Unknown protocol "${nameOrSpec}"; presets: ${PROTOCOL_NAMES.join(', ')} (or a custom one: customProtocol / --train/--test ROOT:classes)`);
    spec = preset;
  } else spec = nameOrSpec;
  const shots = options.shots ?? spec.shots;
  const referenceSeeds = options.referenceSeeds ?? spec.referenceSeeds;
  for (const k of shots) if (!Number.isInteger(k) || k < 1) throw new Error(`Protocol ${spec.name}: shots must be integers >= 1, got ${k}`);
  for (const s of referenceSeeds) if (!Number.isInteger(s) || s < 0) throw new Error(`Protocol ${spec.name}: reference seeds must be integers >= 0, got ${s}`);
  // Without the ImageNet weights, the cpu and synthetic presets run on their packaged twins (unless a backbone is asked for).
  const twin = options.config?.backbone === undefined ? OFFLINE_TWINS[spec.configPreset] : undefined;
  const available = twin ? withAvailableBackbone(spec.config, twin.config) : { config: spec.config, note: null };
  const preset = twin && available.note ? twin.name : spec.configPreset;
  return {
    ...spec,
    train: spec.train.map((p) => resolvePart(p, spec.name, 'training data', options)),
    test: spec.test.map((p) => resolvePart(p, spec.name, 'test data', options)),
    shots: [...shots],
    referenceSeeds: [...referenceSeeds],
    config: { ...available.config, ...(options.config ?? {}) },
    configPreset: options.config && Object.keys(options.config).length > 0 ? `${preset}+overrides` : preset,
    ...(available.note ? { configNote: available.note } : {}),
  };
}

export interface ProtocolAvailability {
  /** Protocols whose every folder was found, in the order asked. */
  runnable: string[];
  /** The others, one entry per missing dataset (or per other error), naming every protocol it blocks. */
  missing: Array<{ dataset: string | null; protocols: string[]; reason: string }>;
}

/** Which of `names` can run with the configured datasets, and what to download for the rest (each dataset said once). */
export function protocolAvailability(names: readonly string[], options: ProtocolOptions = {}): ProtocolAvailability {
  const runnable: string[] = [];
  const missing: ProtocolAvailability['missing'] = [];
  for (const name of names) {
    try {
      resolveProtocol(name, options);
      runnable.push(name);
    } catch (e) {
      const dataset = e instanceof DatasetNotConfiguredError ? e.dataset : null;
      const reason = e instanceof DatasetNotConfiguredError ? e.detail : (e as Error).message;
      const entry = dataset === null ? undefined : missing.find((m) => m.dataset === dataset);
      if (entry) entry.protocols.push(name);
      else missing.push({ dataset, protocols: [name], reason });
    }
  }
  return { runnable, missing };
}

export interface CustomProtocolOptions {
  name?: string;
  /** `ROOT[:class,class]` values (the CLI's --data syntax), optionally prefixed `FORMAT=` (e.g. `mpdd=/data/mpdd:tubes`). */
  train: readonly string[];
  test: readonly string[];
  format?: DatasetFormat | 'auto';
  trainImages?: TrainImages;
  shots?: readonly number[];
  referenceSeeds?: readonly number[];
  config?: ResADConfig;
  configPreset?: string;
}

/** Parses one custom part: `[FORMAT=]ROOT[:class,class]`. The dataset name is the root's folder name. */
export function parseCustomPart(spec: string, defaultFormat: DatasetFormat | 'auto' = 'auto'): DataPart {
  let format: DatasetFormat | 'auto' = defaultFormat;
  let rest = spec.trim();
  const eq = rest.indexOf('=');
  if (eq > 0 && (DATASET_FORMATS as readonly string[]).concat('auto').includes(rest.slice(0, eq))) {
    format = rest.slice(0, eq) as DatasetFormat | 'auto';
    rest = rest.slice(eq + 1);
  }
  const { root, classes } = parseDataSpec(rest);
  const abs = path.resolve(root);
  if (!fs.existsSync(abs)) throw new Error(`Custom protocol: folder ${abs} (from "${spec}") does not exist`);
  const dataset = path.basename(abs).replace(/[^A-Za-z0-9._-]/g, '_') || 'data';
  return { dataset, format, root: abs, ...(classes ? { classes } : {}) };
}

/** A protocol from any mix of folders; CPU preset and the default K / seeds unless given. */
export function customProtocol(options: CustomProtocolOptions): Protocol {
  if (options.train.length === 0) throw new Error('Custom protocol: give at least one training folder (train)');
  if (options.test.length === 0) throw new Error('Custom protocol: give at least one test folder (test)');
  const train = options.train.map((s) => parseCustomPart(s, options.format));
  const test = options.test.map((s) => parseCustomPart(s, options.format));
  const name = options.name ?? `custom:${train.map((p) => p.dataset).join('+')}->${test.map((p) => p.dataset).join('+')}`;
  return resolveProtocol(
    {
      name,
      description: `Custom: train on ${options.train.join(' + ')}, test on ${options.test.join(' + ')}.`,
      train,
      test,
      trainImages: options.trainImages ?? 'all',
      shots: options.shots ?? DEFAULT_SHOTS,
      referenceSeeds: options.referenceSeeds ?? DEFAULT_REFERENCE_SEEDS,
      configPreset: options.configPreset ?? (options.config ? 'custom' : 'cpu'),
      config: options.config ?? CPU_CONFIG,
    },
    {},
  );
}
