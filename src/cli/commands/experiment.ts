/**
 * `resad experiment`: runs a protocol (preset or custom folders) as a shot
 * sweep or an ablation and appends every finished run to a results store
 * (default runs/experiments). Finished configurations are skipped, so the
 * command can be rerun after an interruption; ResAD training resumes from
 * its checkpoint. Several processes may share one --results folder: each
 * run and each training is claimed, so none is computed twice (runner.ts).
 * See docs/EXPERIMENTS.md.
 */
import { Command } from '../command';
import { DATASET_FORMATS } from '../../data/sample';
import { PROTOCOL_NAMES } from '../../experiments/protocols';
import { DEFAULT_RESULTS_DIR } from '../../experiments/store';
import { ABLATIONS } from '../../experiments/sweeps';

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'run a protocol (paper settings, synthetic, custom): shot sweeps, ablations; results to a store',
  usage:
    'Usage: resad experiment --protocol NAME [--shots 1,2,4] [--seeds 0,1] [--method resad,patchcore] [--ablation GROUP|NAME,...] [--preset cpu|paper] [--set KEY=VALUE] [--results DIR] [--force]\n' +
    '       resad experiment --train ROOT[:classes] --test ROOT[:classes] [...]   (custom protocol)\n' +
    '       resad experiment --list',
  options: {
    protocol: { value: 'NAME', description: `preset: ${PROTOCOL_NAMES.join(', ')}` },
    train: { repeatable: true, value: '[FORMAT=]ROOT[:classes]', description: 'custom protocol: training folder (repeatable)' },
    test: { repeatable: true, value: '[FORMAT=]ROOT[:classes]', description: 'custom protocol: test folder (repeatable)' },
    format: { value: 'FORMAT', description: `custom protocol: default format (auto, ${DATASET_FORMATS.join(', ')})` },
    shots: { value: 'K,K', description: "shot counts (default: the protocol's 1,2,4,8)" },
    seeds: { value: 'S,S', description: "reference seeds (default: the protocol's)" },
    method: { value: 'M,M', description: 'methods: resad (default), patchcore, spade, padim' },
    ablation: { value: 'WHICH', description: `ablation groups (framework, constraintor, residual, bgspp, deviations, resadpp, all) or variant names (${ABLATIONS.map((a) => a.name).join(', ')})` },
    preset: { value: 'NAME', description: "replace the protocol's ResAD preset: cpu or paper" },
    set: { repeatable: true, value: 'KEY=VALUE', description: 'ResAD config override, e.g. --set epochs=4 --set residual=sqdiff (repeatable)' },
    results: { value: 'DIR', description: `results store (default ${DEFAULT_RESULTS_DIR})` },
    force: { flag: true, description: 'rerun configurations already in the store' },
    list: { flag: true, description: 'list the protocols, methods and ablation variants' },
  },
  load: () => require('./experiment-run') as typeof import('./experiment-run'),
};
