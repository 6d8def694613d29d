/**
 * Pretrained backbones that ship inside an npm dependency, so they work
 * offline right after `npm install`: the three CNNs bundled by nsfwjs 4.4
 * (MIT). They are ImageNet-initialised and fine-tuned for NSFW classification;
 * not ImageNet WideResNet50 features, but clearly better than pixels for
 * few-shot patch matching (docs/BACKBONES.md has the measurements).
 *
 * | name                 | network                         | default levels (stride 4 / 8 / 16)                       | channels        |
 * |----------------------|---------------------------------|----------------------------------------------------------|-----------------|
 * | nsfw_mobilenetv2     | Keras MobileNetV2 1.0 (layers)  | block_3_expand_relu / block_6_expand_relu / block_13_expand_relu | 144 / 192 / 576 |
 * | nsfw_mobilenetv2_mid | TF-Hub MobileNetV2 1.4 (graph)  | expanded_conv_3/expand/Relu6 / _6 / _13                  | 192 / 288 / 816 |
 * | nsfw_inceptionv3     | Keras InceptionV3 (layers)      | activation_5 / mixed2 / mixed7                           | 192 / 288 / 768 |
 *
 * Their names say what they are: before the ImageNet backbones arrived they
 * were called `mobilenetv2`, `mobilenetv2_mid` and `inceptionv3`; those names
 * stay accepted as aliases, so models saved under them still load.
 *
 * Input: all three take RGB in [0,1] (nsfwjs divides bytes by 255; the
 * TF-Hub graph maps [0,1] to [-1,1] itself), so their normalisation is the
 * identity. InceptionV3 uses 'valid' padding: a 224 input gives 52/25/12 maps.
 *
 * How they are read (nsfwjs hides dist/models from its `exports` map): resolve
 * the package's main file, go to ../models/<dir>; `model.min.js` is a UMD
 * bundle exporting the model.json object and each `group1-shardKofN.min.js`
 * exports one base64 string: decode, concatenate in manifest order, load with
 * tf.io.fromMemory (see tfjs-models.ts for the topology cut that makes any
 * input size work). The bundles are dropped from require's cache afterwards.
 *
 * ```ts
 * const bb = await loadPackagedBackbone('nsfw_mobilenetv2');              // default levels
 * const bb2 = await loadPackagedBackbone('nsfw_inceptionv3', { layers: ['mixed2', 'mixed7'] });
 * ```
 */
import * as path from 'path';
import { backboneFromArtifacts } from './tfjs-models';
import type { ModelJson, TfjsModelKind } from './tfjs-models';
import type { BaseBackbone } from './common';
import type { BackboneOptions } from './types';

export interface PackagedModelInfo {
  /** Registry name. */
  readonly name: string;
  readonly package: string;
  readonly licence: string;
  /** Folder under the package's dist/models. */
  readonly dir: string;
  readonly kind: TfjsModelKind;
  readonly description: string;
  /** Level names used when the caller gives none. */
  readonly defaultLayers: readonly string[];
}

export const PACKAGED_MODELS: Readonly<Record<string, PackagedModelInfo>> = {
  nsfw_mobilenetv2: {
    name: 'nsfw_mobilenetv2',
    package: 'nsfwjs',
    licence: 'MIT',
    dir: 'mobilenet_v2',
    kind: 'layers',
    description: 'Keras MobileNetV2 1.0 (ImageNet init, NSFW fine-tune), 3.5 MB',
    defaultLayers: ['block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'],
  },
  nsfw_mobilenetv2_mid: {
    name: 'nsfw_mobilenetv2_mid',
    package: 'nsfwjs',
    licence: 'MIT',
    dir: 'mobilenet_v2_mid',
    kind: 'graph',
    description: 'TF-Hub MobileNetV2 1.4 graph model (ImageNet init, NSFW fine-tune), 5.7 MB',
    defaultLayers: ['expanded_conv_3/expand/Relu6', 'expanded_conv_6/expand/Relu6', 'expanded_conv_13/expand/Relu6'],
  },
  nsfw_inceptionv3: {
    name: 'nsfw_inceptionv3',
    package: 'nsfwjs',
    licence: 'MIT',
    dir: 'inception_v3',
    kind: 'layers',
    description: 'Keras InceptionV3 (ImageNet init, NSFW fine-tune), 29 MB',
    defaultLayers: ['activation_5', 'mixed2', 'mixed7'],
  },
};

/** Folder holding the package's bundled models; throws an install hint when the package is missing. */
export function packagedModelsDir(pkg: string): string {
  let main: string;
  try {
    main = require.resolve(pkg);
  } catch {
    throw new Error(`packaged backbones need the npm package '${pkg}' (a dependency of resad): run npm install`);
  }
  // main is <pkg>/dist/cjs/index.js; the models are in <pkg>/dist/models.
  return path.join(path.dirname(main), '..', 'models');
}

/** require() a UMD bundle by absolute path and drop it from the module cache (the shards are tens of MB). */
function requireOnce(file: string): unknown {
  let resolved: string;
  try {
    resolved = require.resolve(file);
  } catch {
    throw new Error(`packaged backbone file ${file} is missing (reinstall the package)`);
  }
  try {
    return require(resolved) as unknown;
  } finally {
    delete require.cache[resolved];
  }
}

/** model.json + concatenated weights of a packaged model. */
export function readPackagedArtifacts(info: PackagedModelInfo): { json: ModelJson; weightData: ArrayBuffer; origin: string } {
  const dir = path.join(packagedModelsDir(info.package), info.dir);
  const modelFile = path.join(dir, 'model.min.js');
  const json = requireOnce(modelFile) as ModelJson;
  if (!json || typeof json !== 'object' || !Array.isArray(json.weightsManifest)) {
    throw new Error(`packaged backbone ${info.name}: ${modelFile} does not export a tfjs model.json object`);
  }
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const file = path.join(dir, `${p}.min.js`);
      const b64 = requireOnce(file);
      if (typeof b64 !== 'string') throw new Error(`packaged backbone ${info.name}: ${file} does not export a base64 string`);
      parts.push(Buffer.from(b64, 'base64'));
    }
  }
  const all = Buffer.concat(parts);
  return { json, weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer, origin: modelFile };
}

/** Loads one of PACKAGED_MODELS (offline). `options.layers` overrides the default levels. */
export async function loadPackagedBackbone(name: string, options: BackboneOptions = {}): Promise<BaseBackbone> {
  const info = PACKAGED_MODELS[name];
  if (!info) throw new Error(`unknown packaged backbone '${name}'; available: ${Object.keys(PACKAGED_MODELS).join(', ')}`);
  const { json, weightData, origin } = readPackagedArtifacts(info);
  return backboneFromArtifacts(
    { name: info.name, kind: info.kind, json, weightData, origin },
    { ...options, layers: options.layers ?? info.defaultLayers, input: options.input ?? {} },
  );
}
