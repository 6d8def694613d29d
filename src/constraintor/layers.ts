/**
 * Minimal trainable layers for the feature constraintor, built from raw tf ops
 * and tf.variable weights (not tf.layers), so that
 * - training is plain `optimizer.minimize(() => loss)` / `tf.variableGrads`,
 * - weights serialise as a flat list of named arrays (NamedWeights),
 * - names mirror the PyTorch state_dict of the official modules
 *   (e.g. `l1_proj.conv.weight`, `l1_proj.bn.running_var`), which makes
 *   importing a PyTorch checkpoint a matter of transposing conv kernels.
 *
 * Layout: NHWC activations. Conv kernels are stored in tfjs layout
 * [kh, kw, in, out] (PyTorch [out, in, kh, kw] -> permute(2, 3, 1, 0));
 * depthwise kernels [kh, kw, in, multiplier] (PyTorch grouped conv with
 * groups = in, weight [in * multiplier, 1, kh, kw]: output channel
 * c * multiplier + q in both).
 *
 * Initialisation (seeded: every tensor draws from rng.fork(its name), so adding
 * a layer never changes the others' values):
 * - 'torch-default' (DEFAULT): what the official modules get, since they are
 *   built standalone (not inside a timm ResNet, whose init_weights is never
 *   called): PyTorch's nn.Conv2d default, kaiming_uniform_(a=sqrt(5)), i.e.
 *   weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 * - 'kaiming-normal': kaiming_normal_(mode='fan_out', nonlinearity='relu'),
 *   std = sqrt(2 / fan_out), bias 0 (torchvision / timm ResNet init).
 * BatchNorm: gamma 1, beta 0, running mean 0, running var 1 (PyTorch).
 *
 * ```ts
 * const reg = new ParamRegistry(new Rng(0), 'torch-default');
 * const conv = new Conv2d(reg, 'conv', { inChannels: 8, outChannels: 8, kernel: 3 });
 * const bn = new BatchNorm(reg, 'bn', 8);
 * const y = tf.relu(bn.apply(conv.apply(x), true));
 * reg.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

/** One weight for checkpoints: plain values (row-major, tfjs layout) with its shape. */
export interface ConstraintorWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** A constraintor's whole state, trainable weights and BatchNorm running statistics. */
export type NamedWeights = ConstraintorWeight[];

/** Weight initialisation scheme (see module doc). */
export type ConvInit = 'torch-default' | 'kaiming-normal';

interface Entry {
  name: string;
  variable: tf.Variable;
}

/** Owns every variable of a model, by name, in creation order. */
export class ParamRegistry {
  private readonly entries: Entry[] = [];
  private readonly names = new Set<string>();
  private released = false;

  constructor(
    readonly rng: Rng,
    readonly init: ConvInit = 'torch-default',
  ) {}

  /** Registers a variable initialised with `values`. Names must be unique. */
  add(name: string, shape: number[], values: Float32Array, trainable: boolean): tf.Variable {
    if (this.names.has(name)) throw new Error(`ParamRegistry: duplicate weight name ${name}`);
    this.names.add(name);
    // No tf.variable name: tfjs names are global, and two models would collide.
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), trainable));
    this.entries.push({ name, variable: v });
    return v;
  }

  /** Trainable variables in creation order. */
  get trainableVariables(): tf.Variable[] {
    return this.entries.filter((e) => e.variable.trainable).map((e) => e.variable);
  }

  /** All (name, variable) pairs in creation order. */
  named(): ReadonlyArray<Readonly<Entry>> {
    return this.entries;
  }

  getWeights(): NamedWeights {
    this.assertAlive();
    return this.entries.map((e) => ({
      name: e.name,
      shape: e.variable.shape.slice(),
      values: Float32Array.from(e.variable.dataSync()),
    }));
  }

  /** Restores every weight (all must be present with their shapes; extra names are an error too). */
  setWeights(weights: readonly ConstraintorWeight[]): void {
    this.assertAlive();
    const byName = new Map(weights.map((w) => [w.name, w]));
    for (const w of weights) {
      if (!this.names.has(w.name)) throw new Error(`setWeights: unexpected weight ${w.name}`);
    }
    const updates: Array<[tf.Variable, ConstraintorWeight]> = [];
    for (const e of this.entries) {
      const w = byName.get(e.name);
      if (w === undefined) throw new Error(`setWeights: missing weight ${e.name}`);
      const shape = e.variable.shape;
      const size = shape.reduce((p, d) => p * d, 1);
      if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]) || w.values.length !== size) {
        throw new Error(`setWeights: ${e.name} has shape [${w.shape}] (${w.values.length} values), expected [${shape}]`);
      }
      updates.push([e.variable, w]);
    }
    // Everything is validated before anything is assigned: a bad checkpoint leaves the model intact.
    for (const [v, w] of updates) {
      tf.tidy(() => v.assign(tf.tensor(w.values, v.shape, 'float32')));
    }
  }

  get disposed(): boolean {
    return this.released;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    for (const e of this.entries) e.variable.dispose();
  }

  private assertAlive(): void {
    if (this.released) throw new Error('constraintor used after dispose()');
  }
}

function uniform(rng: Rng, n: number, bound: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.range(-bound, bound);
  return v;
}

function normal(rng: Rng, n: number, std: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal(0, std);
  return v;
}

