/** `resad generate`: writes the embedded procedural dataset in MVTec layout. */
import { Command } from '../command';
import { listOption } from '../common';
import { optionInt, optionString } from '../args';
import type { defaultSyntheticRoot, generateDataset } from '../../data/procedural/index';
import { SYNTHETIC_CLASS_NAMES } from '../../data/procedural/render';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate the procedural synthetic dataset (offline, seeded)',
  usage: 'Usage: resad generate [--out DIR] [--seed S] [--size PX] [--classes a,b] [--force]',
  options: {
    out: { value: 'DIR', description: 'output root (default datasets/generated/resad-synthetic)' },
    seed: { value: 'S', description: 'generator seed (default 0)' },
    size: { value: 'PX', description: 'image side in pixels (default 256)' },
    classes: { value: 'a,b', description: `classes (default all: ${SYNTHETIC_CLASS_NAMES.join(', ')})` },
    train: { value: 'N', description: 'normal training images per class (default 24)' },
    force: { flag: true, description: 'regenerate even when a matching dataset exists' },
  },
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { defaultSyntheticRoot, generateDataset } = require('../../data/procedural/index') as typeof import('../../data/procedural/index');
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
  },
};
