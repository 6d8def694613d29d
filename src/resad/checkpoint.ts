/**
 * Model folders: `model.json` (config, backbone levels, boundaries, weight
 * index, versions) plus one `weights-<hash>.bin` with every float32 array
 * back to back. The .bin is written first under a content-derived name and
 * model.json last, both atomically, so an interrupted save leaves the
 * previous model readable; stale .bin files are removed afterwards.
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
import { ResADConfig } from './config';
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
  weights: WeightEntry[];
  savedAt: string;
  tfjsVersion: string;
  extra: Extra;
}

/** Writes arbitrary named weights plus a JSON header; returns the header written. */
export function writeWeightsFolder<Extra>(dir: string, weights: readonly StoredWeight[], header: Omit<ModelFile<Extra>, 'format' | 'version' | 'weightsFile' | 'weights' | 'savedAt' | 'tfjsVersion'>): ModelFile<Extra> {
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
  const hash = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const weightsFile = `weights-${hash}.bin`;
  writeFileAtomicSync(path.join(dir, weightsFile), bytes);
  const file: ModelFile<Extra> = {
    format: FORMAT,
    version: FORMAT_VERSION,
    ...header,
    weightsFile,
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

/** Reads a folder written by writeWeightsFolder; errors name the file at fault. */
export function readWeightsFolder<Extra = Record<string, unknown>>(dir: string): { file: ModelFile<Extra>; weights: StoredWeight[] } {
  const jsonPath = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(jsonPath)) throw new Error(`No ResAD model in ${dir}: ${MODEL_FILE} not found (train one with \`resad train --out ${dir}\`)`);
  let file: ModelFile<Extra>;
  try {
    file = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as ModelFile<Extra>;
  } catch (err) {
    throw new Error(`${jsonPath}: not valid JSON (${(err as Error).message})`);
  }
  if (file.format !== FORMAT) throw new Error(`${jsonPath}: not a resad model file (format "${String(file.format)}")`);
  if (file.version > FORMAT_VERSION) throw new Error(`${jsonPath}: format version ${file.version} is newer than this resad (${FORMAT_VERSION})`);
  if (file.version < FORMAT_VERSION) {
    throw new Error(`${jsonPath}: saved by an earlier resad (format ${file.version}) without score statistics; its scores are not comparable: retrain it (or remove the folder)`);
  }
  const binPath = path.join(dir, file.weightsFile);
  if (!fs.existsSync(binPath)) throw new Error(`${jsonPath}: its weights file ${file.weightsFile} is missing`);
  const buf = fs.readFileSync(binPath);
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const weights = file.weights.map((e) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > floats.length) throw new Error(`${binPath}: truncated (weight ${e.name} needs ${e.offset + n} floats, file has ${floats.length})`);
    return { name: e.name, shape: e.shape, values: floats.slice(e.offset, e.offset + n) };
  });
  return { file, weights };
}

export interface SavedModelExtra {
  /** Anything the trainer wants to record (timings, losses, data). */
  [key: string]: unknown;
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

/** Loads a trained model; pass `backbone` to reuse a loaded one (it must match the saved levels). */
export async function loadModel(dir: string, options: { backbone?: Backbone } = {}): Promise<ResADModel> {
  const { file, weights } = readWeightsFolder<SavedModelExtra>(dir);
  const model = await ResADModel.create(file.config, options);
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
