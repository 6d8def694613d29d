/**
 * One conditional affine coupling block in the style of FrEIA's AllInOneBlock
 * (vislearn/FrEIA, FrEIA/modules/all_in_one_block.py), the building block of
 * ResAD's feature distribution estimator (spec step 6; ResAD models/fc_flow.py,
 * CFlow-AD's conditional flow). Vectors only: x is [N, C], the condition [N, P].
 *
 * Forward, for x = [x1 | x2] with len(x1) = ceil(C/2), len(x2) = floor(C/2)
 * (FrEIA's split):
 *   a      = 0.1 * subnet([x1 | cond])       subnet = Linear(in, 2in) -> ReLU -> Linear(2in, 2 len(x2))
 *   s      = softClamp(a[:, :len2])           log-scale, |s| < clamp
 *   x2'    = x2 * exp(s) + a[:, len2:]
 *   u      = [x1 | x2'] * g + t               g = 0.1 * softplus_{beta=0.5}(gamma)  (learned global affine)
 *   y      = u R                              R fixed orthogonal (rotation or permutation)
 *   log|det J| = sum(s) + sum(log g)          exact, per sample (R contributes 0)
 *
 * Choices and why:
 * - "Subnet outputs scaled down at start": FrEIA multiplies the whole coefficient
 *   tensor (log-scale AND shift) by 0.1 inside `_affine`, every call (not just an
 *   init trick); the subnet itself keeps PyTorch's default nn.Linear init
 *   (U(-1/sqrt(in), 1/sqrt(in)) for weights and biases). We do the same, so a
 *   freshly built block is close to, but not exactly, the identity. `init: 'zero'`
 *   zeroes the last layer to get an exact identity coupling (tests, ablations).
 * - Soft clamp: the spec's `clamp * 0.636 * atan(a / clamp)` (FrEIA's GLOW/RNVP
 *   coupling blocks; 0.636 ~ 2/pi so |s| < 0.999 clamp) is the default. FrEIA's
 *   AllInOneBlock itself uses `clamp * tanh(a)` (up to mid-2023, incl. commit
 *   4e0c6ab that ResAD pins) and `clamp * tanh(a / clamp)` since 2023-08:
 *   options 'tanh' and 'tanh-scaled'. All act on the already 0.1-scaled a.
 * - Global affine: FrEIA's SOFTPLUS type, pre-activation initialised to
 *   2 log(exp(5 * global_affine_init) - 1) so that g = global_affine_init.
 * - Mixing: FrEIA's default (`permute_soft=False`) is a hard random permutation;
 *   ResAD and CFlow-AD pass `permute_soft=True`, a random rotation from SO(C).
 *   Default here: 'soft' (ResAD). Either is applied as a matMul with a stored
 *   [in, out] matrix, and the inverse uses a stored transpose. The matMuls also
 *   carry hand-written gradients with explicit transposes (for R: through the
 *   stored R^T), so no matMul, forward, inverse or backward, uses a transpose
 *   flag (those run as a slow scalar loop on the wasm backend).
 *
 * ```ts
 * const block = new CouplingBlock({ dim: 256, condDim: 256, seed: 1 });
 * const { y, logdet } = block.forward(x, cond);   // [N, 256], [N]
 * const xBack = block.inverse(y, cond);
 * block.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { randomPermutationMatrix, randomRotation, transposeSquare } from './permutation';

/** How the coupling log-scale is bounded (see module doc). */
export type SoftClamp = 'atan' | 'tanh' | 'tanh-scaled';
/** The fixed mixing after each block: random rotation ('soft'), random hard permutation, or none. */
export type PermutationKind = 'soft' | 'hard' | 'none';
/** Subnet initialisation: PyTorch nn.Linear default ('torch'), or the same with a zero last layer ('zero'). */
export type SubnetInit = 'torch' | 'zero';

export interface CouplingBlockOptions {
  /** Channels C of the transformed vectors. */
  dim: number;
  /** Channels P of the condition (0 = unconditional). Default 0. */
  condDim?: number;
  /** Soft-clamp bound on the log-scale. Default 1.9 (ResAD `--clamp_alpha`). */
  clamp?: number;
  softClamp?: SoftClamp;
  permutation?: PermutationKind;
  /** Initial global scale g (FrEIA `global_affine_init`). Default 1. */
  globalAffineInit?: number;
  /** Subnet hidden width = hiddenRatio * (len(x1) + P). Default 2 (ResAD `subnet_fc`). */
  hiddenRatio?: number;
  init?: SubnetInit;
  /** Random stream for weights and the permutation; default `new Rng(seed ?? 0)`. */
  rng?: Rng;
  seed?: number;
}

/** A weight for checkpoints: plain values, row-major, with its shape. */
export interface NamedWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

