import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { ConditionalFlow } from '../../src/flow/conditional-flow';
import { BoundaryEstimator, bgSppLoss, mlLoss, normalQuantile } from '../../src/flow/losses';
import { Rng } from '../../src/util/rng';
import { mean, randn, useCpu } from './helpers';

const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);
const softplus = (v: number): number => Math.log1p(Math.exp(v));

describe('flow/losses', () => {
  before(useCpu);

  it('mlLoss is -mean over normal positions, with the right gradient', () => {
    const logp = tf.tensor1d([1, -2, 3, 0.5]);
    const mask = tf.tensor1d([1, 1, 0, 1]);
    const noNormals = tf.zeros([4]) as tf.Tensor1D;
    const start = tf.memory().numTensors;
    const l1 = mlLoss(logp, mask);
    const l2 = mlLoss(logp);
    const l3 = mlLoss(logp, noNormals);
    close(l1.dataSync()[0], -(1 - 2 + 0.5) / 3);
    close(l2.dataSync()[0], -(1 - 2 + 3 + 0.5) / 4);
    assert.equal(l3.dataSync()[0], 0);
    // Descent raises the normal log-likelihoods and ignores the anomaly.
    const g = tf.grad((lp: tf.Tensor) => mlLoss(lp as tf.Tensor1D, mask))(logp);
    Array.from(g.dataSync()).forEach((v, i) => close(v, [-1 / 3, -1 / 3, 0, -1 / 3][i]));
    tf.dispose([l1, l2, l3, g]);
    assert.equal(tf.memory().numTensors, start);
    tf.dispose([logp, mask, noNormals]);
  });

  describe('bgSppLoss', () => {
    // b_n = -0.5, tau = 0.1. Normals: -1.0 (violation 0.5), -0.3 (none), -0.6 (0.1).
    // Anomalies vs b_n - tau = -0.6: -0.45 (0.15), -0.2 (0.4), -0.9 (none).
    const values = [-1.0, -0.3, -0.6, -0.45, -0.2, -0.9];
    const labels = [0, 0, 0, 1, 1, 1];
    const run = (options: Parameters<typeof bgSppLoss>[4]): number => {
      const lp = tf.tensor1d(values);
      const a = tf.tensor1d(labels);
      const l = bgSppLoss(lp, a, -0.5, 0.1, options);
      const v = l.dataSync()[0];
      tf.dispose([lp, a, l]);
      return v;
    };

    it('matches hand-computed values for each reduction and penalty', () => {
      close(run({}), 0.6 + 0.55);                                    // paper: sums
      close(run({ reduction: 'mean' }), 0.6 / 3 + 0.55 / 3);
      close(run({ reduction: 'mean-violators' }), 0.6 / 2 + 0.55 / 2); // official code
      close(run({ reduction: 'mean-violators', penalty: 'softplus' }),
        (softplus(0.5) + softplus(0.1)) / 2 + (softplus(0.15) + softplus(0.4)) / 2);
    });

    it('is zero when every normal is above b_n and every anomaly below b_n - tau', () => {
      const lp = tf.tensor1d([0.1, 0.2, -2, -3]);
      const a = tf.tensor1d([0, 0, 1, 1]);
      for (const reduction of ['sum', 'mean', 'mean-violators'] as const) {
        const l = bgSppLoss(lp, a, 0, 0.1, { reduction, penalty: 'softplus' });
        assert.equal(l.dataSync()[0], 0);
        l.dispose();
      }
      tf.dispose([lp, a]);
    });

    it('pulls violating normals up and pushes violating anomalies down (gradient)', () => {
      const lp = tf.tensor1d(values);
      const a = tf.tensor1d(labels);
      const g = tf.grad((x: tf.Tensor) => bgSppLoss(x as tf.Tensor1D, a, -0.5, 0.1))(lp);
      assert.deepEqual(Array.from(g.dataSync()), [-1, 0, -1, 1, 1, 0]);
      tf.dispose([lp, a, g]);
    });
  });

  it('trains a flow to separate anomalies from the boundary (end-to-end gradient direction)', () => {
    const rng = new Rng(3);
    const flow = new ConditionalFlow({ dim: 4, condDim: 2, blocks: 2, seed: 1 });
    const x = randn(rng, [64, 4]);
    const cond = randn(rng, [64, 2]);
    const isA = tf.tensor1d(Array.from({ length: 64 }, (_, i) => (i % 4 === 0 ? 1 : 0)));
    const boundary = new BoundaryEstimator();
    const anomalyMean = (): number => {
      const lp = flow.logProbPerDim(x, cond);
      const v = lp.dataSync();
      lp.dispose();
      return mean(Array.from(v).filter((_, i) => i % 4 === 0));
    };
    const before = anomalyMean();
    const opt = tf.train.adam(1e-2);
    for (let step = 0; step < 20; step++) {
      opt.minimize(() => {
        const lp = flow.logProbPerDim(x, cond);
        const b = boundary.updateSync(lp, isA) as number;
        return bgSppLoss(lp, isA, b, 0.1, { reduction: 'mean' });
      }, true, flow.trainableVariables)?.dispose();
    }
    assert.ok(anomalyMean() < before - 0.1, `anomaly logp/C: ${before} -> ${anomalyMean()}`);
    assert.equal(boundary.count, 20);
    tf.dispose([x, cond, isA]);
    opt.dispose();
    flow.dispose();
  });

  it('normalQuantile takes sorted[floor(n * beta)] of the normal values', () => {
    const rng = new Rng(1);
    const values = rng.shuffle(Array.from({ length: 100 }, (_, i) => i));
    assert.equal(normalQuantile(values, undefined, 0.05), 5);
    assert.equal(normalQuantile(values, undefined, 0), 0);
    // Mark the 10 smallest as anomalies: the quantile moves to the remaining 90.
    const labels = values.map((v) => (v < 10 ? 1 : 0));
    assert.equal(normalQuantile(values, labels, 0.05), 10 + Math.floor(90 * 0.05));
    assert.equal(normalQuantile([1, 2], [1, 1], 0.05), null);
    assert.equal(normalQuantile([NaN, 3, 1], undefined, 0), 1);
  });

  it('BoundaryEstimator keeps an EMA (momentum 0.9) of batch quantiles', async () => {
    const batch = (offset: number): number[] => Array.from({ length: 20 }, (_, i) => offset + i); // q_0.05 = offset + 1
    const est = new BoundaryEstimator();
    assert.equal(est.value, null);
    close(est.updateFromValues(batch(0)) as number, 1);
    close(est.updateFromValues(batch(10)) as number, 0.9 * 1 + 0.1 * 11);
    // A batch without normals leaves it unchanged.
    close(est.updateFromValues([5, 6], [1, 1]) as number, 2);
    assert.equal(est.count, 2);
    // Official-code start: the average starts at 0.
    const zero = new BoundaryEstimator({ init: 'zero' });
    close(zero.updateFromValues(batch(0)) as number, 0.1);
    // The tensor paths agree with the plain one and hold no tensors.
    const lp = tf.tensor1d(batch(10));
    const a = tf.tensor1d(new Array(20).fill(0));
    const e1 = new BoundaryEstimator();
    const e2 = new BoundaryEstimator();
    close(await e1.update(lp, a) as number, 11);
    close(e2.updateSync(lp) as number, 11);
    const state = e1.getState();
    const e3 = new BoundaryEstimator();
    e3.setState(state);
    close(e3.updateFromValues(batch(0)) as number, 0.9 * 11 + 0.1 * 1);
    tf.dispose([lp, a]);
    assert.throws(() => new BoundaryEstimator({ beta: 1 }), /beta/);
  });
});
