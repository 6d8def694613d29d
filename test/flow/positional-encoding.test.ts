import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import {
  clearPositionalEncodingCache, positionalEncoding2d, positionalEncoding2dValues, positionalEncodingGrid,
} from '../../src/flow/positional-encoding';
import { useCpu } from './helpers';

describe('flow/positional-encoding', () => {
  before(useCpu);

  it('matches hand-computed entries (D=8, H=3, W=4)', () => {
    // D' = 4, two frequencies: 1 and 1/10000^(2/4) = 0.01.
    const v = positionalEncoding2dValues(3, 4, 8);
    assert.equal(v.length, 3 * 4 * 8);
    const row = (y: number, x: number): number[] => Array.from(v.subarray((y * 4 + x) * 8, (y * 4 + x + 1) * 8));
    const expect = (y: number, x: number): number[] => [
      Math.sin(x), Math.cos(x), Math.sin(0.01 * x), Math.cos(0.01 * x),
      Math.sin(y), Math.cos(y), Math.sin(0.01 * y), Math.cos(0.01 * y),
    ];
    for (const [y, x] of [[0, 0], [2, 3], [1, 2], [2, 0]]) {
      const got = row(y, x);
      expect(y, x).forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-7, `(${y},${x}) ch ${i}: ${got[i]} vs ${e}`));
    }
    // Spot values written out by hand: (y=2, x=3).
    assert.ok(Math.abs(row(2, 3)[0] - 0.14112001) < 1e-7);   // sin 3
    assert.ok(Math.abs(row(2, 3)[5] - -0.41614684) < 1e-7);  // cos 2
  });

  it('uses frequencies 1/10000^(2k/(D/2)) at D=256', () => {
    const v = positionalEncoding2dValues(2, 8, 256);
    const x = 7;
    const y = 1;
    const base = (y * 8 + x) * 256;
    for (const k of [0, 1, 17, 63]) {
      const f = Math.pow(10000, -(2 * k) / 128);
      assert.ok(Math.abs(v[base + 2 * k] - Math.sin(x * f)) < 1e-6, `sin x k=${k}`);
      assert.ok(Math.abs(v[base + 2 * k + 1] - Math.cos(x * f)) < 1e-6, `cos x k=${k}`);
      assert.ok(Math.abs(v[base + 128 + 2 * k] - Math.sin(y * f)) < 1e-6, `sin y k=${k}`);
      assert.ok(Math.abs(v[base + 128 + 2 * k + 1] - Math.cos(y * f)) < 1e-6, `cos y k=${k}`);
    }
  });

  it('returns fresh tensors from the cache, in [H*W, D] and [H, W, D] layouts', () => {
    clearPositionalEncodingCache();
    const before = tf.memory().numTensors;
    const a = positionalEncoding2d(5, 6);
    const b = positionalEncoding2d(5, 6);
    const g = positionalEncodingGrid(5, 6);
    assert.deepEqual(a.shape, [30, 256]);
    assert.deepEqual(g.shape, [5, 6, 256]);
    assert.notEqual(a, b);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    assert.deepEqual(Array.from(g.dataSync()), Array.from(a.dataSync()));
    // Mutating the returned values must not corrupt the cache.
    const v = positionalEncoding2dValues(5, 6);
    v.fill(42);
    assert.notEqual(positionalEncoding2dValues(5, 6)[0], 42);
    tf.dispose([a, b, g]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects dims that are not multiples of 4', () => {
    assert.throws(() => positionalEncoding2d(2, 2, 6), /multiple of 4/);
    assert.throws(() => positionalEncoding2d(0, 2, 8), /height/);
  });
});
