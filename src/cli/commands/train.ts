/** `resad train`: one model on the known classes of one or more datasets. */
import { Command } from '../command';
import { DATA_OPTION_SPECS, INFERENCE_OPTION_SPECS, WEIGHTS_OPTION_SPECS } from '../common';
import { MODEL_OPTION_SPECS } from './resad-options';

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
    ...INFERENCE_OPTION_SPECS,
  },
  load: () => require('./train-run') as typeof import('./train-run'),
};
