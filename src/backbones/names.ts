/**
 * How backbone names are spelled: one rule for the registry and the weights
 * manager, so `createBackbone('wrn50')` and `resad weights get wrn50` mean
 * the same backbone. A leaf module (no tfjs): the CLI's help reaches it.
 */

/** Other spellings of built-in backbones, after lower-casing and '-' -> '_'. */
const BACKBONE_ALIASES: Readonly<Record<string, string>> = {
  wrn50: 'wide_resnet50_2',
  wrn50_2: 'wide_resnet50_2',
  wide_resnet50: 'wide_resnet50_2',
  wideresnet50: 'wide_resnet50_2',
  wrn101: 'wide_resnet101_2',
  resnet50v2: 'resnet50_v2',
  // The packaged models' names before the ImageNet backbones arrived: saved models still load.
  mobilenetv2: 'nsfw_mobilenetv2',
  mobilenet_v2: 'nsfw_mobilenetv2',
  mobilenetv2_mid: 'nsfw_mobilenetv2_mid',
  mobilenet_v2_mid: 'nsfw_mobilenetv2_mid',
  inceptionv3: 'nsfw_inceptionv3',
  inception_v3: 'nsfw_inceptionv3',
};

/** 'ResNet50-V2' -> 'resnet50_v2', 'WRN50' -> 'wide_resnet50_2': case, dashes and aliases forgiven; unknown names pass through normalised. */
export function normalizeBackboneName(name: string): string {
  const n = name.trim().toLowerCase().replace(/-/g, '_');
  return BACKBONE_ALIASES[n] ?? n;
}
