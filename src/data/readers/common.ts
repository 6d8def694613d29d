/**
 * Small file-system helpers shared by every dataset reader: listing images by
 * extension, natural sorting, matching ground-truth masks by file stem, and the
 * one error type readers throw. Kept here so each reader module only describes
 * its folder layout, never re-implements directory walking.
 *
 * Everything is synchronous: a dataset listing is a few thousand `readdir`
 * calls at most, and synchronous code keeps `readDataset()` usable from CLI
 * argument parsing and notebooks without `await`.
 *
 * ```ts
 * const images = listImages('/data/mvtec/bottle/test/broken_large'); // absolute, natural order
 * const masks = new MaskLookup('/data/mvtec/bottle/ground_truth/broken_large');
 * masks.find('000'); // '/data/.../000_mask.png' (or '000.png'), else undefined
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Sample, Split } from '../sample';

/** Extensions (lower case, with dot) recognised as images or masks. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp'];

/**
 * Thrown for every problem with a dataset on disk. `path` names the file or
 * folder at fault so CLI users can go straight to it.
 */
export class DatasetError extends Error {
  readonly path: string;
  constructor(message: string, filePath: string) {
    super(message);
    this.name = 'DatasetError';
    this.path = filePath;
  }
}

export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** True when the file name has one of IMAGE_EXTENSIONS (case-insensitive) and is not hidden. */
export function isImageName(name: string): boolean {
  // Hidden files include macOS "._000.png" resource forks, which look like images but are not.
  if (name.startsWith('.')) return false;
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** File name without its last extension: "000_mask.png" -> "000_mask". */
export function stemOf(file: string): string {
  const base = path.basename(file);
  const ext = path.extname(base);
  return ext.length > 0 ? base.slice(0, -ext.length) : base;
}

/**
 * Natural order: digit runs compare by numeric value, so "img2" < "img10".
 * Written out by hand (rather than `localeCompare(..., {numeric: true})`) so the
 * order does not depend on the ICU build or locale of the machine: sample
 * order feeds seeded reference draws and must be identical everywhere.
 */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  const n = Math.min(ra.length, rb.length);
  for (let i = 0; i < n; i++) {
    const x = ra[i];
    const y = rb[i];
    if (x === y) continue;
    const xd = x.charCodeAt(0) >= 48 && x.charCodeAt(0) <= 57;
    const yd = y.charCodeAt(0) >= 48 && y.charCodeAt(0) <= 57;
    if (xd && yd) {
      // Compare numerically without parseInt so arbitrarily long runs stay exact.
      const xs = x.replace(/^0+(?=\d)/, '');
      const ys = y.replace(/^0+(?=\d)/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
      // Same value, different zero padding: fall through to the plain tie-break below.
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Entries of a directory (empty when it does not exist), natural order. */
function entries(dir: string): fs.Dirent[] {
  let list: fs.Dirent[];
  try {
    list = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return list.sort((a, b) => naturalCompare(a.name, b.name));
}

/** Is this entry a directory (following symlinks, which dataset mirrors often use)? */
function direntIsDir(dir: string, e: fs.Dirent): boolean {
  return e.isDirectory() || (e.isSymbolicLink() && isDirectory(path.join(dir, e.name)));
}

function direntIsFile(dir: string, e: fs.Dirent): boolean {
  return e.isFile() || (e.isSymbolicLink() && isFile(path.join(dir, e.name)));
}

/** Names of the sub-directories of `dir` (not hidden), natural order; [] when `dir` is missing. */
export function listSubdirs(dir: string): string[] {
  return entries(dir)
    .filter((e) => !e.name.startsWith('.') && direntIsDir(dir, e))
    .map((e) => e.name);
}

/** Absolute paths of the image files directly in `dir`, natural order; [] when `dir` is missing. */
export function listImages(dir: string): string[] {
  const abs = path.resolve(dir);
  return entries(abs)
    .filter((e) => isImageName(e.name) && direntIsFile(abs, e))
    .map((e) => path.join(abs, e.name));
}

/**
 * Index of the mask images in one folder, by stem. Built once per folder so
 * matching N images costs one `readdir`, not N `stat`s.
 */
export class MaskLookup {
  readonly dir: string;
  private readonly byStem = new Map<string, string>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    for (const file of listImages(this.dir)) {
      const stem = stemOf(file);
      const prev = this.byStem.get(stem);
      // Two masks with one stem (e.g. 000.png and 000.bmp): prefer PNG, the
      // lossless format every benchmark ships its masks in.
      if (prev === undefined || (path.extname(prev).toLowerCase() !== '.png' && path.extname(file).toLowerCase() === '.png')) {
        this.byStem.set(stem, file);
      }
    }
  }

  get size(): number {
    return this.byStem.size;
  }

  /**
   * The mask of the image with stem `imageStem`: tries `<stem><suffix>` for
   * each suffix in order (default: "_mask" as in MVTec AD, then "" as in BTAD,
   * MVTec 3D-AD and the hazelnut toy set).
   */
  find(imageStem: string, suffixes: readonly string[] = ['_mask', '']): string | undefined {
    for (const s of suffixes) {
      const hit = this.byStem.get(imageStem + s);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
}

/** What a reader does with an anomalous image whose mask cannot be found. */
export interface MaskPolicy {
  /** true: keep the image with `maskPaths: []`; false (default): throw a DatasetError naming it. */
  allowMissingMasks: boolean;
}

/** Throws (or returns [] when allowed) for an anomalous image without a mask. */
export function missingMask(imagePath: string, lookedIn: string, policy: MaskPolicy, hint = ''): string[] {
  if (policy.allowMissingMasks) return [];
  throw new DatasetError(
    `No ground-truth mask for anomalous image ${imagePath} (looked in ${lookedIn}${hint ? `; ${hint}` : ''}). ` +
      'Add the mask, or read with allowMissingMasks: true (CLI: --allow-missing-masks) to keep the image without one ' +
      '(it then counts for image-level metrics only).',
    imagePath,
  );
}

const SPLIT_ORDER: Record<Split, number> = { train: 0, test: 1 };

/** Canonical sample order: class, then train before test, then image path (natural). */
export function compareSamples(a: Sample, b: Sample): number {
  return (
    naturalCompare(a.className, b.className) ||
    SPLIT_ORDER[a.split] - SPLIT_ORDER[b.split] ||
    naturalCompare(a.imagePath, b.imagePath)
  );
}

/** One class of a class-per-folder dataset. */
export interface ClassDir {
  name: string;
  dir: string;
}

/**
 * The class folders under `root`: `root` itself when it already looks like one
 * class (so `--data /data/mvtec/bottle` works), otherwise every sub-folder that
 * does. `looksLikeClass` is the format's own test.
 */
export function findClassDirs(root: string, looksLikeClass: (dir: string) => boolean): ClassDir[] {
  const abs = path.resolve(root);
  if (looksLikeClass(abs)) return [{ name: path.basename(abs), dir: abs }];
  return listSubdirs(abs)
    .map((name) => ({ name, dir: path.join(abs, name) }))
    .filter((c) => looksLikeClass(c.dir));
}

/** Throws when `root` is not a directory, saying which layout was expected there. */
export function requireRoot(root: string, format: string, expected: string): void {
  if (!fs.existsSync(root)) {
    throw new DatasetError(`Dataset root ${root} does not exist (format ${format}: expected ${expected}).`, root);
  }
  if (!isDirectory(root)) {
    throw new DatasetError(`Dataset root ${root} is not a directory (format ${format}: expected ${expected}).`, root);
  }
}

/** Throws when no class folder was found under `root`. */
export function requireClasses(classes: readonly ClassDir[], root: string, format: string, expected: string): void {
  if (classes.length === 0) {
    throw new DatasetError(`No ${format} class folders found in ${root} (expected ${expected}).`, root);
  }
}
