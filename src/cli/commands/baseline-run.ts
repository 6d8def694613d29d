/** The work of `resad baseline` (see baseline.ts). */
import { optionChoice, optionInt, optionNumber, optionString, ParsedArgs, requiredString, requireOptions, UsageError } from '../args';
import { DataSource, readDataOptions, referencesForSource } from '../common';
import { applyWeightsOption } from '../weights-option';
import { describeEngine, initEngine } from '../../engine/index';
import { evaluateFewShot, formatResultsTable } from '../../evaluation/index';
import { writeResultsFile } from '../../report/results-json';
import { checkBackboneName } from '../../backbones/index';
import { createBaselineScorer, defaultBaselineSettings } from '../../baselines/index';
import { BASELINE_METHODS, BaselineMethod } from '../../baselines/types';
import { onnxFileScorer } from '../../onnx/index';
import { checkOutputFile } from '../../util/output-check';

export async function run(args: ParsedArgs): Promise<number> {
  const method = optionChoice<BaselineMethod>(args, 'method', BASELINE_METHODS, 'patchcore');
  if (!args.options.has('method')) throw new UsageError(`option --method is required (${BASELINE_METHODS.join(', ')})`);
  const json = requiredString(args, 'json');
  requireOptions(args, 'shots');
  const shots = optionInt(args, 'shots', 4, 1);
  const seed = optionInt(args, 'seed', 0);
  const defaults = defaultBaselineSettings({ weightsFileGiven: args.options.has('weights') });
  if (!args.options.has('backbone') && defaults.note) console.error(defaults.note);
  const imageSize = optionInt(args, 'image-size', defaults.imageSize, 16);
  const coresetRatio = optionNumber(args, 'coreset', 1);
  if (!(coresetRatio > 0 && coresetRatio <= 1)) throw new UsageError(`option --coreset must be in (0, 1], got ${coresetRatio}`);
  const kappa = optionInt(args, 'kappa', 1, 1);
  const dims = optionInt(args, 'dims', 100, 1);
  const backbone = optionString(args, 'backbone', defaults.backbone);
  // Cheap checks first, before the data is listed and the backbone loaded.
  applyWeightsOption(args, () => backbone);
  checkBackboneName(backbone);
  checkOutputFile(json, '--json');
  const [source] = readDataOptions(args, { single: true });
  const engine = await initEngine({ quiet: true });
  const onnxFile = optionString(args, 'onnx');
  if (onnxFile !== undefined) {
    if (method !== 'patchcore') throw new UsageError(`--onnx: only patchcore exports exist, not ${method}`);
    return runOnnxBaseline(onnxFile, { source, shots, seed, json, references: optionString(args, 'references') });
  }
  console.error(describeEngine(engine));
  // The scorer (backbone loaded) before the references: what fails there must not leave a file behind.
  const scorer = await createBaselineScorer(method, {
    backbone,
    imageSize,
    patchcore: { coresetRatio, reweight: args.flags.has('reweight'), seed },
    spade: { kappa },
    padim: { dims, seed },
  });
  try {
    const refs = referencesForSource(source, shots, seed, optionString(args, 'references'));
    console.error(`references: ${refs.file} (${refs.status})`);
    const t0 = Date.now();
    const result = await evaluateFewShot(scorer, source.samples, refs.set);
    const seconds = (Date.now() - t0) / 1000;
    console.log(formatResultsTable(result));
    writeResultsFile(json, result, {
      method,
      baseline: scorer.describe(),
      backbone: scorer.backbone.name,
      imageSize,
      data: source.root,
      shots,
      seed,
      references: refs.file,
      engine: describeEngine(engine),
      seconds,
    });
    console.error(`${method}: ${seconds.toFixed(1)} s; results: ${json}`);
  } finally {
    scorer.dispose();
  }
  return 0;
}

/** `resad baseline --onnx FILE`: the exported PatchCore scored on onnxruntime, written like any baseline run. */
async function runOnnxBaseline(file: string, o: { source: DataSource; shots: number; seed: number; json: string; references?: string }): Promise<number> {
  const choice = await onnxFileScorer(file);
  try {
    const info = choice.runner.info;
    if (info.kind !== 'patchcore') throw new UsageError(`--onnx ${file}: a ${info.kind} export; score it with resad eval --model ${file}`);
    console.error(choice.description);
    const refs = referencesForSource(o.source, o.shots, o.seed, o.references);
    console.error(`references: ${refs.file} (${refs.status})`);
    const t0 = Date.now();
    const result = await evaluateFewShot(choice.scorer, o.source.samples, refs.set);
    const seconds = (Date.now() - t0) / 1000;
    console.log(formatResultsTable(result));
    writeResultsFile(o.json, result, { method: 'patchcore', baseline: info.method, backbone: info.backbone, imageSize: info.imageSize, onnx: file, data: o.source.root, shots: o.shots, seed: o.seed, references: refs.file, engine: choice.description, seconds });
    console.error(`patchcore (onnx): ${seconds.toFixed(1)} s; results: ${o.json}`);
  } finally {
    await choice.release();
  }
  return 0;
}
