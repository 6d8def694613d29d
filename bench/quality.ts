/**
 * `npm run bench:quality`: detection quality on classes the model never saw
 * (src/experiments/quality.ts). Not part of `npm run bench` (it trains one
 * model per fold: about an hour for every fold with the default preset).
 * The folds are protocols run by an ExperimentSession into the results store
 * --out: finished runs are skipped, models reused, and several processes may
 * share one --out (each run and training is claimed by one of them).
 *
 * ```sh
 * npm run bench:quality                                   # every fold, seeds 0,1,2, the cpu preset
 * npm run bench:quality -- --folds grid                   # one fold
 * npm run bench:quality -- --set epochs=4 --set lr=1e-4 --curve --out runs/quality/try1
 * ```
 */
import * as path from 'path';
import { formatHelp, optionString, parseArgs, UsageError } from '../src/cli/args';
import { inferenceOption, INFERENCE_OPTION_SPECS } from '../src/cli/common';
import { createBackbone } from '../src/backbones/index';
import { initEngine } from '../src/engine/index';
import { CONFIG_PRESETS, RESADPP_OPTIONS, ResADConfig, validateConfig } from '../src/resad/config';
import { SCORING_MODES, ScoringMode } from '../src/scoring/anomaly-map';
import { writeFileAtomicSync } from '../src/util/atomic-write';
import { ExperimentSession } from '../src/experiments/runner';
import { mergeStores, ResultsStore } from '../src/experiments/store';
import { discoverQualityFolds, formatQualityMarkdown, qualityRecords, qualitySpecs, DEFAULT_QUALITY_METHODS, QUALITY_METHODS, QualityMethod, QualityRunOptions } from '../src/experiments/quality';

export const description = 'ResAD vs PatchCore on unseen classes (leave-one-class-out + procedural); run alone with npm run bench:quality';
/** Skipped by `npm run bench` (bench/run.ts): hours, not seconds. */
export const standalone = true;

const SPECS = {
  folds: { value: 'A,B', description: 'folds to run (held-out class names, or procedural); default all' },
  seeds: { value: 'S,S', description: 'reference seeds (default 0,1,2)' },
  shots: { value: 'K', description: 'references per unseen class (default 4)' },
  preset: { value: 'NAME', description: `config preset (${Object.keys(CONFIG_PRESETS).join(', ')}; default cpu)` },
  set: { value: 'KEY=JSON', repeatable: true, description: 'override one config field, e.g. --set epochs=4 --set levelWeights=[0,1,1]' },
  methods: { value: 'M,M', description: `methods: ${QUALITY_METHODS.join(', ')} (default ${DEFAULT_QUALITY_METHODS.join(',')}; resad-untrained = the same training with its updates switched off)` },
  out: { value: 'DIR', description: 'results store (default runs/quality/<preset>): results.jsonl/.csv, models/, references/, results.md' },
  scorings: { value: 'M,M', description: `also score the trained ResAD model with these modes (${SCORING_MODES.join(', ')}), no retraining` },
  calibration: { value: 'F,F', description: 'also measure the reference-only threshold of resad predict with these spread floors (false alarms / detections per fold)' },
  ...INFERENCE_OPTION_SPECS, // --inference (what scores ResAD; old name --engine)
  curve: { flag: true, description: 'evaluate ResAD after every epoch (first seed): quality against training time' },
  retrain: { flag: true, description: 'retrain models already in DIR/models (and rerun their runs)' },
  force: { flag: true, description: 'rerun runs already in the store (models are reused)' },
  merge: { value: 'DIR,DIR', description: 'run nothing: copy the runs of other stores into --out and report (give the options the parts ran with)' },
  'no-procedural': { flag: true, description: 'leave out the procedural fold' },
  help: { flag: true, description: 'this help' },
};

