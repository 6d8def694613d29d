/**
 * Abnormal-invariant OCC loss: hand-computed values for every variant, the
 * edge cases (no anomalies / only anomalies / zero vectors), gradient
 * direction, the detached log-barrier weights, multi-level reduction, mask
 * downsampling, a short constraintor training run and tensor hygiene.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';
import { createConstraintor } from '../../src/constraintor/constraintor';
import { maskToLevel, occLoss, occLossLevels, OccVariant } from '../../src/constraintor/occ-loss';
import { maxAbsDiff, randn, useCpu } from '../converter/helpers';

const VARIANTS: OccVariant[] = ['paper', 'paper-first-term', 'mse-cos', 'logbarrier'];
const softplus = (v: number): number => Math.log1p(Math.exp(v));
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const close = (a: number, b: number, tol = 1e-5): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function run(rp: number[][], r: number[][], flags: number[], variant: OccVariant, extra = {}): { loss: number; normalTerm: number; anomalyTerm: number } {
  const a = tf.tensor2d(rp);
  const b = tf.tensor2d(r);
  const res = occLoss(a, b, flags, { variant, ...extra });
  const loss = res.loss.dataSync()[0];
  tf.dispose([a, b, res.loss]);
  return { loss, normalTerm: res.normalTerm, anomalyTerm: res.anomalyTerm };
}

describe('occLoss', () => {
  before(useCpu);

  // Rows: two normals, two anomalies (C = 2).
  const rp = [[3, 4], [0, 0], [1, 0], [0, -1]];
  const r = [[9, 9], [9, 9], [1, 2], [3, 3]];
  const flags = [0, 0, 1, 1];

  it("'paper' (Eq. 2): mean |sqrt(||r'||+1)-1| over normals + mean ||r'-r|| over anomalies", () => {
    const res = run(rp, r, flags, 'paper');
    const normal = (Math.sqrt(6) - 1 + 0) / 2; // ||(3,4)|| = 5; the zero row contributes 0
    const anomaly = (2 + 5) / 2; // ||(0,-2)|| = 2, ||(-3,-4)|| = 5
    assert.ok(close(res.normalTerm, normal), `${res.normalTerm}`);
    assert.ok(close(res.anomalyTerm, anomaly), `${res.anomalyTerm}`);
    assert.ok(close(res.loss, normal + anomaly));
  });

  it("'mse-cos': the paper's normal term + MSE over anomalies x channels + mean (1 - cos); pushMargin adds mean max(0, m - A)", () => {
    const res = run(rp, r, flags, 'mse-cos');
    const normal = (Math.sqrt(6) - 1) / 2;
    const mse = (4 + 25) / 4; // (1-1)^2 + (0-2)^2 and (0-3)^2 + (-1-3)^2 over 2 anomalies x 2 channels
    const cos = (1 - 1 / Math.sqrt(5) + (1 + 3 / Math.sqrt(18))) / 2;
    assert.ok(close(res.normalTerm, normal), `${res.normalTerm}`);
    assert.ok(close(res.anomalyTerm, mse + cos), `${res.anomalyTerm} vs ${mse + cos}`);
    // Both anomalies have ||r'|| = 1, A = sqrt(2) - 1 < 1: each pushed by 1 - A.
    const pushed = run(rp, r, flags, 'mse-cos', { pushMargin: 1 });
    assert.ok(close(pushed.anomalyTerm, mse + cos + (2 - Math.sqrt(2))), `${pushed.anomalyTerm}`);
    assert.ok(close(run(rp, r, flags, 'paper', { pushMargin: 0.1 }).anomalyTerm, 3.5), 'A > m: no push');
    assert.throws(() => run(rp, r, flags, 'mse-cos', { pushMargin: -1 }), /pushMargin/);
  });

  it("'paper-first-term' keeps only the normal term", () => {
    const res = run(rp, r, flags, 'paper-first-term');
    assert.ok(close(res.loss, (Math.sqrt(6) - 1) / 2));
    assert.equal(res.anomalyTerm, 0);
  });

  it("'logbarrier' matches the ResAD++ formula computed by hand", () => {
    const rows = [[0.3, 0.4], [3, 4], [0, 0], [0.6, 0.8], [6, 8]];
    const target = [[7, 7], [7, 7], [7, 7], [1, 1], [5, 9]];
    const f = [0, 0, 0, 1, 1];
    const A = [Math.sqrt(1.5) - 1, Math.sqrt(6) - 1, 0, Math.SQRT2 - 1, Math.sqrt(11) - 1];
    const rMax = Math.min(0.9 * Math.min(A[3], A[4]), 0.4); // 0.3728: the anomalies set it
    const rMin = 0.99 * rMax;
    const pen = (v: number): number => softplus(v) * Math.exp(v);
    const above = pen(A[1] - rMax); // only row 1 is outside above
    const below = (pen(rMin - A[0]) + pen(rMin - A[2])) / 2; // rows 0 and 2 below r_min
    const mse = ((0.4 ** 2 + 0.2 ** 2) + (1 + 1)) / (2 * 2);
    const cos = ((1 - 1.4 / Math.SQRT2) + (1 - 102 / (10 * Math.sqrt(106)))) / 2;
    const push = pen(rMax + 0.1 - A[3]); // row 3 is inside r_max + 0.1, row 4 is not
    const res = run(rows, target, f, 'logbarrier');
    assert.ok(close(res.normalTerm, above + below), `${res.normalTerm} vs ${above + below}`);
    assert.ok(close(res.anomalyTerm, mse + cos + push), `${res.anomalyTerm} vs ${mse + cos + push}`);
    assert.ok(close(res.loss, above + below + mse + cos + push));
    const noPush = run(rows, target, f, 'logbarrier', { anomalyBarrier: false });
    assert.ok(close(noPush.anomalyTerm, mse + cos));
  });

  it("'logbarrier' without anomalies uses r_max = 0.4 and leaves the band [0.396, 0.4] free", () => {
    const normOf = (a: number): number => (1 + a) ** 2 - 1; // ||r'|| that gives radius a
    const inBand = run([[normOf(0.398), 0]], [[0, 0]], [0], 'logbarrier');
    assert.equal(inBand.loss, 0);
    assert.equal(inBand.anomalyTerm, 0);
    const outside = run([[normOf(0.45), 0]], [[0, 0]], [0], 'logbarrier');
    assert.ok(close(outside.loss, softplus(0.05) * Math.exp(0.05), 1e-4), `${outside.loss}`);
  });

  it('no anomalies: the anomaly term is 0; only anomalies: the normal term is 0', () => {
    for (const variant of VARIANTS) {
      const normalOnly = run(rp, r, [0, 0, 0, 0], variant);
      assert.equal(normalOnly.anomalyTerm, 0, variant);
      assert.ok(close(normalOnly.loss, normalOnly.normalTerm), variant);
      const anomOnly = run(rp, r, [1, 1, 1, 1], variant);
      assert.equal(anomOnly.normalTerm, 0, variant);
      assert.ok(close(anomOnly.loss, anomOnly.anomalyTerm), variant);
    }
    // paper with only anomalies: mean of ||r'-r|| over all four rows.
    const all = run(rp, r, [1, 1, 1, 1], 'paper');
    assert.ok(close(all.anomalyTerm, (Math.hypot(6, 5) + Math.hypot(9, 9) + 2 + 5) / 4));
  });

  it('accepts flags as a tensor, a typed array or numbers (> 0.5 = anomaly)', () => {
    const a = tf.tensor2d(rp);
    const b = tf.tensor2d(r);
    const t = tf.tensor1d([0, 0.2, 1, 0.9]);
    const viaTensor = occLoss(a, b, t);
    const viaTyped = occLoss(a, b, Uint8Array.from(flags));
    assert.ok(close(viaTensor.loss.dataSync()[0], viaTyped.loss.dataSync()[0]));
    assert.throws(() => occLoss(a, b, [0, 1]), /flags/);
    tf.dispose([a, b, t, viaTensor.loss, viaTyped.loss]);
  });

  for (const variant of VARIANTS) {
    it(`${variant}: a small gradient step lowers the loss, gradients finite at zero rows, leak-free`, () => {
      const rng = new Rng(7);
      const orig = randn<tf.Rank.R2>(rng, [8, 4], 2);
      const start = randn<tf.Rank.R2>(rng, [8, 4]).arraySync();
      start[2] = [0, 0, 0, 0]; // r' = 0 at a normal position: the norm's gradient must stay finite
      const x = tf.variable(tf.tensor2d(start));
      const f = [0, 0, 0, 1, 1, 0, 0, 1];
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => occLoss(x, orig, f, { variant }).loss, [x]);
      assert.equal(tf.memory().numTensors, before + 2, 'only the loss and the gradient remain');
      const g = grads[x.name];
      assert.ok(Array.from(g.dataSync()).every(Number.isFinite));
      const l0 = value.dataSync()[0];
      const stepped = tf.tidy(() => tf.sub(x, tf.mul(g, 1e-3)) as tf.Tensor2D);
      const after = occLoss(stepped, orig, f, { variant });
      assert.ok(after.loss.dataSync()[0] < l0, `${variant}: ${l0} -> ${after.loss.dataSync()[0]}`);
      tf.dispose([value, g, stepped, after.loss, orig, x]);
    });
  }

  it("'logbarrier' does not back-propagate through its exp weights", () => {
    // One normal row above r_max = 0.4: loss = softplus(v) * w with w = exp(v) constant,
    // so dL/dr' = sigmoid(v) * w * dA/dr', dA/dr' = r' / (2 ||r'|| sqrt(||r'|| + 1)).
    const x = tf.variable(tf.tensor2d([[3, 4]]));
    const zero = tf.tensor2d([[0, 0]]);
    const { value, grads } = tf.variableGrads(() => occLoss(x, zero, [0], { variant: 'logbarrier' }).loss, [x]);
    const v = Math.sqrt(6) - 1 - 0.4;
    const dA = 1 / (2 * 5 * Math.sqrt(6));
    const expected = [3, 4].map((c) => sigmoid(v) * Math.exp(v) * dA * c);
    assert.ok(maxAbsDiff(grads[x.name].dataSync(), expected) < 1e-5, `${grads[x.name].dataSync()} vs ${expected}`);
    tf.dispose([value, grads[x.name], x, zero]);
  });

  it('occLossLevels averages (default) or sums the levels; per-level terms match occLoss', () => {
    const rng = new Rng(3);
    const rpL = [randn<tf.Rank.R4>(rng, [1, 2, 2, 3]), randn<tf.Rank.R4>(rng, [1, 1, 2, 5])];
    const rL = [randn<tf.Rank.R4>(rng, [1, 2, 2, 3]), randn<tf.Rank.R4>(rng, [1, 1, 2, 5])];
    const masks = [[0, 1, 0, 0], [1, 0]];
    const before = tf.memory().numTensors;
    const mean = occLossLevels(rpL, rL, masks);
    const sum = occLossLevels(rpL, rL, masks, { levelReduction: 'sum' });
    assert.equal(tf.memory().numTensors, before + 2);
    const single = rpL.map((t, l) => {
      const a = tf.reshape(t, [-1, t.shape[3]]) as tf.Tensor2D;
      const b = tf.reshape(rL[l], [-1, t.shape[3]]) as tf.Tensor2D;
      const res = occLoss(a, b, masks[l]);
      const out = res.loss.dataSync()[0];
      tf.dispose([a, b, res.loss]);
      return out;
    });
    assert.ok(close(sum.loss.dataSync()[0], single[0] + single[1]));
    assert.ok(close(mean.loss.dataSync()[0], (single[0] + single[1]) / 2));
    assert.ok(close(mean.normalTerm + mean.anomalyTerm, mean.loss.dataSync()[0]));
    assert.equal(mean.perLevel.length, 2);
    const allNormal = occLossLevels(rpL, rL, null);
    assert.equal(allNormal.anomalyTerm, 0);
    tf.dispose([...rpL, ...rL, mean.loss, sum.loss, allNormal.loss]);
  });

  it('maskToLevel samples like F.interpolate(mode="nearest"): source floor(dst * in / out)', () => {
    const m = tf.tensor3d(Float32Array.from({ length: 25 }, (_, i) => i), [1, 5, 5]);
    const down = maskToLevel(m, 2, 2);
    // rows/cols floor(0 * 2.5) = 0 and floor(1 * 2.5) = 2
    assert.deepEqual(Array.from(down.dataSync()), [0, 2, 10, 12]);
    const m4 = tf.tensor4d([1, 0, 0, 1], [1, 2, 2, 1], 'int32');
    const up = maskToLevel(m4, 4, 4);
    assert.deepEqual(Array.from(up.dataSync()), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    assert.equal(up.dtype, 'float32');
    tf.dispose([m, down, m4, up]);
  });

  it('trains a conv-bn-relu constraintor: the OCC loss falls over a few Adam steps', () => {
    const rng = new Rng(12);
    const channels = [4, 8];
    const res = [randn<tf.Rank.R4>(rng, [2, 6, 6, 4], 2), randn<tf.Rank.R4>(rng, [2, 3, 3, 8], 2)];
    const masks = [Array.from({ length: 72 }, (_, i) => (i % 9 === 0 ? 1 : 0)), Array.from({ length: 18 }, (_, i) => (i === 4 ? 1 : 0))];
    const c = createConstraintor('conv-bn-relu', channels, 1);
    const opt = tf.train.adam(0.01);
    const losses: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    for (let step = 0; step < 8; step++) {
      const l = opt.minimize(() => occLossLevels(c.apply(res, true), res, masks).loss, true, c.trainableVariables);
      losses.push(l === null ? NaN : l.dataSync()[0]);
      if (l !== null) l.dispose();
      // Adam's two moment slots per variable appear at the first step, then nothing grows.
      assert.equal(tf.memory().numTensors, tensorsBefore + 2 * c.trainableVariables.length, `step ${step}`);
    }
    assert.ok(losses[7] < losses[0], `losses ${losses.map((v) => v.toFixed(4)).join(' ')}`);
    opt.dispose();
    c.dispose();
    tf.dispose(res);
  });
});
