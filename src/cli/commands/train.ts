/** `resad train`: one model on the known classes of one or more datasets. */
import * as path from 'path';
import { Command } from '../command';
import { applyWeightsOption, DATA_OPTION_SPECS, readDataOptions, WEIGHTS_OPTION_SPECS } from '../common';
import { optionString, requiredString } from '../args';
import type { initEngine, describeEngine } from '../../engine/index';
import type { CHECKPOINT_DIR, inspectModelFolder, ModelFolderState, ResADModel, trainResAD, trainingDataIdentity, validateConfig } from '../../resad/index';
import type { checkBackboneName } from '../../backbones/index';
import { checkOutputDir } from '../../util/output-check';
import { configFromArgs, MODEL_OPTION_SPECS } from './resad-options';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train ResAD on known classes (resumable)',
  usage: 'Usage: resad train --data ROOT[:class,class] [--data ...] [--format F] [--backbone NAME] [--epochs N] [--seed S] --out MODEL_DIR [--force] [--restart]',
  options: {
    ...DATA_OPTION_SPECS,
    out: { value: 'MODEL_DIR', description: 'model folder (checkpoints inside; rerun to resume; a finished identical training is not redone)' },
    force: { flag: true, description: 'retrain even if MODEL_DIR holds a finished model (of any config or data); it is replaced once the new one is saved' },
    restart: { flag: true, description: 'discard MODEL_DIR/checkpoint and start from epoch 1 instead of resuming' },
    ...MODEL_OPTION_SPECS,
    ...WEIGHTS_OPTION_SPECS,
  },
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { initEngine, describeEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const { CHECKPOINT_DIR, inspectModelFolder, ResADModel, trainResAD, trainingDataIdentity, validateConfig } = require('../../resad/index') as typeof import('../../resad/index');
    const { checkBackboneName } = require('../../backbones/index') as typeof import('../../backbones/index');
    const out = requiredString(args, 'out');
    const config = validateConfig(configFromArgs(args));
    applyWeightsOption(args, () => config.backbone);
    checkBackboneName(config.backbone);
    checkOutputDir(out, '--out');
    const force = args.flags.has('force');
    const restart = args.flags.has('restart');
    const samples = readDataOptions(args).flatMap((s) => s.samples);
    const data = trainingDataIdentity(samples);
    const plan = planTraining(out, inspectModelFolder(out, config, data), { force, restart }, path.join(out, CHECKPOINT_DIR));
    if (plan.kind === 'done') {
      console.log(plan.message);
      return 0;
    }
    if (plan.note) console.error(plan.note);
    const engine = await initEngine({ quiet: true });
    console.error(describeEngine(engine));
    const model = await ResADModel.create(config);
    try {
      const report = await trainResAD(model, samples, { outDir: out, restart: plan.discardCheckpoint });
      console.log(`trained on ${report.classes.join(', ')} in ${report.seconds.toFixed(0)} s; model saved to ${out}`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};

export type TrainingPlan = { kind: 'done'; message: string } | { kind: 'train'; discardCheckpoint: boolean; note: string | null };

/**
 * What a rerun into `out` should do: an identical finished training is not
 * redone; a different finished model is only replaced with --force; a
 * checkpoint of the same training is resumed, one of another training (or a
 * damaged one) only discarded with --restart or --force.
 */
export function planTraining(out: string, state: ModelFolderState, flags: { force: boolean; restart: boolean }, ckptDir: string): TrainingPlan {
  const { model, checkpoint } = state;
  if (model.kind === 'same' && !flags.force) {
    return { kind: 'done', message: `already trained: ${out} (same config and data, saved ${model.savedAt}); nothing redone (use --force to retrain)` };
  }
  let discardCheckpoint = flags.restart;
  if (checkpoint.kind === 'damaged' && !flags.restart) {
    if (!flags.force) throw new Error(checkpoint.message);
    discardCheckpoint = true;
  }
  if (checkpoint.kind === 'different' && !flags.restart) {
    if (!flags.force) {
      throw new Error(
        `${ckptDir} is an unfinished training with a different config or data (${checkpoint.differences.join('; ')}); ` +
          'rerun with --restart to discard it and start from epoch 1, or choose another --out',
      );
    }
    discardCheckpoint = true;
  }
  const resuming = checkpoint.kind === 'same' && !discardCheckpoint;
  if (!resuming && !flags.force) {
    if (model.kind === 'different') {
      throw new Error(
        `${out} already holds a model trained with a different config or data (${model.differences.join('; ')}); ` +
          'rerun with --force to replace it (the old model stays until the new one is saved), or choose another --out',
      );
    }
    if (model.kind === 'damaged') throw new Error(`${out} holds a model that cannot be read: ${model.message}`);
  }
  const notes: string[] = [];
  if (discardCheckpoint && checkpoint.kind !== 'absent') notes.push(`discarding ${ckptDir} (${flags.restart ? '--restart' : '--force'}); starting from epoch 1`);
  if (model.kind !== 'absent') notes.push(`${flags.force ? '--force: ' : ''}the model in ${out} is replaced when this training finishes`);
  return { kind: 'train', discardCheckpoint, note: notes.length > 0 ? notes.join('\n') : null };
}
