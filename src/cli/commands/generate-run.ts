/** The work of `resad generate` (see generate.ts). */
import { optionInt, optionString, ParsedArgs } from '../args';
import { listOption } from '../common';
import { defaultSyntheticRoot, generateDataset } from '../../data/procedural/index';

export async function run(args: ParsedArgs): Promise<number> {
  const info = await generateDataset({
    root: optionString(args, 'out', defaultSyntheticRoot()),
    seed: optionInt(args, 'seed', 0),
    size: optionInt(args, 'size', 256, 16),
    classes: listOption(args, 'classes'),
    trainPerClass: args.options.has('train') ? optionInt(args, 'train', 24, 1) : undefined,
    force: args.flags.has('force'),
  });
  const what = info.skipped ? 'already complete, nothing written' : `${info.imagesWritten} images in ${info.seconds.toFixed(1)} s`;
  console.log(`${info.root}: ${info.manifest.classes.length} classes, ${info.manifest.totalImages} images (${what})`);
  return 0;
}
