/**
 * A frozen CNN as a flat list of ops (conv with folded BatchNorm, per-channel
 * affine, max-pool, add): the ResNets, the pre-activation ResNet50-v2 and the
 * ImageNet MobileNetV2 are each written once as such a program, and two
 * interpreters run it: tfjs here (`runConvNet`) and the ONNX exporter
 * (onnx-export.ts).
 *
 * Why: one description per network means the tfjs forward and the exported
 * graph cannot drift apart, and a new architecture needs no exporter code.
 *
 * Values are numbered: value 0 is the normalised NHWC input, op i writes
 * value i + 1. Filters are tfjs HWIO ([kh, kw, in, out]; depthwise
 * [kh, kw, in, 1]); padding is explicit and symmetric (PyTorch / MXNet style).
 */
import * as tf from '@tensorflow/tfjs';
import { BaseBackbone } from './common';
import type { FeatureLevelInfo, InputNormalization } from './types';

export type ConvNetActivation = 'linear' | 'relu' | 'relu6';

export type ConvNetOp =
  | {
      op: 'conv';
      input: number;
      filter: tf.Tensor4D;
      bias: tf.Tensor1D;
      stride: number;
      pad: number;
      depthwise: boolean;
      activation: ConvNetActivation;
    }
  /** x * scale + shift per channel: an eval-mode BatchNorm that cannot be folded into a conv (pre-activation nets). */
  | { op: 'affine'; input: number; scale: tf.Tensor1D; shift: tf.Tensor1D; activation: ConvNetActivation }
  | { op: 'maxpool'; input: number; size: number; stride: number; pad: number }
  | { op: 'add'; inputs: [number, number]; activation: ConvNetActivation };

export interface ConvNetProgram {
  ops: ConvNetOp[];
  /** Value indices returned by the network, in level order. */
  outputs: number[];
}

/** Every value an op reads. */
export function opInputs(op: ConvNetOp): number[] {
  return op.op === 'add' ? op.inputs : [op.input];
}

/** Every weight tensor of a program (for disposal). */
export function programTensors(program: ConvNetProgram): tf.Tensor[] {
  return program.ops.flatMap((op) => (op.op === 'conv' ? [op.filter, op.bias] : op.op === 'affine' ? [op.scale, op.shift] : []));
}

function activate(x: tf.Tensor4D, activation: ConvNetActivation): tf.Tensor4D {
  if (activation === 'relu') return tf.relu(x);
  if (activation === 'relu6') return tf.relu6(x);
  return x;
}

/**
 * Runs the program on an already-normalised NHWC batch. Intermediate values
 * are freed after their last use (a 224 px ResNet50 batch would otherwise
 * hold every activation until the caller's tidy ends).
 */
export function runConvNet(program: ConvNetProgram, input: tf.Tensor4D): tf.Tensor4D[] {
  const lastUse = new Array<number>(program.ops.length + 1).fill(-1);
  program.ops.forEach((op, i) => opInputs(op).forEach((v) => (lastUse[v] = i)));
  const keep = new Set([0, ...program.outputs]);
  const values: Array<tf.Tensor4D | null> = [input];
  program.ops.forEach((op, i) => {
    const x = values[op.op === 'add' ? op.inputs[0] : op.input]!;
    let y: tf.Tensor4D;
    switch (op.op) {
      case 'conv': {
        const args = { x, filter: op.filter, strides: op.stride, pad: op.pad === 0 ? ('valid' as const) : op.pad, bias: op.bias };
        if (op.depthwise) {
          y = tf.fused.depthwiseConv2d({ ...args, activation: op.activation });
        } else {
          y = tf.fused.conv2d({ ...args, activation: op.activation });
        }
        break;
      }
      case 'affine':
        y = activate(tf.add(tf.mul(x, op.scale), op.shift) as tf.Tensor4D, op.activation);
        break;
      case 'maxpool':
        // Explicit padding acts as -inf for max-pool in tfjs, as in PyTorch.
        y = tf.maxPool(x, op.size, op.stride, op.pad);
        break;
      case 'add':
        y = activate(tf.add(x, values[op.inputs[1]]!) as tf.Tensor4D, op.activation);
        break;
    }
    values.push(y);
    for (const v of opInputs(op)) {
      if (lastUse[v] === i && !keep.has(v)) {
        values[v]!.dispose();
        values[v] = null;
      }
    }
  });
  return program.outputs.map((v) => values[v]!);
}

