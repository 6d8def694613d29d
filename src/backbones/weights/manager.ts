/**
 * The weights manager: what `resad weights list|get|add|verify` do, and how a
 * backbone finds its weights file (`resolveWeights`).
 *
 * Lookup order: an explicit path (option or environment variable) > the
 * cache (manifest entry, else the catalogue's file name in the folder) > the
 * development copy in ../shared/backbones. Nothing found is one error that
 * says how to get the file.
 *
 * Every file that enters the cache passes the fit check first (its tensors
 * are the backbone's, shapes included), so a wrong file is refused when it is
 * added, not in the middle of a training. The check is `checkWeightsFit` from
 * ../weight-fit, loaded only when needed; tests and tools can pass another
 * (`options.checker` or `setWeightsChecker`).
 *
 * ```ts
 * await getWeights('resnet50_v2');                          // download once, verified
 * await addWeights('wide_resnet50_2', '/downloads/wrn50.safetensors');
 * resolveWeights('wide_resnet50_2', { path: process.env.RESAD_WRN50_WEIGHTS!, via: 'RESAD_WRN50_WEIGHTS' });
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import { describeOwner, tryClaim } from '../../util/claim';
import { ManifestEntry, manifestPath, readWeightsManifest, recordManifestEntry, sharedBackbonesDir, weightsDir } from './cache';
import { DownloadError, DownloadOptions, downloadFile, formatBytes, sha256File } from './download';
import { WEIGHT_SOURCES, WEIGHTS_BASE_URL_ENV, WeightSource, WeightsFileFormat, downloadUrl, findWeightSource, normalizeBackboneName, weightSource } from './sources';

/** Throws, naming the first tensor that does not fit, unless `file` holds `backbone`'s weights. */
export type WeightsChecker = (backbone: string, file: string) => { checked: number; format: WeightsFileFormat };

const fitCheck: WeightsChecker = (backbone, file) =>
  // Loaded on first use: the checker pulls in the ONNX/safetensors readers, which `resad weights list` does not need.
  (require('../weight-fit') as typeof import('../weight-fit')).checkWeightsFit(backbone, file);

let defaultChecker: WeightsChecker = fitCheck;

/** Replaces the fit check every manager function uses by default; null restores `checkWeightsFit`. */
export function setWeightsChecker(checker: WeightsChecker | null): void {
  defaultChecker = checker ?? fitCheck;
}

export interface CheckerOption {
  /** The fit check (default: `checkWeightsFit`, or what `setWeightsChecker` set). */
  checker?: WeightsChecker;
}

export type WeightsLocation = 'cache' | 'shared' | '--weights';

const overrides = new Map<string, string>();

/**
 * Makes `file` the weights of `backbone` for the rest of this process, ahead
 * of the cache (the commands' `--weights FILE`); null removes it.
 */
export function overrideWeights(backbone: string, file: string | null): void {
  const name = normalizeBackboneName(backbone);
  if (file === null) overrides.delete(name);
  else overrides.set(name, path.resolve(file));
}

/** The file `overrideWeights` set for `backbone` (`--weights`), if any. */
export function overriddenWeights(backbone: string): string | undefined {
  return overrides.get(normalizeBackboneName(backbone));
}

export interface FoundWeights {
  path: string;
  origin: WeightsLocation;
}

