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
import { WEIGHTS_OPTION_SPECS } from '../common';

/** Default cap on the longer side of written maps and overlays (a 2048 px PNG is ~10 MB; the map itself has model resolution). */
export const DEFAULT_MAX_OUTPUT_SIZE = 2048;

export const predictCommand: Command = {
  name: 'predict',
  summary: 'anomaly maps and calibrated scores for new images of a new class from a few normal references',
  usage: 'Usage: resad predict --model MODEL_DIR|FILE.onnx --refs IMG... --out DIR [--max-size PX] [--engine auto|onnx|tfjs] [--fail-fast] IMG...',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train, or a file written by resad export' },
    refs: { multi: true, value: 'IMG', description: 'normal reference images of the class (K-shot; K >= 2 for a threshold)' },
    out: { value: 'DIR', description: 'output folder: <name>_overlay.png, <name>_map.png, scores.json' },
    'max-size': { value: 'PX', description: `longer side of written maps/overlays at most PX (default ${DEFAULT_MAX_OUTPUT_SIZE}; 0 = the input's full size)` },
    engine: { value: 'NAME', description: 'inference engine: auto (onnxruntime when installed), onnx or tfjs (also env RESAD_INFERENCE)' },
    ...WEIGHTS_OPTION_SPECS,
    'fail-fast': { flag: true, description: 'stop at the first query that cannot be read or scored (default: score the rest, exit 1 at the end)' },
  },
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    return (require('./predict-run') as typeof import('./predict-run')).runPredict(args);
  },
};
