/**
 * A flow's forward pass and its weight gradients as two onnxruntime graphs:
 * the fused training update of a level's flow (bench/train-step.ts,
 * docs/ENGINE.md).
 *
 * Why: on the wasm backend a flow update is ~1,100 small tfjs kernels
 * (slices, adds, multiplies of [N, C] arrays, their autograd and bookkeeping)
 * around 32 matmuls; the small kernels cost more than the matmuls. Here the
 * forward is one onnxruntime run, the loss stays in tfjs (every loss variant,
 * differentiated there with respect to the flow's outputs z and log|det J|),
 * and one more run recomputes the forward and back-propagates through every
 * coupling block by the chain rule written out below, returning the gradient
 * of each trainable variable. Same values as tfjs autograd up to float32
 * summation order (test/flow/onnx-flow-grad.test.ts).
 *
 * Per block (coupling-block.ts): x = [x1 | x2], inp = [x1 | cond],
 * hp = inp W1 + b1, a = 0.1 (relu(hp) W2 + b2) = [as | t], s = clamp(as),
 * y2 = x2 exp(s) + t, c = [x1 | y2], g = 0.2 softplus(gamma / 2),
 * u = c g + offset, y = u R, logdet += sum(s) + sum(log g). Backward, with
 * dy and dlogdet (one value per row, the same for every block):
 *   du = dy R^T; d offset = sum_rows du; dg = sum_rows(du c) + sum(dlogdet) / g;
 *   d gamma = dg 0.1 sigmoid(gamma / 2); dc = du g = [dx1' | dy2];
 *   dx2 = dy2 exp(s); dt = dy2; ds = dy2 x2 exp(s) + dlogdet; das = ds clamp'(as);
 *   dp2 = 0.1 [das | dt]; dW2 = relu(hp)^T dp2; db2 = sum_rows dp2;
 *   dhp = (dp2 W2^T) [hp > 0]; dW1 = inp^T dhp; db1 = sum_rows dhp;
 *   dx1 = dx1' + (dhp W1^T)[:, :len1]; the block's input gradient is [dx1 | dx2].
 *
 * ```ts
 * const fused = FusedFlowGrad.create(flow, rows);          // null without onnxruntime-node
 * const { z, logdet } = fused.forward(x, cond);            // tensors
 * const grads = fused.weightGrads(x, cond, dz, dlogdet);   // variable name -> gradient tensor
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxGraph } from '../util/onnx-graph';
import { SyncSession, SyncTensor, syncOnnxProblem, tensorValues } from '../engine/onnx-sync';
import type { ConditionalFlow } from './conditional-flow';
import type { CouplingBlock, SoftClamp } from './coupling-block';

const ATAN_FACTOR = 0.636;
const SUBNET_OUTPUT_SCALE = 0.1;

/** Names of a block's graph inputs, in CouplingBlock.trainableVariables order, then its mixing matrix. */
const WEIGHT_NAMES = ['w1', 'b1', 'w2', 'b2', 'gamma', 'offset'] as const;

interface BlockShape {
  len1: number;
  len2: number;
  hidden: number;
  clamp: number;
  softClamp: SoftClamp;
  mixing: boolean;
}

interface BlockValues {
  x1: string;
  x2: string;
  inp: string;
  hp: string;
  hr: string;
  as: string;
  e: string;
  c: string;
  g: string;
}

class FlowGraphBuilder {
  readonly g = new OnnxGraph('resad-flow');
  constructor(private readonly rows: number, private readonly dim: number, private readonly condDim: number, private readonly blocks: BlockShape[]) {}

  private scalar(v: number): string {
    return this.g.constant('k', [v], []);
  }

  private cols(x: string, from: number, to: number): string {
    return this.g.node('Slice', [x, this.g.ints('s', [from]), this.g.ints('e', [to]), this.g.ints('a', [1])]);
  }

  private sumRows(x: string): string {
    return this.g.node('ReduceSum', [x, this.g.ints('ax', [0])], { keepdims: 0 });
  }

