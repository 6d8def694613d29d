/** `resad export`: a trained model as one ONNX file (docs/ONNX.md). */
import * as fs from 'fs';
import { Command } from '../command';
import { requiredString, UsageError } from '../args';
import { checkOutputFile } from '../../util/output-check';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a trained model as an ONNX file (onnxruntime, onnxruntime-web)',
  usage: 'Usage: resad export --model MODEL_DIR --out FILE.onnx',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train' },
    out: { value: 'FILE.onnx', description: 'the ONNX file to write (replaced atomically)' },
  },
  async run(args) {
    // Heavy modules load only when the command runs, so help stays fast.
    const { initEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const { loadModel } = require('../../resad/index') as typeof import('../../resad/index');
    const { exportResADGraph, ONNX_METADATA_KEY } = require('../../onnx/index') as typeof import('../../onnx/index');
    const { writeFileAtomicSync } = require('../../util/atomic-write') as typeof import('../../util/atomic-write');
    const modelDir = requiredString(args, 'model');
    const out = requiredString(args, 'out');
    if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out ${out}: give a file name ending in .onnx`);
    checkOutputFile(out, '--out');
    await initEngine({ quiet: true });
    const model = await loadModel(modelDir);
    try {
      const t0 = Date.now();
      const { graph, info } = exportResADGraph(model);
      const bytes = graph.toBytes({ metadata: { [ONNX_METADATA_KEY]: JSON.stringify(info) }, doc: `ResAD model exported by resad from ${modelDir}` });
      writeFileAtomicSync(out, bytes);
      const levels = info.levels.map((l) => `${l.name} ${l.channels}x${l.height}x${l.width}`).join(', ');
      console.log(`wrote ${out} (${(fs.statSync(out).size / 2 ** 20).toFixed(1)} MiB, ${graph.nodeCount} nodes, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      console.log(`inputs: images [batch, ${info.imageSize}, ${info.imageSize}, 3] RGB in [0,1] (${info.resizeMode}); pool0..pool${info.levels.length - 1} [rows, C] = the references' features0..${info.levels.length - 1}`);
      console.log(`outputs: anomaly_map [batch, ${info.imageSize}, ${info.imageSize}], image_score [batch]; levels: ${levels}; scoring ${info.scoring}, sigma ${info.scoreSigma}`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
