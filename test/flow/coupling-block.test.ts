import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CouplingBlock, globalScalePreactivation, NamedWeight, SoftClamp } from '../../src/flow/coupling-block';
import { logAbsDeterminant, randomPermutationMatrix, randomRotation } from '../../src/flow/permutation';
import { Rng } from '../../src/util/rng';
import { maxAbsDiff, perturbed, randn, useCpu } from './helpers';

interface Fixture {
  dim: number;
  condDim: number;
  n: number;
  clamp: number;
  weights: Array<{ name: string; shape: number[]; values: number[] }>;
  x: number[];
  cond: number[];
  expected: Record<SoftClamp, { y: number[]; logdet: number[] }>;
}

describe('flow/permutation', () => {
  it('draws rotations: orthogonal to 1e-12 with det +1', () => {
    for (const n of [2, 5, 16]) {
      for (let seed = 0; seed < 4; seed++) {
        const r = randomRotation(n, new Rng(seed));
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let dot = 0;
            for (let k = 0; k < n; k++) dot += r[i * n + k] * r[j * n + k];
            assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `n=${n} R R^T[${i},${j}] = ${dot}`);
          }
        }
        const { sign, logAbs } = logAbsDeterminant(r, n);
        assert.equal(sign, 1);
        assert.ok(Math.abs(logAbs) < 1e-12);
      }
    }
  });

  it('draws hard permutations with one 1 per row and column', () => {
    const n = 9;
    const p = randomPermutationMatrix(n, new Rng(3));
    for (let i = 0; i < n; i++) {
      let row = 0;
      let col = 0;
      for (let j = 0; j < n; j++) { row += p[i * n + j]; col += p[j * n + i]; }
      assert.equal(row, 1);
      assert.equal(col, 1);
    }
    assert.ok(Array.from({ length: n }, (_, i) => p[i * n + i]).some((d) => d === 0), 'not the identity');
  });

  it('computes log|det| of a known matrix', () => {
    // [[2, 1], [4, 5]]: det = 6; [[0, 1], [1, 0]]: det = -1.
    assert.ok(Math.abs(logAbsDeterminant([2, 1, 4, 5], 2).logAbs - Math.log(6)) < 1e-14);
    assert.deepEqual(logAbsDeterminant([0, 1, 1, 0], 2), { sign: -1, logAbs: 0 });
  });
});

