/**
 * Dataset readers: turn any supported benchmark folder into one typed,
 * deterministically ordered `Sample[]` (see ../sample.ts). Formats: mvtec,
 * mpdd, btad, mvtec3d (RGB), visa, loco, brats (2-D slices), shanghaitech
 * (frames), folder (your own data). Layouts: datasets/README.md and each
 * reader module's header.
 *
 * ```ts
 * import { readDataset, parseDataSpec, summarizeByClass, formatClassSummary } from './data/readers';
 * const { root, classes } = parseDataSpec('/data/mvtec_ad:bottle,grid');   // CLI --data value
 * const samples = readDataset(root, { classes, splits: ['test'] });        // format auto-detected
 * console.log(formatClassSummary(summarizeByClass(samples)));
 * ```
 *
 * Auto-detection (`format: 'auto'`, the default) checks ROOT and, for class
 * folders, ROOT itself or its sub-folders, first match wins:
 *   1. ROOT/split_csv/*.csv                               -> visa
 *   2. CLASS/train/good/rgb or CLASS/test/good/rgb        -> mvtec3d
 *   3. CLASS/train/good + CLASS/test/{logical,structural}_anomalies -> loco
 *   4. CLASS/train/ok, CLASS/test/ok or CLASS/test/ko     -> btad
 *   5. CLASS/test/{good,Ungood}/img (BMAD slices)         -> brats
 *   6. CLASS/train/good or CLASS/test/good                -> mvtec
 *   7. CLASS/good                                         -> folder
 * MPDD, BraTS in the ResAD layout and prepared ShanghaiTech frames are MVTec
 * layouts: they detect as mvtec and read identically; name the format to have
 * it recorded.
 *
 * Policies: an anomalous image without a mask is an error naming the image
 * (pass allowMissingMasks to keep it with maskPaths []), except in the folder
 * format where a defect type with no mask folder at all is image-level only.
 * Normal images never carry masks. `validation/good` of LOCO / MVTec 3D-AD is
 * read as train normals unless validation: 'ignore'.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DATASET_FORMATS } from '../sample';
import type { DatasetFormat, Sample, Split } from '../sample';
import { DatasetError, compareSamples, findClassDirs, isDirectory, naturalCompare, requireRoot } from './common';
import { bratsReader, looksLikeBmadClass } from './brats';
import { btadReader, looksLikeBtadClass } from './btad';
import { folderReader, looksLikeFolderClass } from './folder';
import { locoReader, looksLikeLocoClass } from './loco';
import { mpddReader } from './mpdd';
import { looksLikeMvtecClass, mvtecReader } from './mvtec';
import { looksLikeMvtec3dClass, mvtec3dReader } from './mvtec3d';
import { shanghaitechReader } from './shanghaitech';
import type { DatasetReader, ReaderOptions, ValidationPolicy } from './types';
import { VISA_DEFAULT_CSV, visaReader } from './visa';

export { DatasetError, IMAGE_EXTENSIONS, naturalCompare } from './common';
export type { DatasetReader, ReaderOptions, ValidationPolicy } from './types';
export { parseVisaCsv, VISA_DEFAULT_CSV } from './visa';
export type { VisaCsvRow } from './visa';
export { formatClassSummary, summarizeByClass, summarizeSamples } from './summary';
export type { ClassSummary, SummaryRow } from './summary';

/** The reader of each format. */
export const READERS: Readonly<Record<DatasetFormat, DatasetReader>> = {
  mvtec: mvtecReader,
  mvtec3d: mvtec3dReader,
  visa: visaReader,
  btad: btadReader,
  mpdd: mpddReader,
  loco: locoReader,
  brats: bratsReader,
  shanghaitech: shanghaitechReader,
  folder: folderReader,
};

const ALL_SPLITS: readonly Split[] = ['train', 'test'];

