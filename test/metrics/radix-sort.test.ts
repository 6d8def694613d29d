/**
 * Radix sort keys, stability with payload, and agreement with the native sort (both SortedScores
 * paths).
 */
import { strict as assert } from 'assert';
import { float32Keys, keyToFloat, SortedScores, sortFloat32Valued, sortKeys } from '../../src/metrics/index';
import { Rng } from '../../src/util/rng';

describe('metrics/radix-sort', () => {
  it('keys order floats numerically, -0 as +0, and invert exactly', () => {
    const v = new Float32Array([3.5, -0, 0, -1e-40, 1e-40, -Infinity, Infinity, -3.5, 3.4028234663852886e38, -2]);
    const keys = float32Keys(v);
    assert.equal(keys[1], keys[2], '-0 and +0 share a key');
    for (let a = 0; a < v.length; a++) {
      assert.ok(Object.is(keyToFloat(keys[a]), v[a] === 0 ? 0 : v[a]));
      for (let b = 0; b < v.length; b++) assert.equal(keys[a] < keys[b], v[a] < v[b], `${v[a]} vs ${v[b]}`);
    }
  });

  it('sorts keys stably with a payload', () => {
    const keys = Uint32Array.of(0x00020001, 0x00010002, 0x00020001, 0x00010001, 0xffffffff, 0);
    const ids = Uint32Array.of(0, 1, 2, 3, 4, 5);
    sortKeys(keys, ids);
    assert.deepEqual(Array.from(keys), [0, 0x00010001, 0x00010002, 0x00020001, 0x00020001, 0xffffffff]);
    assert.deepEqual(Array.from(ids), [5, 3, 1, 0, 2, 4]);
    const one = Uint32Array.of(0x1234, 0x1234); // constant digits: passes skipped
    sortKeys(one);
    assert.deepEqual(Array.from(one), [0x1234, 0x1234]);
    assert.throws(() => sortKeys(Uint32Array.of(1, 2), Uint32Array.of(1)), /payload has 1 entries, keys 2/);
  });

  it('matches the native sort on random float32 data with ties and both signs', () => {
    const rng = new Rng(3);
    for (const n of [0, 1, 5, 70000]) {
      const a = Float64Array.from({ length: n }, () => Math.fround(rng.bool(0.3) ? rng.int(5) - 2 : rng.normal() * 1e3));
      const ref = a.slice().sort();
      sortFloat32Valued(a);
      assert.deepEqual(a, ref);
    }
  });

  it('SortedScores takes the radix path for large float32 inputs and the native one otherwise', () => {
    const rng = new Rng(4);
    const n = 40000;
    const f32 = Float32Array.from({ length: n }, () => rng.normal());
    const f64 = Float64Array.from({ length: n }, () => rng.normal()); // not float32-valued: native sort
    const labels = Uint8Array.from({ length: n }, () => (rng.bool(0.1) ? 1 : 0));
    for (const scores of [f32, f64]) {
      const s = SortedScores.from(scores, labels);
      const byLabel = (l: number): Float64Array =>
        Float64Array.from(Array.from(scores).filter((_, i) => labels[i] === l)).sort();
      assert.deepEqual(s.pos, byLabel(1));
      assert.deepEqual(s.neg, byLabel(0)); // ~36000 negatives: above the radix cut-off
      assert.ok(s.neg.length >= 1 << 14);
    }
  });
});
