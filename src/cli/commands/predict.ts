/**
 * `resad predict`: a trained model on a NEW class given only a few normal
 * images — anomaly maps (PNG overlays) and scores, no retraining.
 *
 * Scores are calibrated on the references alone (src/resad/calibration.ts):
 * leave-one-out over the K references gives a threshold, a normalised score
 * (0 = typical normal, 1 = threshold) and one fixed colour scale for every
 * image of the call. Maps and overlays are written at the query's own
 * resolution (capped by --max-size). A query that cannot be read or scored is
 * listed and skipped (exit 1 at the end) unless --fail-fast; a reference that
 * cannot be read stops the command at once, since every score depends on it.
 */
import { Command } from '../command';
import { INFERENCE_OPTION_SPECS, WEIGHTS_OPTION_SPECS } from '../common';
import { DEFAULT_MAX_OUTPUT_SIZE } from '../../report/overlay';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'anomaly maps and calibrated scores for new images of a new class from a few normal references',
  usage: 'Usage: resad predict --model MODEL_DIR|FILE.onnx --refs IMG... --out DIR [--max-size PX] [--inference auto|onnx|tfjs] [--fail-fast] IMG...',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train, or a file written by resad export' },
    refs: { multi: true, value: 'IMG', description: 'normal reference images of the class (K-shot; K >= 2 for a threshold)' },
    out: { value: 'DIR', description: 'output folder: <name>_overlay.png, <name>_map.png, scores.json' },
    'max-size': { value: 'PX', description: `longer side of written maps/overlays at most PX (default ${DEFAULT_MAX_OUTPUT_SIZE}; 0 = the input's full size)` },
    ...INFERENCE_OPTION_SPECS,
    ...WEIGHTS_OPTION_SPECS,
    'fail-fast': { flag: true, description: 'stop at the first query that cannot be read or scored (default: score the rest, exit 1 at the end)' },
  },
  load: () => require('./predict-run') as typeof import('./predict-run'),
};