/**
 * Builds programs op by op. `conv` folds an eval-mode BatchNorm given as
 * (gamma, beta, mean, var) into the filter and bias, in float64.
 */
export class ConvNetBuilder {
  readonly ops: ConvNetOp[] = [];

  private push(op: ConvNetOp): number {
    this.ops.push(op);
    return this.ops.length;
  }

  /**
   * A conv from PyTorch-layout weights (OIHW; depthwise [C, 1, kh, kw]) with
   * an optional bias and an optional following BatchNorm folded in.
   */
  conv(
    input: number,
    weight: { values: Float32Array; shape: readonly [number, number, number, number] },
    options: { stride: number; pad: number; depthwise?: boolean; bias?: Float32Array; bn?: BatchNormStats; activation?: ConvNetActivation },
  ): number {
    const [O, I, KH, KW] = weight.shape;
    const depthwise = options.depthwise ?? false;
    const scale = new Float64Array(O).fill(1);
    const shift = new Float64Array(O);
    if (options.bias) for (let o = 0; o < O; o++) shift[o] = options.bias[o];
    if (options.bn) {
      const { gamma, beta, mean, variance, eps } = options.bn;
      for (let o = 0; o < O; o++) {
        const s = gamma[o] / Math.sqrt(variance[o] + eps);
        shift[o] = (shift[o] - mean[o]) * s + beta[o];
        scale[o] = s;
      }
    }
    // HWIO, or [kh, kw, C, 1] for depthwise (I = 1 there, O = C).
    const hwio = new Float32Array(O * I * KH * KW);
    const cin = depthwise ? O : I;
    const cout = depthwise ? 1 : O;
    for (let o = 0; o < O; o++) {
      for (let i = 0; i < I; i++) {
        for (let h = 0; h < KH; h++) {
          for (let k = 0; k < KW; k++) {
            const v = weight.values[((o * I + i) * KH + h) * KW + k] * scale[o];
            const dst = depthwise ? (h * KW + k) * cin + o : ((h * KW + k) * cin + i) * cout + o;
            hwio[dst] = v;
          }
        }
      }
    }
    return this.push({
      op: 'conv',
      input,
      filter: tf.tensor4d(hwio, [KH, KW, cin, cout]),
      bias: tf.tensor1d(Float32Array.from(shift)),
      stride: options.stride,
      pad: options.pad,
      depthwise,
      activation: options.activation ?? 'linear',
    });
  }

  /** An eval-mode BatchNorm on its own (+ activation). */
  batchNorm(input: number, bn: BatchNormStats, activation: ConvNetActivation = 'linear'): number {
    const n = bn.gamma.length;
    const scale = new Float32Array(n);
    const shift = new Float32Array(n);
    for (let c = 0; c < n; c++) {
      const s = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.eps);
      scale[c] = s;
      shift[c] = bn.beta[c] - bn.mean[c] * s;
    }
    return this.push({ op: 'affine', input, scale: tf.tensor1d(scale), shift: tf.tensor1d(shift), activation });
  }

  maxPool(input: number, size: number, stride: number, pad: number): number {
    return this.push({ op: 'maxpool', input, size, stride, pad });
  }

  add(a: number, b: number, activation: ConvNetActivation = 'linear'): number {
    return this.push({ op: 'add', inputs: [a, b], activation });
  }

  /** Frees every weight created so far (a load that failed half-way). */
  dispose(): void {
    tf.dispose(programTensors({ ops: this.ops, outputs: [] }));
  }
}

export interface BatchNormStats {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  eps: number;
}

/** A backbone whose network is a ConvNetProgram (the ResNets and the ImageNet MobileNetV2). */
export class ConvNetBackbone extends BaseBackbone {
  constructor(
    readonly name: string,
    readonly levels: readonly FeatureLevelInfo[],
    readonly inputNormalization: InputNormalization,
    readonly program: ConvNetProgram,
  ) {
    super();
  }

  protected forward(x: tf.Tensor4D): tf.Tensor4D[] {
    return runConvNet(this.program, x);
  }

  protected release(): void {
    tf.dispose(programTensors(this.program));
  }
}

/** The program of a ConvNet backbone, else null. For exporters. */
export function convNetOf(backbone: object): ConvNetProgram | null {
  return backbone instanceof ConvNetBackbone ? backbone.program : null;
}