interface Located extends FoundWeights {
  entry: ManifestEntry | null;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function locate(backbone: string, dir: string, weights: Record<string, ManifestEntry>): Located | null {
  const entry = weights[backbone] ?? null;
  if (entry && isFile(path.join(dir, entry.file))) return { path: path.join(dir, entry.file), origin: 'cache', entry };
  const source = findWeightSource(backbone);
  if (source && isFile(path.join(dir, source.fileName))) return { path: path.join(dir, source.fileName), origin: 'cache', entry: null };
  const shared = sharedBackbonesDir();
  if (source?.sharedFile && shared && isFile(path.join(shared, source.sharedFile))) return { path: path.join(shared, source.sharedFile), origin: 'shared', entry: null };
  return null;
}

/**
 * The weights file `backbone` would use: an `overrideWeights` file, the
 * cache, then the shared development copy; null when there is none. A recorded file whose size no
 * longer matches the manifest is an error (a cheap check; `verify` hashes).
 */
export function findWeights(backbone: string): FoundWeights | null {
  const name = normalizeBackboneName(backbone);
  const override = overrides.get(name);
  if (override !== undefined) {
    if (!isFile(override)) throw new Error(`weights file ${override} (from --weights) does not exist`);
    return { path: override, origin: '--weights' };
  }
  const dir = weightsDir();
  const found = locate(name, dir, readWeightsManifest(dir).weights);
  if (!found) return null;
  if (found.entry && fs.statSync(found.path).size !== found.entry.bytes) {
    throw new Error(
      `weights file ${found.path} has ${fs.statSync(found.path).size} bytes, but ${found.entry.bytes} were recorded in ${manifestPath(dir)}: ` +
        `it changed after it was recorded. Run \`npx resad weights verify ${name}\`, then \`npx resad weights get ${name} --force\` or \`add\` it again`,
    );
  }
  return { path: found.path, origin: found.origin };
}

export interface MissingWeightsOptions {
  /** The environment variable that can name a file for this backbone (e.g. 'RESAD_WRN50_WEIGHTS'), mentioned as one more way. */
  envVar?: string;
}

/** The error for "no weights anywhere": what to run, or where to put a file downloaded by hand. */
export function missingWeightsError(backbone: string, options: MissingWeightsOptions = {}): Error {
  const name = normalizeBackboneName(backbone);
  const source = findWeightSource(name);
  const dir = weightsDir();
  const orEnv = options.envVar ? ` (or set ${options.envVar}=FILE)` : '';
  if (!source) {
    return new Error(
      `no weights for backbone '${name}' (it has no download source; the catalogue has ${Object.keys(WEIGHT_SOURCES).join(', ')}). ` +
        `For a file you have: npx resad weights add ${name} FILE${orEnv}`,
    );
  }
  return new Error(
    [
      `no weights for backbone '${name}'. Download them (${source.bytes !== null ? `${formatBytes(source.bytes)}, ` : ''}once) with:`,
      `  npx resad weights get ${name}`,
      `or download ${downloadUrl(source)}`,
      `  and save it as ${path.join(dir, source.fileName)}`,
      `or, for a file you already have: npx resad weights add ${name} FILE${orEnv}`,
    ].join('\n'),
  );
}

/**
 * The weights file for `backbone`: `explicit` when given (it must exist; the
 * error names `via`, e.g. '--weights' or 'RESAD_WRN50_WEIGHTS'), else
 * `findWeights`, else `missingWeightsError` (which mentions `options.envVar`).
 * `origin` is `via`, 'cache' or 'shared'.
 */
export function resolveWeights(backbone: string, explicit?: { path: string; via: string }, options: MissingWeightsOptions = {}): { path: string; origin: string } {
  if (explicit) {
    let stat: fs.Stats | null = null;
    try {
      stat = fs.statSync(explicit.path);
    } catch {
      throw new Error(`weights file ${explicit.path} (from ${explicit.via}) does not exist`);
    }
    if (!stat.isFile()) throw new Error(`weights file ${explicit.path} (from ${explicit.via}) is not a file; give the .onnx or .safetensors file`);
    return { path: explicit.path, origin: explicit.via };
  }
  const found = findWeights(backbone);
  if (found) return found;
  throw missingWeightsError(backbone, options);
}

export interface GetWeightsOptions
  extends CheckerOption,
    Pick<DownloadOptions, 'onProgress' | 'quiet' | 'stream' | 'retries' | 'retryDelayMs' | 'stallTimeoutMs'> {
  /** Download again even when the cached file is verified. */
  force?: boolean;
}

export interface GetWeightsResult {
  backbone: string;
  /** downloaded; present: already cached and its hash checks out (nothing done); recorded: a file placed in the folder by hand, now checked and recorded. */
  status: 'downloaded' | 'present' | 'recorded';
  path: string;
  sha256: string;
  bytes: number;
  /** Where the bytes came from: the URL downloaded, or the manifest's record. */
  from: string;
  /** Bytes a previous interrupted download had left (0: fresh). */
  resumedFrom: number;
  /** Tensors the fit check saw; null when nothing was checked (status 'present'). */
  checked: number | null;
  /** Why a cached file was not kept, when it was replaced. */
  note: string | null;
}

function publishedOk(source: WeightSource, sha256: string): boolean {
  return source.sha256 === null || source.sha256 === sha256;
}

/**
 * Downloads `backbone`'s catalogue file into the cache (checked against the
 * published hash and size, then the fit check, then recorded), unless a
 * verified copy is there already.
 */
export async function getWeights(backbone: string, options: GetWeightsOptions = {}): Promise<GetWeightsResult> {
  const name = normalizeBackboneName(backbone);
  const source = weightSource(name);
  const checker = options.checker ?? defaultChecker;
  const dir = weightsDir();
  const target = path.join(dir, source.fileName);
  let note: string | null = null;

  if (!options.force) {
    const entry = readWeightsManifest(dir).weights[name];
    if (entry) {
      const recorded = path.join(dir, entry.file);
      if (isFile(recorded)) {
        const sha256 = await sha256File(recorded);
        if (sha256 === entry.sha256 && (entry.via !== 'download' || publishedOk(source, sha256))) {
          return { backbone: name, status: 'present', path: recorded, sha256, bytes: fs.statSync(recorded).size, from: entry.from, resumedFrom: 0, checked: null, note: null };
        }
        note = `${recorded} no longer matches the sha256 recorded ${entry.recordedAt}; downloaded again`;
      } else {
        note = `${recorded} was recorded but is missing; downloaded again`;
      }
    } else if (isFile(target)) {
      // Placed by hand, as missingWeightsError suggests: check it and record it rather than download it again.
      const sha256 = await sha256File(target);
      if (publishedOk(source, sha256)) {
        let checked: number | null = null;
        try {
          checked = checker(name, target).checked;
        } catch (err) {
          note = `${target} was there but does not fit: ${(err as Error).message}; downloaded again`;
        }
        if (checked !== null) {
          const bytes = fs.statSync(target).size;
          recordManifestEntry(dir, name, { file: source.fileName, sha256, bytes, from: target, via: 'found', recordedAt: new Date().toISOString() });
          return { backbone: name, status: 'recorded', path: target, sha256, bytes, from: target, resumedFrom: 0, checked, note: null };
        }
      } else {
        note = `${target} was there but is not the published file (sha256 ${sha256}, published ${source.sha256}); downloaded again`;
      }
    }
  }

  const claimFile = path.join(dir, `.${source.fileName}.download`);
  const claim = tryClaim(claimFile, { purpose: `resad weights get ${name}`, staleMs: 10 * 60 * 1000 });
  if (claim.status === 'busy') {
    throw new Error(`another resad process (${describeOwner(claim.holder)}) is downloading ${name} into ${dir}; wait for it, or delete ${claimFile} if no such process runs`);
  }
  const url = downloadUrl(source);
  try {
    let checked = 0;
    const result = await downloadFile(url, target, {
      sha256: source.sha256,
      bytes: source.bytes,
      onProgress: options.onProgress,
      quiet: options.quiet,
      stream: options.stream,
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      stallTimeoutMs: options.stallTimeoutMs,
      label: `download ${name}`,
      verify: (part) => {
        try {
          checked = checker(name, part).checked;
        } catch (err) {
          throw new Error(`the file downloaded from ${url} does not fit ${name} (deleted): ${(err as Error).message}`);
        }
      },
    });
    recordManifestEntry(dir, name, { file: source.fileName, sha256: result.sha256, bytes: result.bytes, from: url, via: 'download', recordedAt: new Date().toISOString() });
    return { backbone: name, status: 'downloaded', path: target, sha256: result.sha256, bytes: result.bytes, from: url, resumedFrom: result.resumedFrom, checked, note };
  } catch (err) {
    if (err instanceof DownloadError && err.status === undefined && /^cannot connect/.test(err.message)) {
      throw new Error(
        `${err.message}. Offline or behind a proxy? Set ${WEIGHTS_BASE_URL_ENV} to a mirror, or download the file elsewhere and run \`npx resad weights add ${name} FILE\``,
      );
    }
    throw err;
  } finally {
    claim.claim.release();
  }
}

export interface AddWeightsResult {
  backbone: string;
  /** The copy in the cache. */
  path: string;
  sha256: string;
  bytes: number;
  format: WeightsFileFormat;
  checked: number;
  /** Whether it is the catalogue's published file (null: nothing published to compare with, or another format). */
  matchesPublished: boolean | null;
}

/**
 * Copies a weights file the user has into the cache, after the fit check
 * (refused with the checker's message, nothing written, when it does not
 * fit). The cache name is the catalogue's file name, or `<backbone>.<format>`
 * when the file's format differs from the catalogue's (or there is no entry).
 */
export async function addWeights(backbone: string, file: string, options: CheckerOption = {}): Promise<AddWeightsResult> {
  const name = normalizeBackboneName(backbone);
  const from = path.resolve(file);
  if (!fs.existsSync(from)) throw new Error(`weights file ${file} does not exist`);
  if (!isFile(from)) throw new Error(`weights file ${file} is not a file; give the .onnx or .safetensors file`);
  const fit = (options.checker ?? defaultChecker)(name, from);
  const source = findWeightSource(name);
  const fileName = source && source.format === fit.format ? source.fileName : `${name}.${fit.format}`;
  const dir = weightsDir();
  const target = path.join(dir, fileName);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${fileName}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let sha256: string;
  let bytes: number;
  try {
    fs.copyFileSync(from, tmp);
    // The hash of the copy, not of the original: the cache holds what was recorded even if the original changes meanwhile.
    sha256 = await sha256File(tmp);
    bytes = fs.statSync(tmp).size;
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot copy ${file} into ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  recordManifestEntry(dir, name, { file: fileName, sha256, bytes, from, via: 'add', recordedAt: new Date().toISOString() });
  return { backbone: name, path: target, sha256, bytes, format: fit.format, checked: fit.checked, matchesPublished: source?.sha256 && fileName === source.fileName ? source.sha256 === sha256 : null };
}

export interface WeightsStatus {
  backbone: string;
  /** absent: nothing to check (a problem only when the backbone was named). */
  status: 'ok' | 'problem' | 'absent';
  path: string | null;
  location: WeightsLocation | null;
  problems: string[];
  /** What was confirmed, e.g. "matches the published sha256". */
  notes: string[];
  sha256: string | null;
  bytes: number | null;
  /** Tensors the fit check saw. */
  checked: number | null;
}

/**
 * Checks every recorded or present weights file (or those of `backbone`):
 * sha256 against the manifest and, for catalogue downloads, the published
 * hash, then the fit check. Damaged files are reported, never deleted.
 */
export async function verifyWeights(backbone?: string, options: CheckerOption = {}): Promise<WeightsStatus[]> {
  const checker = options.checker ?? defaultChecker;
  const dir = weightsDir();
  const weights = readWeightsManifest(dir).weights;
  const names = backbone !== undefined ? [normalizeBackboneName(backbone)] : [...new Set([...Object.keys(WEIGHT_SOURCES), ...Object.keys(weights)])];
  const out: WeightsStatus[] = [];
  for (const name of names) {
    const source = findWeightSource(name);
    const entry = weights[name] ?? null;
    const files: { path: string; location: WeightsLocation; entry: ManifestEntry | null }[] = [];
    if (entry) files.push({ path: path.join(dir, entry.file), location: 'cache', entry });
    if (source && entry?.file !== source.fileName && isFile(path.join(dir, source.fileName))) files.push({ path: path.join(dir, source.fileName), location: 'cache', entry: null });
    if (files.length === 0) {
      const shared = sharedBackbonesDir();
      if (source?.sharedFile && shared && isFile(path.join(shared, source.sharedFile))) files.push({ path: path.join(shared, source.sharedFile), location: 'shared', entry: null });
    }
    if (files.length === 0) {
      const problems = backbone !== undefined ? [`not downloaded; run \`npx resad weights ${source ? `get ${name}` : `add ${name} FILE`}\``] : [];
      out.push({ backbone: name, status: backbone !== undefined ? 'problem' : 'absent', path: null, location: null, problems, notes: [], sha256: null, bytes: null, checked: null });
      continue;
    }
    for (const f of files) out.push(await verifyFile(name, source, f, checker, dir));
  }
  return out;
}

async function verifyFile(
  name: string,
  source: WeightSource | null,
  f: { path: string; location: WeightsLocation; entry: ManifestEntry | null },
  checker: WeightsChecker,
  dir: string,
): Promise<WeightsStatus> {
  const status: WeightsStatus = { backbone: name, status: 'ok', path: f.path, location: f.location, problems: [], notes: [], sha256: null, bytes: null, checked: null };
  if (!isFile(f.path)) {
    status.status = 'problem';
    status.problems.push(`recorded in ${manifestPath(dir)} but the file is missing`);
    return status;
  }
  status.sha256 = await sha256File(f.path);
  status.bytes = fs.statSync(f.path).size;
  if (f.entry) {
    if (status.sha256 !== f.entry.sha256) {
      status.problems.push(`sha256 ${status.sha256} differs from the one recorded ${f.entry.recordedAt} (${f.entry.sha256}): the file changed after it was recorded`);
    } else {
      status.notes.push('matches the recorded sha256');
    }
  } else if (f.location === 'cache') {
    status.notes.push(`not recorded in ${manifestPath(dir)} (\`resad weights get ${name}\` records it)`);
  } else {
    status.notes.push('shared development copy (no recorded hash)');
  }
  // The published hash applies to the catalogue's own file, not to a file of another format the user added.
  const isCatalogueFile = source !== null && path.basename(f.path) === source.fileName && f.location === 'cache' && f.entry?.via !== 'add';
  if (source?.sha256 && isCatalogueFile) {
    if (status.sha256 === source.sha256) status.notes.push('matches the published sha256');
    else status.problems.push(`sha256 ${status.sha256} is not the published ${source.sha256}`);
  }
  try {
    status.checked = checker(name, f.path).checked;
    status.notes.push(`${status.checked} tensors fit`);
  } catch (err) {
    status.problems.push((err as Error).message);
  }
  if (status.problems.length > 0) status.status = 'problem';
  return status;
}

export interface WeightsListing {
  backbone: string;
  /** Where `get` downloads from (RESAD_WEIGHTS_BASE_URL applied); null for a backbone only added by hand. */
  url: string | null;
  /** The file's size when present, else the published size (null: unknown). */
  bytes: number | null;
  licence: string;
  present: boolean;
  location: WeightsLocation | null;
  path: string | null;
  /** The recorded sha256, else the published one. */
  sha256: string | null;
  /** Whether the manifest records the file. */
  recorded: boolean;
}

/** One row per catalogue entry (and per backbone added by hand without one); no hashing, so it is instant. */
export function listWeights(): WeightsListing[] {
  const dir = weightsDir();
  const weights = readWeightsManifest(dir).weights;
  const names = [...new Set([...Object.keys(WEIGHT_SOURCES), ...Object.keys(weights)])];
  return names.map((name) => {
    const source = findWeightSource(name);
    const found = locate(name, dir, weights);
    const entry = found?.entry ?? null;
    return {
      backbone: name,
      url: source ? downloadUrl(source) : null,
      bytes: found ? fs.statSync(found.path).size : (source?.bytes ?? null),
      licence: source?.licence ?? 'unknown (added by hand)',
      present: found !== null,
      location: found?.origin ?? null,
      path: found?.path ?? null,
      sha256: entry?.sha256 ?? source?.sha256 ?? null,
      recorded: entry !== null,
    };
  });
}
