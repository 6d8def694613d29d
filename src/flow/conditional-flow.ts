/**
 * ResAD's feature distribution estimator (spec step 6): a conditional
 * normalizing flow of N AllInOne-style coupling blocks (see ./coupling-block)
 * mapping a residual feature x [C] with a condition c [P] (the 2-D positional
 * encoding, ./positional-encoding) to z ~ N(0, I):
 *
 *   log p(x | c) = log N(z; 0, I) + log|det dz/dx|
 *                = -0.5 |z|^2 - (C/2) log(2 pi) + sum_blocks logdet
 *
 * The Gaussian constant is included, as in ResAD's `get_logp`
 * (C * -0.9189 = -(C/2) log 2pi), so logProb is a true log-density in nats.
 * The losses and the score use the log-density divided by C ("normalised by
 * C_l", ResAD `logps / dim`): `logProbPerDim`.
 *
 * Defaults follow the paper (8 blocks; the official code uses 10: pass
 * `blocks: 10`), condition dim 256, clamp 1.9, random rotations (see
 * coupling-block for every FrEIA-derived choice). Built from raw tf ops on
 * tf.Variables owned by the flow, so `tf.variableGrads(f, flow.trainableVariables)`
 * or `optimizer.minimize(f, true, flow.trainableVariables)` train it.
 *
 * ```ts
 * const flow = new ConditionalFlow({ dim: 256, condDim: 256, seed: 7 });
 * const opt = tf.train.adam(1e-4);
 * opt.minimize(() => tf.neg(tf.mean(flow.logProbPerDim(x, cond))), false, flow.trainableVariables);
 * const ckpt = flow.getWeights();           // plain Float32Arrays for saving
 * flow.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { CouplingBlock, NamedWeight, PermutationKind, SoftClamp, SubnetInit } from './coupling-block';

export type { NamedWeight, PermutationKind, SoftClamp, SubnetInit } from './coupling-block';

/** log(2 pi). */
export const LOG_2PI = Math.log(2 * Math.PI);

export interface ConditionalFlowOptions {
  /** Feature channels C. */
  dim: number;
  /** Condition channels P (0 = unconditional flow). Default 256 (spec). */
  condDim?: number;
  /** Number of coupling blocks. Default 8 (paper); the official code uses 10. */
  blocks?: number;
  clamp?: number;
  softClamp?: SoftClamp;
  permutation?: PermutationKind;
  globalAffineInit?: number;
  hiddenRatio?: number;
  init?: SubnetInit;
  /** Seed for weights and permutations. Default 0. */
  seed?: number;
}

/** The fully resolved configuration (stored with checkpoints). */
export interface ConditionalFlowConfig {
  dim: number;
  condDim: number;
  blocks: number;
  clamp: number;
  softClamp: SoftClamp;
  permutation: PermutationKind;
  globalAffineInit: number;
  hiddenRatio: number;
  init: SubnetInit;
  seed: number;
}

/** Latent code and per-sample log|det dz/dx| (a type alias so tf.tidy can return it). */
export type FlowLatent = {
  z: tf.Tensor2D;
  logdet: tf.Tensor1D;
};

/** log N(z; 0, I) per row, including the -(C/2) log(2 pi) constant. */
export function standardNormalLogProb(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.mul(tf.sum(tf.square(z), 1), -0.5), 0.5 * z.shape[1] * LOG_2PI) as tf.Tensor1D);
}

export class ConditionalFlow {
  readonly config: ConditionalFlowConfig;
  private readonly blockList: CouplingBlock[];
  private disposed = false;

  constructor(options: ConditionalFlowOptions) {
    this.config = {
      dim: options.dim,
      condDim: options.condDim ?? 256,
      blocks: options.blocks ?? 8,
      clamp: options.clamp ?? 1.9,
      softClamp: options.softClamp ?? 'atan',
      permutation: options.permutation ?? 'soft',
      globalAffineInit: options.globalAffineInit ?? 1,
      hiddenRatio: options.hiddenRatio ?? 2,
      init: options.init ?? 'torch',
      seed: options.seed ?? 0,
    };
    const c = this.config;
    if (!Number.isInteger(c.blocks) || c.blocks < 1) throw new Error(`ConditionalFlow: blocks must be a positive integer, got ${c.blocks}`);
    const rng = new Rng(c.seed);
    this.blockList = [];
    try {
      for (let i = 0; i < c.blocks; i++) {
        this.blockList.push(new CouplingBlock({
          dim: c.dim, condDim: c.condDim, clamp: c.clamp, softClamp: c.softClamp,
          permutation: c.permutation, globalAffineInit: c.globalAffineInit,
          hiddenRatio: c.hiddenRatio, init: c.init, rng: rng.fork(`block${i}`),
        }));
      }
    } catch (err) {
      for (const b of this.blockList) b.dispose();
      throw err;
    }
  }

