/**
 * Frozen pretrained feature extractors for ResAD and the NN baselines
 * (pipeline step 1 of docs/RESAD_SPEC.md).
 *
 * Every backbone implements {@link Backbone}: it declares its levels (name,
 * channels, stride; timm's feature_info idea), takes NHWC RGB in [0,1] and
 * applies its own input normalisation, and returns one NHWC map per level.
 * See docs/BACKBONES.md for the choices and measurements, and
 * docs/WEIGHTS.md for getting ImageNet weights (`resad weights get NAME`).
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
export { DEFAULT_BACKBONE, DEFAULT_BACKBONE_IMAGE_SIZE, OFFLINE_BACKBONE, OFFLINE_BACKBONE_IMAGE_SIZE, missingWeightsNote } from './defaults';
export { BACKBONE_ENV_VAR, canonicalBackboneName, checkBackboneName, createBackbone, defaultBackbone, defaultBackboneInput, listBackbones, needsWeightsFile, parseUserModelSpec } from './registry';
export type { BackboneListing } from './registry';
export { PACKAGED_MODELS, loadPackagedBackbone } from './packaged';
export type { PackagedModelInfo } from './packaged';
export { RESNET_ARCHS, createResNet, resnetWeightKeys } from './resnet';
export type { ResNetArch, ResNetOptions } from './resnet';
export { RESNET50_V2, RESNET_V2_DEFAULT_LEVELS, RESNET_V2_LEVELS, createResNetV2, resnetV2WeightKeys } from './resnet-v2';
export type { ResNetV2Options } from './resnet-v2';
export { MOBILENETV2_IMAGENET, MOBILENETV2_IMAGENET_DEFAULT_LEVELS, createMobileNetV2ImageNet, mobileNetV2WeightKeys } from './mobilenetv2-imagenet';
export type { MobileNetV2ImageNetOptions } from './mobilenetv2-imagenet';
export { ConvNetBackbone, ConvNetBuilder, convNetOf, runConvNet } from './convnet';
export type { ConvNetActivation, ConvNetOp, ConvNetProgram } from './convnet';
export { openWeightsFile, readTensor } from './weights-file';
export type { WeightsFile, WeightsFormat } from './weights-file';
export { checkWeightsFit, expectedTensors, fileWeightedBackbones } from './weight-fit';
export * from './weights/index';
export { frozenExtractor } from './extractor';
export type { FrozenExtractor } from './extractor';
export type { ExpectedTensor } from './weight-fit';
export { loadTfjsBackbone, readModelJsonFiles } from './tfjs-models';
export type { TfjsModelKind } from './tfjs-models';
export { SafetensorsFile, decodeSafetensors, encodeSafetensors, floatToHalf, halfToFloat } from './safetensors';
export type { SafetensorsDtype, SafetensorsTensorInfo, SafetensorsTensorInput } from './safetensors';
