/**
 * One entry point for every backbone: `createBackbone(name, options)`.
 *
 * Names:
 * - packaged, offline: 'mobilenetv2', 'mobilenetv2_mid', 'inceptionv3' (nsfwjs)
 * - torchvision ResNets from a safetensors file: 'wide_resnet50_2' (the
 *   paper's; weights from RESAD_WRN50_WEIGHTS or { weights }), 'resnet18',
 *   'resnet34', 'resnet50', 'wide_resnet101_2'
 * - user models: 'layers:PATH[#l1,l2,l3]' (Keras-style tfjs layers model) and
 *   'graph:PATH[#node1,node2,node3]' (converted graph model); PATH is the
 *   model.json; without '#names' the levels are chosen automatically (last
 *   feature layer at strides 4, 8, 16).
 * Names are case-insensitive for the built-in ones; a few aliases are
 * accepted ('wrn50', 'mobilenet_v2', 'inception_v3').
 *
 * DEFAULT_BACKBONE is the packaged model recommended by the measurements in
 * docs/BACKBONES.md (scripts/compare-backbones.ts). `createBackbone()` without
 * a name uses RESAD_BACKBONE when set, else DEFAULT_BACKBONE. Use
 * 'wide_resnet50_2' to reproduce the paper when its weights are available.
 *
 * ```ts
 * import { createBackbone, listBackbones } from './backbones';
 * console.table(listBackbones());
 * const bb = await createBackbone('wide_resnet50_2', { weights: '/models/wrn50.safetensors' });
 * const user = await createBackbone('layers:/models/cnn/model.json#relu2,relu3,relu4', { input: { scale: 255 } });
 * ```
 */
import * as fs from 'fs';
import type { Backbone, BackboneOptions } from './types';
import { PACKAGED_MODELS, loadPackagedBackbone } from './packaged';
import { RESNET_ARCHS, createResNet, missingWeightsMessage } from './resnet';
import { loadTfjsBackbone } from './tfjs-models';

/**
 * Recommended default, chosen by measurement (docs/BACKBONES.md,
 * scripts/compare-backbones.ts): among the offline backbones it had the best
 * few-shot NN image and pixel AUROC (4 classes, K=4, 3 seeds) and is the
 * fastest (42-50 ms CPU per 224 image on wasm), 5.7 MB of weights.
 */
export const DEFAULT_BACKBONE = 'mobilenetv2_mid';

/** Environment variable naming the backbone `createBackbone()` uses when called without a name. */
export const BACKBONE_ENV_VAR = 'RESAD_BACKBONE';

const ALIASES: Readonly<Record<string, string>> = {
  wrn50: 'wide_resnet50_2',
  wrn50_2: 'wide_resnet50_2',
  wide_resnet50: 'wide_resnet50_2',
  wideresnet50: 'wide_resnet50_2',
  wrn101: 'wide_resnet101_2',
  mobilenet_v2: 'mobilenetv2',
  mobilenet_v2_mid: 'mobilenetv2_mid',
  inception_v3: 'inceptionv3',
};

export interface BackboneListing {
  name: string;
  kind: 'packaged' | 'resnet' | 'user';
  description: string;
  /** Whether createBackbone(name) works right now without extra options. */
  available: boolean;
  /** What is missing when not available, or how to use it. */
  note: string;
}

/** Built-in backbones and the user-model syntaxes, with availability on this machine. */
export function listBackbones(): BackboneListing[] {
  const out: BackboneListing[] = [];
  for (const m of Object.values(PACKAGED_MODELS)) {
    out.push({ name: m.name, kind: 'packaged', description: `${m.description} [${m.package}, ${m.licence}]`, available: true, note: `levels ${m.defaultLayers.join(', ')}` });
  }
  for (const a of Object.values(RESNET_ARCHS)) {
    const file = process.env[a.weightsEnv];
    const ok = !!file && fs.existsSync(file);
    out.push({
      name: a.name,
      kind: 'resnet',
      description: `torchvision ${a.name}, ImageNet weights from a safetensors file${a.name === 'wide_resnet50_2' ? " (the paper's backbone)" : ''}`,
      available: ok,
      note: ok ? `weights ${file}` : `set ${a.weightsEnv} or pass { weights } (docs/BACKBONES.md)`,
    });
  }
  out.push({ name: 'layers:PATH[#l1,l2,l3]', kind: 'user', description: 'tfjs layers model (model.json + weights)', available: false, note: 'levels auto-chosen at strides 4/8/16 without #names' });
  out.push({ name: 'graph:PATH[#n1,n2,n3]', kind: 'user', description: 'tfjs graph model (converter output)', available: false, note: 'node names or unique /-suffixes' });
  return out;
}

