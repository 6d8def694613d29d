/**
 * The building blocks of the feature constraintor variants (ResAD paper §3.2
 * and its ablation Table 4; official code models/modules.py), NHWC, raw tf ops.
 *
 * - ConvBnRelu  = ConvBnAct:  Conv3x3(bias) -> BN -> ReLU            (paper default)
 * - ConvBn      = Conv3x3(bias) -> BN, no activation: a signed output for the
 *                 signed residual x - x* (a ReLU output cannot equal it)
 * - BasicBlock  = timm BasicBlock(C, C):  conv3x3 -> BN -> ReLU -> conv3x3 -> BN,
 *                 + identity shortcut, ReLU (convs without bias)
 * - Bottleneck  = timm Bottleneck(C, C/4): 1x1 C->C/4, BN, ReLU, 3x3, BN, ReLU,
 *                 1x1 C/4->C, BN, + identity, ReLU (convs without bias)
 * - MultiScaleFusion (FPN-like): level j gets x_j + sum_{i != j} T_ij(x_i) with
 *     coarser i (upsampling):  bilinear resize (align_corners=True) + 1x1 conv Ci->Cj
 *     finer i (downsampling):  conv with groups = Ci, stride s = stride_j / stride_i,
 *                              kernel s + 1, padding s / 2 (code: s=2 -> k3 p1,
 *                              s=4 -> k5 p2), Ci -> Cj
 *
 * Choices:
 * - Upsampling path: the code upsamples then applies the 1x1 conv. Bilinear
 *   interpolation and a 1x1 conv commute exactly (both linear, per-pixel
 *   bilinear weights sum to 1 so the bias passes through), so we project FIRST
 *   at the coarse resolution, 4x (16x for s = 4) fewer conv FLOPs; equal up to
 *   float rounding (checked against PyTorch in the tests).
 * - Downsampling path: PyTorch's grouped conv with groups = Ci and Cj = m * Ci
 *   is exactly tfjs's depthwiseConv2d with channel multiplier m (same output
 *   channel order c * m + q), strided, explicit symmetric padding. tfjs has no
 *   general grouped conv: when Cj is not a multiple of Ci (e.g. MobileNet
 *   channel counts), PyTorch's module could not be built at all; we then use a
 *   depthwise-separable equivalent in spirit: depthwise k x k stride s
 *   (multiplier 1, no bias) followed by a 1x1 conv Ci->Cj (bias), named
 *   `.depthwise` / `.pointwise`.
 * - If a strided output is not exactly the target level's size (odd sizes), it
 *   is bilinearly resized to it, so any backbone geometry works.
 *
 * ```ts
 * const reg = new ParamRegistry(new Rng(1));
 * const block = new BasicBlock(reg, 'l1_proj', 64);
 * const y = block.apply(x, true);   // x: [B, H, W, 64] -> [B, H, W, 64]
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm, BatchNormOptions, Conv2d, DepthwiseConv2d, ParamRegistry } from './layers';

/** One per-level module: [B, H, W, C] -> same shape. */
export interface LevelBlock {
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

/** Conv3x3 (with bias) + BatchNorm, no activation: can represent signed residuals. */
export class ConvBn implements LevelBlock {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;

  constructor(reg: ParamRegistry, name: string, channels: number, bn: BatchNormOptions = {}) {
    this.conv = new Conv2d(reg, `${name}.conv`, { inChannels: channels, outChannels: channels, kernel: 3 });
    this.bn = new BatchNorm(reg, `${name}.bn`, channels, bn);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.bn.apply(this.conv.apply(x), training);
  }
}

/** Official ConvBnAct: Conv3x3 (with bias, nn.Conv2d default) + BatchNorm + ReLU. */
export class ConvBnRelu extends ConvBn {
  override apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => tf.relu(super.apply(x, training)));
  }
}

/** timm BasicBlock(C, C) with identity shortcut (no attention, no drop path). */
export class BasicBlock implements LevelBlock {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;

  constructor(reg: ParamRegistry, name: string, channels: number, bn: BatchNormOptions = {}) {
    const spec = { inChannels: channels, outChannels: channels, kernel: 3, bias: false };
    this.conv1 = new Conv2d(reg, `${name}.conv1`, spec);
    this.bn1 = new BatchNorm(reg, `${name}.bn1`, channels, bn);
    this.conv2 = new Conv2d(reg, `${name}.conv2`, spec);
    this.bn2 = new BatchNorm(reg, `${name}.bn2`, channels, bn);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const y = tf.relu(this.bn1.apply(this.conv1.apply(x), training));
    const z = this.bn2.apply(this.conv2.apply(y), training);
    return tf.relu(tf.add(z, x)) as tf.Tensor4D;
  }
}

/** timm Bottleneck(C, C/4): expansion 4 brings C/4 back to C, identity shortcut. */
export class Bottleneck implements LevelBlock {
  readonly width: number;
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm;
  private readonly conv3: Conv2d;
  private readonly bn3: BatchNorm;

