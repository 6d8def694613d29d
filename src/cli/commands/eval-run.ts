/** The work of `resad eval` (see eval.ts). */
import * as path from 'path';
import { optionInt, optionString, ParsedArgs, requiredString, requireOptions, UsageError } from '../args';
import { inferenceOption, isOnnxModelFile, modelFolderBackbone, readDataOptions, referencesForSource } from '../common';
import { applyWeightsOption } from '../weights-option';
import { describeEngine, initEngine } from '../../engine/index';
import { evaluateFewShot, formatResultsTable } from '../../evaluation/index';
import { loadModel } from '../../resad/index';
import { onnxFileScorer, resadScorerWith, resolveInferenceRequest, type ScorerChoice } from '../../onnx/index';
import { writeResultsFile } from '../../report/results-json';
import { writeEvaluationReport } from '../../report/demo-report';
import { checkOutputFile } from '../../util/output-check';

export async function run(args: ParsedArgs): Promise<number> {
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
  const request = resolveInferenceRequest(inferenceOption(args));
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
}