/**
 * Result of a forward pass: output and per-sample log|det dy/dx|. (A type
 * alias, not an interface, so that it satisfies tf.tidy's TensorContainer.)
 */
export type FlowForward = {
  y: tf.Tensor2D;
  logdet: tf.Tensor1D;
};

/** FrEIA's log-scale factor (2/pi rounded as in FrEIA's atan clamp). */
const ATAN_FACTOR = 0.636;
/** FrEIA scales the whole subnet output by this, every call. */
const SUBNET_OUTPUT_SCALE = 0.1;

/** Pre-activation gamma such that 0.1 * softplus_{beta=0.5}(gamma) = init (FrEIA SOFTPLUS). */
export function globalScalePreactivation(init: number): number {
  if (!(init > 0)) throw new Error(`globalAffineInit must be > 0, got ${init}`);
  return 2 * Math.log(Math.expm1(0.5 * 10 * init));
}

function makeVariable(values: Float32Array, shape: number[], trainable: boolean): tf.Variable {
  // Variables are not tracked by tidy; the temporary tensor is disposed at once,
  // so constructing a block inside tf.tidy is safe and leak-free.
  const t = tf.tensor(values, shape, 'float32');
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

/*
 * x W with a hand-written gradient. tfjs's own MatMul gradient calls matMul with
 * transposeA / transposeB, which the wasm backend runs as a scalar loop (10-50x
 * slower than its no-flag path; shared/docs/ENV_NOTES.md): a full logProb + grad of
 * the spec-sized flow took ~190 s on wasm that way, ~16 s with this. Here the gradients are
 * dX = dY transpose(W) and dW = transpose(X) dY with explicit (cheap) transposes,
 * so every matMul, forward and backward, is flag-free. Same values on any backend.
 */
const matMulFlagFree = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const a = args[0] as tf.Tensor2D;
  const b = args[1] as tf.Tensor2D;
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]) as tf.Tensor2D),
      tf.matMul(tf.transpose(saved[0]) as tf.Tensor2D, dy as tf.Tensor2D),
    ],
  };
}) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.uniform() * 2 - 1) * bound;
  return out;
}

export class CouplingBlock {
  readonly dim: number;
  readonly condDim: number;
  readonly len1: number;
  readonly len2: number;
  readonly hidden: number;
  readonly clamp: number;
  readonly softClamp: SoftClamp;
  readonly permutation: PermutationKind;

  /** Subnet weights, [in, out] layout so the forward pass is matMul(x, W) with no transpose. */
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;
  /** Global affine: pre-activation scale gamma [C] and offset t [C]. */
  private readonly globalScale: tf.Variable;
  private readonly globalOffset: tf.Variable;
  /** Fixed mixing R [C, C] and its inverse R^T (non-trainable; null when permutation = 'none'). */
  private readonly perm: tf.Variable | null;
  private readonly permInv: tf.Variable | null;
  /** u R with gradient dy R^T through the stored R^T (no transposes at all; R is fixed). */
  private readonly mix: ((u: tf.Tensor2D) => tf.Tensor2D) | null;
  private disposed = false;

