/**
 * Frozen pretrained feature extractors for ResAD and the NN baselines
 * (pipeline step 1 of docs/RESAD_SPEC.md).
 *
 * Every backbone implements {@link Backbone}: it declares its levels (name,
 * channels, stride; timm's feature_info idea), takes NHWC RGB in [0,1] and
 * applies its own input normalisation, and returns one NHWC map per level.
 * See docs/BACKBONES.md for the choices, measurements and how to get the
 * paper's WideResNet50-2 weights.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { createBackbone, DEFAULT_BACKBONE } from './backbones';
 * const bb = await createBackbone(DEFAULT_BACKBONE);
 * const feats = bb.extract(tf.zeros([1, 224, 224, 3]) as tf.Tensor4D);
 * console.log(bb.levels, feats.map((f) => f.shape));
 * tf.dispose(feats); bb.dispose();
 * ```
 */
export type { Backbone, BackboneOptions, FeatureLevelInfo, InputNormalization } from './types';
export { IMAGENET_NORMALIZATION, IDENTITY_NORMALIZATION, applyNormalization, inferStride } from './common';
export { BACKBONE_ENV_VAR, DEFAULT_BACKBONE, canonicalBackboneName, checkBackboneName, createBackbone, listBackbones, parseUserModelSpec } from './registry';
export type { BackboneListing } from './registry';
export { PACKAGED_MODELS, loadPackagedBackbone } from './packaged';
export type { PackagedModelInfo } from './packaged';
export { RESNET_ARCHS, createResNet, missingWeightsMessage, resnetWeightKeys } from './resnet';
export type { ResNetArch, ResNetOptions } from './resnet';
export { loadTfjsBackbone, readModelJsonFiles } from './tfjs-models';
export type { TfjsModelKind } from './tfjs-models';
export { SafetensorsFile, decodeSafetensors, encodeSafetensors, floatToHalf, halfToFloat } from './safetensors';
export type { SafetensorsDtype, SafetensorsTensorInfo, SafetensorsTensorInput } from './safetensors';