  /** Inputs x, cond and every block's weights. */
  inputs(): { x: string; cond: string | null } {
    const x = this.g.input('x', [this.rows, this.dim]);
    const cond = this.condDim > 0 ? this.g.input('cond', [this.rows, this.condDim]) : null;
    this.blocks.forEach((b, i) => {
      const inDim = b.len1 + this.condDim;
      const shapes: Record<(typeof WEIGHT_NAMES)[number], number[]> = {
        w1: [inDim, b.hidden], b1: [b.hidden], w2: [b.hidden, 2 * b.len2], b2: [2 * b.len2], gamma: [this.dim], offset: [this.dim],
      };
      for (const name of WEIGHT_NAMES) this.g.input(`${name}_${i}`, shapes[name]);
      if (b.mixing) this.g.input(`perm_${i}`, [this.dim, this.dim]);
    });
    return { x, cond };
  }

  private softClamp(b: BlockShape, as: string): string {
    const g = this.g;
    switch (b.softClamp) {
      case 'atan':
        return g.node('Mul', [g.node('Atan', [g.node('Div', [as, this.scalar(b.clamp)])]), this.scalar(b.clamp * ATAN_FACTOR)]);
      case 'tanh':
        return g.node('Mul', [g.node('Tanh', [as]), this.scalar(b.clamp)]);
      case 'tanh-scaled':
        return g.node('Mul', [g.node('Tanh', [g.node('Div', [as, this.scalar(b.clamp)])]), this.scalar(b.clamp)]);
    }
  }

  /** d s / d as, elementwise. */
  private softClampDerivative(b: BlockShape, as: string): string {
    const g = this.g;
    const one = this.scalar(1);
    switch (b.softClamp) {
      case 'atan': {
        const r = g.node('Div', [as, this.scalar(b.clamp)]);
        return g.node('Div', [this.scalar(ATAN_FACTOR), g.node('Add', [one, g.node('Mul', [r, r])])]);
      }
      case 'tanh': {
        const t = g.node('Tanh', [as]);
        return g.node('Mul', [g.node('Sub', [one, g.node('Mul', [t, t])]), this.scalar(b.clamp)]);
      }
      case 'tanh-scaled': {
        const t = g.node('Tanh', [g.node('Div', [as, this.scalar(b.clamp)])]);
        return g.node('Sub', [one, g.node('Mul', [t, t])]);
      }
    }
  }

  /** The forward pass: z, logdet, and what the backward pass needs of each block. */
  forward(x: string, cond: string | null): { z: string; logdet: string; saved: BlockValues[] } {
    const g = this.g;
    let h = x;
    let logdet: string | null = null;
    const saved: BlockValues[] = [];
    this.blocks.forEach((b, i) => {
      const x1 = this.cols(h, 0, b.len1);
      const x2 = this.cols(h, b.len1, this.dim);
      const inp = cond === null ? x1 : g.node('Concat', [x1, cond], { axis: 1 });
      const hp = g.node('Gemm', [inp, `w1_${i}`, `b1_${i}`]);
      const hr = g.node('Relu', [hp]);
      const a = g.node('Mul', [g.node('Gemm', [hr, `w2_${i}`, `b2_${i}`]), this.scalar(SUBNET_OUTPUT_SCALE)]);
      const as = this.cols(a, 0, b.len2);
      const t = this.cols(a, b.len2, 2 * b.len2);
      const s = this.softClamp(b, as);
      const e = g.node('Exp', [s]);
      const y2 = g.node('Add', [g.node('Mul', [x2, e]), t]);
      const gs = g.node('Mul', [g.node('Softplus', [g.node('Mul', [`gamma_${i}`, this.scalar(0.5)])]), this.scalar(0.2)]);
      const c = g.node('Concat', [x1, y2], { axis: 1 });
      const u = g.node('Add', [g.node('Mul', [c, gs]), `offset_${i}`]);
      h = b.mixing ? g.node('MatMul', [u, `perm_${i}`]) : u;
      const blockLogdet = g.node('Add', [g.node('ReduceSum', [s, g.ints('ax', [1])], { keepdims: 0 }), g.node('ReduceSum', [g.node('Log', [gs])], { keepdims: 0 })]);
      logdet = logdet === null ? blockLogdet : g.node('Add', [logdet, blockLogdet]);
      saved.push({ x1, x2, inp, hp, hr, as, e, c, g: gs });
    });
    return { z: h, logdet: logdet!, saved };
  }