describe('flow/coupling-block', () => {
  before(useCpu);

  it('initialises the global affine scale to global_affine_init (FrEIA SOFTPLUS)', () => {
    for (const init of [1, 0.5, 2]) {
      const gamma = globalScalePreactivation(init);
      const g = 0.1 * 2 * Math.log1p(Math.exp(0.5 * gamma));
      assert.ok(Math.abs(g - init) < 1e-12, `init ${init}: ${g}`);
    }
  });

  it('matches an independent float64 NumPy block (fixture) to 1e-5, for each soft clamp', () => {
    const fx = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'flow_block.json'), 'utf8')) as Fixture;
    const weights: NamedWeight[] = fx.weights.map((w) => ({ name: w.name, shape: w.shape, values: Float32Array.from(w.values) }));
    for (const kind of ['atan', 'tanh', 'tanh-scaled'] as const) {
      const block = new CouplingBlock({ dim: fx.dim, condDim: fx.condDim, clamp: fx.clamp, softClamp: kind });
      block.setWeights(weights);
      const x = tf.tensor2d(fx.x, [fx.n, fx.dim]);
      const cond = tf.tensor2d(fx.cond, [fx.n, fx.condDim]);
      const { y, logdet } = block.forward(x, cond);
      const dy = maxAbsDiff(y.dataSync(), fx.expected[kind].y);
      const dl = maxAbsDiff(logdet.dataSync(), fx.expected[kind].logdet);
      assert.ok(dy < 1e-5, `${kind}: max |y - y_numpy| = ${dy}`);
      assert.ok(dl < 1e-5, `${kind}: max |logdet - logdet_numpy| = ${dl}`);
      // The variants really differ on this fixture (the clamp is exercised).
      if (kind !== 'atan') assert.ok(maxAbsDiff(fx.expected[kind].logdet, fx.expected.atan.logdet) > 1e-2);
      tf.dispose([x, cond, y, logdet]);
      block.dispose();
    }
  });

  it('custom flag-free matMul gradients equal tfjs autodiff of a plain-op reference block', () => {
    // The same block written with ordinary tf ops (tfjs's own MatMul gradient),
    // from the equations: y = ([x1 | x2 e^s + t] g + o) R.
    const rng = new Rng(21);
    const block = new CouplingBlock({ dim: 5, condDim: 3, seed: 4 });
    block.setWeights(perturbed(block.getWeights(), rng, 0.5));
    const w = new Map(block.getWeights().map((v) => [v.name, tf.tensor(v.values, v.shape)]));
    const x = randn(rng, [16, 5]);
    const cond = randn(rng, [16, 3]);
    const upstream = randn(rng, [16, 5]); // random cotangent so every output matters
    const reference = (xx: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor, gs: tf.Tensor, go: tf.Tensor): tf.Scalar => {
      const x1 = tf.slice(xx, [0, 0], [-1, 3]);
      const x2 = tf.slice(xx, [0, 3], [-1, 2]);
      const h = tf.relu(tf.add(tf.matMul(tf.concat([x1, cond], 1), w1 as tf.Tensor2D), b1));
      const a = tf.mul(tf.add(tf.matMul(h as tf.Tensor2D, w2 as tf.Tensor2D), b2), 0.1);
      const sc = tf.mul(tf.atan(tf.div(tf.slice(a, [0, 0], [-1, 2]), 1.9)), 1.9 * 0.636);
      const y2 = tf.add(tf.mul(x2, tf.exp(sc)), tf.slice(a, [0, 2], [-1, 2]));
      const g = tf.mul(tf.softplus(tf.mul(gs, 0.5)), 0.2);
      const y = tf.matMul(tf.add(tf.mul(tf.concat([x1, y2], 1), g), go) as tf.Tensor2D, w.get('perm') as tf.Tensor2D);
      const logdet = tf.add(tf.sum(sc, 1), tf.sum(tf.log(g)));
      return tf.add(tf.sum(tf.mul(y, upstream)), tf.sum(tf.mul(logdet, tf.range(0, 16)))) as tf.Scalar;
    };
    const names = ['w1', 'b1', 'w2', 'b2', 'globalScale', 'globalOffset'];
    const refGrads = tf.grads(reference)([x, ...names.map((n) => w.get(n) as tf.Tensor)]);
    const vars = block.trainableVariables;
    const ours = tf.variableGrads(() => {
      const { y, logdet } = block.forward(x, cond);
      return tf.add(tf.sum(tf.mul(y, upstream)), tf.sum(tf.mul(logdet, tf.range(0, 16)))) as tf.Scalar;
    }, vars);
    const dx = tf.grad((xx: tf.Tensor) => {
      const { y, logdet } = block.forward(xx as tf.Tensor2D, cond);
      return tf.add(tf.sum(tf.mul(y, upstream)), tf.sum(tf.mul(logdet, tf.range(0, 16)))) as tf.Scalar;
    })(x);
    const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
      let scale = 0;
      for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
      return maxAbsDiff(a, b) / Math.max(scale, 1e-6);
    };
    assert.ok(rel(dx.dataSync(), refGrads[0].dataSync()) < 1e-5, 'dL/dx');
    names.forEach((n, i) => {
      const r = rel(ours.grads[vars[i].name].dataSync(), refGrads[i + 1].dataSync());
      assert.ok(r < 1e-5, `dL/d${n}: relative difference ${r}`);
    });
    tf.dispose([x, cond, upstream, dx, ours.value, ...Object.values(ours.grads), ...refGrads, ...w.values()]);
    block.dispose();
  });

  it('soft clamp keeps |s| < clamp even for huge subnet outputs, and approaches it', () => {
    const rng = new Rng(11);
    for (const kind of ['atan', 'tanh', 'tanh-scaled'] as const) {
      const block = new CouplingBlock({ dim: 6, condDim: 3, clamp: 1.9, softClamp: kind, seed: 5 });
      // Blow the last layer up so raw coefficients reach ~1e3..1e4.
      block.setWeights(block.getWeights().map((w) => (w.name === 'w2' || w.name === 'b2'
        ? { ...w, values: Float32Array.from(w.values, (v) => v * 5e4) } : w)));
      const x = randn(rng, [64, 6], 3);
      const cond = randn(rng, [64, 3]);
      const s = block.logScale(x, cond);
      const v = s.dataSync();
      let maxAbs = 0;
      for (const e of v) maxAbs = Math.max(maxAbs, Math.abs(e));
      assert.ok(maxAbs < 1.9, `${kind}: max |s| = ${maxAbs}`);
      assert.ok(maxAbs > 1.8, `${kind}: clamp not reached, max |s| = ${maxAbs}`);
      // The log-det is still finite and equals sum(s) + sum(log g) (g = 1 at init).
      const { y, logdet } = block.forward(x, cond);
      const ld = logdet.dataSync();
      for (let i = 0; i < 64; i++) {
        let rowSum = 0;
        for (let j = 0; j < 3; j++) rowSum += v[i * 3 + j];
        assert.ok(Math.abs(ld[i] - rowSum) < 1e-4, `${kind} row ${i}: ${ld[i]} vs ${rowSum}`);
      }
      tf.dispose([x, cond, s, y, logdet]);
      block.dispose();
    }
  });

  it('inverts exactly with odd C, hard or soft permutation, conditional or not', () => {
    const rng = new Rng(2);
    for (const [dim, condDim, permutation] of [[5, 4, 'soft'], [7, 0, 'hard'], [4, 2, 'none']] as const) {
      const block = new CouplingBlock({ dim, condDim, permutation, seed: dim });
      block.setWeights(perturbed(block.getWeights(), rng, 0.5));
      const x = randn(rng, [32, dim], 2);
      const cond = condDim > 0 ? randn(rng, [32, condDim]) : undefined;
      const { y, logdet } = block.forward(x, cond);
      const back = block.inverse(y, cond);
      const err = maxAbsDiff(back.dataSync(), x.dataSync());
      assert.ok(err < 1e-5, `C=${dim} ${permutation}: |x - f^-1(f(x))| = ${err}`);
      assert.ok(maxAbsDiff(y.dataSync(), x.dataSync()) > 0.1, 'the block must not be the identity');
      tf.dispose([x, y, logdet, back]);
      if (cond) cond.dispose();
      block.dispose();
    }
  });

  it('requires the condition when condDim > 0 and checks shapes', () => {
    const block = new CouplingBlock({ dim: 4, condDim: 3 });
    const x = tf.zeros([2, 4]) as tf.Tensor2D;
    const badCond = tf.zeros([2, 2]) as tf.Tensor2D;
    assert.throws(() => block.forward(x), /condition/);
    assert.throws(() => block.forward(x, badCond), /condition/);
    assert.throws(() => block.forward(tf.zeros([2, 5]) as tf.Tensor2D), /expected \[N, 4\]/);
    tf.dispose([x, badCond]);
    block.dispose();
  });
});
