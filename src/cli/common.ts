/** Option handling shared by several commands. */
import * as fs from 'fs';
import * as path from 'path';
import { optionChoice, OptionSpecs, ParsedArgs, UsageError } from './args';
import { DATASET_FORMATS, DatasetFormat, Sample } from '../data/sample';
import { parseDataSpec, readDataset } from '../data/readers/index';
import { getOrCreateReferences, GetOrCreateReferencesResult } from '../data/references';
import { INFERENCE_REQUESTS, InferenceRequest } from '../engine/onnxruntime';

/** --data, --format and --allow-missing-masks, as every command that reads datasets takes them. */
export const DATA_OPTION_SPECS: OptionSpecs = {
  data: { repeatable: true, value: 'ROOT[:classes]', description: 'dataset root, optionally with a class list (repeatable where several make sense)' },
  format: { value: 'FORMAT', description: `auto (default), ${DATASET_FORMATS.join(', ')}` },
  'allow-missing-masks': {
    flag: true,
    description: 'keep defect images that have no ground-truth mask (image metrics only; pixel metrics of their class are null) instead of stopping',
  },
};

export type FormatOption = DatasetFormat | 'auto';

export function formatOption(args: ParsedArgs): FormatOption {
  return optionChoice<FormatOption>(args, 'format', ['auto', ...DATASET_FORMATS], 'auto');
}

export interface DataSource {
  root: string;
  classes?: string[];
  samples: Sample[];
}

/** Reads the `--data ROOT[:class,class]` values; `single` commands accept exactly one. */
export function readDataOptions(args: ParsedArgs, options: { single?: boolean } = {}): DataSource[] {
  const specs = args.options.get('data') ?? [];
  if (specs.length === 0) throw new UsageError('option --data is required (ROOT or ROOT:class,class)');
  if (options.single && specs.length > 1) throw new UsageError(`option --data given ${specs.length} times; this command reads one dataset`);
  const format = formatOption(args);
  const allowMissingMasks = args.flags.has('allow-missing-masks');
  return specs.map((spec) => {
    const { root, classes } = parseDataSpec(spec);
    return { root, classes, samples: readDataset(root, { format, classes, allowMissingMasks }) };
  });
}

/** Comma-separated list option, e.g. --classes a,b. */
export function listOption(args: ParsedArgs, name: string): string[] | undefined {
  const raw = args.options.get(name)?.[0];
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`option --${name} is empty`);
  return items;
}

/**
 * The fixed references of a source: loaded from FILE (default
 * datasets/references/<root name>-<hash of the resolved root>_k<K>_s<S>.json,
 * so folders of one name in different places never share a file) or drawn
 * once and saved there. Callers print `result.file`.
 */
export function referencesForSource(source: DataSource, shots: number, seed: number, file?: string): GetOrCreateReferencesResult {
  return getOrCreateReferences(source.samples, {
    root: source.root,
    shots,
    seed,
    file,
    datasetsDir: path.resolve('datasets'),
    classes: source.classes,
  });
}

/**
 * --inference: what scores (src/engine/onnxruntime.ts decides), for every
 * command that scores. `--engine` is its old name: it still works, with a
 * note. (`resad engine --backend` / RESAD_BACKEND pick the tfjs backend.)
 */
export const INFERENCE_OPTION_SPECS: OptionSpecs = {
  inference: { value: 'NAME', description: 'what scores: auto (onnxruntime when it loads, else tfjs), onnx or tfjs (also env RESAD_INFERENCE; resad engine shows the choice)' },
  engine: { renamedTo: 'inference', description: 'old name of --inference' },
};

/** The --inference request, checked; undefined when not given (RESAD_INFERENCE, else auto, decides). */
export function inferenceOption(args: ParsedArgs): InferenceRequest | undefined {
  return args.options.has('inference') ? optionChoice(args, 'inference', INFERENCE_REQUESTS, 'auto') : undefined;
}

/** Whether `--model` names a file written by `resad export` (not a model folder); such a file with tfjs inference is a usage error. */
export function isOnnxModelFile(model: string, request: InferenceRequest): boolean {
  const onnx = model.toLowerCase().endsWith('.onnx');
  if (onnx && request === 'tfjs') throw new UsageError(`--model ${model} is an ONNX file: it runs on onnxruntime only (drop --inference tfjs, or give the model folder)`);
  return onnx;
}

/** --weights FILE, for every command that loads an ImageNet backbone (applied by weights-option.ts). */
export const WEIGHTS_OPTION_SPECS: OptionSpecs = {
  weights: { value: 'FILE', description: "the backbone's ImageNet weights (.onnx or .safetensors), instead of the weights cache (resad weights get NAME; docs/WEIGHTS.md)" },
};

/** The backbone a model folder was trained with (its model.json), for --weights before the model loads. */
export function modelFolderBackbone(dir: string): string {
  const file = path.join(dir, 'model.json');
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { config: { backbone: string } }).config.backbone;
  } catch (err) {
    throw new UsageError(`--weights needs the model's backbone, but ${file} cannot be read (${(err as Error).message.split('\n')[0]})`);
  }
}
