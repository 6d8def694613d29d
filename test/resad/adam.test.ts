import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../../src/resad/adam';

/** Scalar reference of torch.optim.Adam(weight_decay=wd), written out by hand. */
function referenceAdam(w0: number, grads: (w: number) => number, steps: number, lr: number, wd: number): number {
  let w = w0;
  let m = 0;
  let v = 0;
  for (let t = 1; t <= steps; t++) {
    const g = grads(w) + wd * w;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const denom = Math.sqrt(v) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
    w -= (lr / (1 - 0.9 ** t)) * (m / denom);
  }
  return w;
}

describe('resad/adam', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('matches the torch Adam update with L2 weight decay', () => {
    const w = tf.variable(tf.tensor1d([1.5, -0.7]), true, 'adam_test_w');
    const opt = new Adam([w], { lr: 0.05, weightDecay: 0.01 });
    for (let i = 0; i < 20; i++) {
      const { grads } = tf.variableGrads(() => tf.sum(tf.pow(tf.sub(w, 3), 2)) as tf.Scalar, [w]);
      opt.step(grads);
      tf.dispose(grads);
    }
    const got = w.dataSync();
    const expect = [1.5, -0.7].map((w0) => referenceAdam(w0, (x) => 2 * (x - 3), 20, 0.05, 0.01));
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(got[i] - expect[i]) < 1e-5, `${got[i]} vs ${expect[i]}`);
    opt.dispose();
    w.dispose();
  });

  it('round-trips its state so a resumed run continues identically', () => {
    const run = (resumeAt: number | null): number[] => {
      const w = tf.variable(tf.tensor1d([0.3, 2]), true, `adam_resume_${resumeAt}`);
      let opt = new Adam([w], { lr: 0.1 });
      for (let i = 0; i < 10; i++) {
        if (i === resumeAt) {
          const state = opt.getState();
          opt.dispose();
          opt = new Adam([w], { lr: 0.1 });
          opt.setState(state);
        }
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
        opt.step(grads);
        tf.dispose(grads);
      }
      const out = Array.from(w.dataSync());
      opt.dispose();
      w.dispose();
      return out;
    };
    assert.deepEqual(run(4), run(null));
  });

  it('does not leak tensors and rejects unknown gradients', () => {
    const w = tf.variable(tf.ones([3]), true, 'adam_leak_w');
    const atStart = tf.memory().numTensors;
    const opt = new Adam([w], { lr: 0.1 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const { value, grads } = tf.variableGrads(() => tf.sum(w) as tf.Scalar, [w]);
      opt.step(grads);
      tf.dispose([value, grads]);
    }
    assert.equal(tf.memory().numTensors, before);
    const g = tf.ones([3]);
    assert.throws(() => opt.step({ other: g }), /unknown variable other/);
    g.dispose();
    opt.dispose();
    assert.equal(tf.memory().numTensors, atStart, 'dispose() frees all optimiser state');
    w.dispose();
  });
});
