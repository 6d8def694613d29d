/**
 * The one interface every frozen feature extractor implements.
 *
 * Why: ResAD (and the nearest-neighbour baselines) only need "a few feature
 * maps at strides ~4/8/16" from a frozen CNN. Like timm's
 * `features_only=True` + `feature_info`, a Backbone tells its levels' names,
 * channels and strides, so no consumer hard-codes 256/512/1024 or 56/28/14.
 *
 * Contract (all implementations):
 * - `extract` takes NHWC RGB images with values in [0, 1] (what the data layer
 *   produces with `normalize: false`) and applies the backbone's OWN input
 *   normalisation (ImageNet mean/std for torchvision ResNets, [0,1] as-is for
 *   the nsfwjs Keras models, x255 for models trained on bytes, ...). Callers
 *   must never normalise themselves; `inputNormalization` says what is done.
 * - It returns one NHWC tensor per level, in `levels` order. The caller owns
 *   (and disposes) them; nothing else is left allocated.
 * - Any batch size and any spatial size the network accepts. The output size
 *   of level l is about H / stride_l; networks with 'valid' padding (InceptionV3)
 *   give a few cells less. `featureSizes(h, w)` gives the exact sizes.
 * - Frozen, inference mode: no trainable variables, BatchNorm uses its
 *   running statistics, dropout is off; the same input gives the same output.
 *
 * ```ts
 * const bb = await createBackbone('mobilenetv2_imagenet');
 * bb.levels.map((l) => `${l.name}: ${l.channels} ch @ 1/${l.stride}`);
 * const feats = bb.extract(images);     // images: tf.Tensor4D [N, 224, 224, 3] in [0,1]
 * tf.dispose(feats); bb.dispose();
 * ```
 */
import type * as tf from '@tensorflow/tfjs';

/** One output level (timm's feature_info entry). */
export interface FeatureLevelInfo {
  /** Layer / node / module name in the source network, e.g. 'layer2' or 'block_6_expand_relu'. */
  readonly name: string;
  /** Channels of the level's feature map. */
  readonly channels: number;
  /** Nominal reduction factor relative to the input (a power of two: 4, 8, 16, ...). */
  readonly stride: number;
}

/** x_net = (x * scale - mean) / std per channel, applied inside `extract`. */
export interface InputNormalization {
  readonly scale: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

export interface Backbone {
  /** Canonical name, e.g. 'wide_resnet50_2', 'mobilenetv2_imagenet', 'nsfw_mobilenetv2', 'layers:/path/model.json'. */
  readonly name: string;
  readonly levels: readonly FeatureLevelInfo[];
  /** What `extract` does to its [0,1] input before the network (documentation; already applied). */
  readonly inputNormalization: InputNormalization;
  /** NHWC RGB in [0,1] -> one NHWC feature map per level. The caller disposes the results. */
  extract(images: tf.Tensor4D): tf.Tensor4D[];
  /** Exact [height, width] of every level for an input of height x width (runs the network once per new size, cached). */
  featureSizes(height: number, width: number): Array<[number, number]>;
  /** Frees the weights. The backbone is unusable afterwards. */
  dispose(): void;
}

/** Options understood by the registry (each backbone ignores what does not apply to it). */
export interface BackboneOptions {
  /**
   * Layer / node names of the levels, overriding the backbone's default
   * choice (packaged Keras models, user models). For ResNets: a subset of
   * 'layer1'..'layer4'.
   */
  layers?: readonly string[];
  /** Weights file (.onnx or .safetensors) of an ImageNet backbone; default: the weights manager's (weights/manager.ts: --weights, the ResNets' environment variables, the cache, ../shared/backbones). */
  weights?: string;
  /** Input normalisation for user models (default: identity, i.e. the model takes [0,1]). */
  input?: Partial<InputNormalization>;
  /** Square input size used to infer channels/strides of user models with free input size (default 224). */
  probeSize?: number;
}
