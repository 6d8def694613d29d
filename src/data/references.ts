/**
 * Few-shot reference sets: the K normal images per class that stand in for a
 * new class at test time (RESAD_SPEC "Evaluation protocols": references are
 * drawn at random ONCE, then fixed and shared by every method compared).
 *
 * Draw rules, and why:
 * - Only training normals (split 'train', label 0) of the class are eligible:
 *   a test image as a reference would leak the evaluation set.
 * - Candidates are sorted by path and de-duplicated first, so the draw does not
 *   depend on the order a reader listed the files in.
 * - Each class draws from its own stream, `new Rng(seed).fork('references')
 *   .fork(className)`: adding or removing a class never changes another
 *   class's references (the extra 'references' fork keeps these streams apart
 *   from other per-class uses of the same seed, e.g. training batches).
 * - The K references are the first K items of ONE per-class permutation of the
 *   candidates, so draws are nested: for a fixed seed the K=1 set is a prefix
 *   of the K=2 set, which is a prefix of the K=4 set, ... A shot sweep thus
 *   only ever adds images (`referencesFor(set, cls, k)` takes such a prefix).
 *
 * On disk (`saveReferences`) image paths are stored relative to the dataset
 * root with '/' separators, and `datasetRoot` is stored relative to the JSON
 * file's folder: the file is valid on any machine and in any checkout.
 * `loadReferences` resolves paths against `{root}` (or that stored relative
 * root) and checks every image exists. In memory, paths are absolute.
 *
 * ```ts
 * const file = referencesPath('datasets', referencesName('datasets/visa'), 4, 0);   // datasets/references/visa-1a2b3c4d_k4_s0.json
 * const { set } = getOrCreateReferences(samples, { file, root: 'datasets/visa', shots: 4, seed: 0 });
 * const refs = referencesFor(set, 'candle');                   // 4 absolute image paths
 * ```
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Sample } from './sample';
import { Rng } from '../util/rng';
import { writeJsonAtomicSync } from '../util/atomic-write';

export const REFERENCE_SET_VERSION = 1;

/** A reference set in memory: absolute image paths. */
export interface ReferenceSet {
  version: 1;
  /** K, the number of references per class. */
  shots: number;
  seed: number;
  /** Absolute dataset root the set was loaded against (absent for a fresh draw). */
  datasetRoot?: string;
  /** Class name -> K absolute image paths, in draw order (prefixes are smaller-K draws). */
  classes: Record<string, string[]>;
  /** ISO time the set was first saved. */
  createdAt?: string;
}

/** A reference set as stored in JSON: portable relative paths. */
export interface ReferenceSetFile {
  version: 1;
  shots: number;
  seed: number;
  /** Dataset root relative to the JSON file's folder ('/' separators); a hint used when load gets no root. */
  datasetRoot?: string;
  /** Class name -> K image paths relative to the dataset root ('/' separators). */
  classes: Record<string, string[]>;
  createdAt?: string;
}

export interface DrawReferencesOptions {
  /** K: references per class. */
  shots: number;
  /** Integer in [0, 2^32). */
  seed: number;
  /** Classes to draw for (default: every class in `samples`). */
  classes?: string[];
}

function checkShots(where: string, shots: unknown): number {
  if (typeof shots !== 'number' || !Number.isInteger(shots) || shots < 1) {
    throw new Error(`${where}: shots must be an integer >= 1, got ${String(shots)}`);
  }
  return shots;
}

function checkSeed(where: string, seed: unknown): number {
  // Rng keeps seed >>> 0: restricting to [0, 2^32) avoids two seeds silently meaning the same draw.
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`${where}: seed must be an integer in [0, 2^32), got ${String(seed)}`);
  }
  return seed;
}

