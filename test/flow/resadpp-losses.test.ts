import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { abnormalLogProbPerDim, focalLoss, logSigmoidMlLoss } from '../../src/flow/index';

describe('flow/resadpp-losses', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('abnormal Gaussian log-density is centred at 1', () => {
    const z = tf.tensor2d([[1, 1], [0, 0]]);
    const logdet = tf.tensor1d([0.5, 0.5]);
    const got = abnormalLogProbPerDim(z, logdet).arraySync();
    const c = -Math.log(2 * Math.PI); // 2 * (-0.5 log 2pi)
    assert.ok(Math.abs(got[0] - (c + 0.5) / 2) < 1e-6);
    assert.ok(Math.abs(got[1] - (c - 1 + 0.5) / 2) < 1e-6);
    tf.dispose([z, logdet]);
  });

  it('log-sigmoid ML matches hand values, with and without weights', () => {
    const lp = tf.tensor1d([0, 2, -3]);
    const sp = (x: number): number => Math.log(1 + Math.exp(-x));
    assert.ok(Math.abs(logSigmoidMlLoss(lp).arraySync() - (sp(0) + sp(2) + sp(-3)) / 3) < 1e-6);
    const w = tf.tensor1d([1, 0, 1]);
    assert.ok(Math.abs(logSigmoidMlLoss(lp, w).arraySync() - (sp(0) + sp(-3)) / 2) < 1e-6);
    tf.dispose([lp, w]);
  });

  it('focal loss equals the smoothed formula and is small for confident right answers', () => {
    const p = tf.tensor2d([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]);
    const y = tf.tensor1d([0, 1, 1]);
    const s = 1e-5;
    const term = (pTrue: number, pFalse: number): number => {
      const pt = (1 - s) * pTrue + s * pFalse + s;
      return -Math.pow(1 - pt, 2) * Math.log(pt);
    };
    const want = (term(0.9, 0.1) + term(0.8, 0.2) + term(0.4, 0.6)) / 3;
    assert.ok(Math.abs(focalLoss(p, y).arraySync() - want) < 1e-6);
    const right = tf.tensor2d([[0.99, 0.01]]);
    const wrong = tf.tensor2d([[0.01, 0.99]]);
    const zero = tf.tensor1d([0]);
    assert.ok(focalLoss(right, zero).arraySync() < 1e-4);
    assert.ok(focalLoss(wrong, zero).arraySync() > 1);
    assert.throws(() => focalLoss(tf.zeros([2, 3]) as tf.Tensor2D, zero), /\[N, 2\]/);
    tf.dispose([p, y, right, wrong, zero]);
  });
});
