/**
 * Feature constraintor variants: shapes, identity, BatchNorm train/eval
 * against a hand computation, numerical gradients (conv-bn-relu), gradient
 * flow to every variable of every variant, weight round trips, init scales,
 * fusion fallbacks and tensor hygiene. Tiny maps on the cpu backend.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';
import {
  CONSTRAINTOR_KINDS,
  Constraintor,
  ConstraintorKind,
  createConstraintor,
  DEFAULT_CONSTRAINTOR,
} from '../../src/constraintor/constraintor';
import { NamedWeights } from '../../src/constraintor/layers';
import { expectNoLeak, maxAbsDiff, randn, randnValues, useCpu } from '../converter/helpers';

const CHANNELS = [4, 8, 16];
const SIZES = [8, 4, 2];

function levels(rng: Rng, batch = 2, channels = CHANNELS, sizes = SIZES): tf.Tensor4D[] {
  return channels.map((c, l) => randn<tf.Rank.R4>(rng, [batch, sizes[l], sizes[l], c]));
}

function withWeight(weights: NamedWeights, name: string, values: number[]): NamedWeights {
  return weights.map((w) => (w.name === name ? { ...w, values: Float32Array.from(values) } : w));
}

describe('constraintor', () => {
  before(useCpu);

  it("defaults to the paper's Conv3x3 + BN + ReLU", () => {
    assert.equal(DEFAULT_CONSTRAINTOR, 'conv-bn-relu');
  });

  for (const kind of CONSTRAINTOR_KINDS) {
    it(`${kind}: preserves every level's shape in train and eval mode, leak-free`, () => {
      const before = tf.memory().numTensors;
      const rng = new Rng(1);
      const x = levels(rng);
      const c = createConstraintor(kind, CHANNELS, 3);
      for (const training of [true, false]) {
        expectNoLeak(() => {
          const y = c.apply(x, training);
          y.forEach((t, l) => {
            assert.deepEqual(t.shape, x[l].shape);
            assert.ok(Array.from(t.dataSync()).every(Number.isFinite));
          });
          return y;
        }, `${kind} apply`);
      }
      c.dispose();
      tf.dispose(x);
      assert.equal(tf.memory().numTensors, before, 'dispose() frees every variable');
      assert.throws(() => c.apply(x, false), /dispose/);
    });
  }

  it("conv-bn: a signed output; 'unit-norm' gamma starts output norms near 1 instead of sqrt(C)", () => {
    const rng = new Rng(4);
    const channels = [16, 64, 256];
    const x = levels(rng, 4, channels, [8, 8, 8]);
    const meanNorm = (t: tf.Tensor4D): number => tf.tidy(() => tf.mean(tf.sqrt(tf.sum(tf.square(t), 3))).dataSync()[0]);
    for (const gamma of ['one', 'unit-norm'] as const) {
      const c = createConstraintor('conv-bn', channels, 3, { bnGammaInit: gamma });
      const y = c.apply(x, true);
      y.forEach((t, l) => {
        const norm = meanNorm(t);
        // BatchNorm makes each channel unit-variance: ||r'|| ~ gamma * sqrt(C).
        const expected = gamma === 'one' ? Math.sqrt(channels[l]) : 1;
        assert.ok(Math.abs(norm - expected) < 0.1 * expected, `${gamma} level ${l}: mean norm ${norm}, expected ~${expected}`);
        assert.ok(tf.tidy(() => tf.min(t).dataSync()[0]) < 0, 'conv-bn has no ReLU: negative outputs');
      });
      tf.dispose(y);
      c.dispose();
    }
    tf.dispose(x);
  });

  it("'none' is the exact identity, with no variables", () => {
    const x = levels(new Rng(2));
    const c = createConstraintor('none', CHANNELS, 0);
    const y = c.apply(x, true);
    y.forEach((t, l) => {
      assert.notEqual(t, x[l]);
      assert.equal(maxAbsDiff(t.dataSync(), x[l].dataSync()), 0);
    });
    assert.deepEqual([c.trainableVariables.length, c.getWeights().length], [0, 0]);
    tf.dispose([...x, ...y]);
    c.dispose();
  });

  it('conv-bn-relu: BatchNorm uses batch statistics and updates running ones in training, running ones in eval', () => {
    // Conv = identity (centre tap), bias 0, so the BN sees x itself; check against plain JS.
    const C = 2;
    const c = createConstraintor('conv-bn-relu', [C], 0);
    const ident = new Array(9 * C * C).fill(0);
    for (let ch = 0; ch < C; ch++) ident[4 * C * C + ch * C + ch] = 1; // [ky=1, kx=1, in=ch, out=ch]
    let w = withWeight(c.getWeights(), 'l1_proj.conv.weight', ident);
    w = withWeight(w, 'l1_proj.conv.bias', [0, 0]);
    w = withWeight(w, 'l1_proj.bn.weight', [1.5, 0.5]);
    w = withWeight(w, 'l1_proj.bn.bias', [0.2, -0.1]);
    w = withWeight(w, 'l1_proj.bn.running_mean', [0.3, -0.2]);
    w = withWeight(w, 'l1_proj.bn.running_var', [2, 0.5]);
    c.setWeights(w);

    const vals = randnValues(new Rng(9), 2 * 3 * 3 * C, 1.3);
    for (let i = 0; i < vals.length; i += C) vals[i] += 0.7; // channel 0 off-centre
    const x = tf.tensor4d(vals, [2, 3, 3, C]);
    const n = vals.length / C;
    const mean = [0, 1].map((ch) => vals.filter((_, i) => i % C === ch).reduce((s, v) => s + v, 0) / n);
    const varB = [0, 1].map((ch) => vals.filter((_, i) => i % C === ch).reduce((s, v) => s + (v - mean[ch]) ** 2, 0) / n);
    const gamma = [1.5, 0.5];
    const beta = [0.2, -0.1];
    const expect = (m: number[], v: number[]): number[] =>
      Array.from(vals, (val, i) => Math.max(0, ((val - m[i % C]) / Math.sqrt(v[i % C] + 1e-5)) * gamma[i % C] + beta[i % C]));

    const [yTrain] = c.apply([x], true);
    assert.ok(maxAbsDiff(yTrain.dataSync(), expect(mean, varB)) < 1e-5, 'train output');
    const stats = new Map(c.getWeights().map((e) => [e.name, Array.from(e.values)]));
    const runMean = [0.3, -0.2].map((r, ch) => 0.9 * r + 0.1 * mean[ch]);
    const runVar = [2, 0.5].map((r, ch) => 0.9 * r + 0.1 * varB[ch] * (n / (n - 1))); // unbiased, as PyTorch
    assert.ok(maxAbsDiff(stats.get('l1_proj.bn.running_mean') ?? [], runMean) < 1e-6);
    assert.ok(maxAbsDiff(stats.get('l1_proj.bn.running_var') ?? [], runVar) < 1e-6);

    const [yEval] = c.apply([x], false);
    assert.ok(maxAbsDiff(yEval.dataSync(), expect(runMean, runVar)) < 1e-5, 'eval output');
    const after = new Map(c.getWeights().map((e) => [e.name, Array.from(e.values)]));
    assert.deepEqual(after.get('l1_proj.bn.running_var'), stats.get('l1_proj.bn.running_var'), 'eval leaves the stats alone');
    tf.dispose([x, yTrain, yEval]);
    c.dispose();
  });

  it('conv-bn-relu: gradients match central finite differences (tiny case, train mode)', () => {
    const rng = new Rng(24);
    const c = createConstraintor('conv-bn-relu', [2], 4);
    // Non-trivial BN affine so every parameter matters.
    let w = withWeight(c.getWeights(), 'l1_proj.bn.weight', [1.3, 0.8]);
    w = withWeight(w, 'l1_proj.bn.bias', [0.3, 0.4]);
    c.setWeights(w);
    const x = randn<tf.Rank.R4>(rng, [2, 4, 4, 2]);
    const proj = randn<tf.Rank.R4>(rng, [2, 4, 4, 2]);
    const loss = (): tf.Scalar => tf.tidy(() => tf.sum(tf.mul(c.apply([x], true)[0], proj)) as tf.Scalar);
    // Precondition: finite differences are wrong across a ReLU kink, so this seed keeps every
    // pre-activation > 0.1 away from 0 (a step of 1e-3 moves them by ~1e-2 at most). Computed
    // with plain ops, which also checks the forward: output == relu(BN(conv(x) + b)).
    const [convW, convB, gamma, beta] = c.trainableVariables;
    const pre = tf.tidy(() => {
      const y = tf.add(tf.conv2d(x, convW as tf.Tensor4D, 1, 'same'), convB);
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      return tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta);
    });
    assert.ok(Math.min(...Array.from(pre.dataSync(), Math.abs)) > 0.1);
    const [out] = c.apply([x], true);
    assert.ok(maxAbsDiff(out.dataSync(), Array.from(pre.dataSync(), (v) => Math.max(0, v))) < 1e-5);
    tf.dispose([pre, out]);
    const { value, grads } = tf.variableGrads(loss, c.trainableVariables);
    const vars = c.trainableVariables;
    assert.equal(Object.keys(grads).length, vars.length);
    const h = 1e-3;
    let checked = 0;
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const base = Float32Array.from(v.dataSync());
      for (let i = 0; i < base.length; i++) {
        const at = (delta: number): number => {
          const p = Float32Array.from(base);
          p[i] += delta;
          tf.tidy(() => v.assign(tf.tensor(p, v.shape)));
          const l = loss();
          const value = l.dataSync()[0];
          l.dispose();
          return value;
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
        assert.ok(Math.abs(numeric - g[i]) < 2e-2 * Math.max(1, Math.abs(g[i])), `${v.name}[${i}]: analytic ${g[i]} vs numeric ${numeric}`);
        checked++;
      }
    }
    assert.equal(checked, 3 * 3 * 2 * 2 + 2 + 2 + 2);
    // The conv bias sits right before a training-mode BN: its gradient is exactly zero in theory.
    const biasGrad = grads[vars[1].name].dataSync();
    assert.ok(Math.max(...Array.from(biasGrad, Math.abs)) < 1e-4);
    tf.dispose([value, ...Object.values(grads), x, proj]);
    c.dispose();
  });

  for (const kind of CONSTRAINTOR_KINDS.filter((k) => k !== 'none')) {
    it(`${kind}: gradients reach every trainable variable and a step lowers a loss`, () => {
      const rng = new Rng(31);
      // Bottleneck width C/4 >= 2: with a single-channel bottleneck, bn1's gamma is
      // exactly scale-invariant (relu(g z) = g relu(z), then a training-mode BN) and has zero gradient.
      const ch = [8, 16, 32];
      const x = levels(rng, 2, ch);
      const c = createConstraintor(kind, ch, 5);
      const loss = (): tf.Scalar =>
        tf.tidy(() => tf.addN(c.apply(x, true).map((y) => tf.mean(tf.square(tf.sub(y, 0.5))))) as tf.Scalar);
      const { value, grads } = tf.variableGrads(loss, c.trainableVariables);
      const names = c.getWeights().filter((e) => !e.name.includes('running')).map((e) => e.name);
      assert.equal(names.length, c.trainableVariables.length);
      c.trainableVariables.forEach((v, i) => {
        const g = grads[v.name];
        assert.ok(g !== undefined, `no gradient for ${names[i]}`);
        const a = Array.from(g.dataSync(), Math.abs);
        assert.ok(a.every(Number.isFinite), `non-finite gradient for ${names[i]}`);
        // Biases directly followed by a training-mode BN have zero gradient by construction.
        if (!/l\d_proj\.conv\.bias/.test(names[i])) assert.ok(Math.max(...a) > 1e-7, `zero gradient for ${names[i]}`);
      });
      const l0 = value.dataSync()[0];
      const opt = tf.train.sgd(0.05);
      for (let s = 0; s < 3; s++) opt.minimize(loss, false, c.trainableVariables);
      const last = loss();
      const l1 = last.dataSync()[0];
      last.dispose();
      assert.ok(l1 < l0, `${kind}: loss ${l0} -> ${l1}`);
      opt.dispose();
      tf.dispose([value, ...Object.values(grads), ...x]);
      c.dispose();
    });
  }

  it('weights round-trip through getWeights/setWeights (incl. running stats); bad checkpoints change nothing', () => {
    const x = levels(new Rng(41));
    for (const kind of ['msf+basic-block', 'bottleneck'] as ConstraintorKind[]) {
      const a = createConstraintor(kind, CHANNELS, 1);
      tf.dispose(a.apply(x, true)); // move the running stats away from their init
      const b = createConstraintor(kind, CHANNELS, 2);
      const ya = a.apply(x, false);
      const yb0 = b.apply(x, false);
      assert.ok(maxAbsDiff(ya[0].dataSync(), yb0[0].dataSync()) > 1e-3, 'different seeds, different outputs');
      const saved = a.getWeights();
      b.setWeights(saved);
      const yb = b.apply(x, false);
      ya.forEach((t, l) => assert.equal(maxAbsDiff(t.dataSync(), yb[l].dataSync()), 0));
      // JSON-like round trip through plain arrays.
      const plain = JSON.parse(JSON.stringify(saved.map((w) => ({ ...w, values: Array.from(w.values) })))) as Array<{
        name: string;
        shape: number[];
        values: number[];
      }>;
      const fromJson: NamedWeights = plain.map((w) => ({ name: w.name, shape: w.shape, values: Float32Array.from(w.values) }));
      const c = createConstraintor(kind, CHANNELS, 3);
      c.setWeights(fromJson);
      const yc = c.apply(x, false);
      ya.forEach((t, l) => assert.equal(maxAbsDiff(t.dataSync(), yc[l].dataSync()), 0));

      const before = c.getWeights();
      assert.throws(() => c.setWeights(saved.slice(1)), /missing weight/);
      assert.throws(() => c.setWeights([...saved, { name: 'extra', shape: [1], values: new Float32Array(1) }]), /unexpected weight/);
      const wrong = saved.map((w, i) => (i === saved.length - 1 ? { ...w, shape: [w.values.length + 1], values: new Float32Array(w.values.length + 1) } : w));
      assert.throws(() => c.setWeights(wrong), /shape/);
      c.getWeights().forEach((w, i) => assert.equal(maxAbsDiff(w.values, before[i].values), 0, 'unchanged after a failed setWeights'));
      tf.dispose([...ya, ...yb0, ...yb, ...yc]);
      [a, b, c].forEach((m) => m.dispose());
    }
    tf.dispose(x);
  });

  it('is reproducible from its seed and uses PyTorch-scaled initialisations', () => {
    const ca = createConstraintor('conv-bn-relu', [64], 7);
    const cb = createConstraintor('conv-bn-relu', [64], 7);
    const a = ca.getWeights();
    const b = cb.getWeights();
    ca.dispose();
    cb.dispose();
    assert.equal(maxAbsDiff(a[0].values, b[0].values), 0);
    const w = a[0].values;
    const bound = 1 / 24;
    assert.ok(Array.from(w).every((v) => Math.abs(v) <= bound));
    const std = Math.sqrt(Array.from(w).reduce((s, v) => s + v * v, 0) / w.length);
    assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.03 * bound, `std ${std}`);
    // kaiming normal fan_out: std sqrt(2 / (64 * 9)), zero bias.
    const k = createConstraintor('conv-bn-relu', [64], 7, { init: 'kaiming-normal' });
    const kw = k.getWeights();
    const kstd = Math.sqrt(Array.from(kw[0].values).reduce((s, v) => s + v * v, 0) / kw[0].values.length);
    assert.ok(Math.abs(kstd - Math.sqrt(2 / 576)) < 0.03 * Math.sqrt(2 / 576), `kaiming std ${kstd}`);
    assert.ok(kw[1].values.every((v) => v === 0));
    k.dispose();
  });

  it('multi-scale fusion: separable fallback for non-multiple channels, odd sizes, custom strides', () => {
    const rng = new Rng(51);
    // 8 % 6 != 0 -> depthwise + pointwise; 7x7 -> 4x4 -> 2x2 are ceil-halvings.
    const ch = [6, 8, 12];
    const x = levels(rng, 1, ch, [7, 4, 2]);
    const c = createConstraintor('msf+basic-block', ch, 0);
    const names = c.getWeights().map((w) => w.name);
    assert.ok(names.includes('l1_to_l2.depthwise.weight') && names.includes('l1_to_l2.pointwise.weight'));
    assert.ok(names.includes('l1_to_l3.weight'), '12 = 2 x 6: the exact grouped conv (multiplier 2)');
    assert.ok(names.includes('l2_to_l3.depthwise.weight'), '12 is not a multiple of 8: fallback');
    const y = c.apply(x, false);
    y.forEach((t, l) => assert.deepEqual(t.shape, x[l].shape));
    tf.dispose([...y, ...x]);
    c.dispose();
    // Two levels 4x apart (strides 4 and 16): 5x5 stride-4 kernels as the code's l1_to_l3.
    const d = createConstraintor('multi-scale-fusion', [4, 8], 0, { strides: [4, 16] });
    assert.deepEqual(d.getWeights().find((w) => w.name === 'l1_to_l2.weight')?.shape, [5, 5, 4, 2]);
    const z = levels(rng, 1, [4, 8], [8, 2]);
    const out = d.apply(z, true);
    assert.deepEqual(out[1].shape, [1, 2, 2, 8]);
    tf.dispose([...z, ...out]);
    d.dispose();
    assert.throws(() => createConstraintor('multi-scale-fusion', [4, 8], 0, { strides: [4, 6] }), /stride ratio/);
    assert.throws(() => createConstraintor('bottleneck', [6], 0), /multiple of 4/);
  });

  it('rejects wrong inputs', () => {
    const c: Constraintor = createConstraintor('basic-block', [4], 0);
    const x = tf.zeros([1, 3, 3, 5]) as tf.Tensor4D;
    assert.throws(() => c.apply([x], true), /level 0/);
    assert.throws(() => c.apply([x, x], true), /2 levels/);
    const one = tf.zeros([1, 1, 1, 4]) as tf.Tensor4D;
    assert.throws(() => c.apply([one], true), /more than 1 value/);
    assert.throws(() => createConstraintor('nope' as ConstraintorKind, [4], 0), /unknown kind/);
    tf.dispose([x, one]);
    c.dispose();
  });
});