  constructor(options: CouplingBlockOptions) {
    const dim = options.dim;
    const condDim = options.condDim ?? 0;
    if (!Number.isInteger(dim) || dim < 2) throw new Error(`CouplingBlock: dim must be an integer >= 2, got ${dim}`);
    if (!Number.isInteger(condDim) || condDim < 0) throw new Error(`CouplingBlock: condDim must be an integer >= 0, got ${condDim}`);
    const clamp = options.clamp ?? 1.9;
    if (!(clamp > 0)) throw new Error(`CouplingBlock: clamp must be > 0, got ${clamp}`);
    const hiddenRatio = options.hiddenRatio ?? 2;
    const rng = options.rng ?? new Rng(options.seed ?? 0);

    this.dim = dim;
    this.condDim = condDim;
    this.len1 = dim - Math.floor(dim / 2);
    this.len2 = Math.floor(dim / 2);
    this.clamp = clamp;
    this.softClamp = options.softClamp ?? 'atan';
    this.permutation = options.permutation ?? 'soft';
    const inDim = this.len1 + condDim;
    this.hidden = Math.max(1, Math.round(hiddenRatio * inDim));
    const outDim = 2 * this.len2;

    // PyTorch nn.Linear default: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias likewise.
    const wRng = rng.fork('subnet');
    const bound1 = 1 / Math.sqrt(inDim);
    const bound2 = 1 / Math.sqrt(this.hidden);
    const zeroLast = (options.init ?? 'torch') === 'zero';
    this.w1 = makeVariable(uniform(wRng, inDim * this.hidden, bound1), [inDim, this.hidden], true);
    this.b1 = makeVariable(uniform(wRng, this.hidden, bound1), [this.hidden], true);
    this.w2 = makeVariable(zeroLast ? new Float32Array(this.hidden * outDim) : uniform(wRng, this.hidden * outDim, bound2), [this.hidden, outDim], true);
    this.b2 = makeVariable(zeroLast ? new Float32Array(outDim) : uniform(wRng, outDim, bound2), [outDim], true);

    const gamma = globalScalePreactivation(options.globalAffineInit ?? 1);
    this.globalScale = makeVariable(new Float32Array(dim).fill(gamma), [dim], true);
    this.globalOffset = makeVariable(new Float32Array(dim), [dim], true);

    if (this.permutation === 'none') {
      this.perm = null;
      this.permInv = null;
      this.mix = null;
    } else {
      const pRng = rng.fork('permutation');
      const r = this.permutation === 'soft' ? randomRotation(dim, pRng) : randomPermutationMatrix(dim, pRng);
      const perm = makeVariable(Float32Array.from(r), [dim, dim], false);
      const permInv = makeVariable(Float32Array.from(transposeSquare(r, dim)), [dim, dim], false);
      this.perm = perm;
      this.permInv = permInv;
      this.mix = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
        value: tf.matMul(args[0] as tf.Tensor2D, perm as tf.Tensor2D),
        gradFunc: (dy: tf.Tensor): tf.Tensor => tf.matMul(dy as tf.Tensor2D, permInv as tf.Tensor2D),
      })) as (u: tf.Tensor2D) => tf.Tensor2D;
    }
  }

  /** The fixed mixing matrix R [C, C] (null when permutation = 'none'); read-only use (fused training graphs). */
  get mixing(): tf.Variable | null {
    return this.perm;
  }

  /** The variables an optimizer should update (subnet + global affine). */
  get trainableVariables(): tf.Variable[] {
    return [this.w1, this.b1, this.w2, this.b2, this.globalScale, this.globalOffset];
  }

  private checkInputs(x: tf.Tensor2D, cond: tf.Tensor2D | undefined, what: string): void {
    if (this.disposed) throw new Error('CouplingBlock: used after dispose()');
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new Error(`CouplingBlock.${what}: expected [N, ${this.dim}], got [${x.shape}]`);
    if (this.condDim > 0) {
      if (cond === undefined) throw new Error(`CouplingBlock.${what}: a condition [N, ${this.condDim}] is required`);
      if (cond.rank !== 2 || cond.shape[1] !== this.condDim || cond.shape[0] !== x.shape[0]) {
        throw new Error(`CouplingBlock.${what}: condition must be [${x.shape[0]}, ${this.condDim}], got [${cond.shape}]`);
      }
    }
  }

  /** Subnet coefficients, already multiplied by 0.1: returns [log-scale s (clamped), shift]. */
  private coefficients(x1: tf.Tensor2D, cond: tf.Tensor2D | undefined): [tf.Tensor2D, tf.Tensor2D] {
    const input = this.condDim > 0 && cond !== undefined ? tf.concat2d([x1, cond], 1) : x1;
    const h = tf.relu(tf.add(matMulFlagFree(input, this.w1 as tf.Tensor2D), this.b1)) as tf.Tensor2D;
    const a = tf.mul(tf.add(matMulFlagFree(h, this.w2 as tf.Tensor2D), this.b2), SUBNET_OUTPUT_SCALE) as tf.Tensor2D;
    const aScale = tf.slice(a, [0, 0], [-1, this.len2]);
    const shift = tf.slice(a, [0, this.len2], [-1, this.len2]);
    return [this.applySoftClamp(aScale), shift];
  }

  private applySoftClamp(a: tf.Tensor2D): tf.Tensor2D {
    switch (this.softClamp) {
      case 'atan':
        return tf.mul(tf.atan(tf.div(a, this.clamp)), this.clamp * ATAN_FACTOR);
      case 'tanh':
        return tf.mul(tf.tanh(a), this.clamp);
      case 'tanh-scaled':
        return tf.mul(tf.tanh(tf.div(a, this.clamp)), this.clamp);
    }
  }

  /** g = 0.1 * softplus_{beta=0.5}(gamma) = 0.2 * softplus(gamma / 2). */
  private globalScaleValue(): tf.Tensor1D {
    return tf.mul(tf.softplus(tf.mul(this.globalScale, 0.5)), 0.2) as tf.Tensor1D;
  }

  /** y = block(x | cond) and the exact per-sample log|det dy/dx|. */
  forward(x: tf.Tensor2D, cond?: tf.Tensor2D): FlowForward {
    this.checkInputs(x, cond, 'forward');
    return tf.tidy((): FlowForward => {
      const x1 = tf.slice(x, [0, 0], [-1, this.len1]);
      const x2 = tf.slice(x, [0, this.len1], [-1, this.len2]);
      const [s, shift] = this.coefficients(x1, cond);
      const y2 = tf.add(tf.mul(x2, tf.exp(s)), shift);
      const g = this.globalScaleValue();
      const u = tf.add(tf.mul(tf.concat2d([x1, y2 as tf.Tensor2D], 1), g), this.globalOffset) as tf.Tensor2D;
      const y: tf.Tensor2D = this.mix === null ? u : this.mix(u);
      // The global affine's log-det is the same for every sample: add it as a scalar.
      const logdet = tf.add(tf.sum(s, 1), tf.sum(tf.log(g))) as tf.Tensor1D;
      return { y, logdet };
    });
  }

  /** x = block^{-1}(y | cond). */
  inverse(y: tf.Tensor2D, cond?: tf.Tensor2D): tf.Tensor2D {
    this.checkInputs(y, cond, 'inverse');
    return tf.tidy(() => {
      const u = this.permInv === null ? y : tf.matMul(y, this.permInv as tf.Tensor2D);
      const v = tf.div(tf.sub(u, this.globalOffset), this.globalScaleValue()) as tf.Tensor2D;
      const x1 = tf.slice(v, [0, 0], [-1, this.len1]);
      const y2 = tf.slice(v, [0, this.len1], [-1, this.len2]);
      const [s, shift] = this.coefficients(x1, cond);
      const x2 = tf.mul(tf.sub(y2, shift), tf.exp(tf.neg(s))) as tf.Tensor2D;
      return tf.concat2d([x1, x2], 1);
    });
  }

  /** The clamped log-scale s for inputs x (diagnostics and tests). */
  logScale(x: tf.Tensor2D, cond?: tf.Tensor2D): tf.Tensor2D {
    this.checkInputs(x, cond, 'logScale');
    return tf.tidy(() => this.coefficients(tf.slice(x, [0, 0], [-1, this.len1]), cond)[0]);
  }

  private namedVariables(): Array<[string, tf.Variable]> {
    const list: Array<[string, tf.Variable]> = [
      ['w1', this.w1], ['b1', this.b1], ['w2', this.w2], ['b2', this.b2],
      ['globalScale', this.globalScale], ['globalOffset', this.globalOffset],
    ];
    // The mixing matrix is fixed but random: it is part of the checkpoint so a
    // restored flow does not depend on the seed it was built with.
    if (this.perm !== null) list.push(['perm', this.perm]);
    return list;
  }

  /** Names and shapes of the state getWeights returns (no data read). */
  weightSpecs(prefix = ''): Array<{ name: string; shape: number[] }> {
    return this.namedVariables().map(([name, v]) => ({ name: prefix + name, shape: v.shape.slice() }));
  }

  /** All state as plain arrays (names prefixed by `prefix`). */
  getWeights(prefix = ''): NamedWeight[] {
    if (this.disposed) throw new Error('CouplingBlock: used after dispose()');
    return this.namedVariables().map(([name, v]) => ({
      name: prefix + name,
      shape: v.shape.slice(),
      values: Float32Array.from(v.dataSync()),
    }));
  }

  /** Restores state written by getWeights (same prefix). Every weight must be present with its shape. */
  setWeights(weights: readonly NamedWeight[], prefix = ''): void {
    if (this.disposed) throw new Error('CouplingBlock: used after dispose()');
    const byName = new Map(weights.map((w) => [w.name, w]));
    const updates: Array<[tf.Variable, NamedWeight]> = [];
    for (const [name, v] of this.namedVariables()) {
      const w = byName.get(prefix + name);
      if (w === undefined) throw new Error(`CouplingBlock.setWeights: missing weight ${prefix + name}`);
      const expected = v.shape.reduce((p, d) => p * d, 1);
      if (w.shape.length !== v.shape.length || w.shape.some((d, i) => d !== v.shape[i]) || w.values.length !== expected) {
        throw new Error(`CouplingBlock.setWeights: ${prefix + name} has shape [${w.shape}] (${w.values.length} values), expected [${v.shape}]`);
      }
      updates.push([v, w]);
    }
    // Validate everything before assigning anything, so a bad checkpoint leaves the block intact.
    for (const [v, w] of updates) {
      const t = tf.tensor(w.values, v.shape, 'float32');
      v.assign(t);
      t.dispose();
    }
    if (this.perm !== null && this.permInv !== null) {
      const n = this.dim;
      const p = this.perm.dataSync();
      const t = tf.tensor(Float32Array.from(transposeSquare(p, n)), [n, n], 'float32');
      this.permInv.assign(t);
      t.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const [, v] of this.namedVariables()) v.dispose();
    this.permInv?.dispose();
  }
}