function byCodeUnit(a: string, b: string): number {
  // Plain code-unit order, not localeCompare: identical on every machine and locale.
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted, de-duplicated training normals of each class, keyed by class. */
function trainingNormalsByClass(samples: readonly Sample[]): Map<string, string[]> {
  const byClass = new Map<string, Set<string>>();
  for (const s of samples) {
    let set = byClass.get(s.className);
    if (!set) {
      set = new Set();
      byClass.set(s.className, set);
    }
    if (s.split === 'train' && s.label === 0) set.add(path.resolve(s.imagePath));
  }
  const out = new Map<string, string[]>();
  for (const [cls, set] of byClass) out.set(cls, [...set].sort(byCodeUnit));
  return out;
}

/** The per-class stream; see the module comment for why it is derived this way. */
function classRng(seed: number, className: string): Rng {
  return new Rng(seed).fork('references').fork(className);
}

/**
 * Draws K training normals per class (see the module comment for the rules).
 * Throws when a requested class is absent, or has fewer than K training normals.
 */
export function drawReferences(samples: readonly Sample[], options: DrawReferencesOptions): ReferenceSet {
  const shots = checkShots('drawReferences', options.shots);
  const seed = checkSeed('drawReferences', options.seed);
  const normals = trainingNormalsByClass(samples);
  const classNames = [...new Set(options.classes ?? [...normals.keys()])].sort(byCodeUnit);
  if (classNames.length === 0) throw new Error('drawReferences: no classes (empty sample list?)');
  const classes: Record<string, string[]> = {};
  for (const cls of classNames) {
    const candidates = normals.get(cls);
    if (!candidates) {
      throw new Error(`drawReferences: class '${cls}' has no samples; known classes: ${[...normals.keys()].sort(byCodeUnit).join(', ')}`);
    }
    if (candidates.length < shots) {
      throw new Error(
        `drawReferences: class '${cls}' has ${candidates.length} training normal image(s) (split 'train', label 0) but shots = ${shots} were requested`,
      );
    }
    // One full permutation, then a prefix: this is what makes draws nested across K.
    classes[cls] = classRng(seed, cls).shuffle(candidates).slice(0, shots);
  }
  return { version: REFERENCE_SET_VERSION, shots, seed, classes };
}

/**
 * The references of one class (a copy). `shots` < set.shots gives the prefix,
 * i.e. exactly the references a draw with K = shots and the same seed gives.
 */
export function referencesFor(set: ReferenceSet, className: string, shots?: number): string[] {
  const refs = Object.prototype.hasOwnProperty.call(set.classes, className) ? set.classes[className] : undefined;
  if (!refs) {
    throw new Error(`referencesFor: no references for class '${className}'; the set has: ${Object.keys(set.classes).join(', ')}`);
  }
  if (shots === undefined) return refs.slice();
  checkShots('referencesFor', shots);
  if (shots > refs.length) {
    throw new Error(`referencesFor: asked for ${shots} references of class '${className}', the set has ${refs.length}`);
  }
  return refs.slice(0, shots);
}

/** The K'-shot subset of a set (K' <= K): the same as drawing with K' and the same seed. */
export function prefixReferences(set: ReferenceSet, shots: number): ReferenceSet {
  checkShots('prefixReferences', shots);
  if (shots > set.shots) throw new Error(`prefixReferences: asked for ${shots} shots from a ${set.shots}-shot set`);
  const classes: Record<string, string[]> = {};
  for (const cls of Object.keys(set.classes)) classes[cls] = set.classes[cls].slice(0, shots);
  return { ...set, shots, classes };
}

/** Conventional location: `<datasetsDir>/references/<name>_k<shots>_s<seed>.json`. */
export function referencesPath(datasetsDir: string, name: string, shots: number, seed: number): string {
  checkShots('referencesPath', shots);
  checkSeed('referencesPath', seed);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new Error(`referencesPath: name '${name}' must be a plain file-name part (letters, digits, . _ -)`);
  }
  return path.join(datasetsDir, 'references', `${name}_k${shots}_s${seed}.json`);
}

/**
 * Default file-name part for a dataset's references: `<name>-<8 hex of
 * sha256(resolved root)>`. The folder name alone is not enough: two datasets
 * whose folders share a name would read each other's references.
 */
export function referencesName(root: string, name?: string): string {
  let resolved = path.resolve(root);
  try {
    // Symlinked and direct paths to one folder are one dataset.
    resolved = fs.realpathSync(resolved);
  } catch {
    // Not there (yet): the resolved path still tells folders apart.
  }
  const base = (name ?? path.basename(resolved)).replace(/[^A-Za-z0-9._-]/g, '_') || 'dataset';
  return `${base}-${crypto.createHash('sha256').update(resolved).digest('hex').slice(0, 8)}`;
}

function toPortable(p: string): string {
  return p.split(path.sep).join('/');
}

/**
 * Writes the set atomically with image paths relative to `root` (default:
 * set.datasetRoot). Every image must lie under the root. createdAt is kept,
 * or set to now.
 */
