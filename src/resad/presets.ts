/**
 * Presets on this machine: the ImageNet presets need a weights file that a
 * fresh clone does not have. What runs with nothing but `npm install` (the
 * demo, CI, the notebooks, `resad train` without --backbone) uses the
 * ImageNet preset when its backbone's weights are found (the weights cache,
 * `--weights`, or ../shared/backbones on the project's machines), and
 * otherwise its packaged twin, saying so. Every output then names the
 * backbone that ran (it is in the config).
 *
 * ```ts
 * const { config, note } = withAvailableBackbone(CPU_CONFIG, OFFLINE_CPU_CONFIG);
 * if (note) console.error(note);
 * ```
 */
import { missingWeightsNote } from '../backbones/defaults';
import { findWeights } from '../backbones/weights/index';
import { CONFIG_PRESETS, CPU_CONFIG, CPU_RESADPP_CONFIG, OFFLINE_CPU_CONFIG, OFFLINE_CPU_RESADPP_CONFIG, ResADConfig } from './config';

/** `config` when its backbone's weights are found (or it needs none), else `offline` with a one-line note saying why. */
export function withAvailableBackbone(config: ResADConfig, offline: ResADConfig): { config: ResADConfig; note: string | null } {
  // Loaded here, not at the top: `resad --help` reaches this module and must not load tfjs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { canonicalBackboneName, needsWeightsFile } = require('../backbones/index') as typeof import('../backbones/index');
  const name = canonicalBackboneName(config.backbone);
  if (name === null || !needsWeightsFile(name) || findWeights(name) !== null) return { config, note: null };
  return { config: offline, note: missingWeightsNote(name, offline.backbone, offline.imageSize) };
}

/** Packaged twins of the presets that need weights. */
const OFFLINE_TWINS: ReadonlyArray<[ResADConfig, ResADConfig]> = [
  [CPU_CONFIG, OFFLINE_CPU_CONFIG],
  [CPU_RESADPP_CONFIG, OFFLINE_CPU_RESADPP_CONFIG],
];

/** A named preset as this machine can run it: `cpu` (and `cpu-resad++`) fall back to the packaged backbone without its weights; `paper` never falls back (it reproduces the paper or fails). */
export function availablePreset(name: string): { config: ResADConfig; note: string | null } {
  const preset = CONFIG_PRESETS[name];
  if (!preset) throw new Error(`unknown preset '${name}'; presets: ${Object.keys(CONFIG_PRESETS).join(', ')}`);
  const twin = OFFLINE_TWINS.find(([p]) => p === preset)?.[1];
  return twin ? withAvailableBackbone(preset, twin) : { config: preset, note: null };
}
