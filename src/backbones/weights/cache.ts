/**
 * The weights cache folder and its manifest.
 *
 * The folder is `$RESAD_HOME/weights` when RESAD_HOME is set, else resad's
 * folder in the user's cache directory (the platform's convention, like pip
 * and torch hub: `~/.cache/resad/weights` on Linux). `weights.json` there
 * records, per backbone, the file, the sha256 we computed, its size, where it
 * came from and when: `resad weights verify` compares files against it.
 *
 * Why a manifest and not just file names: a file edited or truncated after
 * it was recorded must be caught by `verify`, and Hugging Face publishes no
 * hash, so the one computed at first download is the only reference.
 *
 * ```ts
 * weightsDir();                       // /home/me/.cache/resad/weights
 * readWeightsManifest().weights.resnet18;    // { file, sha256, bytes, from, via, recordedAt }
 * ```
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeJsonAtomicSync } from '../../util/atomic-write';
import { withLockSync } from '../../util/claim';

/** Environment variable: resad's own folder (weights go to its `weights/`). */
export const RESAD_HOME_ENV = 'RESAD_HOME';
/** Environment variable: folder of development copies of weights (empty: none). */
export const SHARED_BACKBONES_ENV = 'RESAD_SHARED_BACKBONES';
export const WEIGHTS_MANIFEST_FILE = 'weights.json';

/** How a cached file got there. */
export type WeightsVia = 'download' | 'add' | 'found';

export interface ManifestEntry {
  /** File name inside the weights folder. */
  file: string;
  /** sha256 we computed over the cached file (hex). */
  sha256: string;
  bytes: number;
  /** The URL it was downloaded from, or the absolute path it was added (or found) at. */
  from: string;
  /** download: `weights get`; add: `weights add`; found: placed in the folder by hand, checked and recorded by `weights get`. */
  via: WeightsVia;
  /** ISO time it was recorded. */
  recordedAt: string;
}

export interface WeightsManifest {
  version: 1;
  weights: Record<string, ManifestEntry>;
}

export interface CacheDirOptions {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/** resad's folder in the user's cache directory (without `weights`), by the platform's convention. */
export function userCacheDir(options: CacheDirOptions = {}): string {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA?.trim() || path.win32.join(home, 'AppData', 'Local');
    return path.win32.join(local, 'resad', 'Cache');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Caches', 'resad');
  // The XDG spec says relative values are invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME?.trim();
  return path.posix.join(xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.cache'), 'resad');
}

/** Where weights are cached: `$RESAD_HOME/weights`, else `userCacheDir()/weights`. */
export function weightsDir(options: CacheDirOptions = {}): string {
  const env = options.env ?? process.env;
  const home = env[RESAD_HOME_ENV]?.trim();
  if (home) return path.join(path.resolve(home), 'weights');
  const platform = options.platform ?? process.platform;
  return (platform === 'win32' ? path.win32 : path.posix).join(userCacheDir(options), 'weights');
}

export function manifestPath(dir: string = weightsDir()): string {
  return path.join(dir, WEIGHTS_MANIFEST_FILE);
}

function damaged(file: string, why: string): Error {
  return new Error(
    `weights manifest ${file} is damaged (${why}); delete it and run \`resad weights get NAME\` or \`resad weights add NAME FILE\` again ` +
      '(the weights files next to it are kept and re-checked)',
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseEntry(file: string, name: string, v: unknown): ManifestEntry {
  if (!isObject(v)) throw damaged(file, `entry '${name}' is not an object`);
  const { file: f, sha256, bytes, from, via, recordedAt } = v;
  if (typeof f !== 'string' || f === '' || path.basename(f) !== f) throw damaged(file, `entry '${name}' has no plain file name`);
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) throw damaged(file, `entry '${name}' has no sha256`);
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) throw damaged(file, `entry '${name}' has no size`);
  if (typeof from !== 'string') throw damaged(file, `entry '${name}' does not say where it came from`);
  if (via !== 'download' && via !== 'add' && via !== 'found') throw damaged(file, `entry '${name}' has an unknown 'via'`);
  if (typeof recordedAt !== 'string') throw damaged(file, `entry '${name}' has no date`);
  return { file: f, sha256, bytes, from, via, recordedAt };
}

/** The manifest of `dir`; empty when there is none. A damaged one is an error naming the file. */
export function readWeightsManifest(dir: string = weightsDir()): WeightsManifest {
  const file = manifestPath(dir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, weights: {} };
    throw new Error(`cannot read weights manifest ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw damaged(file, `not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw) || raw.version !== 1 || !isObject(raw.weights)) throw damaged(file, 'expected {"version": 1, "weights": {...}}');
  const weights: Record<string, ManifestEntry> = {};
  for (const [name, entry] of Object.entries(raw.weights)) weights[name] = parseEntry(file, name, entry);
  return { version: 1, weights };
}

/**
 * Read-modify-write of the manifest under a lock (two `resad weights`
 * processes must not drop each other's entries), written atomically.
 */
export function updateManifest(dir: string, change: (weights: Record<string, ManifestEntry>) => void): WeightsManifest {
  fs.mkdirSync(dir, { recursive: true });
  const file = manifestPath(dir);
  return withLockSync(
    `${file}.lock`,
    () => {
      const manifest = readWeightsManifest(dir);
      change(manifest.weights);
      writeJsonAtomicSync(file, manifest);
      return manifest;
    },
    { what: `the weights manifest ${file}` },
  );
}

export function recordManifestEntry(dir: string, backbone: string, entry: ManifestEntry): void {
  updateManifest(dir, (weights) => {
    weights[backbone] = entry;
  });
}

/** The folder holding resad's package.json, found by walking up from this file (works from src/ and dist/). */
export function packageRoot(start: string = __dirname): string | null {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'resad') return dir;
      } catch {
        // An unreadable package.json is not ours; keep climbing.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Development copies of weights: RESAD_SHARED_BACKBONES when set (an empty
 * value turns the fallback off), else `<package root>/../shared/backbones`
 * when that folder exists. A user's clone has none: this only spares the
 * project's own machines a download they cannot make.
 */
export function sharedBackbonesDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const fromEnv = env[SHARED_BACKBONES_ENV];
  if (fromEnv !== undefined) return fromEnv.trim() === '' ? null : path.resolve(fromEnv.trim());
  const root = packageRoot();
  if (root === null) return null;
  const dir = path.join(root, '..', 'shared', 'backbones');
  return fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? dir : null;
}