  /** Weight gradients from dz and dlogdet, block by block in reverse; returns output names per block and weight. */
  backward(saved: BlockValues[], dz: string, dlogdet: string): string[][] {
    const g = this.g;
    const dldSum = g.node('ReduceSum', [dlogdet], { keepdims: 0 });
    const dldCol = g.node('Unsqueeze', [dlogdet, g.ints('ax', [1])]);
    const grads: string[][] = [];
    let dy = dz;
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const b = this.blocks[i];
      const v = saved[i];
      const du = b.mixing ? g.node('Gemm', [dy, `perm_${i}`], { transB: 1 }) : dy;
      const dOffset = this.sumRows(du);
      const dg = g.node('Add', [this.sumRows(g.node('Mul', [du, v.c])), g.node('Div', [dldSum, v.g])]);
      const dGamma = g.node('Mul', [dg, g.node('Mul', [g.node('Sigmoid', [g.node('Mul', [`gamma_${i}`, this.scalar(0.5)])]), this.scalar(0.1)])]);
      const dc = g.node('Mul', [du, v.g]);
      const dx1Direct = this.cols(dc, 0, b.len1);
      const dy2 = this.cols(dc, b.len1, this.dim);
      const dx2 = g.node('Mul', [dy2, v.e]);
      const ds = g.node('Add', [g.node('Mul', [g.node('Mul', [dy2, v.x2]), v.e]), dldCol]);
      const das = g.node('Mul', [ds, this.softClampDerivative(b, v.as)]);
      const dp2 = g.node('Mul', [g.node('Concat', [das, dy2], { axis: 1 }), this.scalar(SUBNET_OUTPUT_SCALE)]);
      const dW2 = g.node('Gemm', [v.hr, dp2], { transA: 1 });
      const db2 = this.sumRows(dp2);
      const dh = g.node('Gemm', [dp2, `w2_${i}`], { transB: 1 });
      const dhp = g.node('Mul', [dh, g.node('Cast', [g.node('Greater', [v.hp, this.scalar(0)])], { to: 1 })]);
      const dW1 = g.node('Gemm', [v.inp, dhp], { transA: 1 });
      const db1 = this.sumRows(dhp);
      grads[i] = [dW1, db1, dW2, db2, dGamma, dOffset];
      if (i > 0) {
        const dInp = g.node('Gemm', [dhp, `w1_${i}`], { transB: 1 });
        const dx1 = g.node('Add', [dx1Direct, this.cols(dInp, 0, b.len1)]);
        dy = g.node('Concat', [dx1, dx2], { axis: 1 });
      }
    }
    return grads;
  }
}

function blockShape(b: CouplingBlock): BlockShape {
  return { len1: b.len1, len2: b.len2, hidden: b.hidden, clamp: b.clamp, softClamp: b.softClamp, mixing: b.mixing !== null };
}

/** The forward and weight-gradient sessions of one flow at one row count. */
export class FusedFlowGrad {
  private constructor(
    private readonly flow: ConditionalFlow,
    readonly rows: number,
    private readonly forwardSession: SyncSession,
    private readonly gradSession: SyncSession,
    private readonly gradNames: string[][],
  ) {}

  /** Why the fused update cannot run here (onnxruntime-node missing), or null. */
  static problem(): string | null {
    return syncOnnxProblem();
  }

