/**
 * `resad baseline`: a training-free few-shot baseline (PatchCore, SPADE,
 * PaDiM) evaluated with the same references, preprocessing, metrics and
 * results JSON as `resad eval`. Default backbone and size are ResAD's CPU
 * preset on this machine (defaultBaselineSettings: ImageNet MobileNetV2 at 224 px, or the
 * packaged fallback without its weights), so the numbers compare with a cpu-preset model.
 *
 *   resad baseline --method patchcore --data ROOT:classes --shots 4 --seed 0 --json out.json
 */
import { Command } from '../command';
import { DATA_OPTION_SPECS, WEIGHTS_OPTION_SPECS } from '../common';
import { CPU_CONFIG, OFFLINE_CPU_CONFIG } from '../../resad/config';

export const baselineCommand: Command = {
  name: 'baseline',
  summary: 'evaluate a training-free baseline (patchcore, spade, padim) K-shot with the same references',
  usage:
    'Usage: resad baseline --method patchcore|spade|padim --data ROOT[:classes] [--format F] --shots K [--seed S] [--backbone NAME] [--image-size PX] [--references FILE] --json FILE\n' +
    '       resad baseline --method patchcore --onnx FILE.onnx --data ROOT[:classes] --shots K [--seed S] --json FILE   (a file from resad export --baseline patchcore)',
  options: {
    method: { value: 'NAME', description: 'patchcore, spade or padim' },
    ...DATA_OPTION_SPECS,
    ...WEIGHTS_OPTION_SPECS,
    shots: { value: 'K', description: 'normal reference images per class' },
    seed: { value: 'S', description: 'seed of the reference draw, the coreset and the PaDiM channel subset (default 0)' },
    references: { value: 'FILE', description: 'reference list JSON (default datasets/references/<root name>-<root hash>_k<K>_s<S>.json, created once)' },
    backbone: { value: 'NAME', description: `feature extractor (default: the cpu preset's, ${CPU_CONFIG.backbone}, or ${OFFLINE_CPU_CONFIG.backbone} without its weights)` },
    'image-size': { value: 'PX', description: `square input side (default: the cpu preset's, ${CPU_CONFIG.imageSize}, or ${OFFLINE_CPU_CONFIG.imageSize})` },
    coreset: { value: 'RATIO', description: 'patchcore: fraction of the memory bank kept by the greedy coreset (default 1 = all)' },
    reweight: { flag: true, description: "patchcore: the paper's image-score reweighting (Eq. 7; default off)" },
    kappa: { value: 'N', description: 'spade: nearest gallery features averaged per pixel (default 1, paper)' },
    dims: { value: 'D', description: 'padim: random channel subset size (default 100)' },
    onnx: { value: 'FILE.onnx', description: 'patchcore: score with this export (resad export --baseline patchcore) on onnxruntime; its backbone and size apply' },
    json: { value: 'FILE', description: 'results JSON (same schema as resad eval)' },
  },
  load: () => require('./baseline-run') as typeof import('./baseline-run'),
};
