/**
 * Writes the procedural dataset to disk in MVTec AD layout, so the regular
 * MVTec reader, the demo and the notebooks can use it like real data:
 *
 *   root/<class>/train/good/000.png
 *   root/<class>/test/good/000.png
 *   root/<class>/test/<defect>/000.png
 *   root/<class>/ground_truth/<defect>/000_mask.png   (0/255, single channel)
 *   root/manifest.json                                 (written last)
 *
 * Why a manifest: generation takes seconds, not zero, and a run can be
 * interrupted. The manifest (generator version, seed, options, per-class
 * counts) is written atomically only after every image is on disk, so its
 * presence means "complete"; a later call with the same options returns
 * immediately, while a missing or different manifest triggers regeneration
 * of the whole tree (class folders the generator made before are cleared,
 * foreign folders are never deleted).
 *
 * Every image's rng is `new Rng(seed).fork("<class>/<split>/<defect>/<index>")`,
 * so changing the counts or the class list never changes another image.
 *
 * ```ts
 * const info = await generateDataset({ root: 'datasets/generated/resad-synthetic' });
 * info.skipped;          // true when an identical complete dataset was already there
 * info.manifest.classes; // [{ name, kind, defects, counts }, ...]
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import type { BinaryMask, RgbImage } from '../image';
import { Rng } from '../../util/rng';
import { Progress } from '../../util/progress';
import { writeFileAtomic, writeJsonAtomicSync } from '../../util/atomic-write';
import { GENERATOR_VERSION, SYNTHETIC_CLASS_NAMES, getSyntheticClass, renderDefect, renderNormal } from './render';
import type { SyntheticDefectInfo, SyntheticKind } from './types';

export const MANIFEST_FILE = 'manifest.json';
export const GENERATOR_NAME = 'resad-procedural';
/** Marker file in each class folder the generator created (only such folders are ever deleted). */
export const CLASS_MARKER_FILE = '.resad-procedural';

export const DEFAULT_GENERATE_OPTIONS = {
  seed: 0,
  size: 256,
  trainPerClass: 24,
  testGoodPerClass: 10,
  testDefectPerType: 5,
} as const;


export interface GenerateProgress {
  done: number;
  total: number;
  className: string;
  /** Path of the image just written, relative to the root. */
  file: string;
}

export interface GenerateOptions {
  root: string;
  seed?: number;
  /** Image side in pixels (square images). Default 256. */
  size?: number;
  /** Class names; default all of SYNTHETIC_CLASS_NAMES. */
  classes?: readonly string[];
  trainPerClass?: number;
  testGoodPerClass?: number;
  testDefectPerType?: number;
  /** Regenerate even if a matching manifest exists. */
  force?: boolean;
  /** No progress lines on stderr. */
  quiet?: boolean;
  onProgress?: (p: GenerateProgress) => void;
}

export interface GeneratedClassInfo {
  name: string;
  kind: SyntheticKind;
  description: string;
  defects: SyntheticDefectInfo[];
  counts: { train: number; testGood: number; testDefect: Record<string, number> };
}

export interface SyntheticManifest {
  generator: typeof GENERATOR_NAME;
  version: number;
  seed: number;
  size: number;
  trainPerClass: number;
  testGoodPerClass: number;
  testDefectPerType: number;
  layout: 'mvtec';
  classes: GeneratedClassInfo[];
  totalImages: number;
}

export interface GeneratedDatasetInfo {
  root: string;
  manifestPath: string;
  manifest: SyntheticManifest;
  /** True when a complete dataset with the same manifest was found and nothing was written. */
  skipped: boolean;
  /** Images (not masks) written by this call. */
  imagesWritten: number;
  seconds: number;
}

function countOption(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 0) throw new Error(`generateDataset: ${name} must be a non-negative integer, got ${v}`);
  return n;
}

