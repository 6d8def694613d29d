/** `resad eval`: few-shot evaluation of a trained model on (new) classes. */
import { Command } from '../command';
import { DATA_OPTION_SPECS, INFERENCE_OPTION_SPECS, WEIGHTS_OPTION_SPECS } from '../common';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a trained model K-shot on the test images of some classes',
  usage: 'Usage: resad eval --model MODEL_DIR|FILE.onnx --data ROOT[:classes] [--format F] --shots K [--seed S] [--inference auto|onnx|tfjs] --json FILE [--report FILE.html]',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train, or a file written by resad export' },
    ...INFERENCE_OPTION_SPECS,
    ...DATA_OPTION_SPECS,
    ...WEIGHTS_OPTION_SPECS,
    shots: { value: 'K', description: 'normal reference images per class' },
    seed: { value: 'S', description: 'seed of the reference draw (default 0)' },
    references: { value: 'FILE', description: 'reference list JSON (default datasets/references/<root name>-<root hash>_k<K>_s<S>.json, created once)' },
    json: { value: 'FILE', description: 'results JSON' },
    report: { value: 'FILE', description: 'optional HTML report with anomaly-map overlays' },
  },
  load: () => require('./eval-run') as typeof import('./eval-run'),
};
