/** `resad export`: a trained model, or the PatchCore baseline, as one ONNX file (docs/ONNX.md). */
import { Command } from '../command';
import { WEIGHTS_OPTION_SPECS } from '../common';
import { CPU_CONFIG, OFFLINE_CPU_CONFIG } from '../../resad/config';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a trained model (or the PatchCore baseline) as an ONNX file (onnxruntime, onnxruntime-web)',
  usage: 'Usage: resad export --model MODEL_DIR --out FILE.onnx\n       resad export --baseline patchcore [--backbone NAME] [--image-size PX] --out FILE.onnx',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train' },
    baseline: { value: 'patchcore', description: 'export the training-free PatchCore baseline instead (its memory bank is the pool input)' },
    backbone: { value: 'NAME', description: `baseline only: feature extractor (default: the cpu preset's, ${CPU_CONFIG.backbone}, or ${OFFLINE_CPU_CONFIG.backbone} without its weights)` },
    'image-size': { value: 'PX', description: `baseline only: square input side (default: the cpu preset's, ${CPU_CONFIG.imageSize}, or ${OFFLINE_CPU_CONFIG.imageSize})` },
    out: { value: 'FILE.onnx', description: 'the ONNX file to write (replaced atomically)' },
    ...WEIGHTS_OPTION_SPECS,
  },
  load: () => require('./export-run') as typeof import('./export-run'),
};
