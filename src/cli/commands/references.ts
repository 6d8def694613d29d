/** `resad references`: draw (once) and save the few-shot reference lists every method shares. */
import * as path from 'path';
import { Command } from '../command';
import { DATA_OPTION_SPECS, readDataOptions, referencesForSource } from '../common';
import { optionInt, optionString, ParsedArgs, requireOptions } from '../args';

export const referencesCommand: Command = {
  name: 'references',
  summary: 'draw K normal reference images per class and save them as JSON',
  usage: 'Usage: resad references --data ROOT[:classes] --shots K [--seed S] [--out FILE]',
  options: {
    ...DATA_OPTION_SPECS,
    shots: { value: 'K', description: 'references per class' },
    seed: { value: 'S', description: 'draw seed (default 0)' },
    out: { value: 'FILE', description: 'JSON file (default datasets/references/<root name>-<root hash>_k<K>_s<S>.json)' },
  },
  // Nothing heavy to load: the work is the run below.
  load: () => ({ run }),
};

async function run(args: ParsedArgs): Promise<number> {
  requireOptions(args, 'shots');
  const [source] = readDataOptions(args, { single: true });
  const shots = optionInt(args, 'shots', 4, 1);
  const seed = optionInt(args, 'seed', 0);
  const result = referencesForSource(source, shots, seed, optionString(args, 'out'));
  console.log(`${result.file} (${result.status})`);
  for (const [cls, images] of Object.entries(result.set.classes)) {
    console.log(`  ${cls}: ${images.map((p) => path.relative(source.root, p)).join(', ')}`);
  }
  return 0;
}