  get dim(): number { return this.config.dim; }
  get condDim(): number { return this.config.condDim; }
  get numBlocks(): number { return this.blockList.length; }
  /** The blocks, in forward order (read-only use: diagnostics, tests). */
  get blocks(): readonly CouplingBlock[] { return this.blockList; }

  /** Every trainable tf.Variable of the flow (the fixed permutations are excluded). */
  get trainableVariables(): tf.Variable[] {
    this.checkAlive();
    return this.blockList.flatMap((b) => b.trainableVariables);
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('ConditionalFlow: used after dispose()');
  }

  /** z = f(x | cond) and the per-sample log|det dz/dx| summed over blocks. */
  forward(x: tf.Tensor2D, cond?: tf.Tensor2D): FlowLatent {
    this.checkAlive();
    return tf.tidy((): FlowLatent => {
      let h = x;
      let logdet: tf.Tensor1D | null = null;
      for (const block of this.blockList) {
        const out = block.forward(h, cond);
        h = out.y;
        logdet = logdet === null ? out.logdet : tf.add(logdet, out.logdet) as tf.Tensor1D;
      }
      return { z: h, logdet: logdet as tf.Tensor1D };
    });
  }

  /** x = f^{-1}(z | cond). */
  inverse(z: tf.Tensor2D, cond?: tf.Tensor2D): tf.Tensor2D {
    this.checkAlive();
    return tf.tidy(() => {
      let h = z;
      for (let i = this.blockList.length - 1; i >= 0; i--) h = this.blockList[i].inverse(h, cond);
      return h;
    });
  }

  /** log p(x | cond) in nats per sample: log N(z; 0, I) (with its constant) + log|det|. Shape [N]. */
  logProb(x: tf.Tensor2D, cond?: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const { z, logdet } = this.forward(x, cond);
      return tf.add(standardNormalLogProb(z), logdet) as tf.Tensor1D;
    });
  }

  /** log p(x | cond) / C: the quantity ResAD's losses and scores use ("normalised by C_l"). */
  logProbPerDim(x: tf.Tensor2D, cond?: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.div(this.logProb(x, cond), this.config.dim) as tf.Tensor1D);
  }

  /**
   * Draws x ~ p(. | cond) by inverting z ~ N(0, I) (one sample per condition row).
   * Mainly a sanity tool (the detector only needs densities).
   */
  sample(cond: tf.Tensor2D | number, rng: Rng): tf.Tensor2D {
    this.checkAlive();
    const n = typeof cond === 'number' ? cond : cond.shape[0];
    const c = typeof cond === 'number' ? undefined : cond;
    const values = new Float32Array(n * this.dim);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal();
    return tf.tidy(() => this.inverse(tf.tensor2d(values, [n, this.dim]), c));
  }

  /** All state (trainable weights and the fixed permutations) as plain arrays, names `block{i}.{name}`. */
  getWeights(): NamedWeight[] {
    this.checkAlive();
    return this.blockList.flatMap((b, i) => b.getWeights(`block${i}.`));
  }

  /**
   * Restores weights from getWeights of a flow with the same dim / condDim /
   * blocks / hiddenRatio. Everything is checked (names, shapes, no extras)
   * before anything is assigned.
   */
  setWeights(weights: readonly NamedWeight[]): void {
    this.checkAlive();
    const byName = new Map(weights.map((w) => [w.name, w]));
    const specs = this.blockList.flatMap((b, i) => b.weightSpecs(`block${i}.`));
    for (const spec of specs) {
      const w = byName.get(spec.name);
      const size = spec.shape.reduce((p, d) => p * d, 1);
      if (w === undefined) throw new Error(`ConditionalFlow.setWeights: missing weight ${spec.name}`);
      if (w.shape.join(',') !== spec.shape.join(',') || w.values.length !== size) {
        throw new Error(`ConditionalFlow.setWeights: ${spec.name} has shape [${w.shape}], expected [${spec.shape}]`);
      }
    }
    const known = new Set(specs.map((s) => s.name));
    const extra = weights.filter((w) => !known.has(w.name)).map((w) => w.name);
    if (extra.length > 0) throw new Error(`ConditionalFlow.setWeights: unknown weights ${extra.slice(0, 5).join(', ')}`);
    this.blockList.forEach((b, i) => b.setWeights(weights, `block${i}.`));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.blockList) b.dispose();
  }
}
