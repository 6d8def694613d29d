import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { ConditionalFlow } from '../../src/flow/conditional-flow';
import { flowLoss, FlowLossOptions } from '../../src/flow/flow-loss';
import { bgSppLoss, mlLoss } from '../../src/flow/losses';
import { abnormalLogProbPerDim, focalLoss, logSigmoidMlLoss } from '../../src/flow/resadpp-losses';
import { Rng } from '../../src/util/rng';
import { perturbed, randn, useCpu } from './helpers';

const scalar = (t: tf.Tensor): number => t.dataSync()[0];

describe('flow/flow-loss', () => {
  before(useCpu);

  const dim = 4;
  const n = 24;
  let flow: ConditionalFlow;
  let x: tf.Tensor2D;
  let cond: tf.Tensor2D;
  let flags: tf.Tensor1D;
  let normal: tf.Tensor1D;

  before(() => {
    const rng = new Rng(5);
    flow = new ConditionalFlow({ dim, condDim: 3, blocks: 2, seed: 5 });
    flow.setWeights(perturbed(flow.getWeights(), new Rng(105), 0.3));
    x = randn(rng, [n, dim]);
    cond = randn(rng, [n, 3]);
    const f = Float32Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0));
    flags = tf.tensor1d(f);
    normal = tf.tensor1d(f.map((v) => 1 - v));
  });
  after(() => {
    tf.dispose([x, cond, flags, normal]);
    flow.dispose();
  });

  /** The parts built from the individual losses, as the trainer built them before flowLoss existed. */
  function reference(options: FlowLossOptions): { total: number; ml: number; bgspp?: number; logp: Float32Array } {
    let out: { total: number; ml: number; bgspp?: number; logp: Float32Array } | null = null;
    tf.tidy(() => {
      const resadpp = options.kind === 'resad++';
      const logp = flow.logProbPerDim(x, cond);
      const ml = resadpp ? logSigmoidMlLoss(logp, normal) : mlLoss(logp, normal);
      const term = options.bgspp;
      if (term === null) {
        out = { total: scalar(ml), ml: scalar(ml), logp: logp.dataSync() as Float32Array };
        return;
      }
      const bg = bgSppLoss(logp, flags, term.boundary, term.tau, resadpp ? { reduction: 'mean-violators', penalty: 'softplus' } : { reduction: term.reduction });
      let total = scalar(ml) + term.weight * scalar(bg);
      if (resadpp) {
        const { z, logdet } = flow.forward(x, cond);
        const logpA = abnormalLogProbPerDim(z, logdet);
        total += scalar(logSigmoidMlLoss(logpA, flags)) + scalar(focalLoss(tf.softmax(tf.stack([logp, logpA], 1)) as tf.Tensor2D, flags));
      }
      out = { total, ml: scalar(ml), bgspp: scalar(bg), logp: logp.dataSync() as Float32Array };
    });
    return out!;
  }

  const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

  const boundary = -1.2;
  const cases: Array<[string, FlowLossOptions]> = [
    ['paper, ML only', { kind: 'paper', bgspp: null }],
    ['paper, BG-SPP summed', { kind: 'paper', bgspp: { boundary, tau: 0.1, weight: 1, reduction: 'sum' } }],
    ['paper, BG-SPP mean, weight 0.5', { kind: 'paper', bgspp: { boundary, tau: 0.1, weight: 0.5, reduction: 'mean' } }],
    ['resad++, ML only', { kind: 'resad++', bgspp: null }],
    // The reduction is the paper kind's: resad++ takes the log barrier whatever it says.
    ['resad++, log-barrier BG-SPP, abnormal density, focal', { kind: 'resad++', bgspp: { boundary, tau: 0.1, weight: 1, reduction: 'sum' } }],
  ];
  for (const [name, options] of cases) {
    it(`${name}: total and parts equal the individual losses, nothing leaks`, () => {
      const want = reference(options);
      const before = tf.memory().numTensors;
      const parts = flowLoss(flow, x, cond, flags, options);
      close(scalar(parts.total), want.total, 'total');
      close(scalar(parts.ml), want.ml, 'ml');
      if (want.bgspp === undefined) {
        assert.equal(parts.bgspp, undefined);
      } else {
        assert.ok(want.bgspp > 0, 'the boundary is violated: the term is not vacuous');
        close(scalar(parts.bgspp!), want.bgspp, 'bgspp');
      }
      assert.deepEqual(parts.logp.shape, [n]);
      parts.logp.dataSync().forEach((v, i) => close(v, want.logp[i], `logp[${i}]`));
      tf.dispose(parts);
      assert.equal(tf.memory().numTensors, before, 'flowLoss keeps only what it returns');
    });
  }

  it('under tf.variableGrads: gradients for every flow weight, the closure\'s scope frees the parts', () => {
    const before = tf.memory().numTensors;
    let ml = NaN;
    const { value, grads } = tf.variableGrads(() => {
      const parts = flowLoss(flow, x, cond, flags, { kind: 'resad++', bgspp: { boundary, tau: 0.1, weight: 1, reduction: 'sum' } });
      ml = scalar(parts.ml);
      return parts.total;
    }, flow.trainableVariables);
    assert.ok(Number.isFinite(ml));
    close(scalar(value), reference({ kind: 'resad++', bgspp: { boundary, tau: 0.1, weight: 1, reduction: 'sum' } }).total, 'total');
    assert.equal(Object.keys(grads).length, flow.trainableVariables.length);
    for (const g of Object.values(grads)) assert.ok(g.dataSync().every(Number.isFinite));
    tf.dispose([value, grads]);
    assert.equal(tf.memory().numTensors, before);
  });
});
