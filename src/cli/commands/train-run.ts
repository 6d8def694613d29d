/** The work of `resad train` (see train.ts). */
import { ParsedArgs, requiredString } from '../args';
import { inferenceOption, readDataOptions } from '../common';
import { applyWeightsOption } from '../weights-option';
import { configFromArgs } from './resad-options';
import { describeEngine, initEngine } from '../../engine/index';
import { inspectModelFolder, obtainModel, planModel, trainingDataIdentity, validateConfig } from '../../resad/index';
import { checkBackboneName } from '../../backbones/index';
import { checkOutputDir } from '../../util/output-check';

export async function run(args: ParsedArgs): Promise<number> {
  const out = requiredString(args, 'out');
  const config = validateConfig(configFromArgs(args));
  applyWeightsOption(args, () => config.backbone);
  checkBackboneName(config.backbone);
  checkOutputDir(out, '--out');
  const flags = { force: args.flags.has('force'), restart: args.flags.has('restart'), ifDifferent: 'error' as const };
  const samples = readDataOptions(args).flatMap((s) => s.samples);
  // Decided before the engine starts, so an identical rerun returns at once; obtainModel applies the same plan.
  const plan = planModel(out, inspectModelFolder(out, config, trainingDataIdentity(samples)), flags);
  if (plan.kind === 'load') {
    console.log(`${plan.message}; nothing redone (use --force to retrain)`);
    return 0;
  }
  const engine = await initEngine({ quiet: true });
  console.error(describeEngine(engine));
  // The frozen parts of training (features, matching) run on onnxruntime unless told otherwise.
  const got = await obtainModel(out, config, samples, { ...flags, inference: inferenceOption(args), onPlan: (p) => p.kind === 'train' && p.note && console.error(p.note) });
  got.model.dispose();
  const classes = [...new Set(samples.map((s) => s.className))].sort();
  console.log(`trained on ${classes.join(', ')} in ${(got.trainSeconds ?? 0).toFixed(0)} s; model saved to ${out}`);
  return 0;
}
