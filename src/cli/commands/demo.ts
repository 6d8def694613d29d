/**
 * `resad demo`: the main job, offline, on the embedded procedural dataset.
 * Trains one ResAD model on 10 known classes (their normal training images
 * plus their real anomalies with masks), then evaluates it 4-shot on 5
 * classes it never saw, with fixed references: per-class table with the mean,
 * DIR/results.json and DIR/report.html with anomaly-map overlays.
 */
import { Command } from '../command';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'train on 10 synthetic classes, evaluate 4-shot on 5 unseen ones (offline, CPU, minutes)',
  usage: 'Usage: resad demo [--out DIR] [--residual diff|sqdiff|none] [--metric l2|cosine] [--shots K] [--seed S]',
  options: {
    out: { value: 'DIR', description: 'output folder (default demo-out): results.json, report.html, model-<backbone>/ (model-<backbone>-<residual>-<metric>/ for other options; reused when rerun)' },
    residual: { value: 'MODE', description: 'diff (default, paper), sqdiff (official code) or none (initial features, the ablation)' },
    metric: { value: 'NAME', description: 'nearest-reference metric: l2 (default, paper) or cosine (official code)' },
    shots: { value: 'K', description: 'references per unseen class (default 4)' },
    seed: { value: 'S', description: 'seed of the reference draw (default 0)' },
  },
  load: () => require('./demo-run') as typeof import('./demo-run'),
};
