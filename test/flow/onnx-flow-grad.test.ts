/**
 * The fused flow update (src/flow/onnx-flow-grad.ts) against tfjs autograd
 * of the same flow and loss: z, log|det J| and every weight gradient, for
 * each soft clamp and mixing kind, with and without a condition, with both
 * loss kinds; relative 1e-4 (measured ~4e-7). Skipped, saying why, where
 * onnxruntime-node cannot load.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { ConditionalFlow, flowLoss, flowLossFromLatent, FlowLossOptions, PermutationKind, SoftClamp } from '../../src/flow/index';
import { FusedFlowGrad } from '../../src/flow/onnx-flow-grad';
import { Rng } from '../../src/util/rng';

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / Math.max(scale, 1e-30);
}

describe('flow: fused onnxruntime forward + weight gradients vs tfjs autograd', function () {
  this.timeout(60000);
  before(async function () {
    if (FusedFlowGrad.problem() !== null) {
      console.log(`      skipped: ${FusedFlowGrad.problem()}`);
      this.skip();
    }
    await initEngine({ quiet: true });
  });

  const cases: Array<{ clamp: SoftClamp; mixing: PermutationKind; condDim: number; kind: FlowLossOptions['kind']; dim: number }> = [
    { clamp: 'atan', mixing: 'soft', condDim: 8, kind: 'paper', dim: 7 },
    { clamp: 'tanh', mixing: 'hard', condDim: 8, kind: 'resad++', dim: 6 },
    { clamp: 'tanh-scaled', mixing: 'none', condDim: 0, kind: 'paper', dim: 5 },
  ];
  for (const c of cases) {
    it(`${c.clamp} clamp, ${c.mixing} mixing, condition ${c.condDim}, ${c.kind} loss with BG-SPP`, () => {
      const flow = new ConditionalFlow({ dim: c.dim, condDim: c.condDim, blocks: 3, softClamp: c.clamp, permutation: c.mixing, seed: 2 });
      const fused = FusedFlowGrad.create(flow, 60);
      const rng = new Rng(5);
      const tensors: tf.Tensor[] = [];
      const keep = <T extends tf.Tensor>(t: T): T => (tensors.push(t), t);
      try {
        const x = keep(tf.tensor2d(Float32Array.from({ length: 60 * c.dim }, () => rng.normal()), [60, c.dim]));
        const cond = keep(tf.tensor2d(Float32Array.from({ length: 60 * c.condDim }, () => rng.normal()), [60, c.condDim]));
        const flags = keep(tf.tensor1d(Float32Array.from({ length: 60 }, (_, i) => (i % 4 === 0 ? 1 : 0))));
        const options: FlowLossOptions = { kind: c.kind, bgspp: { boundary: -1.4, tau: 0.1, weight: 1, reduction: 'mean' } };
        const before = tf.memory().numTensors;
        const ref = tf.variableGrads(() => flowLoss(flow, x, cond, flags, options).total, flow.trainableVariables);
        const refLatent = flow.forward(x, cond);
        const { z, logdet } = fused.forward(x, cond);
        assert.ok(maxRelErr(z.dataSync(), refLatent.z.dataSync()) < 1e-5, 'z');
        assert.ok(maxRelErr(logdet.dataSync(), refLatent.logdet.dataSync()) < 1e-5, 'logdet');
        const { value, grads } = tf.valueAndGrads((zz: tf.Tensor, ld: tf.Tensor) => flowLossFromLatent(zz as tf.Tensor2D, ld as tf.Tensor1D, flags, options).total)([z, logdet]);
        assert.ok(Math.abs(value.dataSync()[0] - ref.value.dataSync()[0]) < 1e-5 * Math.abs(ref.value.dataSync()[0]), 'loss');
        const got = fused.weightGrads(x, cond, grads[0] as tf.Tensor2D, grads[1] as tf.Tensor1D);
        assert.deepEqual(Object.keys(got).sort(), Object.keys(ref.grads).sort(), 'one gradient per trainable variable, same names');
        for (const [name, g] of Object.entries(ref.grads)) {
          assert.deepEqual(got[name].shape, g.shape, name);
          const err = maxRelErr(got[name].dataSync(), g.dataSync());
          assert.ok(err < 1e-4, `${name}: max rel err ${err.toExponential(2)}`);
        }
        tf.dispose([ref.value, ref.grads, refLatent.z, refLatent.logdet, z, logdet, value, ...grads, got]);
        assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
      } finally {
        tf.dispose(tensors);
        fused.dispose();
        flow.dispose();
      }
    });
  }

  it('refuses another row count than it was built for, and a wrong gradient would be caught', () => {
    const flow = new ConditionalFlow({ dim: 4, condDim: 4, blocks: 2, seed: 1 });
    const fused = FusedFlowGrad.create(flow, 10);
    try {
      assert.throws(() => fused.forward(tf.zeros([9, 4]) as tf.Tensor2D, tf.zeros([9, 4]) as tf.Tensor2D), /built for 10 rows, got 9/);
      const x = tf.randomNormal([10, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
      const cond = tf.randomNormal([10, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
      const ones = tf.ones([10]) as tf.Tensor1D;
      const right = fused.weightGrads(x, cond, tf.zeros([10, 4]) as tf.Tensor2D, ones);
      const wrong = fused.weightGrads(x, cond, tf.zeros([10, 4]) as tf.Tensor2D, tf.mul(ones, 2) as tf.Tensor1D);
      const name = flow.trainableVariables[4].name;
      assert.ok(maxRelErr(wrong[name].dataSync(), right[name].dataSync()) > 0.1, 'the comparison can fail');
    } finally {
      fused.dispose();
      flow.dispose();
    }
  });
});
