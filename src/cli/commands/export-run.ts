/** The work of `resad export` (see export.ts). */
import * as fs from 'fs';
import { optionInt, optionString, ParsedArgs, requiredString, UsageError } from '../args';
import { modelFolderBackbone } from '../common';
import { applyWeightsOption } from '../weights-option';
import { initEngine } from '../../engine/index';
import { checkBackboneName, createBackbone } from '../../backbones/index';
import { loadModel } from '../../resad/index';
import { defaultBaselineSettings } from '../../baselines/index';
import { exportPatchCoreGraph, exportResADGraph, ONNX_METADATA_KEY } from '../../onnx/index';
import { writeFileAtomicSync } from '../../util/atomic-write';
import { checkOutputFile } from '../../util/output-check';

export async function run(args: ParsedArgs): Promise<number> {
  const out = requiredString(args, 'out');
  const baseline = optionString(args, 'baseline');
  const modelDir = optionString(args, 'model');
  if ((baseline === undefined) === (modelDir === undefined)) throw new UsageError('give either --model MODEL_DIR or --baseline patchcore');
  if (baseline !== undefined && baseline !== 'patchcore') throw new UsageError(`--baseline: only patchcore is exported, got "${baseline}"`);
  if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out ${out}: give a file name ending in .onnx`);
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
}