export interface ReadDatasetOptions {
  /** Dataset format, or 'auto' (default) to detect it from the folder layout. */
  format?: DatasetFormat | 'auto';
  /** Classes to read (default, or an empty list: all). Unknown names are an error listing the available ones. */
  classes?: readonly string[];
  /** Splits to read (default both). */
  splits?: readonly Split[];
  /** LOCO / MVTec 3D-AD validation/good: 'train' (default, extra train normals) or 'ignore'. */
  validation?: ValidationPolicy;
  /** Keep anomalous images that have no mask, with maskPaths [] (default false: error). */
  allowMissingMasks?: boolean;
  /** VisA split CSV relative to the root (default "split_csv/1cls.csv"). */
  visaCsv?: string;
}

interface DetectionRule {
  format: DatasetFormat;
  /** What the rule looks for, quoted when nothing matches. */
  rule: string;
  matches(root: string): boolean;
}

const hasClass = (test: (dir: string) => boolean) => (root: string) => findClassDirs(root, test).length > 0;

/** Auto-detection rules, in priority order (more specific layouts first: LOCO also has train/good). */
export const DETECTION_RULES: readonly DetectionRule[] = [
  {
    format: 'visa',
    rule: 'split_csv/*.csv',
    matches: (root) => {
      const dir = path.join(root, 'split_csv');
      return isDirectory(dir) && fs.readdirSync(dir).some((f) => f.toLowerCase().endsWith('.csv'));
    },
  },
  { format: 'mvtec3d', rule: 'CLASS/train/good/rgb', matches: hasClass(looksLikeMvtec3dClass) },
  { format: 'loco', rule: 'CLASS/test/logical_anomalies or structural_anomalies', matches: hasClass(looksLikeLocoClass) },
  { format: 'btad', rule: 'CLASS/train/ok or CLASS/test/ko', matches: hasClass(looksLikeBtadClass) },
  { format: 'brats', rule: 'CLASS/test/{good,Ungood}/img', matches: hasClass(looksLikeBmadClass) },
  { format: 'mvtec', rule: 'CLASS/train/good', matches: hasClass(looksLikeMvtecClass) },
  { format: 'folder', rule: 'CLASS/good', matches: hasClass(looksLikeFolderClass) },
];

/** The format of the dataset at `root` by DETECTION_RULES; throws a DatasetError when none matches. */
export function detectFormat(root: string): DatasetFormat {
  const abs = path.resolve(root);
  requireRoot(abs, 'auto', 'a dataset folder (see datasets/README.md)');
  for (const r of DETECTION_RULES) if (r.matches(abs)) return r.format;
  const hints = Object.values(READERS)
    .map((reader) => reader.hint?.(abs))
    .filter((h): h is string => h !== undefined);
  throw new DatasetError(
    `Cannot detect the dataset format of ${abs}: found none of ` +
      DETECTION_RULES.map((r) => `${r.rule} (${r.format})`).join(', ') +
      ` (CLASS = ${abs} itself or one of its sub-folders).` +
      (hints.length > 0 ? ` Note: ${hints.join('; ')}.` : ' Pass the format explicitly or check the root.'),
    abs,
  );
}

function resolveFormat(root: string, format: DatasetFormat | 'auto' | undefined): DatasetFormat {
  const f = format ?? 'auto';
  if (f === 'auto') return detectFormat(root);
  if (!(DATASET_FORMATS as readonly string[]).includes(f)) {
    throw new Error(`Unknown dataset format "${String(f)}" (option format; expected auto, ${DATASET_FORMATS.join(', ')}).`);
  }
  return f;
}

function readerOptions(options: ReadDatasetOptions): ReaderOptions {
  const splits = options.splits ?? ALL_SPLITS;
  if (splits.length === 0) throw new Error('Option splits is empty: give at least one of train, test.');
  for (const s of splits) {
    if (!ALL_SPLITS.includes(s)) throw new Error(`Unknown split "${String(s)}" in option splits (expected train or test).`);
  }
  const validation = options.validation ?? 'train';
  if (validation !== 'train' && validation !== 'ignore') {
    throw new Error(`Unknown value "${String(validation)}" for option validation (expected train or ignore).`);
  }
  return {
    splits,
    validation,
    allowMissingMasks: options.allowMissingMasks ?? false,
    visaCsv: options.visaCsv ?? VISA_DEFAULT_CSV,
  };
}

