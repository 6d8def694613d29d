/** `resad eval`: few-shot evaluation of a trained model on (new) classes. */
import * as path from 'path';
import { Command } from '../command';
import { UsageError } from '../args';
import { applyWeightsOption, DATA_OPTION_SPECS, isOnnxModelFile, modelFolderBackbone, readDataOptions, referencesForSource, WEIGHTS_OPTION_SPECS } from '../common';
import { optionInt, optionString, requiredString, requireOptions } from '../args';
import type { describeEngine, initEngine } from '../../engine/index';
import type { evaluateFewShot, formatResultsTable, loadModel } from '../../resad/index';
import type { onnxFileScorer, resadScorerWith, ScorerChoice } from '../../onnx/index';
import type { writeResultsFile } from '../../report/results-json';
import type { writeEvaluationReport } from '../../report/demo-report';
import { checkOutputFile } from '../../util/output-check';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a trained model K-shot on the test images of some classes',
  usage: 'Usage: resad eval --model MODEL_DIR|FILE.onnx --data ROOT[:classes] [--format F] --shots K [--seed S] [--engine auto|onnx|tfjs] --json FILE [--report FILE.html]',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train, or a file written by resad export' },
    engine: { value: 'NAME', description: 'inference engine: auto (onnxruntime when installed), onnx or tfjs (also env RESAD_INFERENCE)' },
    ...DATA_OPTION_SPECS,
    ...WEIGHTS_OPTION_SPECS,
    shots: { value: 'K', description: 'normal reference images per class' },
    seed: { value: 'S', description: 'seed of the reference draw (default 0)' },
    references: { value: 'FILE', description: 'reference list JSON (default datasets/references/<root name>-<root hash>_k<K>_s<S>.json, created once)' },
    json: { value: 'FILE', description: 'results JSON' },
    report: { value: 'FILE', description: 'optional HTML report with anomaly-map overlays' },
  },
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { describeEngine, initEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const { evaluateFewShot, formatResultsTable, loadModel } = require('../../resad/index') as typeof import('../../resad/index');
    const { onnxFileScorer, resadScorerWith, resolveInferenceRequest } = require('../../onnx/index') as typeof import('../../onnx/index');
    const { writeResultsFile } = require('../../report/results-json') as typeof import('../../report/results-json');
    const { writeEvaluationReport } = require('../../report/demo-report') as typeof import('../../report/demo-report');
    const modelDir = requiredString(args, 'model');
    const json = requiredString(args, 'json');
    requireOptions(args, 'shots');
    const shots = optionInt(args, 'shots', 4, 1);
    const seed = optionInt(args, 'seed', 0);
    const reportFile = optionString(args, 'report');
    // Outputs are only written after the evaluation: check them before it starts.
    checkOutputFile(json, '--json');
    if (reportFile !== undefined) checkOutputFile(reportFile, '--report');
    const [source] = readDataOptions(args, { single: true });
    const request = resolveInferenceRequest(optionString(args, 'engine'));
    const onnxFile = isOnnxModelFile(modelDir, request);
    if (onnxFile && args.options.has('weights')) throw new UsageError(`--weights: ${modelDir} is an ONNX file, which holds its backbone's weights`);
    if (!onnxFile) applyWeightsOption(args, () => modelFolderBackbone(modelDir));
    const engine = await initEngine({ quiet: true });
    // The model first: a missing or damaged one must fail before a references file is written.
    const model = onnxFile ? null : await loadModel(modelDir);
    let choice: ScorerChoice | undefined;
    try {
      const file = model === null ? await onnxFileScorer(modelDir) : null;
      choice = file ?? (await resadScorerWith(model!, {}, request));
      console.error(choice.engine === 'tfjs' ? `${describeEngine(engine)}; ${choice.description}` : choice.description);
      const refs = referencesForSource(source, shots, seed, optionString(args, 'references'));
      console.error(`references: ${refs.file} (${refs.status})`);
      const result = await evaluateFewShot(choice.scorer, source.samples, refs.set, { keepExamples: reportFile ? 4 : 0 });
      console.log(formatResultsTable(result));
      const info = file?.runner.info;
      const config = info === undefined ? { resad: model!.config } : info.kind === 'resad' ? { resad: info.config } : { baseline: info.method, backbone: info.backbone, imageSize: info.imageSize };
      writeResultsFile(json, result, { model: path.resolve(modelDir), data: source.root, shots, seed, references: refs.file, engine: choice.engine === 'tfjs' ? describeEngine(engine) : choice.description, ...config });
      console.error(`results: ${json}`);
      if (reportFile) {
        await writeEvaluationReport(reportFile, result, { title: `ResAD ${shots}-shot evaluation`, description: [`model ${modelDir}`, `data ${source.root}`] });
        console.error(`report: ${reportFile}`);
      }
    } finally {
      await choice?.release();
      model?.dispose();
    }
    return 0;
  },
};
