/** `resad datasets`: what a dataset folder holds, as the readers see it. */
import { Command } from '../command';
import { ParsedArgs } from '../args';
import { DATA_OPTION_SPECS, readDataOptions } from '../common';
import { formatClassSummary, summarizeByClass } from '../../data/readers/index';

export const datasetsCommand: Command = {
  name: 'datasets',
  summary: 'read dataset folders and print per-class counts',
  usage: 'Usage: resad datasets --data ROOT[:class,class] [--data ...] [--format auto|mvtec|...]',
  options: DATA_OPTION_SPECS,
  // Nothing heavy to load: the work is the run below.
  load: () => ({ run }),
};

async function run(args: ParsedArgs): Promise<number> {
  for (const source of readDataOptions(args)) {
    console.log(`${source.root}: ${source.samples.length} images`);
    console.log(formatClassSummary(summarizeByClass(source.samples)));
  }
  return 0;
}
