/**
 * Model folders: `model.json` (config, backbone levels, boundaries, weight
 * index, versions) plus one `weights-<hash>.bin` with every float32 array
 * back to back. The .bin is written first under a content-derived name and
 * model.json last, both atomically, so an interrupted save leaves the
 * previous model readable; stale .bin files are removed afterwards.
 * model.json records the .bin's full sha256 and every read verifies it, so a
 * damaged or modified weights file fails loudly instead of scoring differently.
 *
 * The training checkpoint of a run uses the same format in MODEL_DIR/checkpoint
 * with the optimiser state and the epoch added, which is what makes training
 * resumable.
 *
 * ```ts
 * saveModel('runs/m1', model, { training });
 * const model = await loadModel('runs/m1');
 * ```
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../util/atomic-write';
import type { Backbone, FeatureLevelInfo } from '../backbones/index';
import { ResADConfig, ScoringField, scoringFields } from './config';
import type { LevelScoreStats } from '../scoring/anomaly-map';
import { ResADModel, StoredWeight } from './model';

export const MODEL_FILE = 'model.json';
const FORMAT = 'resad-model';
/** 2: score statistics (scoreStats) and the scoring fields of the config; 1 had neither. */
const FORMAT_VERSION = 2;

interface WeightEntry {
  name: string;
  shape: number[];
  /** Offset in float32 elements. */
  offset: number;
}

export interface ModelFile<Extra = Record<string, unknown>> {
  format: typeof FORMAT;
  version: number;
  config: ResADConfig;
  levels: FeatureLevelInfo[];
  boundaries: Array<{ value: number | null; count: number }>;
  /** Per-level NLL statistics of the training normals (null in checkpoints taken before training ended). */
  scoreStats: LevelScoreStats[] | null;
  weightsFile: string;
  /**
   * sha256 (hex) of the weights file. Absent in files written before it was
   * recorded; those are checked against the 16-hex prefix in `weightsFile`.
   */
  weightsSha256?: string;
  weights: WeightEntry[];
  savedAt: string;
  tfjsVersion: string;
  extra: Extra;
}

/** Writes arbitrary named weights plus a JSON header; returns the header written. */
export function writeWeightsFolder<Extra>(
  dir: string,
  weights: readonly StoredWeight[],
  header: Omit<ModelFile<Extra>, 'format' | 'version' | 'weightsFile' | 'weightsSha256' | 'weights' | 'savedAt' | 'tfjsVersion'>,
): ModelFile<Extra> {
  fs.mkdirSync(dir, { recursive: true });
  const total = weights.reduce((s, w) => s + w.values.length, 0);
  const blob = new Float32Array(total);
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const w of weights) {
    const expected = w.shape.reduce((a, b) => a * b, 1);
    if (expected !== w.values.length) throw new Error(`saveModel: weight ${w.name} has ${w.values.length} values for shape [${w.shape}]`);
    blob.set(w.values, offset);
    entries.push({ name: w.name, shape: [...w.shape], offset });
    offset += w.values.length;
  }
  const bytes = new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const weightsFile = `weights-${sha256.slice(0, 16)}.bin`;
  writeFileAtomicSync(path.join(dir, weightsFile), bytes);
  const file: ModelFile<Extra> = {
    format: FORMAT,
    version: FORMAT_VERSION,
    ...header,
    weightsFile,
    weightsSha256: sha256,
    weights: entries,
    savedAt: new Date().toISOString(),
    tfjsVersion: tf.version.tfjs,
  };
  writeJsonAtomicSync(path.join(dir, MODEL_FILE), file);
  for (const name of fs.readdirSync(dir)) {
    if (/^weights-[0-9a-f]+\.bin$/.test(name) && name !== weightsFile) fs.rmSync(path.join(dir, name), { force: true });
  }
  return file;
}

export interface ReadWeightsOptions {
  /**
   * What the user can do when the folder is damaged, appended to the error
   * (default: restore the model folder or retrain it).
   */
  recovery?: string;
}

/** The default recovery advice for a damaged model folder. */
export function modelRecoveryHint(dir: string): string {
  return `restore ${dir} from a backup, or retrain it (resad train ... --out ${dir} --force)`;
}

/**
 * Reads a folder written by writeWeightsFolder, verifying the weights file's
 * sha256; errors name the file at fault and say how to recover.
 */
