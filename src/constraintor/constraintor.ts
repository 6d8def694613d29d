/**
 * Feature Constraintor C (ResAD paper §3.2, spec step 4): a shallow trainable
 * network per feature level mapping residual features r to r' of the same
 * shape, trained with the abnormal-invariant OCC loss (occ-loss.ts) to pull
 * normal residuals into a hypersphere.
 *
 * Variants (paper ablation Table 4; official models/modules.py):
 *   'none'               identity (ablation "w/o constraintor"); no variables
 *   'conv-bn-relu'       Conv3x3 + BN + ReLU per level (DEFAULT; paper, and the
 *                        code's MultiScaleConv)
 *   'conv-bn'            Conv3x3 + BN per level, no ReLU: a signed output, so
 *                        the anomaly term can keep a signed residual x - x*
 *                        unchanged (not in the paper)
 *   'basic-block'        ResNet BasicBlock per level (MultiScaleBasicBlock)
 *   'bottleneck'         ResNet Bottleneck, width C/4, per level (MultiScaleBottleneck)
 *   'multi-scale-fusion' FPN-like cross-level fusion only (MultiScaleFusion)
 *   'msf+basic-block'    fusion, then a BasicBlock per level (MultiScaleFusionAndBasicblock)
 *   'msf+bottleneck'     fusion, then a Bottleneck per level (MultiScaleFusionAndBottleneck)
 * See blocks.ts for each block's structure and the fusion's tfjs equivalents
 * (depthwise conv with channel multiplier for the grouped strided convs).
 *
 * Training: `apply(levels, true)` uses batch statistics in BatchNorm and
 * updates the running statistics (momentum 0.1, PyTorch); `apply(levels,
 * false)` uses the running statistics and changes nothing. Train with
 * `optimizer.minimize(() => loss(c.apply(r, true)), false, c.trainableVariables)`.
 * The paper's optimiser (Adam, lr 1e-5, weight decay 5e-4) is the trainer's job.
 *
 * Weights: `getWeights()` returns every variable (incl. running statistics)
 * under PyTorch-state_dict-like names (`l1_proj.conv.weight`, ...; levels are
 * 1-based like the code's l1/l2/l3), conv kernels in tfjs layout (layers.ts).
 *
 * ```ts
 * const c = createConstraintor('conv-bn-relu', [256, 512, 1024], 0);
 * const rPrime = c.apply(residuals, true);   // per level, same shapes
 * const saved = c.getWeights();  c.setWeights(saved);
 * tf.dispose(rPrime); c.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { BasicBlock, Bottleneck, ConvBn, ConvBnRelu, LevelBlock, MultiScaleFusion } from './blocks';
import { BatchNormOptions, ConvInit, NamedWeights, ParamRegistry } from './layers';

import { CONSTRAINTOR_KINDS, ConstraintorKind } from './kinds';
export { CONSTRAINTOR_KINDS, ConstraintorKind };

/** The paper's default. */
export const DEFAULT_CONSTRAINTOR: ConstraintorKind = 'conv-bn-relu';

export interface Constraintor {
  readonly kind: ConstraintorKind;
  /** Channels per level it was built for. */
  readonly channels: readonly number[];
  /**
   * r -> r', one [B, H, W, C_l] tensor per level, same shapes. New tensors owned
   * by the caller (also for 'none', which returns copies); inputs not consumed.
   */
  apply(levels: readonly tf.Tensor4D[], training: boolean): tf.Tensor4D[];
  /** What the optimiser updates (empty for 'none'). */
  readonly trainableVariables: tf.Variable[];
  /** Every weight incl. BatchNorm running statistics, as plain arrays. */
  getWeights(): NamedWeights;
  /** Restores getWeights() output; throws (changing nothing) on a missing/extra/misshaped weight. */
  setWeights(weights: NamedWeights): void;
  dispose(): void;
}

export interface ConstraintorOptions {
  /** Nominal stride per level (only the ratios matter, for the fusion kernels). Default 4, 8, 16, ... (x2 per level). */
  strides?: readonly number[];
  /** Weight initialisation. Default 'torch-default' (what the official code gets). */
  init?: ConvInit;
  /** BatchNorm momentum / eps. Default 0.1 / 1e-5 (PyTorch). */
  batchNorm?: BatchNormOptions;
  /**
   * Initial gamma of the output BatchNorm of 'conv-bn-relu' / 'conv-bn':
   * 'one' (PyTorch) or 'unit-norm' (1 / sqrt(C_l)). BatchNorm makes every
   * channel unit-variance, so with gamma 1 the output norm starts near
   * sqrt(C_l) (12-24 here), far outside the OCC hypersphere (radius ~1), and a
   * short training barely moves gamma; 'unit-norm' starts it near 1.
   */
  bnGammaInit?: BnGammaInit;
}

/** See ConstraintorOptions.bnGammaInit. */
export type BnGammaInit = 'one' | 'unit-norm';