/** The manifest a run with these options produces (also what a complete dataset must carry). */
export function expectedManifest(options: Omit<GenerateOptions, 'root'>): SyntheticManifest {
  const seed = options.seed ?? DEFAULT_GENERATE_OPTIONS.seed;
  if (!Number.isFinite(seed)) throw new Error(`generateDataset: seed must be a finite number, got ${seed}`);
  const size = options.size ?? DEFAULT_GENERATE_OPTIONS.size;
  if (!Number.isInteger(size) || size < 16) throw new Error(`generateDataset: size must be an integer >= 16, got ${size}`);
  const trainPerClass = countOption('trainPerClass', options.trainPerClass, DEFAULT_GENERATE_OPTIONS.trainPerClass);
  const testGoodPerClass = countOption('testGoodPerClass', options.testGoodPerClass, DEFAULT_GENERATE_OPTIONS.testGoodPerClass);
  const testDefectPerType = countOption('testDefectPerType', options.testDefectPerType, DEFAULT_GENERATE_OPTIONS.testDefectPerType);
  const names = options.classes ?? SYNTHETIC_CLASS_NAMES;
  if (names.length === 0) throw new Error('generateDataset: classes is empty');
  if (new Set(names).size !== names.length) throw new Error(`generateDataset: duplicate class names in ${names.join(', ')}`);
  const classes = names.map((name): GeneratedClassInfo => {
    const info = getSyntheticClass(name);
    const testDefect: Record<string, number> = {};
    for (const d of info.defects) testDefect[d.name] = testDefectPerType;
    return {
      name: info.name,
      kind: info.kind,
      description: info.description,
      defects: info.defects.map((d) => ({ name: d.name, description: d.description })),
      counts: { train: trainPerClass, testGood: testGoodPerClass, testDefect },
    };
  });
  const totalImages = classes.reduce((s, c) => s + c.counts.train + c.counts.testGood + c.defects.length * testDefectPerType, 0);
  return {
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    seed: seed >>> 0,
    size,
    trainPerClass,
    testGoodPerClass,
    testDefectPerType,
    layout: 'mvtec',
    classes,
    totalImages,
  };
}

/** The manifest at `root`, or null when absent or unreadable (treated as "incomplete"). */
export function readManifest(root: string): SyntheticManifest | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(root, MANIFEST_FILE), 'utf8')) as Partial<SyntheticManifest>;
    if (m.generator !== GENERATOR_NAME || !Array.isArray(m.classes)) return null;
    return m as SyntheticManifest;
  } catch {
    return null;
  }
}

interface PlannedImage {
  className: string;
  /** Relative image path. */
  file: string;
  /** Relative mask path (defects only). */
  maskFile: string | null;
  split: 'train' | 'test';
  defect: string;
  index: number;
}

function pad3(i: number): string {
  return String(i).padStart(3, '0');
}

function plan(manifest: SyntheticManifest): PlannedImage[] {
  const out: PlannedImage[] = [];
  for (const c of manifest.classes) {
    for (let i = 0; i < c.counts.train; i++) out.push({ className: c.name, file: path.join(c.name, 'train', 'good', `${pad3(i)}.png`), maskFile: null, split: 'train', defect: 'good', index: i });
    for (let i = 0; i < c.counts.testGood; i++) out.push({ className: c.name, file: path.join(c.name, 'test', 'good', `${pad3(i)}.png`), maskFile: null, split: 'test', defect: 'good', index: i });
    for (const d of c.defects) {
      for (let i = 0; i < c.counts.testDefect[d.name]; i++) {
        out.push({
          className: c.name,
          file: path.join(c.name, 'test', d.name, `${pad3(i)}.png`),
          maskFile: path.join(c.name, 'ground_truth', d.name, `${pad3(i)}_mask.png`),
          split: 'test',
          defect: d.name,
          index: i,
        });
      }
    }
  }
  return out;
}

/** True when `root` holds a complete dataset for exactly these options. */
export function isDatasetComplete(root: string, options: Omit<GenerateOptions, 'root'> = {}): boolean {
  const want = expectedManifest(options);
  const have = readManifest(root);
  if (!have || JSON.stringify(have) !== JSON.stringify(want)) return false;
  // A manifest is written last, but files may have been deleted since.
  return plan(want).every((p) => fs.existsSync(path.join(root, p.file)) && (p.maskFile === null || fs.existsSync(path.join(root, p.maskFile))));
}

