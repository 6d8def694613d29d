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
import { applyWeightsOption, DATA_OPTION_SPECS, DataSource, readDataOptions, referencesForSource, WEIGHTS_OPTION_SPECS } from '../common';
import { optionChoice, optionInt, optionNumber, optionString, UsageError, requiredString, requireOptions } from '../args';
import type { describeEngine, initEngine } from '../../engine/index';
import type { formatResultsTable, evaluateFewShot } from '../../resad/evaluate';
import type { writeResultsFile } from '../../report/results-json';
import type { checkBackboneName } from '../../backbones/index';
import { checkOutputFile } from '../../util/output-check';
import type { createBaselineScorer } from '../../baselines/index';
import { BASELINE_METHODS, BaselineMethod } from '../../baselines/types';
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
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { describeEngine, initEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const { formatResultsTable, evaluateFewShot } = require('../../resad/evaluate') as typeof import('../../resad/evaluate');
    const { writeResultsFile } = require('../../report/results-json') as typeof import('../../report/results-json');
    const { checkBackboneName } = require('../../backbones/index') as typeof import('../../backbones/index');
    const { createBaselineScorer, defaultBaselineSettings } = require('../../baselines/index') as typeof import('../../baselines/index');
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
  },
};

/** `resad baseline --onnx FILE`: the exported PatchCore scored on onnxruntime, written like any baseline run. */
async function runOnnxBaseline(file: string, o: { source: DataSource; shots: number; seed: number; json: string; references?: string }): Promise<number> {
  const { onnxFileScorer } = require('../../onnx/index') as typeof import('../../onnx/index');
  const { formatResultsTable, evaluateFewShot } = require('../../resad/evaluate') as typeof import('../../resad/evaluate');
  const { writeResultsFile } = require('../../report/results-json') as typeof import('../../report/results-json');
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
