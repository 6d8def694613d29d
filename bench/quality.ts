/**
 * `npm run bench:quality`: detection quality on classes the model never saw
 * (src/experiments/quality.ts). Not part of `npm run bench` (it trains one
 * model per fold: about an hour for every fold with the default preset).
 *
 * ```sh
 * npm run bench:quality                                   # every fold, seeds 0,1,2, the cpu preset
 * npm run bench:quality -- --folds grid                   # one fold
 * npm run bench:quality -- --set epochs=4 --set lr=1e-4 --curve --out runs/quality/try1
 * ```
 */
import * as path from 'path';
import { formatHelp, optionString, parseArgs, UsageError } from '../src/cli/args';
import { CONFIG_PRESETS, RESADPP_OPTIONS, ResADConfig } from '../src/resad/config';
import { SCORING_MODES, ScoringMode } from '../src/scoring/anomaly-map';
import { discoverQualityFolds, formatQualityMarkdown, mergeQualityReports, readQualityReport, writeQualityReport, DEFAULT_QUALITY_METHODS, QUALITY_METHODS, QualityMethod, runQualityBenchmark } from '../src/experiments/quality';

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
  out: { value: 'DIR', description: 'results folder (default runs/quality/<preset>)' },
  scorings: { value: 'M,M', description: `also score the trained ResAD model with these modes (${SCORING_MODES.join(', ')}), no retraining` },
  calibration: { value: 'F,F', description: 'also measure the reference-only threshold of resad predict with these spread floors (false alarms / detections per fold)' },
  engine: { value: 'NAME', description: 'ResAD inference engine: auto (onnxruntime when installed), onnx or tfjs (also env RESAD_INFERENCE)' },
  curve: { flag: true, description: 'evaluate ResAD after every epoch (first seed): quality against training time' },
  retrain: { flag: true, description: 'retrain models already in DIR/models' },
  merge: { value: 'DIR,DIR', description: 'only combine the results.json of earlier runs (e.g. folds run in parallel) into --out' },
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
  if (merge) {
    const outDir = path.resolve(optionString(args, 'out', path.join('runs', 'quality', 'merged')));
    const report = mergeQualityReports(merge.map((dir) => readQualityReport(path.join(dir, 'results.json'))));
    writeQualityReport(outDir, report);
    console.log(formatQualityMarkdown(report));
    console.log(`wrote ${path.join(outDir, 'results.json')} and results.md`);
    return { failed: 0 };
  }
  const presetName = optionString(args, 'preset', 'cpu');
  const preset = CONFIG_PRESETS[presetName];
  if (!preset) throw new UsageError(`--preset must be one of ${Object.keys(CONFIG_PRESETS).join(', ')}, got "${presetName}"`);
  const config = applyOverrides(preset, args.options.get('set') ?? []);
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
  let folds = await discoverQualityFolds({ procedural: !args.flags.has('no-procedural') });
  const wanted = list(optionString(args, 'folds'));
  if (wanted) {
    const unknown = wanted.filter((w) => !folds.some((f) => f.name === w));
    if (unknown.length > 0) throw new UsageError(`--folds: no fold ${unknown.join(', ')} (available: ${folds.map((f) => f.name).join(', ')})`);
    folds = folds.filter((f) => wanted.includes(f.name));
  }
  if (folds.every((f) => f.kind === 'procedural')) console.error('note: no real datasets found (../shared/datasets or RESAD_SHARED_DATASETS): procedural fold only');
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
  const report = await runQualityBenchmark({ folds, config, methods, seeds, shots, outDir, scorings, calibrationFloors, curve: args.flags.has('curve'), retrain: args.flags.has('retrain'), inference: optionString(args, 'engine') });
  console.log('\n' + formatQualityMarkdown(report));
  console.log(`wrote ${path.join(outDir, 'results.json')} and results.md (${report.seconds.toFixed(0)} s)`);
  return { failed: 0 };
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof UsageError ? `bench:quality: ${err.message}` : err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
