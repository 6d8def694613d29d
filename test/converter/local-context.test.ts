import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { localAverage } from '../../src/converter/local-context';
import { Rng } from '../../src/util/rng';
import { randnValues, useCpu } from './helpers';

/** Direct k x k mean with zeros outside the map, divided by k^2 (count_include_pad). */
function naive(values: Float32Array, h: number, w: number, c: number, k: number): Float32Array {
  const out = new Float32Array(values.length);
  const r = (k - 1) / 2;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let di = -r; di <= r; di++) {
          for (let dj = -r; dj <= r; dj++) {
            const y = i + di;
            const x = j + dj;
            if (y >= 0 && y < h && x >= 0 && x < w) sum += values[(y * w + x) * c + ch];
          }
        }
        out[(i * w + j) * c + ch] = sum / (k * k);
      }
    }
  }
  return out;
}

describe('converter/local-context', () => {
  before(useCpu);

  it('averages k x k neighbourhoods with zero padding counted (PyTorch count_include_pad), any odd k', () => {
    const [h, w, c] = [5, 6, 3];
    const values = randnValues(new Rng(2), h * w * c, 1);
    const x = tf.tensor4d(values, [1, h, w, c]);
    for (const k of [3, 5]) {
      const y = localAverage(x, k);
      const want = naive(values, h, w, c, k);
      const got = y.dataSync();
      assert.ok(want.every((v, i) => Math.abs(v - got[i]) < 1e-5), `k=${k}`);
      y.dispose();
    }
    const same = localAverage(x, 1);
    assert.deepEqual(Array.from(same.dataSync()), Array.from(values));
    assert.notEqual(same, x, 'k = 1 returns a copy the caller may dispose');
    tf.dispose([x, same]);
  });

  it('rejects even or non-integer windows by name', () => {
    const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    assert.throws(() => localAverage(x, 2), /odd positive integer, got 2/);
    assert.throws(() => localAverage(x, 1.5), /odd positive integer/);
    x.dispose();
  });
});
