import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { matchDistribution, ResidualCodebook } from '../../src/converter/index';
import { Rng } from '../../src/util/rng';

function randomRows(n: number, c: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * c }, () => scale * (2 * rng.uniform() - 1));
}

/** The official loss in float64 from the codes as given, nearest code by brute force. */
function referenceLoss(codes: Float64Array, k: number, rows: Float32Array, c: number, beta: number): number {
  const n = rows.length / c;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < k; j++) {
      let d = 0;
      for (let q = 0; q < c; q++) d += (rows[i * c + q] - codes[j * c + q]) ** 2;
      best = Math.min(best, d);
    }
    total += best;
  }
  return ((1 + beta) * total) / (n * c);
}

describe('converter/residual-codebook (ResAD++ VQ and EFDM)', () => {
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('assigns every row its nearest code (brute-force Euclidean argmin), in chunks', () => {
    const c = 5;
    const book = new ResidualCodebook(7, c, 3);
    // Spread the codes so the assignment is not decided by the init's tiny values.
    tf.tidy(() => book.codes.assign(tf.tensor2d(randomRows(7, c, 11, 2), [7, c])));
    const rows = randomRows(5000, c, 12, 2);
    const got = book.nearest(rows);
    const codes = book.codes.dataSync();
    for (let i = 0; i < 5000; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let j = 0; j < 7; j++) {
        let d = 0;
        for (let q = 0; q < c; q++) d += (rows[i * c + q] - codes[j * c + q]) ** 2;
        if (d < bestD) [best, bestD] = [j, d];
      }
      assert.equal(got[i], best, `row ${i}`);
    }
    const quantized = book.quantize(rows.subarray(0, 3 * c));
    for (let q = 0; q < c; q++) assert.equal(quantized[c + q], codes[got[1] * c + q]);
    book.dispose();
  });

  it('starts with codes uniform in (-1/K, 1/K), as the official init', () => {
    const book = new ResidualCodebook(64, 4, 1);
    const v = book.codes.dataSync();
    assert.ok(v.every((x) => Math.abs(x) < 1 / 64));
    assert.ok(Math.max(...v) > 0.8 / 64 && Math.min(...v) < -0.8 / 64);
    book.dispose();
  });

  it('loss equals the float64 reference and its gradient matches central finite differences', () => {
    const c = 3;
    const k = 4;
    const beta = 0.25;
    const book = new ResidualCodebook(k, c, 5);
    const start = randomRows(k, c, 21, 1);
    tf.tidy(() => book.codes.assign(tf.tensor2d(start, [k, c])));
    const rows = randomRows(40, c, 22, 1.2);
    const { loss, grad } = book.lossAndGradient(rows, beta);
    const codes64 = Float64Array.from(start);
    assert.ok(Math.abs(loss - referenceLoss(codes64, k, rows, c, 1 * beta)) < 1e-6);
    // Only beta's term moves the codes: the finite difference of beta * mean((e - r)^2).
    const g = grad.dataSync();
    const h = 1e-4;
    for (let i = 0; i < k * c; i++) {
      const plus = Float64Array.from(codes64);
      const minus = Float64Array.from(codes64);
      plus[i] += h;
      minus[i] -= h;
      const fd = ((referenceLoss(plus, k, rows, c, beta) - referenceLoss(minus, k, rows, c, beta)) / (2 * h)) * (beta / (1 + beta));
      assert.ok(Math.abs(fd - g[i]) < 1e-5 + 1e-3 * Math.abs(fd), `entry ${i}: fd ${fd} vs ${g[i]}`);
    }
    grad.dispose();
    const empty = book.lossAndGradient(new Float32Array(0), beta);
    assert.equal(empty.loss, 0);
    assert.ok(empty.grad.dataSync().every((x) => x === 0));
    empty.grad.dispose();
    book.dispose();
  });

  it('EFDM: alpha 1 is the identity, alpha 0 gives the target values in the input rank order, per image and channel', () => {
    const shape: [number, number, number, number] = [2, 3, 4, 2];
    const input = randomRows(24, 2, 31);
    const target = randomRows(24, 2, 32);
    assert.deepEqual(Array.from(matchDistribution(input, target, shape, 1)), Array.from(input));
    const swapped = matchDistribution(input, target, shape, 0);
    const blended = matchDistribution(input, target, shape, 0.4);
    for (let img = 0; img < 2; img++) {
      for (let ch = 0; ch < 2; ch++) {
        const at = (arr: Float32Array, p: number): number => arr[img * 24 + p * 2 + ch];
        const pos = Array.from({ length: 12 }, (_, p) => p);
        const byInput = [...pos].sort((p, q) => at(input, p) - at(input, q));
        const sortedTarget = pos.map((p) => at(target, p)).sort((a, b) => a - b);
        byInput.forEach((p, rank) => {
          assert.equal(at(swapped, p), sortedTarget[rank]);
          assert.ok(Math.abs(at(blended, p) - (0.4 * at(input, p) + 0.6 * sortedTarget[rank])) < 1e-6);
        });
      }
    }
    assert.throws(() => matchDistribution(input, target.subarray(1), shape, 0.4), /expected 48 values/);
    assert.throws(() => matchDistribution(input, target, shape, 1.5), /alpha must be in \[0, 1\]/);
  });

  it('leaks no tensors', () => {
    const book = new ResidualCodebook(8, 3, 2);
    const rows = randomRows(30, 3, 4);
    const before = tf.memory().numTensors;
    book.quantize(rows);
    book.lossAndGradient(rows, 0.25).grad.dispose();
    assert.equal(tf.memory().numTensors, before);
    book.dispose();
  });
});
