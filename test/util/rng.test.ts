import { strict as assert } from 'assert';
import { Rng, hashString } from '../../src/util/rng';

describe('util/rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const sa = Array.from({ length: 20 }, () => a.uniform());
    const sb = Array.from({ length: 20 }, () => b.uniform());
    const sc = Array.from({ length: 20 }, () => c.uniform());
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
    for (const v of sa) assert.ok(v >= 0 && v < 1);
  });

  it('draws roughly uniform integers and standard normals', () => {
    const rng = new Rng(1);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 50000; i++) counts[rng.int(5)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `bucket ${c}`);
    let sum = 0;
    let sq = 0;
    const n = 50000;
    for (let i = 0; i < n; i++) {
      const x = rng.normal();
      sum += x;
      sq += x * x;
    }
    assert.ok(Math.abs(sum / n) < 0.03);
    assert.ok(Math.abs(sq / n - 1) < 0.03);
  });

  it('samples distinct items and rejects impossible requests', () => {
    const rng = new Rng(3);
    const items = ['a', 'b', 'c', 'd', 'e'];
    const s = rng.sample(items, 3);
    assert.equal(new Set(s).size, 3);
    for (const x of s) assert.ok(items.includes(x));
    assert.throws(() => rng.sample(items, 6), /asked for 6 of 5/);
    assert.throws(() => new Rng(NaN), /finite/);
  });

  it('forks streams that depend only on (seed, label)', () => {
    const first = new Rng(5).fork('bottle').uniform();
    const parent = new Rng(5);
    parent.uniform();
    parent.uniform();
    assert.equal(parent.fork('bottle').uniform(), first);
    assert.notEqual(new Rng(5).fork('grid').uniform(), first);
    assert.equal(hashString('abc'), hashString('abc'));
    assert.notEqual(hashString('abc'), hashString('abd'));
  });
});
