/**
 * `resad demo`: the main job, offline, on the embedded procedural dataset.
 * Trains one ResAD model on 10 known classes (their normal training images
 * plus their real anomalies with masks), then evaluates it 4-shot on 5
 * classes it never saw, with fixed references: per-class table with the mean,
 * DIR/results.json and DIR/report.html with anomaly-map overlays.
 */
import * as path from 'path';
import { Command } from '../command';
import { optionChoice, optionInt, optionString } from '../args';
import type { describeEngine, initEngine } from '../../engine/index';
import type { defaultSyntheticRoot, generateDataset } from '../../data/procedural/index';
import type { readDataset } from '../../data/readers/index';
import type { getOrCreateReferences } from '../../data/references';
import type { evaluateFewShot, formatResultsTable, ResADConfig, ResADModel, trainResAD } from '../../resad/index';
import { OFFLINE_SYNTHETIC_CONFIG, SYNTHETIC_CONFIG, SYNTHETIC_TEST_CLASSES, SYNTHETIC_TRAIN_CLASSES } from '../../experiments/protocols';
import type { writeResultsFile } from '../../report/results-json';
import type { writeEvaluationReport } from '../../report/demo-report';
import { checkOutputDir, checkOutputFile } from '../../util/output-check';

export const DEMO_TRAIN_CLASSES: readonly string[] = SYNTHETIC_TRAIN_CLASSES;
export const DEMO_TEST_CLASSES: readonly string[] = SYNTHETIC_TEST_CLASSES;