/** Class names of `reader` at `root`, or a DatasetError saying what layout was expected. */
function classesOrThrow(reader: DatasetReader, root: string, options: ReaderOptions): string[] {
  const names = reader.listClasses(root, options);
  if (names.length === 0) {
    const hint = reader.hint?.(root);
    // An explicit format on another layout is a common slip; name the layout that is there.
    const other = DETECTION_RULES.find((r) => r.format !== reader.format && r.matches(root));
    throw new DatasetError(
      `No ${reader.format} classes found in ${root} (expected ${reader.expected}, under ${root} or one of its sub-folders).` +
        (hint !== undefined ? ` Note: ${hint}.` : '') +
        (other !== undefined
          ? ` The folder matches the ${other.format} layout (${other.rule}): read it with format ${other.format} (--format ${other.format}) or auto.`
          : ''),
      root,
    );
  }
  return names;
}

/**
 * All samples of the dataset at `root`, sorted by class, split (train first)
 * and image path (natural order). Throws a DatasetError naming the path for a
 * missing root, an undetectable layout, an unknown class (listing the
 * available ones), an anomaly without its mask, or a class with no images.
 */
export function readDataset(root: string, options: ReadDatasetOptions = {}): Sample[] {
  const abs = path.resolve(root);
  const format = resolveFormat(abs, options.format);
  const reader = READERS[format];
  requireRoot(abs, format, reader.expected);
  const ropts = readerOptions(options);
  const available = classesOrThrow(reader, abs, ropts);

  let selected = available;
  if (options.classes !== undefined && options.classes.length > 0) {
    const unknown = options.classes.filter((c) => !available.includes(c));
    if (unknown.length > 0) {
      throw new DatasetError(
        `Unknown class${unknown.length > 1 ? 'es' : ''} ${unknown.map((c) => `"${c}"`).join(', ')} in ${abs} ` +
          `(format ${format}); available: ${available.join(', ')}.`,
        abs,
      );
    }
    selected = [...new Set(options.classes)].sort(naturalCompare);
  }

  const samples = reader.read(abs, selected, ropts).filter((s) => ropts.splits.includes(s.split));
  for (const c of selected) {
    if (!samples.some((s) => s.className === c)) {
      throw new DatasetError(
        `No images found for class "${c}" in ${abs} (splits ${ropts.splits.join(', ')}; format ${format}: expected ${reader.expected}).`,
        abs,
      );
    }
  }
  return samples.sort(compareSamples);
}

/** Class names of the dataset at `root` (natural order); throws a DatasetError when there are none. */
export function listClasses(root: string, format: DatasetFormat | 'auto' = 'auto', options: ReadDatasetOptions = {}): string[] {
  const abs = path.resolve(root);
  const f = resolveFormat(abs, format);
  requireRoot(abs, f, READERS[f].expected);
  return classesOrThrow(READERS[f], abs, readerOptions(options));
}

/** A parsed `--data ROOT[:class,class]` value. */
export interface DataSpec {
  root: string;
  /** Classes named after the last ':', in the order given (duplicates dropped); undefined: all classes. */
  classes?: string[];
}

/**
 * Parses the CLI's repeatable `--data ROOT[:class,class]`. The class list is
 * what follows the LAST ':' and only when it contains no path separator, so
 * Windows paths stay whole: "C:\data\mvtec" is a root, "C:\data\mvtec:bottle"
 * is that root with class bottle. (A drive-relative "C:mvtec" therefore reads
 * as root "C" with class "mvtec": write "C:.\mvtec" instead.)
 */
export function parseDataSpec(spec: string): DataSpec {
  const s = spec.trim();
  if (s === '') throw new Error('Empty --data value (expected ROOT or ROOT:class,class).');
  const i = s.lastIndexOf(':');
  if (i < 0) return { root: s };
  const tail = s.slice(i + 1);
  if (/[\\/]/.test(tail)) return { root: s };
  const root = s.slice(0, i).trim();
  if (root === '') throw new Error(`--data "${spec}" has no root before ':' (expected ROOT:class,class).`);
  const classes = [...new Set(tail.split(',').map((c) => c.trim()).filter((c) => c !== ''))];
  if (classes.length === 0) {
    throw new Error(`--data "${spec}" has an empty class list after ':' (expected ROOT:class,class, or just ROOT).`);
  }
  return { root, classes };
}
