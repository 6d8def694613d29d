/**
 * The one default backbone: what the `cpu` preset and the baselines run, and
 * `createBackbone()` without a name, with its packaged fallback for machines
 * without its ImageNet weights, and the input side each runs at. A leaf
 * module (no tfjs): the presets, which `resad --help` reaches, import it.
 *
 * ```ts
 * import { DEFAULT_BACKBONE, DEFAULT_BACKBONE_IMAGE_SIZE } from './defaults';
 * const config = { ...OFFLINE_CPU_CONFIG, backbone: DEFAULT_BACKBONE, imageSize: DEFAULT_BACKBONE_IMAGE_SIZE };
 * ```
 */

/** The ImageNet backbone of the `cpu` preset and the baselines, chosen on the quality benchmark (docs/QUALITY.md). */
export const DEFAULT_BACKBONE = 'mobilenetv2_imagenet';

/** The packaged backbone used when DEFAULT_BACKBONE's weights are nowhere to be found (offline, fresh clone). */
export const OFFLINE_BACKBONE = 'nsfw_mobilenetv2';

/** Input side (px) DEFAULT_BACKBONE runs at, chosen on the quality benchmark (docs/QUALITY.md). */
export const DEFAULT_BACKBONE_IMAGE_SIZE = 224;

/** Input side (px) OFFLINE_BACKBONE runs at, chosen on the quality benchmark (docs/QUALITY.md). */
export const OFFLINE_BACKBONE_IMAGE_SIZE = 160;

/** What is said when `name`'s ImageNet weights are missing and the packaged `fallback` runs instead. */
export function missingWeightsNote(name: string, fallback: string, imageSize: number): string {
  return `no ImageNet weights for ${name} here (npx resad weights get ${name}, docs/WEIGHTS.md): using the packaged backbone ${fallback} at ${imageSize} px instead`;
}