/** Kernel + bias values for a conv with the given PyTorch fans. */
function convInit(reg: ParamRegistry, name: string, size: number, fanIn: number, fanOut: number): Float32Array {
  const rng = reg.rng.fork(name);
  return reg.init === 'kaiming-normal' ? normal(rng, size, Math.sqrt(2 / fanOut)) : uniform(rng, size, 1 / Math.sqrt(fanIn));
}

function biasInit(reg: ParamRegistry, name: string, size: number, fanIn: number): Float32Array {
  return reg.init === 'kaiming-normal' ? new Float32Array(size) : uniform(reg.rng.fork(name), size, 1 / Math.sqrt(fanIn));
}

/** Padding as PyTorch's symmetric integer padding (tfjs accepts a number for "pad every side by p"). */
export interface Conv2dSpec {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride?: number;
  /** Symmetric zero padding. Default (kernel - 1) / 2 ("same" for odd kernels at stride 1). */
  padding?: number;
  bias?: boolean;
}

/** nn.Conv2d (groups = 1), NHWC. */
export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly stride: number;
  readonly padding: number;

  constructor(reg: ParamRegistry, name: string, spec: Conv2dSpec) {
    const { inChannels: ci, outChannels: co, kernel: k } = spec;
    this.stride = spec.stride ?? 1;
    this.padding = spec.padding ?? (k - 1) / 2;
    if (!Number.isInteger(this.padding)) throw new Error(`Conv2d ${name}: give an integer padding for kernel ${k}`);
    const fanIn = ci * k * k;
    this.weight = reg.add(`${name}.weight`, [k, k, ci, co], convInit(reg, `${name}.weight`, k * k * ci * co, fanIn, co * k * k), true);
    this.bias = spec.bias === false ? null : reg.add(`${name}.bias`, [co], biasInit(reg, `${name}.bias`, co, fanIn), true);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    // 'same' at stride 1 with odd kernels is exactly PyTorch's padding (k-1)/2 and
    // keeps the common, best-supported kernel path; otherwise explicit padding.
    const k = this.weight.shape[0];
    const pad = this.stride === 1 && 2 * this.padding === k - 1 ? 'same' : this.padding;
    const y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, pad);
    return this.bias === null ? y : tf.add(y, this.bias);
  }
}

/**
 * nn.Conv2d with groups = in_channels and out = in * multiplier (a depthwise
 * conv with channel multiplier), NHWC via tf.depthwiseConv2d.
 */
export class DepthwiseConv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(
    reg: ParamRegistry,
    name: string,
    readonly spec: { channels: number; multiplier: number; kernel: number; stride: number; padding: number; bias?: boolean },
  ) {
    const { channels: c, multiplier: m, kernel: k } = spec;
    // PyTorch fans of a [c*m, 1, k, k] grouped weight: fan_in = k*k, fan_out = c*m*k*k.
    const fanIn = k * k;
    this.weight = reg.add(`${name}.weight`, [k, k, c, m], convInit(reg, `${name}.weight`, k * k * c * m, fanIn, c * m * k * k), true);
    this.bias = spec.bias === false ? null : reg.add(`${name}.bias`, [c * m], biasInit(reg, `${name}.bias`, c * m, fanIn), true);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.depthwiseConv2d(x, this.weight as tf.Tensor4D, this.spec.stride, this.spec.padding);
    return this.bias === null ? y : tf.add(y, this.bias);
  }
}

/** PyTorch's BatchNorm eps, used unless BatchNormOptions.eps says otherwise. */
export const BATCH_NORM_EPS = 1e-5;

export interface BatchNormOptions {
  /** Running-statistics momentum, PyTorch convention (new = (1 - m) old + m batch). Default 0.1. */
  momentum?: number;
  /** Default 1e-5 (PyTorch). */
  eps?: number;
  /** Initial gamma (scale). Default 1 (PyTorch). */
  gammaInit?: number;
}

/**
 * nn.BatchNorm2d over NHWC: statistics per channel over (N, H, W).
 * training: normalises with the batch mean and biased variance, and updates
 * the running mean and the running UNBIASED variance (as PyTorch does);
 * eval: normalises with the running statistics.
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly momentum: number;
  readonly eps: number;

  constructor(reg: ParamRegistry, name: string, channels: number, options: BatchNormOptions = {}) {
    this.momentum = options.momentum ?? 0.1;
    this.eps = options.eps ?? BATCH_NORM_EPS;
    this.gamma = reg.add(`${name}.weight`, [channels], new Float32Array(channels).fill(options.gammaInit ?? 1), true);
    this.beta = reg.add(`${name}.bias`, [channels], new Float32Array(channels), true);
    this.runningMean = reg.add(`${name}.running_mean`, [channels], new Float32Array(channels), false);
    this.runningVar = reg.add(`${name}.running_var`, [channels], new Float32Array(channels).fill(1), false);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training) {
      return tf.batchNorm(x, this.runningMean, this.runningVar, this.beta, this.gamma, this.eps) as tf.Tensor4D;
    }
    const [b, h, w] = x.shape;
    const n = b * h * w;
    if (n < 2) throw new Error('BatchNorm: training needs more than 1 value per channel (as in PyTorch)');
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    // Running statistics: assigned from the recorded tensors; they are not
    // trainable and not part of the loss, so autograd never differentiates them.
    const m = this.momentum;
    this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
    this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, (m * n) / (n - 1))));
    return tf.batchNorm(x, mean, variance, this.beta, this.gamma, this.eps) as tf.Tensor4D;
  }
}
