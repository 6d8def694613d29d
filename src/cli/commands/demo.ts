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
import { describeEngine, initEngine } from '../../engine/index';
import { defaultSyntheticRoot, generateDataset } from '../../data/procedural/index';
import { readDataset } from '../../data/readers/index';
import { getOrCreateReferences } from '../../data/references';
import { evaluateResAD, formatResultsTable, ResADConfig, ResADModel, trainResAD } from '../../resad/index';
import { SYNTHETIC_CONFIG, SYNTHETIC_TEST_CLASSES, SYNTHETIC_TRAIN_CLASSES } from '../../experiments/protocols';
import { writeResultsFile } from '../../report/results-json';
import { writeEvaluationReport } from '../../report/demo-report';

export const DEMO_TRAIN_CLASSES: readonly string[] = SYNTHETIC_TRAIN_CLASSES;
export const DEMO_TEST_CLASSES: readonly string[] = SYNTHETIC_TEST_CLASSES;

/** The demo's model (the procedural protocol's, src/experiments/protocols.ts). */
export const DEMO_CONFIG: ResADConfig = SYNTHETIC_CONFIG;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'train on 10 synthetic classes, evaluate 4-shot on 5 unseen ones (offline, CPU, minutes)',
  usage: 'Usage: resad demo [--out DIR] [--residual diff|sqdiff|none] [--metric l2|cosine] [--shots K] [--seed S]',
  options: {
    out: { value: 'DIR', description: 'output folder (default demo-out): results.json, report.html, model/' },
    residual: { value: 'MODE', description: 'diff (default, paper), sqdiff (official code) or none (initial features, the ablation)' },
    metric: { value: 'NAME', description: 'nearest-reference metric: l2 (default, paper) or cosine (official code)' },
    shots: { value: 'K', description: 'references per unseen class (default 4)' },
    seed: { value: 'S', description: 'seed of the reference draw (default 0)' },
  },
  async run(args) {
    const t0 = Date.now();
    const out = path.resolve(optionString(args, 'out', 'demo-out'));
    const residual = optionChoice(args, 'residual', ['diff', 'sqdiff', 'none'] as const, 'diff');
    const shots = optionInt(args, 'shots', 4, 1);
    const seed = optionInt(args, 'seed', 0);
    const matchMetric = optionChoice(args, 'metric', ['l2', 'cosine'] as const, 'l2');
    const config: ResADConfig = { ...DEMO_CONFIG, residual, matchMetric };

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

    console.log(`training on ${DEMO_TRAIN_CLASSES.length} known classes (${known.length} images), residual '${residual}'`);
    const model = await ResADModel.create(config);
    try {
      const training = await trainResAD(model, known, { outDir: path.join(out, 'model') });
      console.log(`evaluating ${shots}-shot on unseen classes: ${DEMO_TEST_CLASSES.join(', ')}`);
      const result = await evaluateResAD(model, unseen, refs.set, { keepExamples: 4 });
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
        engine: describeEngine(engine),
        trainSeconds: training.seconds,
        totalSeconds: seconds,
        resad: config,
      });
      await writeEvaluationReport(path.join(out, 'report.html'), result, {
        title: `ResAD demo: ${shots}-shot on unseen synthetic classes`,
        description: [
          `Trained on ${DEMO_TRAIN_CLASSES.join(', ')} (${training.seconds.toFixed(0)} s, ${config.epochs} epochs, backbone ${config.backbone}, ${config.imageSize} px, residual '${residual}').`,
          `Evaluated with ${shots} normal references per class, drawn once with seed ${seed}: ${refs.file}.`,
          describeEngine(engine),
        ],
      });
      console.log(`\nwrote ${path.join(out, 'results.json')} and ${path.join(out, 'report.html')} (${seconds.toFixed(0)} s in all)`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