function toRgbBytes(img: RgbImage): Buffer {
  const n = img.width * img.height * 3;
  const out = Buffer.allocUnsafe(n);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const v = Math.round(d[i] * 255);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

function toMaskBytes(mask: BinaryMask): Buffer {
  const out = Buffer.allocUnsafe(mask.data.length);
  for (let i = 0; i < mask.data.length; i++) out[i] = mask.data[i] ? 255 : 0;
  return out;
}

/** PNG bytes of an image (8-bit RGB). Deterministic: same pixels, same bytes. */
export async function encodeRgbPng(img: RgbImage): Promise<Buffer> {
  return sharp(toRgbBytes(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** PNG bytes of a mask (8-bit single-channel greyscale, 0 or 255). */
export async function encodeMaskPng(mask: BinaryMask): Promise<Buffer> {
  // b-w: a true greyscale PNG (sharp would otherwise expand it to RGB).
  return sharp(toMaskBytes(mask), { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Clears what a previous (possibly interrupted) run left, never touching folders it did not create. */
function clearPrevious(root: string, previous: SyntheticManifest | null, classes: readonly string[]): void {
  const ours = new Set<string>(previous ? previous.classes.map((c) => c.name) : []);
  const candidates = new Set<string>([...classes, ...ours]);
  for (const name of candidates) {
    const dir = path.join(root, name);
    if (!fs.existsSync(dir)) continue;
    const marked = fs.existsSync(path.join(dir, CLASS_MARKER_FILE));
    if (marked || ours.has(name)) {
      fs.rmSync(dir, { recursive: true, force: true });
    } else if (classes.includes(name) && fs.readdirSync(dir).length > 0) {
      throw new Error(`generateDataset: ${dir} exists and was not made by the generator; refusing to overwrite it (choose another root)`);
    }
  }
}

/**
 * Generates (or finds) the procedural dataset at `options.root`.
 * Defaults: all classes, 256 px, 24 train + 10 test-good per class, 5 per defect type, seed 0.
 */
export async function generateDataset(options: GenerateOptions): Promise<GeneratedDatasetInfo> {
  const t0 = Date.now();
  const root = path.resolve(options.root);
  const manifest = expectedManifest(options);
  const manifestPath = path.join(root, MANIFEST_FILE);
  if (!options.force && isDatasetComplete(root, options)) {
    return { root, manifestPath, manifest, skipped: true, imagesWritten: 0, seconds: (Date.now() - t0) / 1000 };
  }
  const previous = readManifest(root);
  // The old manifest goes first: if this run is interrupted, nothing claims completeness.
  fs.mkdirSync(root, { recursive: true });
  fs.rmSync(manifestPath, { force: true });
  const names = manifest.classes.map((c) => c.name);
  clearPrevious(root, previous, names);
  for (const name of names) {
    fs.mkdirSync(path.join(root, name), { recursive: true });
    fs.writeFileSync(path.join(root, name, CLASS_MARKER_FILE), `${GENERATOR_NAME} v${GENERATOR_VERSION}\n`);
  }

  const items = plan(manifest);
  const progress = new Progress(`synthetic dataset (${names.length} classes, ${manifest.size}px)`, items.length, { quiet: options.quiet });
  const base = new Rng(manifest.seed);
  // PNG encoding runs on libuv threads while the next image renders on the main thread.
  const inFlight: Array<Promise<void>> = [];
  let failure: unknown = null;
  const MAX_IN_FLIGHT = 4;
  let done = 0;
  for (const item of items) {
    const rng = base.fork(`${item.className}/${item.split}/${item.defect}/${item.index}`);
    let job: Promise<void>;
    if (item.maskFile === null) {
      const img = renderNormal(item.className, rng, manifest.size);
      job = encodeRgbPng(img).then((png) => writeFileAtomic(path.join(root, item.file), png));
    } else {
      const { image, mask } = renderDefect(item.className, item.defect, rng, manifest.size);
      const maskFile = item.maskFile;
      job = Promise.all([encodeRgbPng(image), encodeMaskPng(mask)]).then(([png, mpng]) =>
        Promise.all([writeFileAtomic(path.join(root, item.file), png), writeFileAtomic(path.join(root, maskFile), mpng)]).then(() => undefined),
      );
    }
    // Attach the handler now so a failed write is never an unhandled rejection.
    inFlight.push(
      job.then(
        () => {
          done++;
          progress.tick(1, item.className);
          options.onProgress?.({ done, total: items.length, className: item.className, file: item.file });
        },
        (err: unknown) => {
          failure ??= err;
        },
      ),
    );
    if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
    if (failure) break;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  writeJsonAtomicSync(manifestPath, manifest);
  return { root, manifestPath, manifest, skipped: false, imagesWritten: items.length, seconds: (Date.now() - t0) / 1000 };
}
