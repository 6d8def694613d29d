/** `resad export`: a trained model, or the PatchCore baseline, as one ONNX file (docs/ONNX.md). */
import * as fs from 'fs';
import { Command } from '../command';
import { optionInt, optionString, requiredString, UsageError } from '../args';
import { applyWeightsOption, modelFolderBackbone, WEIGHTS_OPTION_SPECS } from '../common';
import { checkOutputFile } from '../../util/output-check';
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
  async run(args) {
    // Heavy modules load only when the command runs, so help stays fast.
    const { initEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const { createBackbone, checkBackboneName } = require('../../backbones/index') as typeof import('../../backbones/index');
    const { loadModel } = require('../../resad/index') as typeof import('../../resad/index');
    const { exportPatchCoreGraph, exportResADGraph, ONNX_METADATA_KEY } = require('../../onnx/index') as typeof import('../../onnx/index');
    const { writeFileAtomicSync } = require('../../util/atomic-write') as typeof import('../../util/atomic-write');
    const out = requiredString(args, 'out');
    const baseline = optionString(args, 'baseline');
    const modelDir = optionString(args, 'model');
    if ((baseline === undefined) === (modelDir === undefined)) throw new UsageError('give either --model MODEL_DIR or --baseline patchcore');
    if (baseline !== undefined && baseline !== 'patchcore') throw new UsageError(`--baseline: only patchcore is exported, got "${baseline}"`);
    if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out ${out}: give a file name ending in .onnx`);
    const { defaultBaselineSettings } = require('../../baselines/index') as typeof import('../../baselines/index');
    const defaults = defaultBaselineSettings({ weightsFileGiven: args.options.has('weights') });
    if (baseline !== undefined && !args.options.has('backbone') && defaults.note) console.error(defaults.note);
    const backboneName = optionString(args, 'backbone', defaults.backbone);
    const imageSize = optionInt(args, 'image-size', defaults.imageSize, 16);
    applyWeightsOption(args, () => (modelDir !== undefined ? modelFolderBackbone(modelDir) : backboneName));
    if (baseline !== undefined) checkBackboneName(backboneName);
    checkOutputFile(out, '--out');
    await initEngine({ quiet: true });
    const t0 = Date.now();
    const model = modelDir === undefined ? null : await loadModel(modelDir);
    const backbone = model === null ? await createBackbone(backboneName) : null;
    try {
      const { graph, info } = model !== null ? exportResADGraph(model) : exportPatchCoreGraph(backbone!, { imageSize });
      const what = model !== null ? `ResAD model exported by resad from ${modelDir}` : `PatchCore baseline (${backboneName}, ${imageSize} px) exported by resad`;
      writeFileAtomicSync(out, graph.toBytes({ metadata: { [ONNX_METADATA_KEY]: JSON.stringify(info) }, doc: what }));
      const levels = info.levels.map((l) => `${l.name} ${l.channels}x${l.height}x${l.width}`).join(', ');
      console.log(`wrote ${out} (${info.kind}, ${(fs.statSync(out).size / 2 ** 20).toFixed(1)} MiB, ${graph.nodeCount} nodes, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      console.log(`inputs: images [batch, ${info.imageSize}, ${info.imageSize}, 3] RGB in [0,1] (${info.resizeMode}); pool0..pool${info.levels.length - 1} [rows, C] = the references' features0..${info.levels.length - 1}`);
      console.log(`outputs: anomaly_map [batch, ${info.imageSize}, ${info.imageSize}], image_score [batch]; pools/features: ${levels}; sigma ${info.scoreSigma}`);
    } finally {
      model?.dispose();
      backbone?.dispose();
    }
    return 0;
  },
};