function list(raw: string | undefined): string[] | undefined {
  return raw === undefined ? undefined : raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

const OPTIONAL_FIELDS: readonly string[] = ['backboneLayers', ...Object.keys(RESADPP_OPTIONS)];

/** Applies `--set key=json` overrides, naming a bad key or value. */
export function applyOverrides(base: ResADConfig, sets: readonly string[]): ResADConfig {
  const out: Record<string, unknown> = { ...base };
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${s}: expected KEY=VALUE`);
    const key = s.slice(0, eq);
    // Optional fields (backboneLayers, the ResAD++ ones) are absent from the presets that do not use them.
    if (!(key in base) && !OPTIONAL_FIELDS.includes(key)) throw new UsageError(`--set ${s}: unknown config field "${key}" (known: ${Object.keys(base).join(', ')})`);
    const raw = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw; // a bare string such as --set residual=sqdiff
    }
    out[key] = value;
  }
  return out as unknown as ResADConfig;
}

export async function main(argv: string[]): Promise<{ failed: number }> {
  const args = parseArgs(argv, SPECS);
  if (args.flags.has('help')) {
    console.log(formatHelp('Usage: npm run bench:quality -- [options]', SPECS));
    return { failed: 0 };
  }
  const merge = list(optionString(args, 'merge'));
  const presetName = optionString(args, 'preset', 'cpu');
  const preset = CONFIG_PRESETS[presetName];
  if (!preset) throw new UsageError(`--preset must be one of ${Object.keys(CONFIG_PRESETS).join(', ')}, got "${presetName}"`);
  const config = validateConfig(applyOverrides(preset, args.options.get('set') ?? []));
  const methods = (list(optionString(args, 'methods')) ?? [...DEFAULT_QUALITY_METHODS]).map((m) => {
    if (!(QUALITY_METHODS as readonly string[]).includes(m)) throw new UsageError(`--methods: unknown method "${m}" (${QUALITY_METHODS.join(', ')})`);
    return m as QualityMethod;
  });
  const seeds = (list(optionString(args, 'seeds')) ?? ['0', '1', '2']).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--seeds: "${s}" is not a seed`);
    return n;
  });
  const shots = Number(optionString(args, 'shots', '4'));
  if (!Number.isInteger(shots) || shots < 1) throw new UsageError('--shots must be a positive integer');
  const allFolds = discoverQualityFolds({ procedural: !args.flags.has('no-procedural'), config, configPreset: presetName });
  if (allFolds.length === 0) throw new UsageError('no folds: no real datasets found (../shared/datasets or RESAD_SHARED_DATASETS) and --no-procedural');
  if (allFolds.every((f) => f.kind === 'procedural')) console.error('note: no real datasets found (../shared/datasets or RESAD_SHARED_DATASETS): procedural fold only');
  const wanted = list(optionString(args, 'folds'));
  const unknown = (wanted ?? []).filter((w) => !allFolds.some((f) => f.name === w));
  if (unknown.length > 0) throw new UsageError(`--folds: no fold ${unknown.join(', ')} (available: ${allFolds.map((f) => f.name).join(', ')})`);
  const folds = wanted ? allFolds.filter((f) => wanted.includes(f.name)) : allFolds;
  const outDir = path.resolve(optionString(args, 'out', path.join('runs', 'quality', presetName)));
  const scorings = (list(optionString(args, 'scorings')) ?? []).map((m) => {
    if (!(SCORING_MODES as readonly string[]).includes(m)) throw new UsageError(`--scorings: unknown mode "${m}" (${SCORING_MODES.join(', ')})`);
    return m as ScoringMode;
  });
  const calibrationFloors = (list(optionString(args, 'calibration')) ?? []).map((f) => {
    const v = Number(f);
    if (!(Number.isFinite(v) && v > 0)) throw new UsageError(`--calibration: spread floors must be positive numbers, got "${f}"`);
    return v;
  });
  const options: QualityRunOptions = { methods, seeds, shots, scorings, calibrationFloors, curve: args.flags.has('curve') };
  const started = Date.now();
  const store = new ResultsStore(outDir);
  if (merge) {
    const added = mergeStores(store, merge.map((dir) => new ResultsStore(dir)));
    console.error(`copied ${added} run(s) from ${merge.join(', ')} into ${outDir}`);
  } else {
    await initEngine({ quiet: true });
    // One backbone for every model and PatchCore: the benchmark's variants all share the config's backbone.
    const backbone = await createBackbone(config.backbone, { layers: config.backboneLayers });
    const retrain = args.flags.has('retrain');
    const session = new ExperimentSession({ store, backbone, inference: inferenceOption(args), retrain, force: retrain || args.flags.has('force') });
    try {
      await session.runAll(qualitySpecs(folds, options));
    } finally {
      session.dispose();
      backbone.dispose();
    }
  }
  // Every fold of this configuration the store holds, parts run by other processes (or merged) included.
  const markdown = formatQualityMarkdown(qualityRecords(store, qualitySpecs(allFolds, options)));
  writeFileAtomicSync(path.join(outDir, 'results.md'), markdown);
  console.log('\n' + markdown);
  console.log(`wrote ${path.join(outDir, 'results.md')} from ${store.resultsFile} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return { failed: 0 };
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof UsageError ? `bench:quality: ${err.message}` : err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
