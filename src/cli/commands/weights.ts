/**
 * `resad weights list | get NAME | add NAME FILE | verify [NAME]`: backbone
 * ImageNet weights, downloaded once per user into the cache folder and
 * checked (published sha256, fit to the architecture) before they are used.
 */
import { Command } from '../command';
import { WEIGHT_SOURCES } from '../../backbones/weights/sources';

export const weightsCommand: Command = {
  name: 'weights',
  summary: 'download (once), add, list and verify backbone ImageNet weights',
  usage: [
    'Usage: resad weights list',
    '       resad weights get NAME [--force]',
    '       resad weights add NAME FILE',
    '       resad weights verify [NAME]',
    '',
    'Weights are cached in $RESAD_HOME/weights, else the user cache folder',
    '(~/.cache/resad/weights on Linux); each file is checked against the',
    'published sha256 and the backbone\'s tensor shapes before it is used.',
    `NAME: ${Object.keys(WEIGHT_SOURCES).join(', ')}.`,
    'Env RESAD_WEIGHTS_BASE_URL: download from a mirror that serves the same paths.',
    'See docs/WEIGHTS.md.',
  ].join('\n'),
  options: {
    force: { flag: true, description: 'get: download again even when the cached file is verified' },
  },
  load: () => require('./weights-run') as typeof import('./weights-run'),
};