export function saveReferences(file: string, set: ReferenceSet, options: { root?: string } = {}): ReferenceSetFile {
  const rootOption = options.root ?? set.datasetRoot;
  if (rootOption === undefined) {
    throw new Error(`saveReferences(${file}): give options.root (the dataset root image paths are stored relative to)`);
  }
  const root = path.resolve(rootOption);
  checkShots(`saveReferences(${file})`, set.shots);
  checkSeed(`saveReferences(${file})`, set.seed);
  const classes: Record<string, string[]> = {};
  for (const cls of Object.keys(set.classes).sort(byCodeUnit)) {
    const refs = set.classes[cls];
    if (refs.length !== set.shots) {
      throw new Error(`saveReferences(${file}): class '${cls}' has ${refs.length} references, shots is ${set.shots}`);
    }
    classes[cls] = refs.map((p) => {
      const rel = path.relative(root, path.resolve(p));
      if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
        throw new Error(`saveReferences(${file}): image ${p} of class '${cls}' is not under the dataset root ${root}`);
      }
      return toPortable(rel);
    });
  }
  const absFile = path.resolve(file);
  const rootRel = path.relative(path.dirname(absFile), root);
  const out: ReferenceSetFile = {
    version: REFERENCE_SET_VERSION,
    shots: set.shots,
    seed: set.seed,
    // Only a relative root is portable; on Windows across drives there is none.
    ...(path.isAbsolute(rootRel) ? {} : { datasetRoot: toPortable(rootRel) || '.' }),
    createdAt: set.createdAt ?? new Date().toISOString(),
    classes,
  };
  writeJsonAtomicSync(absFile, out);
  return out;
}

export interface LoadReferencesOptions {
  /** Dataset root to resolve image paths against (default: the file's stored relative root). */
  root?: string;
  /** When given, the file must have exactly this K. */
  shots?: number;
  /** When given, the file must have exactly this seed. */
  seed?: number;
  /** Check that every image exists (default true). */
  checkFiles?: boolean;
}

/** Reads and validates a reference file; returns absolute paths. Errors name the file. */
export function loadReferences(file: string, options: LoadReferencesOptions = {}): ReferenceSet {
  const absFile = path.resolve(file);
  const where = `loadReferences(${file})`;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(absFile, 'utf8'));
  } catch (err) {
    throw new Error(`${where}: cannot read JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: not a JSON object`);
  const obj = raw as Record<string, unknown>;
  if (obj.version !== REFERENCE_SET_VERSION) {
    throw new Error(`${where}: unsupported version ${JSON.stringify(obj.version)} (this code reads version ${REFERENCE_SET_VERSION})`);
  }
  const shots = checkShots(where, obj.shots);
  const seed = checkSeed(where, obj.seed);
  if (options.shots !== undefined && options.shots !== shots) {
    throw new Error(`${where}: file has shots = ${shots}, expected ${options.shots}`);
  }
  if (options.seed !== undefined && options.seed !== seed) {
    throw new Error(`${where}: file has seed = ${seed}, expected ${options.seed}`);
  }
  if (obj.createdAt !== undefined && typeof obj.createdAt !== 'string') throw new Error(`${where}: createdAt must be a string`);
  if (obj.datasetRoot !== undefined && typeof obj.datasetRoot !== 'string') throw new Error(`${where}: datasetRoot must be a string`);

  let root: string;
  if (options.root !== undefined) root = path.resolve(options.root);
  else if (typeof obj.datasetRoot === 'string') root = path.resolve(path.dirname(absFile), ...obj.datasetRoot.split('/'));
  else throw new Error(`${where}: the file stores no datasetRoot; give options.root`);

  const rawClasses = obj.classes;
  if (typeof rawClasses !== 'object' || rawClasses === null || Array.isArray(rawClasses)) {
    throw new Error(`${where}: classes must be an object of class name -> image paths`);
  }
  const classes: Record<string, string[]> = {};
  const missing: string[] = [];
  const classNames = Object.keys(rawClasses);
  if (classNames.length === 0) throw new Error(`${where}: no classes`);
  for (const cls of classNames) {
    const list = (rawClasses as Record<string, unknown>)[cls];
    if (!Array.isArray(list) || !list.every((p): p is string => typeof p === 'string' && p.length > 0)) {
      throw new Error(`${where}: class '${cls}' must list image paths (non-empty strings)`);
    }
    if (list.length !== shots) throw new Error(`${where}: class '${cls}' lists ${list.length} images, shots is ${shots}`);
    if (new Set(list).size !== list.length) throw new Error(`${where}: class '${cls}' lists an image twice`);
    classes[cls] = list.map((rel) => {
      // Absolute paths would tie the file to one machine: refuse them rather than "work here only".
      if (path.isAbsolute(rel) || /^[A-Za-z]:[\\/]/.test(rel) || rel.startsWith('/')) {
        throw new Error(`${where}: class '${cls}' has absolute path ${rel}; reference files store paths relative to the dataset root`);
      }
      const abs = path.resolve(root, ...rel.split('/'));
      if (options.checkFiles !== false && !fs.existsSync(abs)) missing.push(`${abs} (class '${cls}')`);
      return abs;
    });
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join('; ');
    throw new Error(
      `${where}: ${missing.length} reference image(s) missing under root ${root}: ${shown}${missing.length > 5 ? '; ...' : ''}`,
    );
  }
  return {
    version: REFERENCE_SET_VERSION,
    shots,
    seed,
    datasetRoot: root,
    classes,
    ...(typeof obj.createdAt === 'string' ? { createdAt: obj.createdAt } : {}),
  };
}