  constructor(reg: ParamRegistry, name: string, channels: number, bn: BatchNormOptions = {}) {
    // timm: planes = C // 4, width = planes, outplanes = planes * 4; the identity
    // shortcut needs outplanes == C, i.e. C divisible by 4.
    if (channels % 4 !== 0) throw new Error(`Bottleneck ${name}: channels must be a multiple of 4, got ${channels}`);
    const w = channels / 4;
    this.width = w;
    this.conv1 = new Conv2d(reg, `${name}.conv1`, { inChannels: channels, outChannels: w, kernel: 1, bias: false });
    this.bn1 = new BatchNorm(reg, `${name}.bn1`, w, bn);
    this.conv2 = new Conv2d(reg, `${name}.conv2`, { inChannels: w, outChannels: w, kernel: 3, bias: false });
    this.bn2 = new BatchNorm(reg, `${name}.bn2`, w, bn);
    this.conv3 = new Conv2d(reg, `${name}.conv3`, { inChannels: w, outChannels: channels, kernel: 1, bias: false });
    this.bn3 = new BatchNorm(reg, `${name}.bn3`, channels, bn);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const a = tf.relu(this.bn1.apply(this.conv1.apply(x), training));
    const b = tf.relu(this.bn2.apply(this.conv2.apply(a), training));
    const c = this.bn3.apply(this.conv3.apply(b), training);
    return tf.relu(tf.add(c, x)) as tf.Tensor4D;
  }
}

/** One source -> target path of the fusion. */
interface FusionPath {
  apply(x: tf.Tensor4D, targetH: number, targetW: number): tf.Tensor4D;
}

/** Coarse -> fine: 1x1 projection at the coarse size, then bilinear align_corners resize (see module doc). */
class UpsampleConv implements FusionPath {
  private readonly conv: Conv2d;
  constructor(reg: ParamRegistry, name: string, ci: number, co: number) {
    this.conv = new Conv2d(reg, `${name}.conv`, { inChannels: ci, outChannels: co, kernel: 1 });
  }
  apply(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
    return tf.image.resizeBilinear(this.conv.apply(x), [h, w], true);
  }
}

/** Fine -> coarse: grouped (depthwise-multiplier) strided conv, or the separable fallback. */
class DownsampleConv implements FusionPath {
  private readonly depthwise: DepthwiseConv2d;
  private readonly pointwise: Conv2d | null;

  constructor(reg: ParamRegistry, name: string, ci: number, co: number, scale: number) {
    // code: s=2 -> kernel 3 pad 1, s=4 -> kernel 5 pad 2; odd s gets kernel s+2 so the padding stays symmetric.
    const kernel = scale % 2 === 0 ? scale + 1 : scale + 2;
    const padding = (kernel - 1) / 2;
    if (co % ci === 0) {
      this.depthwise = new DepthwiseConv2d(reg, name, { channels: ci, multiplier: co / ci, kernel, stride: scale, padding });
      this.pointwise = null;
    } else {
      this.depthwise = new DepthwiseConv2d(reg, `${name}.depthwise`, { channels: ci, multiplier: 1, kernel, stride: scale, padding, bias: false });
      this.pointwise = new Conv2d(reg, `${name}.pointwise`, { inChannels: ci, outChannels: co, kernel: 1 });
    }
  }

  apply(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
    let y = this.depthwise.apply(x);
    if (this.pointwise !== null) y = this.pointwise.apply(y);
    if (y.shape[1] !== h || y.shape[2] !== w) y = tf.image.resizeBilinear(y, [h, w], true);
    return y;
  }
}

/** Official MultiScaleFusion generalised to L levels (module doc). No normalisation, no activation. */
export class MultiScaleFusion {
  /** paths[j][i]: source i -> target j (null on the diagonal). */
  private readonly paths: Array<Array<FusionPath | null>>;

  constructor(reg: ParamRegistry, channels: readonly number[], strides: readonly number[]) {
    if (strides.length !== channels.length) throw new Error(`MultiScaleFusion: ${strides.length} strides for ${channels.length} levels`);
    const L = channels.length;
    // Created in the official module's order (per target: coarser-from first for
    // level 1 ...): irrelevant for values (each weight has its own seed), kept for readable names.
    this.paths = [];
    for (let j = 0; j < L; j++) {
      const row: Array<FusionPath | null> = [];
      for (let i = 0; i < L; i++) {
        if (i === j) {
          row.push(null);
          continue;
        }
        const name = `l${i + 1}_to_l${j + 1}`;
        if (strides[i] > strides[j]) {
          row.push(new UpsampleConv(reg, name, channels[i], channels[j]));
        } else {
          const s = strides[j] / strides[i];
          if (!Number.isInteger(s) || s < 2) {
            throw new Error(`MultiScaleFusion: stride ratio ${strides[j]}/${strides[i]} between levels ${i} and ${j} must be an integer >= 2`);
          }
          row.push(new DownsampleConv(reg, name, channels[i], channels[j], s));
        }
      }
      this.paths.push(row);
    }
  }

  apply(levels: readonly tf.Tensor4D[]): tf.Tensor4D[] {
    if (levels.length !== this.paths.length) throw new Error(`MultiScaleFusion: ${levels.length} levels, built for ${this.paths.length}`);
    return levels.map((xj, j) => {
      const [, h, w] = xj.shape;
      const terms: tf.Tensor4D[] = [xj];
      levels.forEach((xi, i) => {
        const path = this.paths[j][i];
        if (path !== null) terms.push(path.apply(xi, h, w));
      });
      return tf.addN(terms);
    });
  }
}
