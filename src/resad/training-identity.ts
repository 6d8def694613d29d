/**
 * What makes two trainings "the same": the config plus the training data.
 * Both are recorded in the saved model and in the checkpoint, so that a rerun
 * can tell "already trained" from "would replace a different model", and a
 * resume never continues a run made with other data or settings.
 *
 * The data is fingerprinted by the sorted sample list (paths, classes, labels,
 * masks) with each file's size and modification time: cheap on large datasets
 * (no image is read) and it changes when a file is replaced or edited.
 *
 * ```ts
 * const state = inspectModelFolder('runs/m1', config, samples);
 * if (state.model.kind === 'same') console.log('already trained');
 * ```
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Sample } from '../data/sample';
import { ResADConfig, weightsConfig } from './config';
import { MODEL_FILE, readWeightsFolder } from './checkpoint';

export interface TrainingDataIdentity {
  images: number;
  classes: string[];
  /** sha256 of the sorted sample list with file sizes and modification times. */
  fingerprint: string;
}

/** Subfolder of a model folder holding the checkpoint of an unfinished training. */
export const CHECKPOINT_DIR = 'checkpoint';

/** How to get past a damaged or foreign checkpoint, as the errors about one say (CLI or library wording). */
export function checkpointRecoveryHint(audience: 'cli' | 'library' = 'cli'): string {
  return audience === 'cli'
    ? 'rerun with --restart to discard it and start from epoch 1'
    : 'pass { restart: true } (resad train: --restart) to discard it and start from epoch 1';
}

function fileStamp(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.size}:${Math.round(st.mtimeMs)}`;
  } catch {
    // Training fails on a missing file anyway; the fingerprint only has to differ.
    return 'missing';
  }
}

export function trainingDataIdentity(samples: readonly Sample[]): TrainingDataIdentity {
  const rows = samples
    .map((s) => {
      const masks = s.maskPaths.map((m) => `${m}@${fileStamp(m)}`).join(',');
      return [path.resolve(s.imagePath), fileStamp(s.imagePath), s.className, s.split, s.label, s.defectType, masks].join('\t');
    })
    .sort();
  const hash = crypto.createHash('sha256');
  for (const r of rows) hash.update(r + '\n');
  return { images: samples.length, classes: [...new Set(samples.map((s) => s.className))].sort(), fingerprint: hash.digest('hex') };
}

function shortJson(value: unknown): string {
  const s = value === undefined ? 'unset' : JSON.stringify(value);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * Fields of the weights config (`weightsConfig`: scoring fields left out, a
 * saved model is re-scored with any) that differ, as "name: saved -> wanted"
 * (order of keys does not matter).
 */
export function configDifferences(saved: ResADConfig, wanted: ResADConfig): string[] {
  const a = weightsConfig(saved) as Record<string, unknown>;
  const b = weightsConfig(wanted) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: ${shortJson(a[k])} -> ${shortJson(b[k])}`);
}

/** How the recorded training data differs from `wanted`; [] when the same. */
export function dataDifferences(saved: TrainingDataIdentity, wanted: TrainingDataIdentity): string[] {
  if (saved.fingerprint === wanted.fingerprint) return [];
  const out: string[] = [];
  if (saved.images !== wanted.images) out.push(`data: ${saved.images} -> ${wanted.images} images`);
  if (saved.classes.join(',') !== wanted.classes.join(',')) out.push(`classes: ${saved.classes.join(',')} -> ${wanted.classes.join(',')}`);
  if (out.length === 0) out.push('data: same images and classes, but files changed (paths, sizes or modification times)');
  return out;
}

function isDataIdentity(v: unknown): v is TrainingDataIdentity {
  const d = v as Partial<TrainingDataIdentity> | null;
  return !!d && typeof d.fingerprint === 'string' && typeof d.images === 'number' && Array.isArray(d.classes);
}

/** What a model folder or its checkpoint holds, compared with the training about to run. */
export type FolderState =
  | { kind: 'absent' }
  | { kind: 'same'; savedAt: string }
  | { kind: 'different'; differences: string[] }
  | { kind: 'damaged'; message: string };

export interface ModelFolderState {
  /** The finished model in the folder (weights verified). */
  model: FolderState;
  /** The checkpoint of an unfinished training in folder/checkpoint. */
  checkpoint: FolderState;
}

function inspect(dir: string, config: ResADConfig, data: TrainingDataIdentity, recovery: string | undefined, unknownData: string | null): FolderState {
  if (!fs.existsSync(path.join(dir, MODEL_FILE))) return { kind: 'absent' };
  try {
    const { file } = readWeightsFolder<{ data?: unknown }>(dir, recovery === undefined ? {} : { recovery });
    const differences = configDifferences(file.config, config);
    const saved = file.extra?.data;
    if (isDataIdentity(saved)) differences.push(...dataDifferences(saved, data));
    else if (unknownData !== null) differences.push(unknownData);
    return differences.length === 0 ? { kind: 'same', savedAt: file.savedAt } : { kind: 'different', differences };
  } catch (err) {
    return { kind: 'damaged', message: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Compares the finished model and the checkpoint in `outDir` with a training
 * of `config` on `samples`. Weights are read and their checksums verified, so
 * "same" also means "usable". A model saved before training data was recorded
 * counts as different (nothing proves it is the same); such a checkpoint is
 * compared by config only, so that runs interrupted before an upgrade resume.
 */
export function inspectModelFolder(outDir: string, config: ResADConfig, samples: readonly Sample[] | TrainingDataIdentity): ModelFolderState {
  const data = isDataIdentity(samples) ? samples : trainingDataIdentity(samples);
  return {
    model: inspect(outDir, config, data, undefined, 'data: not recorded (trained by an earlier resad)'),
    checkpoint: inspect(path.join(outDir, CHECKPOINT_DIR), config, data, checkpointRecoveryHint(), null),
  };
}
