/**
 * One entry point for every backbone: `createBackbone(name, options)`.
 *
 * Names:
 * - ImageNet, weights from a file: 'resnet50_v2' and 'mobilenetv2_imagenet'
 *   (the ONNX model zoo's `.onnx` files or safetensors with their tensor
 *   names), and the torchvision ResNets 'wide_resnet50_2' (the paper's),
 *   'resnet18', 'resnet34', 'resnet50', 'wide_resnet101_2' (torchvision/timm
 *   names). The weights are found by the weights manager (weights/): the
 *   `weights` option (`--weights FILE`), the ResNets' environment variables
 *   (RESAD_WRN50_WEIGHTS, ...), the weights cache (`resad weights get NAME`),
 *   then a development copy in ../shared/backbones.
 * - packaged, offline: 'nsfw_mobilenetv2', 'nsfw_mobilenetv2_mid',
 *   'nsfw_inceptionv3' (nsfwjs; ImageNet-initialised, fine-tuned for NSFW
 *   classification; once called 'mobilenetv2', 'mobilenetv2_mid',
 *   'inceptionv3', names that stay accepted so saved models load)
 * - user models: 'layers:PATH[#l1,l2,l3]' (Keras-style tfjs layers model) and
 *   'graph:PATH[#node1,node2,node3]' (converted graph model); PATH is the
 *   model.json; without '#names' the levels are chosen automatically (last
 *   feature layer at strides 4, 8, 16).
 * Names are case-insensitive for the built-in ones; a few aliases are
 * accepted ('wrn50', 'mobilenet_v2', 'inception_v3').
 *
 * `createBackbone()` without a name uses RESAD_BACKBONE when set, else
 * `defaultBackbone()`: DEFAULT_BACKBONE when its weights are found, else the
 * packaged OFFLINE_BACKBONE (so a fresh clone works offline).
 *
 * ```ts
 * import { createBackbone, listBackbones } from './backbones';
 * console.table(listBackbones());
 * const bb = await createBackbone('resnet50_v2');                                   // weights from the cache
 * const wrn = await createBackbone('wide_resnet50_2', { weights: '/models/wrn50.safetensors' });
 * const user = await createBackbone('layers:/models/cnn/model.json#relu2,relu3,relu4', { input: { scale: 255 } });
 * ```
 */
import * as fs from 'fs';
import type { Backbone, BackboneOptions } from './types';
import { PACKAGED_MODELS, loadPackagedBackbone } from './packaged';
import { RESNET_ARCHS, createResNet } from './resnet';
import { RESNET50_V2, createResNetV2 } from './resnet-v2';
import { MOBILENETV2_IMAGENET, createMobileNetV2ImageNet } from './mobilenetv2-imagenet';
import { loadTfjsBackbone } from './tfjs-models';
import { findWeights, overriddenWeights, resolveWeights, WEIGHT_SOURCES } from './weights/index';
import { fileWeightedBackbones } from './weight-fit';
import { normalizeBackboneName } from './names';
import { DEFAULT_BACKBONE, DEFAULT_BACKBONE_IMAGE_SIZE, missingWeightsNote, OFFLINE_BACKBONE, OFFLINE_BACKBONE_IMAGE_SIZE } from './defaults';

/** Environment variable naming the backbone `createBackbone()` uses when called without a name. */
export const BACKBONE_ENV_VAR = 'RESAD_BACKBONE';

const FILE_WEIGHTED: readonly string[] = fileWeightedBackbones();

/** Whether `name` (canonical) loads its weights from a file the user provides. */
export function needsWeightsFile(name: string): boolean {
  return FILE_WEIGHTED.includes(name);
}

/** The backbone `createBackbone()` uses without a name or RESAD_BACKBONE: DEFAULT_BACKBONE when its weights are found, else OFFLINE_BACKBONE. */
export function defaultBackbone(): string {
  return findWeights(DEFAULT_BACKBONE) !== null ? DEFAULT_BACKBONE : OFFLINE_BACKBONE;
}

/**
 * defaultBackbone() with the input side it runs at and, for the fallback, the
 * note saying why. A weights file given for the run (--weights) is
 * DEFAULT_BACKBONE's, so it never falls back.
 */
export function defaultBackboneInput(options: { weightsFileGiven?: boolean } = {}): { backbone: string; imageSize: number; note: string | null } {
  if (options.weightsFileGiven || defaultBackbone() === DEFAULT_BACKBONE) return { backbone: DEFAULT_BACKBONE, imageSize: DEFAULT_BACKBONE_IMAGE_SIZE, note: null };
  return { backbone: OFFLINE_BACKBONE, imageSize: OFFLINE_BACKBONE_IMAGE_SIZE, note: missingWeightsNote(DEFAULT_BACKBONE, OFFLINE_BACKBONE, OFFLINE_BACKBONE_IMAGE_SIZE) };
}