/** Canonical built-in name for `name` (aliases, case), or null for user-model specs / unknown names. */
export function canonicalBackboneName(name: string): string | null {
  const n = name.trim().toLowerCase().replace(/-/g, '_');
  const c = ALIASES[n] ?? n;
  return PACKAGED_MODELS[c] || RESNET_ARCHS[c] ? c : null;
}

/** Splits 'kind:PATH#a,b' into its path and level names. */
export function parseUserModelSpec(spec: string): { kind: 'layers' | 'graph'; path: string; layers: string[] | null } | null {
  const m = /^(layers|graph):(.+)$/.exec(spec);
  if (!m) return null;
  const kind = m[1] as 'layers' | 'graph';
  let file = m[2];
  let layers: string[] | null = null;
  const hash = file.lastIndexOf('#');
  if (hash >= 0) {
    layers = file.slice(hash + 1).split(',').map((s) => s.trim()).filter((s) => s !== '');
    file = file.slice(0, hash);
    if (layers.length === 0) throw new Error(`backbone '${spec}': nothing after '#'; give level names like #a,b,c or drop the '#'`);
  }
  if (file === '') throw new Error(`backbone '${spec}': missing the model.json path`);
  return { kind, path: file, layers };
}

function unknownBackboneError(chosen: string): Error {
  const known = [...Object.keys(PACKAGED_MODELS), ...Object.keys(RESNET_ARCHS)].join(', ');
  return new Error(`unknown backbone '${chosen}'; available: ${known}, or layers:PATH[#l1,l2] / graph:PATH[#n1,n2]`);
}

/**
 * Throws what createBackbone(name) would for an unknown name, a missing
 * user-model file or missing ResNet weights, without loading anything:
 * commands call it before they write any file.
 */
export function checkBackboneName(name?: string, options: { weights?: string } = {}): void {
  const env = process.env[BACKBONE_ENV_VAR];
  const chosen = name ?? (env && env.trim() !== '' ? env.trim() : DEFAULT_BACKBONE);
  const user = parseUserModelSpec(chosen);
  if (user) {
    if (!fs.existsSync(user.path)) throw new Error(`backbone '${chosen}': model file ${user.path} does not exist`);
    return;
  }
  const canonical = canonicalBackboneName(chosen);
  if (canonical === null) throw unknownBackboneError(chosen);
  const arch = RESNET_ARCHS[canonical];
  if (arch) {
    const fromEnv = process.env[arch.weightsEnv];
    const file = options.weights ?? (fromEnv && fromEnv.trim() !== '' ? fromEnv.trim() : undefined);
    if (file === undefined) throw new Error(missingWeightsMessage(arch, `no weights file given (option 'weights' or ${arch.weightsEnv})`));
    if (!fs.existsSync(file)) throw new Error(missingWeightsMessage(arch, `weights file ${file} (from ${options.weights !== undefined ? "option 'weights'" : arch.weightsEnv}) does not exist`));
  }
}

/**
 * Creates a frozen backbone by name (see the module comment). The name's
 * `#levels` win over `options.layers`. Errors name the file/layer at fault.
 */
export async function createBackbone(name?: string, options: BackboneOptions = {}): Promise<Backbone> {
  const env = process.env[BACKBONE_ENV_VAR];
  const chosen = name ?? (env && env.trim() !== '' ? env.trim() : DEFAULT_BACKBONE);
  const user = parseUserModelSpec(chosen);
  if (user) {
    if (!fs.existsSync(user.path)) throw new Error(`backbone '${chosen}': model file ${user.path} does not exist`);
    return loadTfjsBackbone(user.kind, user.path, { ...options, layers: user.layers ?? options.layers }, chosen);
  }
  const canonical = canonicalBackboneName(chosen);
  if (canonical === null) throw unknownBackboneError(chosen);
  if (PACKAGED_MODELS[canonical]) return loadPackagedBackbone(canonical, options);
  return createResNet(canonical, { weights: options.weights, layers: options.layers });
}
