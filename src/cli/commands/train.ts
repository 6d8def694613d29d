/** `resad train`: one model on the known classes of one or more datasets. */
import { Command } from '../command';
import { DATA_OPTION_SPECS, readDataOptions } from '../common';
import { optionString, requiredString } from '../args';
import { initEngine, describeEngine } from '../../engine/index';
import { ResADModel, trainResAD } from '../../resad/index';
import { configFromArgs, MODEL_OPTION_SPECS } from './resad-options';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train ResAD on known classes (resumable)',
  usage: 'Usage: resad train --data ROOT[:class,class] [--data ...] [--format F] [--backbone NAME] [--epochs N] [--seed S] --out MODEL_DIR',
  options: {
    ...DATA_OPTION_SPECS,
    out: { value: 'MODEL_DIR', description: 'model folder (checkpoints inside; rerun to resume)' },
    ...MODEL_OPTION_SPECS,
  },
  async run(args) {
    const out = requiredString(args, 'out');
    const config = configFromArgs(args);
    const sources = readDataOptions(args);
    const engine = await initEngine({ quiet: true });
    console.error(describeEngine(engine));
    const model = await ResADModel.create(config);
    try {
      const report = await trainResAD(model, sources.flatMap((s) => s.samples), { outDir: out });
      console.log(`trained on ${report.classes.join(', ')} in ${report.seconds.toFixed(0)} s; model saved to ${out}`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