  /** Builds both graphs for `flow` at `rows` rows (throws when onnxruntime-node is missing). */
  static create(flow: ConditionalFlow, rows: number): FusedFlowGrad {
    const blocks = flow.blocks.map(blockShape);
    const fwd = new FlowGraphBuilder(rows, flow.dim, flow.condDim, blocks);
    const io = fwd.inputs();
    const f = fwd.forward(io.x, io.cond);
    fwd.g.output(f.z, 'z', [rows, flow.dim]);
    fwd.g.output(f.logdet, 'logdet', [rows]);

    const bwd = new FlowGraphBuilder(rows, flow.dim, flow.condDim, blocks);
    const bio = bwd.inputs();
    const dz = bwd.g.input('dz', [rows, flow.dim]);
    const dld = bwd.g.input('dlogdet', [rows]);
    const saved = bwd.forward(bio.x, bio.cond).saved;
    const grads = bwd.backward(saved, dz, dld);
    const names = grads.map((perBlock, i) =>
      perBlock.map((value, k) => {
        const name = `grad_${WEIGHT_NAMES[k]}_${i}`;
        const shape = flow.blocks[i].trainableVariables[k].shape;
        bwd.g.output(value, name, shape);
        return name;
      }),
    );
    return new FusedFlowGrad(flow, rows, SyncSession.create(fwd.g.toBytes()), SyncSession.create(bwd.g.toBytes()), names);
  }

  /** Views of the inputs and weights (valid until tfjs next allocates: use them at once). */
  private feeds(x: tf.Tensor2D, cond: tf.Tensor2D): Record<string, SyncTensor> {
    if (x.shape[0] !== this.rows) throw new Error(`FusedFlowGrad: built for ${this.rows} rows, got ${x.shape[0]}`);
    const feeds: Record<string, SyncTensor> = { x: { data: tensorValues(x), dims: x.shape } };
    if (this.flow.condDim > 0) feeds.cond = { data: tensorValues(cond), dims: cond.shape };
    this.flow.blocks.forEach((b, i) => {
      b.trainableVariables.forEach((v, k) => {
        feeds[`${WEIGHT_NAMES[k]}_${i}`] = { data: tensorValues(v), dims: v.shape };
      });
      const mixing = b.mixing;
      if (mixing !== null) feeds[`perm_${i}`] = { data: tensorValues(mixing), dims: mixing.shape };
    });
    return feeds;
  }

  /** z [rows, C] and log|det dz/dx| [rows] (new tensors; tfjs records no gradient for them). */
  forward(x: tf.Tensor2D, cond: tf.Tensor2D): { z: tf.Tensor2D; logdet: tf.Tensor1D } {
    const out = this.forwardSession.run(this.feeds(x, cond), ['z', 'logdet']);
    return { z: tf.tensor2d(out.z.data, [this.rows, this.flow.dim]), logdet: tf.tensor1d(out.logdet.data) };
  }

  /** d loss / d (every trainable variable), keyed by variable name as tf.variableGrads gives them, from d loss / dz and d loss / dlogdet. */
  weightGrads(x: tf.Tensor2D, cond: tf.Tensor2D, dz: tf.Tensor2D, dlogdet: tf.Tensor1D): tf.NamedTensorMap {
    const feeds = this.feeds(x, cond);
    feeds.dz = { data: tensorValues(dz), dims: dz.shape };
    feeds.dlogdet = { data: tensorValues(dlogdet), dims: dlogdet.shape };
    const out = this.gradSession.run(feeds, this.gradNames.flat());
    const grads: tf.NamedTensorMap = {};
    this.flow.blocks.forEach((b, i) => {
      b.trainableVariables.forEach((v, k) => {
        grads[v.name] = tf.tensor(out[this.gradNames[i][k]].data, v.shape, 'float32');
      });
    });
    return grads;
  }

  dispose(): void {
    this.forwardSession.dispose();
    this.gradSession.dispose();
  }
}