export function readWeightsFolder<Extra = Record<string, unknown>>(dir: string, options: ReadWeightsOptions = {}): { file: ModelFile<Extra>; weights: StoredWeight[] } {
  const recovery = options.recovery ?? modelRecoveryHint(dir);
  const jsonPath = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(jsonPath)) throw new Error(`No ResAD model in ${dir}: ${MODEL_FILE} not found (train one with \`resad train --out ${dir}\`)`);
  let file: ModelFile<Extra>;
  try {
    file = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as ModelFile<Extra>;
  } catch (err) {
    throw new Error(`${jsonPath}: not valid JSON (${(err as Error).message}); ${recovery}`);
  }
  if (file.format !== FORMAT) throw new Error(`${jsonPath}: not a resad model file (format "${String(file.format)}")`);
  if (file.version > FORMAT_VERSION) throw new Error(`${jsonPath}: format version ${file.version} is newer than this resad (${FORMAT_VERSION})`);
  if (file.version < FORMAT_VERSION) {
    throw new Error(`${jsonPath}: saved by an earlier resad (format ${file.version}) without score statistics; its scores are not comparable: retrain it (or remove the folder)`);
  }
  const binPath = path.join(dir, file.weightsFile);
  if (!fs.existsSync(binPath)) throw new Error(`${jsonPath}: its weights file ${file.weightsFile} is missing; ${recovery}`);
  const buf = fs.readFileSync(binPath);
  // Whole floats only: a file cut mid-float must reach the truncation message, not a RangeError.
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength - (buf.byteLength % 4)));
  // Sizes first: a short file is the commonest damage and this names it precisely.
  for (const e of file.weights) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > floats.length) throw new Error(`${binPath}: truncated (weight ${e.name} needs ${e.offset + n} floats, file has ${floats.length}); ${recovery}`);
  }
  const expected = expectedSha256(file);
  if (expected === null) throw new Error(`${jsonPath}: records no checksum of ${file.weightsFile}, so its weights cannot be verified; ${recovery}`);
  const actual = crypto.createHash('sha256').update(buf).digest('hex');
  if (!actual.startsWith(expected)) {
    throw new Error(`${binPath}: checksum mismatch (sha256 ${actual.slice(0, 16)}..., ${MODEL_FILE} expects ${expected.slice(0, 16)}...): the weights file is damaged or was modified; ${recovery}`);
  }
  const weights = file.weights.map((e) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    return { name: e.name, shape: e.shape, values: floats.slice(e.offset, e.offset + n) };
  });
  return { file, weights };
}

/** The full sha256 from model.json, else the 16-hex prefix in the weights file name (older files), else null. */
function expectedSha256(file: ModelFile<unknown>): string | null {
  if (typeof file.weightsSha256 === 'string' && /^[0-9a-f]{64}$/.test(file.weightsSha256)) return file.weightsSha256;
  const m = /^weights-([0-9a-f]{16})\.bin$/.exec(file.weightsFile);
  return m ? m[1] : null;
}

export interface SavedModelExtra {
  /** Anything the trainer wants to record (timings, losses, data). */
  [key: string]: unknown;
}

/** Training seconds a saved model recorded (model.json extra.training), null when it did not. */
export function savedTrainingSeconds(dir: string): number | null {
  const file = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILE), 'utf8')) as { extra?: { training?: { seconds?: number } } };
  return file.extra?.training?.seconds ?? null;
}

export function saveModel(dir: string, model: ResADModel, extra: SavedModelExtra = {}): ModelFile<SavedModelExtra> {
  return writeWeightsFolder(dir, model.getWeights(), {
    config: model.config,
    levels: model.backbone.levels.map((l) => ({ ...l })),
    boundaries: model.boundaries.map((b) => b.getState()),
    scoreStats: model.scoreStats,
    extra,
  });
}

/**
 * Loads a trained model; pass `backbone` to reuse a loaded one (it must match
 * the saved levels), `scoring` to score with other scoring fields than the
 * saved ones (they do not change the weights).
 */
export async function loadModel(dir: string, options: { backbone?: Backbone; scoring?: Partial<Pick<ResADConfig, ScoringField>> } = {}): Promise<ResADModel> {
  const { file, weights } = readWeightsFolder<SavedModelExtra>(dir);
  const model = await ResADModel.create({ ...file.config, ...scoringFields(options.scoring ?? {}) }, { backbone: options.backbone });
  try {
    const got = model.backbone.levels.map((l) => `${l.channels}@${l.stride}`).join(',');
    const want = file.levels.map((l) => `${l.channels}@${l.stride}`).join(',');
    if (got !== want) throw new Error(`${path.join(dir, MODEL_FILE)}: trained with backbone levels ${want}, but ${model.backbone.name} gives ${got}`);
    model.setWeights(weights);
    file.boundaries.forEach((b, l) => model.boundaries[l].setState(b));
    model.scoreStats = file.scoreStats;
  } catch (err) {
    model.dispose({ keepBackbone: options.backbone !== undefined });
    throw err;
  }
  return model;
}
