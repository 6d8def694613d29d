/**
 * Adam exactly as torch.optim.Adam with `weight_decay` (L2 added to the
 * gradient), which the official code uses (lr 1e-5, weight decay 5e-4).
 * tfjs's Adam has no weight decay and no settable learning rate, and its
 * state is awkward to checkpoint; this one keeps its state as plain named
 * tensors so a training run can resume bit-for-bit.
 *
 * ```ts
 * const opt = new Adam(vars, { lr: 1e-3, weightDecay: 5e-4 });
 * const { grads } = tf.variableGrads(() => loss(), vars);
 * opt.step(grads); tf.dispose(grads);
 * opt.lr = 1e-4;                       // MultiStepLR by hand
 * ```
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/**
 * Optimiser state as plain arrays in the order of the constructor's variable
 * list (tfjs variable names differ between processes, list order does not).
 */
export interface AdamState {
  steps: number[];
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly steps = new Map<string, number>();

  constructor(variables: readonly tf.Variable[], options: AdamOptions) {
    if (!(options.lr > 0)) throw new Error(`Adam: lr must be > 0, got ${options.lr}`);
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const variable of variables) {
      if (this.vars.has(variable.name)) throw new Error(`Adam: variable ${variable.name} given twice`);
      this.vars.set(variable.name, variable);
      // Inside tidy: the zeros are copied into the variables and must not outlive them.
      this.m.set(variable.name, tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
      this.v.set(variable.name, tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
      this.steps.set(variable.name, 0);
    }
  }

  /** Applies one update to every variable that has a gradient (others keep their state). */
  step(grads: tf.NamedTensorMap): void {
    for (const [name, grad] of Object.entries(grads)) {
      const variable = this.vars.get(name);
      if (!variable) throw new Error(`Adam: gradient for unknown variable ${name}`);
      const t = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, t);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      tf.tidy(() => {
        const g = this.weightDecay > 0 ? tf.add(grad, tf.mul(variable, this.weightDecay)) : grad;
        const mNew = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(mNew);
        v.assign(vNew);
        const bc1 = 1 - Math.pow(this.beta1, t);
        const bc2 = 1 - Math.pow(this.beta2, t);
        // torch: p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)
        const denom = tf.add(tf.div(tf.sqrt(vNew), Math.sqrt(bc2)), this.eps);
        variable.assign(tf.sub(variable, tf.mul(tf.div(mNew, denom), this.lr / bc1)));
      });
    }
  }

  getState(): AdamState {
    const names = [...this.vars.keys()];
    return {
      steps: names.map((n) => this.steps.get(n) ?? 0),
      m: names.map((n) => this.m.get(n)!.dataSync() as Float32Array),
      v: names.map((n) => this.v.get(n)!.dataSync() as Float32Array),
    };
  }

  setState(state: AdamState): void {
    const names = [...this.vars.keys()];
    names.forEach((name, i) => {
      const size = this.vars.get(name)!.size;
      if (state.m[i]?.length !== size || state.v[i]?.length !== size || state.steps[i] === undefined) {
        throw new Error(`Adam.setState: state of variable ${i} (${name}) is missing or has the wrong size`);
      }
    });
    names.forEach((name, i) => {
      const variable = this.vars.get(name)!;
      this.steps.set(name, state.steps[i]);
      tf.tidy(() => {
        this.m.get(name)!.assign(tf.tensor(state.m[i], variable.shape));
        this.v.get(name)!.assign(tf.tensor(state.v[i], variable.shape));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
