/** The work of `resad demo` (see demo.ts). */
import * as path from 'path';
import { optionChoice, optionInt, optionString, ParsedArgs } from '../args';
import { describeEngine, initEngine } from '../../engine/index';
import { defaultSyntheticRoot, generateDataset } from '../../data/procedural/index';
import { readDataset } from '../../data/readers/index';
import { getOrCreateReferences } from '../../data/references';
import { obtainModel, type ResADConfig, withAvailableBackbone } from '../../resad/index';
import { evaluateFewShot, formatResultsTable } from '../../evaluation/index';
import { resadScorerWith } from '../../onnx/index';
import { OFFLINE_SYNTHETIC_CONFIG, SYNTHETIC_CONFIG, SYNTHETIC_TEST_CLASSES, SYNTHETIC_TRAIN_CLASSES } from '../../experiments/protocols';
import { writeResultsFile } from '../../report/results-json';
import { writeEvaluationReport } from '../../report/demo-report';
import { checkOutputDir, checkOutputFile } from '../../util/output-check';

export const DEMO_TRAIN_CLASSES: readonly string[] = SYNTHETIC_TRAIN_CLASSES;
export const DEMO_TEST_CLASSES: readonly string[] = SYNTHETIC_TEST_CLASSES;

/** The demo's model (the procedural protocol's, src/experiments/protocols.ts); OFFLINE_SYNTHETIC_CONFIG without the ImageNet weights. */
export const DEMO_CONFIG: ResADConfig = SYNTHETIC_CONFIG;

export async function run(args: ParsedArgs): Promise<number> {
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
  const got = await obtainModel(modelDir, config, known, { ifDifferent: 'retrain', onPlan: (p) => console.log(p.kind === 'load' ? `reusing ${p.message}; delete the folder to retrain` : (p.note ?? `training into ${modelDir}`)) });
  const { model } = got;
  const reuse = !got.trained;
  try {
    const trainSeconds = got.trainSeconds ?? 0;
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
}
