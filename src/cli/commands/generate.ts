/** `resad generate`: writes the embedded procedural dataset in MVTec layout. */
import { Command } from '../command';
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
  load: () => require('./generate-run') as typeof import('./generate-run'),
};