/** The demo's model (the procedural protocol's, src/experiments/protocols.ts); OFFLINE_SYNTHETIC_CONFIG without the ImageNet weights. */
export const DEMO_CONFIG: ResADConfig = SYNTHETIC_CONFIG;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'train on 10 synthetic classes, evaluate 4-shot on 5 unseen ones (offline, CPU, minutes)',
  usage: 'Usage: resad demo [--out DIR] [--residual diff|sqdiff|none] [--metric l2|cosine] [--shots K] [--seed S]',
  options: {
    out: { value: 'DIR', description: 'output folder (default demo-out): results.json, report.html, model-<backbone>/ (model-<backbone>-<residual>-<metric>/ for other options; reused when rerun)' },
    residual: { value: 'MODE', description: 'diff (default, paper), sqdiff (official code) or none (initial features, the ablation)' },
    metric: { value: 'NAME', description: 'nearest-reference metric: l2 (default, paper) or cosine (official code)' },
    shots: { value: 'K', description: 'references per unseen class (default 4)' },
    seed: { value: 'S', description: 'seed of the reference draw (default 0)' },
  },
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { describeEngine, initEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const { defaultSyntheticRoot, generateDataset } = require('../../data/procedural/index') as typeof import('../../data/procedural/index');
    const { readDataset } = require('../../data/readers/index') as typeof import('../../data/readers/index');
    const { getOrCreateReferences } = require('../../data/references') as typeof import('../../data/references');
    const { evaluateFewShot, formatResultsTable, inspectModelFolder, loadModel, ResADModel, savedTrainingSeconds, trainResAD, withAvailableBackbone } = require('../../resad/index') as typeof import('../../resad/index');
    const { resadScorerWith } = require('../../onnx/index') as typeof import('../../onnx/index');
    const { writeResultsFile } = require('../../report/results-json') as typeof import('../../report/results-json');
    const { writeEvaluationReport } = require('../../report/demo-report') as typeof import('../../report/demo-report');
    const t0 = Date.now();
    const out = path.resolve(optionString(args, 'out', 'demo-out'));
    const residual = optionChoice(args, 'residual', ['diff', 'sqdiff', 'none'] as const, 'diff');
    const shots = optionInt(args, 'shots', 4, 1);
    const seed = optionInt(args, 'seed', 0);
    const matchMetric = optionChoice(args, 'metric', ['l2', 'cosine'] as const, 'l2');
    // The ImageNet backbone when its weights are here, else the packaged one (resad/presets.ts).
    const available = withAvailableBackbone(DEMO_CONFIG, OFFLINE_SYNTHETIC_CONFIG);
    const config: ResADConfig = { ...available.config, residual, matchMetric };
    // Results are written after minutes of training: every output location is checked now.
    checkOutputDir(out, '--out');
    // One model folder per backbone and option set, so a rerun with other options never replaces a trained model.
    const modelDir = path.join(out, `model-${config.backbone}${residual === 'diff' && matchMetric === 'l2' ? '' : `-${residual}-${matchMetric}`}`);
    checkOutputDir(modelDir, '--out');
    for (const file of ['results.json', 'report.html', `references_k${shots}_s${seed}.json`]) checkOutputFile(path.join(out, file), '--out');

    const engine = await initEngine({ quiet: true });
    console.log(describeEngine(engine));
    const root = defaultSyntheticRoot();
    const data = await generateDataset({ root });
    console.log(`dataset: ${root} (${data.skipped ? 'reused' : `generated in ${data.seconds.toFixed(1)} s`})`);
    const samples = readDataset(root, { format: 'mvtec' });

    // Known classes: normal training images plus the real anomalies (with masks) of their test sets.
    const known = samples.filter((s) => DEMO_TRAIN_CLASSES.includes(s.className) && (s.split === 'train' || s.label === 1));
    const unseen = samples.filter((s) => DEMO_TEST_CLASSES.includes(s.className));
    const refs = getOrCreateReferences(unseen, { root, shots, seed, file: path.join(out, `references_k${shots}_s${seed}.json`) });

    if (available.note) console.log(available.note);
    console.log(`training on ${DEMO_TRAIN_CLASSES.length} known classes (${known.length} images): backbone ${config.backbone}, ${config.imageSize} px, residual '${residual}'`);
    const state = inspectModelFolder(modelDir, config, known);
    const reuse = state.model.kind === 'same';
    const model = reuse ? await loadModel(modelDir) : await ResADModel.create(config);
    try {
      if (reuse) console.log(`reusing the model trained before in ${modelDir} (same config and data; delete the folder to retrain)`);
      else if (state.model.kind === 'different') console.log(`retraining ${modelDir}: ${state.model.differences.join('; ')}`);
      else if (state.model.kind === 'damaged') console.log(`retraining ${modelDir}: ${state.model.message}`);
      // A checkpoint of other settings or data (e.g. the dataset was regenerated) cannot be resumed: start over.
      const restart = state.checkpoint.kind === 'different' || state.checkpoint.kind === 'damaged';
      const trainSeconds = reuse ? (savedTrainingSeconds(modelDir) ?? 0) : (await trainResAD(model, known, { outDir: modelDir, restart })).seconds;
      const choice = await resadScorerWith(model);
      console.log(`evaluating ${shots}-shot on unseen classes: ${DEMO_TEST_CLASSES.join(', ')} (${choice.description})`);
      const result = await evaluateFewShot(choice.scorer, unseen, refs.set, { keepExamples: 4 }).finally(() => choice.release());
      const engineLine = `${describeEngine(engine)}; ${choice.description}`;
      const seconds = (Date.now() - t0) / 1000;
      console.log('\n' + formatResultsTable(result));
      writeResultsFile(path.join(out, 'results.json'), result, {
        command: 'demo',
        dataset: root,
        trainClasses: DEMO_TRAIN_CLASSES,
        testClasses: DEMO_TEST_CLASSES,
        shots,
        referenceSeed: seed,
        references: refs.file,
        engine: engineLine,
        trainSeconds,
        totalSeconds: seconds,
        resad: config,
      });
      await writeEvaluationReport(path.join(out, 'report.html'), result, {
        title: `ResAD demo: ${shots}-shot on unseen synthetic classes`,
        description: [
          `Trained on ${DEMO_TRAIN_CLASSES.join(', ')} (${trainSeconds.toFixed(0)} s${reuse ? ', trained by an earlier run' : ''}, ${config.epochs} epochs, backbone ${config.backbone}, ${config.imageSize} px, residual '${residual}').`,
          `Evaluated with ${shots} normal references per class, drawn once with seed ${seed}: ${refs.file}.`,
          engineLine,
        ],
      });
      console.log(`\nwrote ${path.join(out, 'results.json')} and ${path.join(out, 'report.html')} (${seconds.toFixed(0)} s in all)`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
