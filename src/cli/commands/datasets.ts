/** `resad datasets`: what a dataset folder holds, as the readers see it. */
import { Command } from '../command';
import { DATA_OPTION_SPECS, readDataOptions } from '../common';
import { formatClassSummary, summarizeByClass } from '../../data/readers/index';

export const datasetsCommand: Command = {
  name: 'datasets',
  summary: 'read dataset folders and print per-class counts',
  usage: 'Usage: resad datasets --data ROOT[:class,class] [--data ...] [--format auto|mvtec|...]',
  options: DATA_OPTION_SPECS,
  async run(args) {
    for (const source of readDataOptions(args)) {
      console.log(`${source.root}: ${source.samples.length} images`);
      console.log(formatClassSummary(summarizeByClass(source.samples)));
    }
    return 0;
  },
};
