/**
 * Where each file-weighted backbone's ImageNet weights come from: the
 * catalogue behind `resad weights get`, keyed by backbone registry name.
 *
 * Hashes are the publishers' own (the ONNX model zoo's Git LFS pointers);
 * Hugging Face does not publish one we could read, so those are `null` and
 * the hash computed at first download is what later checks compare against.
 *
 * ```ts
 * const src = weightSource('resnet50_v2');
 * downloadUrl(src);   // src.url, or the same path under RESAD_WEIGHTS_BASE_URL (a mirror)
 * ```
 */
import { normalizeBackboneName } from '../names';

export type WeightsFileFormat = 'onnx' | 'safetensors';

export interface WeightSource {
  /** Backbone registry name. */
  backbone: string;
  /** Name in the cache, e.g. 'resnet50-v2-7.onnx'. */
  fileName: string;
  url: string;
  /** Published hash; null when the source publishes none we could read. */
  sha256: string | null;
  /** Published size. */
  bytes: number | null;
  format: WeightsFileFormat;
  licence: string;
  /** One line: where it comes from. */
  origin: string;
  /** File name of the development copy in ../shared/backbones, if any. */
  sharedFile?: string;
}

/** Environment variable: a mirror that serves the catalogue's paths (replaces each URL's origin). */
export const WEIGHTS_BASE_URL_ENV = 'RESAD_WEIGHTS_BASE_URL';

function timmTorchvision(name: string): WeightSource {
  return {
    backbone: name,
    fileName: `${name}.tv_in1k.safetensors`,
    url: `https://huggingface.co/timm/${name}.tv_in1k/resolve/main/model.safetensors`,
    sha256: null,
    bytes: null,
    format: 'safetensors',
    licence: 'BSD-3-Clause (torchvision weights)',
    origin: 'torchvision ImageNet weights as timm publishes them (Hugging Face hub)',
  };
}

export const WEIGHT_SOURCES: Readonly<Record<string, WeightSource>> = Object.freeze({
  resnet50_v2: {
    backbone: 'resnet50_v2',
    fileName: 'resnet50-v2-7.onnx',
    url: 'https://github.com/onnx/models/raw/main/validated/vision/classification/resnet/model/resnet50-v2-7.onnx',
    sha256: '79102261eb6e5fd7af5d27f41316293e388c5cb691e5d25bfb035c4f64fefe31',
    bytes: 102442452,
    format: 'onnx',
    licence: 'Apache-2.0',
    origin: "ONNX model zoo ResNet50-v2 (ImageNet-1k, converted from MXNet Gluon); sha256 from the zoo's Git LFS pointer",
    sharedFile: 'resnet50_v2.safetensors',
  },
  mobilenetv2_imagenet: {
    backbone: 'mobilenetv2_imagenet',
    fileName: 'mobilenetv2-7.onnx',
    url: 'https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/mobilenetv2-7.onnx',
    sha256: 'c1c513582d56afceff8516c73804e484c81c6a830712ab6d682253f4a3cd042f',
    bytes: 14246826,
    format: 'onnx',
    licence: 'Apache-2.0',
    origin: "ONNX model zoo MobileNetV2 1.0 (ImageNet-1k); sha256 from the zoo's Git LFS pointer",
    sharedFile: 'mobilenetv2_1.0.safetensors',
  },
  wide_resnet50_2: timmTorchvision('wide_resnet50_2'),
  resnet18: timmTorchvision('resnet18'),
  resnet50: timmTorchvision('resnet50'),
});

export { normalizeBackboneName };

/** The catalogue entry for `backbone`, or null when it has none. */
export function findWeightSource(backbone: string): WeightSource | null {
  return WEIGHT_SOURCES[normalizeBackboneName(backbone)] ?? null;
}

/** The catalogue entry for `backbone`; the error lists the names that have one. */
export function weightSource(backbone: string): WeightSource {
  const source = findWeightSource(backbone);
  if (!source) throw new Error(`no download source for backbone '${backbone}'; the catalogue has ${Object.keys(WEIGHT_SOURCES).join(', ')}`);
  return source;
}

/**
 * The URL `resad weights get` downloads from: the catalogue's, or, with
 * RESAD_WEIGHTS_BASE_URL set (users behind a mirror), the same path and query
 * under that base. Published hashes still apply (a mirror cannot swap those files; the timm
 * files have no published hash, so for them only the tensor shapes are checked).
 */
export function downloadUrl(source: WeightSource, env: NodeJS.ProcessEnv = process.env): string {
  const base = env[WEIGHTS_BASE_URL_ENV]?.trim();
  if (!base) return source.url;
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new Error(`${WEIGHTS_BASE_URL_ENV}='${base}' is not a URL; give e.g. https://mirror.example.com/resad`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`${WEIGHTS_BASE_URL_ENV}='${base}' must be an http:// or https:// URL`);
  }
  const original = new URL(source.url);
  return base.replace(/\/+$/, '') + original.pathname + original.search;
}
