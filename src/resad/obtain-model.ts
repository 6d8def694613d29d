/**
 * The one way to get a trained model into a folder: load it when the folder
 * holds the same model, else train it there (resuming its checkpoint). `resad
 * train`, the demo, the experiments runner, the notebooks and the quality
 * benchmark all call `obtainModel`, so "same model" has one meaning
 * everywhere: the same weights config (`weightsConfig`: the config without
 * its scoring fields, which a saved model can be re-scored with) and the same
 * training data (`trainingDataIdentity`). Where the folder is (a key, a user's
 * --out) is the caller's business.
 *
 * ```ts
 * const got = await obtainModel('runs/m1', CPU_CONFIG, knownSamples, { ifDifferent: 'retrain' });
 * console.log(got.trained ? `trained in ${got.trainSeconds} s` : 'loaded');
 * ```
 */
import * as path from 'path';
import type { Backbone } from '../backbones/types';
import type { Sample } from '../data/sample';
import { loadModel, savedTrainingSeconds } from './checkpoint';
import type { ResADConfig } from './config';
import { ResADModel } from './model';
import { EpochReport, trainResAD, TrainOptions } from './trainer';
import { CHECKPOINT_DIR, inspectModelFolder, ModelFolderState, trainingDataIdentity } from './training-identity';

export interface ObtainModelOptions extends Pick<TrainOptions, 'quiet' | 'inference' | 'onEpoch' | 'afterEpoch'> {
  /**
   * A folder holding a model (or checkpoint) of another config or data:
   * 'error' (default; what `resad train` does without --force) or 'retrain'
   * (replace it once the new model is saved; keyed folders, the demo).
   */
  ifDifferent?: 'error' | 'retrain';
  /** Retrain even when the folder holds the same model; a foreign checkpoint is discarded (`resad train --force`). */
  force?: boolean;
  /** Discard the checkpoint and start from epoch 1 (`resad train --restart`). */
  restart?: boolean;
  /** A loaded backbone to build the model on (shared between models; the caller keeps it). */
  backbone?: Backbone;
  /** Called once, before loading or training, with what is about to be done (its note names a replaced model or a discarded checkpoint). */
  onPlan?: (plan: ModelPlan) => void;
}

export interface ObtainedModel {
  model: ResADModel;
  dir: string;
  /** False when the model was loaded from `dir`. */
  trained: boolean;
  /** Training seconds (recorded in the saved model when loaded; null when it predates the record). */
  trainSeconds: number | null;
  /** This run's epochs (empty when loaded). */
  epochs: EpochReport[];
  /** The epoch a resumed training continued after, else null. */
  resumedFromEpoch: number | null;
}

export type ModelPlan = { kind: 'load'; message: string } | { kind: 'train'; discardCheckpoint: boolean; note: string | null };

/**
 * What obtaining a model into `dir` does, given what the folder holds: the
 * same finished model is loaded; a checkpoint of the same training is
 * resumed; anything else of another config or data is an error unless
 * `ifDifferent: 'retrain'` or `force` (then it is replaced, the old model
 * staying until the new one is saved).
 */
export function planModel(dir: string, state: ModelFolderState, options: Pick<ObtainModelOptions, 'ifDifferent' | 'force' | 'restart'> = {}): ModelPlan {
  const force = options.force ?? false;
  const restart = options.restart ?? false;
  const replace = force || options.ifDifferent === 'retrain';
  const ckptDir = path.join(dir, CHECKPOINT_DIR);
  const { model, checkpoint } = state;
  if (model.kind === 'same' && !force) return { kind: 'load', message: `already trained: ${dir} (same weights config and data, saved ${model.savedAt})` };
  let discardCheckpoint = restart;
  if (checkpoint.kind === 'damaged' && !restart) {
    if (!replace) throw new Error(checkpoint.message);
    discardCheckpoint = true;
  }
  if (checkpoint.kind === 'different' && !restart) {
    if (!replace) {
      throw new Error(
        `${ckptDir} is an unfinished training with a different config or data (${checkpoint.differences.join('; ')}); ` +
          'rerun with --restart to discard it and start from epoch 1, or choose another --out',
      );
    }
    discardCheckpoint = true;
  }
  const resuming = checkpoint.kind === 'same' && !discardCheckpoint;
  if (!resuming && !replace) {
    if (model.kind === 'different') {
      throw new Error(
        `${dir} already holds a model trained with a different config or data (${model.differences.join('; ')}); ` +
          'rerun with --force to replace it (the old model stays until the new one is saved), or choose another --out',
      );
    }
    if (model.kind === 'damaged') throw new Error(`${dir} holds a model that cannot be read: ${model.message}`);
  }
  const notes: string[] = [];
  const why = restart ? '--restart' : force ? '--force' : checkpoint.kind === 'damaged' ? checkpoint.message : checkpoint.kind === 'different' ? checkpoint.differences.join('; ') : '';
  if (discardCheckpoint && checkpoint.kind !== 'absent') notes.push(`discarding ${ckptDir} (${why}); starting from epoch 1`);
  if (model.kind === 'different' && !force) notes.push(`retraining ${dir}: ${model.differences.join('; ')}`);
  else if (model.kind === 'damaged' && !force) notes.push(`retraining ${dir}: ${model.message}`);
  if (model.kind !== 'absent') notes.push(`${force ? '--force: ' : ''}the model in ${dir} is replaced when this training finishes`);
  return { kind: 'train', discardCheckpoint, note: notes.length > 0 ? notes.join('\n') : null };
}

/**
 * Loads the model in `dir` when it is the same model as (`config`, `samples`),
 * with `config`'s scoring fields; otherwise trains it there (see `planModel`).
 * The caller disposes the returned model (with `keepBackbone` when it passed one).
 */
export async function obtainModel(dir: string, config: ResADConfig, samples: readonly Sample[], options: ObtainModelOptions = {}): Promise<ObtainedModel> {
  const data = trainingDataIdentity(samples);
  const plan = planModel(dir, inspectModelFolder(dir, config, data), options);
  options.onPlan?.(plan);
  if (plan.kind === 'load') {
    const model = await loadModel(dir, { backbone: options.backbone, scoring: config });
    return { model, dir, trained: false, trainSeconds: savedTrainingSeconds(dir), epochs: [], resumedFromEpoch: null };
  }
  const model = await ResADModel.create(config, { backbone: options.backbone });
  try {
    const report = await trainResAD(model, samples, {
      outDir: dir,
      restart: plan.discardCheckpoint,
      quiet: options.quiet,
      inference: options.inference,
      onEpoch: options.onEpoch,
      afterEpoch: options.afterEpoch,
    });
    return { model, dir, trained: true, trainSeconds: report.seconds, epochs: report.epochs, resumedFromEpoch: report.resumedFromEpoch };
  } catch (err) {
    model.dispose({ keepBackbone: options.backbone !== undefined });
    throw err;
  }
}