export interface GetOrCreateReferencesOptions {
  /** Dataset root: images are stored relative to it. */
  root: string;
  shots: number;
  seed: number;
  /** Reference file; default referencesPath(datasetsDir, name, shots, seed). */
  file?: string;
  datasetsDir?: string;
  /** File-name part (default referencesName(root): folder name + hash of the resolved root). */
  name?: string;
  /** Classes needed (default: every class in `samples`). */
  classes?: string[];
}

export interface GetOrCreateReferencesResult {
  set: ReferenceSet;
  file: string;
  /** 'loaded': file used as is; 'created': drawn and saved; 'extended': classes missing from the file were drawn and added. */
  status: 'loaded' | 'created' | 'extended';
}

/**
 * The shared, fixed references: loads the file when it exists, otherwise
 * draws and saves it. Loaded references win over a fresh draw (that is what
 * "fixed" means), but each must still be a training normal of its class in
 * `samples`, which catches a wrong root or a changed dataset. Classes needed
 * but absent from the file are drawn and added; because classes draw
 * independently this gives exactly what a full draw would have given.
 */
export function getOrCreateReferences(samples: readonly Sample[], options: GetOrCreateReferencesOptions): GetOrCreateReferencesResult {
  const shots = checkShots('getOrCreateReferences', options.shots);
  const seed = checkSeed('getOrCreateReferences', options.seed);
  let file = options.file;
  if (file === undefined) {
    if (options.datasetsDir === undefined) {
      throw new Error('getOrCreateReferences: give options.file, or options.datasetsDir (and optionally options.name)');
    }
    file = referencesPath(options.datasetsDir, options.name ?? referencesName(options.root), shots, seed);
  }
  const root = path.resolve(options.root);
  const normals = trainingNormalsByClass(samples);
  const wanted = [...new Set(options.classes ?? [...normals.keys()])].sort(byCodeUnit);

  if (!fs.existsSync(file)) {
    const set = drawReferences(samples, { shots, seed, classes: wanted });
    const saved = saveReferences(file, set, { root });
    return { set: { ...set, datasetRoot: root, createdAt: saved.createdAt }, file, status: 'created' };
  }

  const loaded = loadReferences(file, { root, shots, seed });
  for (const cls of Object.keys(loaded.classes)) {
    const eligible = normals.get(cls);
    if (!eligible) continue; // a class of the file that these samples do not cover: keep it untouched
    const eligibleSet = new Set(eligible);
    for (const p of loaded.classes[cls]) {
      if (!eligibleSet.has(p)) {
        throw new Error(
          `getOrCreateReferences: ${file} lists ${p} for class '${cls}', which is not a training normal image of that class ` +
            `in the given samples (different dataset root, or the dataset changed?)`,
        );
      }
    }
  }
  const absent = wanted.filter((cls) => !Object.prototype.hasOwnProperty.call(loaded.classes, cls));
  if (absent.length === 0) return { set: loaded, file, status: 'loaded' };
  const extra = drawReferences(samples, { shots, seed, classes: absent });
  const merged: ReferenceSet = { ...loaded, classes: { ...loaded.classes, ...extra.classes } };
  saveReferences(file, merged, { root });
  return { set: merged, file, status: 'extended' };
}