class LevelwiseConstraintor implements Constraintor {
  private readonly reg: ParamRegistry;
  private readonly fusion: MultiScaleFusion | null;
  private readonly blocks: LevelBlock[] | null;

  constructor(
    readonly kind: ConstraintorKind,
    readonly channels: readonly number[],
    seed: number,
    options: ConstraintorOptions,
  ) {
    if (channels.length === 0) throw new Error('createConstraintor: no levels');
    channels.forEach((c, l) => {
      if (!(Number.isInteger(c) && c >= 1)) throw new Error(`createConstraintor: level ${l} has ${c} channels`);
    });
    this.reg = new ParamRegistry(new Rng(seed), options.init ?? 'torch-default');
    const bn = options.batchNorm ?? {};
    const usesFusion = kind === 'multi-scale-fusion' || kind === 'msf+basic-block' || kind === 'msf+bottleneck';
    if (usesFusion) {
      const strides = options.strides ?? channels.map((_, l) => 4 * 2 ** l);
      this.fusion = new MultiScaleFusion(this.reg, channels, strides);
    } else {
      this.fusion = null;
    }
    const outputBn = (c: number): BatchNormOptions => ({ ...bn, gammaInit: options.bnGammaInit === 'unit-norm' ? 1 / Math.sqrt(c) : bn.gammaInit });
    const make = (c: number, l: number): LevelBlock | null => {
      const name = `l${l + 1}_proj`;
      switch (kind) {
        case 'conv-bn-relu':
          return new ConvBnRelu(this.reg, name, c, outputBn(c));
        case 'conv-bn':
          return new ConvBn(this.reg, name, c, outputBn(c));
        case 'basic-block':
        case 'msf+basic-block':
          return new BasicBlock(this.reg, name, c, bn);
        case 'bottleneck':
        case 'msf+bottleneck':
          return new Bottleneck(this.reg, name, c, bn);
        default:
          return null;
      }
    };
    const blocks = channels.map(make);
    this.blocks = blocks.every((b): b is LevelBlock => b !== null) ? blocks : null;
  }

  get trainableVariables(): tf.Variable[] {
    return this.reg.trainableVariables;
  }

  apply(levels: readonly tf.Tensor4D[], training: boolean): tf.Tensor4D[] {
    if (this.reg.disposed) throw new Error('constraintor used after dispose()');
    if (levels.length !== this.channels.length) throw new Error(`constraintor: ${levels.length} levels, built for ${this.channels.length}`);
    levels.forEach((x, l) => {
      if (x.rank !== 4 || x.shape[3] !== this.channels[l]) {
        throw new Error(`constraintor: level ${l} must be [B, H, W, ${this.channels[l]}], got [${x.shape}]`);
      }
    });
    // One tidy: intermediates (and BN statistic temporaries) are freed; gradients
    // still flow when called inside optimizer.minimize / tf.variableGrads.
    return tf.tidy(() => {
      const fused = this.fusion === null ? levels.slice() : this.fusion.apply(levels);
      const blocks = this.blocks;
      return blocks === null ? fused : fused.map((x, l) => blocks[l].apply(x, training));
    });
  }

  getWeights(): NamedWeights {
    return this.reg.getWeights();
  }

  setWeights(weights: NamedWeights): void {
    this.reg.setWeights(weights);
  }

  dispose(): void {
    this.reg.dispose();
  }
}

class IdentityConstraintor implements Constraintor {
  readonly kind = 'none' as const;
  readonly trainableVariables: tf.Variable[] = [];
  private released = false;

  constructor(readonly channels: readonly number[]) {}

  apply(levels: readonly tf.Tensor4D[], _training: boolean): tf.Tensor4D[] {
    if (this.released) throw new Error('constraintor used after dispose()');
    if (levels.length !== this.channels.length) throw new Error(`constraintor: ${levels.length} levels, built for ${this.channels.length}`);
    // Copies (sharing data), so the caller can dispose inputs and outputs independently.
    return levels.map((x) => tf.clone(x));
  }

  getWeights(): NamedWeights {
    return [];
  }

  setWeights(weights: NamedWeights): void {
    if (weights.length !== 0) throw new Error(`setWeights: the 'none' constraintor has no weights, got ${weights[0].name}`);
  }

  dispose(): void {
    this.released = true;
  }
}

/**
 * Builds a constraintor for levels with the given channel counts. `seed` makes
 * the initial weights reproducible.
 */
export function createConstraintor(
  kind: ConstraintorKind,
  channels: readonly number[],
  seed: number,
  options: ConstraintorOptions = {},
): Constraintor {
  if (!(CONSTRAINTOR_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`createConstraintor: unknown kind '${String(kind)}' (one of ${CONSTRAINTOR_KINDS.join(', ')})`);
  }
  if (kind === 'none') return new IdentityConstraintor(channels.slice());
  return new LevelwiseConstraintor(kind, channels.slice(), seed, options);
}