export interface BackboneListing {
  name: string;
  kind: 'packaged' | 'imagenet' | 'user';
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
  for (const name of FILE_WEIGHTED) {
    let available = true;
    let note: string;
    try {
      const found = resolveWeights(name, explicitWeights(name, undefined));
      note = `weights ${found.path} (${found.origin})`;
    } catch (err) {
      available = false;
      note = explicitWeights(name, undefined) ? (err as Error).message : `no weights found: npx resad weights get ${name} (docs/WEIGHTS.md)`;
    }
    const source = WEIGHT_SOURCES[name];
    out.push({ name, kind: 'imagenet', description: source ? `${source.origin} [${source.licence}]` : `torchvision ${name}, ImageNet weights from a file`, available, note });
  }
  out.push({ name: 'layers:PATH[#l1,l2,l3]', kind: 'user', description: 'tfjs layers model (model.json + weights)', available: false, note: 'levels auto-chosen at strides 4/8/16 without #names' });
  out.push({ name: 'graph:PATH[#n1,n2,n3]', kind: 'user', description: 'tfjs graph model (converter output)', available: false, note: 'node names or unique /-suffixes' });
  return out;
}

/** Canonical built-in name for `name` (aliases, case), or null for user-model specs / unknown names. */
export function canonicalBackboneName(name: string): string | null {
  const c = normalizeBackboneName(name);
  return PACKAGED_MODELS[c] || FILE_WEIGHTED.includes(c) ? c : null;
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
  const known = [...FILE_WEIGHTED, ...Object.keys(PACKAGED_MODELS)].join(', ');
  return new Error(`unknown backbone '${chosen}'; available: ${known}, or layers:PATH[#l1,l2] / graph:PATH[#n1,n2]`);
}

/** The weights file named by the caller: the `weights` option, else `--weights` (overrideWeights), else a ResNet's environment variable. */
function explicitWeights(name: string, weights: string | undefined): { path: string; via: string } | undefined {
  if (weights !== undefined) return { path: weights, via: "option 'weights'" };
  const override = overriddenWeights(name);
  if (override !== undefined) return { path: override, via: '--weights' };
  const env = RESNET_ARCHS[name]?.weightsEnv;
  const fromEnv = env ? process.env[env]?.trim() : undefined;
  return env && fromEnv ? { path: fromEnv, via: env } : undefined;
}

function chosenName(name: string | undefined): string {
  const env = process.env[BACKBONE_ENV_VAR];
  return name ?? (env && env.trim() !== '' ? env.trim() : defaultBackbone());
}

/**
 * Throws what createBackbone(name) would for an unknown name, a missing
 * user-model file or missing weights, without loading anything: commands
 * call it before they write any file.
 */
export function checkBackboneName(name?: string, options: { weights?: string } = {}): void {
  const chosen = chosenName(name);
  const user = parseUserModelSpec(chosen);
  if (user) {
    if (!fs.existsSync(user.path)) throw new Error(`backbone '${chosen}': model file ${user.path} does not exist`);
    return;
  }
  const canonical = canonicalBackboneName(chosen);
  if (canonical === null) throw unknownBackboneError(chosen);
  if (needsWeightsFile(canonical)) resolveWeights(canonical, explicitWeights(canonical, options.weights), { envVar: RESNET_ARCHS[canonical]?.weightsEnv });
}

/**
 * Creates a frozen backbone by name (see the module comment). The name's
 * `#levels` win over `options.layers`. Errors name the file/layer at fault.
 */
export async function createBackbone(name?: string, options: BackboneOptions = {}): Promise<Backbone> {
  const chosen = chosenName(name);
  const user = parseUserModelSpec(chosen);
  if (user) {
    if (!fs.existsSync(user.path)) throw new Error(`backbone '${chosen}': model file ${user.path} does not exist`);
    return loadTfjsBackbone(user.kind, user.path, { ...options, layers: user.layers ?? options.layers }, chosen);
  }
  const canonical = canonicalBackboneName(chosen);
  if (canonical === null) throw unknownBackboneError(chosen);
  if (PACKAGED_MODELS[canonical]) return loadPackagedBackbone(canonical, options);
  const weights = resolveWeights(canonical, explicitWeights(canonical, options.weights), { envVar: RESNET_ARCHS[canonical]?.weightsEnv }).path;
  if (canonical === RESNET50_V2) return createResNetV2({ weights, layers: options.layers });
  if (canonical === MOBILENETV2_IMAGENET) return createMobileNetV2ImageNet({ weights, layers: options.layers });
  return createResNet(canonical, { weights, layers: options.layers });
}
