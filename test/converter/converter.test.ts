/**
 * Feature converter: reference pool layout, nearest-neighbour matching against
 * a float64 brute force (both metrics), chunking invariance, residual modes,
 * self-matching and tensor hygiene. Small random data on the cpu backend.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';
import { ReferencePool } from '../../src/converter/reference-pool';
import { DEFAULT_NN_METRIC, nearestNeighbours, nnChunkRows, NnMetric } from '../../src/converter/nearest-neighbour';
import { computeResiduals, DEFAULT_RESIDUAL_MODE, matchLevels } from '../../src/converter/residual';
import { expectNoLeak, maxAbsDiff, randn, row, useCpu } from './helpers';

/** Float64 brute force: index, distance and the gap to the runner-up (to reject near-ties). */
function bruteForce(q: Float32Array, refs: Float32Array, c: number, metric: NnMetric): Array<{ idx: number; dist: number; gap: number }> {
  const n = q.length / c;
  const m = refs.length / c;
  const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const out: Array<{ idx: number; dist: number; gap: number }> = [];
  for (let i = 0; i < n; i++) {
    const x = row(q, c, i);
    const d = Array.from({ length: m }, (_, j) => {
      const b = row(refs, c, j);
      if (metric === 'l2') return norm(x.map((v, k) => v - b[k]));
      const dot = x.reduce((s, v, k) => s + v * b[k], 0);
      return 1 - dot / (norm(x) * norm(b));
    });
    const order = d.map((v, j) => [v, j]).sort((a, b) => a[0] - b[0]);
    out.push({ idx: order[0][1], dist: order[0][0], gap: order[1][0] - order[0][0] });
  }
  return out;
}

describe('converter', () => {
  before(useCpu);

  describe('ReferencePool', () => {
    it('stores each level as [M, C] rows in (image, y, x) order and as a [C, M] bank', () => {
      const before = tf.memory().numTensors;
      const feats = tf.tensor4d(Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => i), [2, 2, 3, 4]);
      const pool = ReferencePool.fromFeatures([feats]);
      feats.dispose(); // the pool keeps its own reference
      const lvl = pool.level(0);
      assert.deepEqual([lvl.size, lvl.channels, pool.numImages], [12, 4, 2]);
      assert.deepEqual(lvl.bank.shape, [4, 12]);
      // row m = image m div 6, y = (m mod 6) div 3, x = m mod 3: its channels are 4m..4m+3.
      assert.deepEqual(row(lvl.rows.dataSync(), 4, 7), [28, 29, 30, 31]);
      const bank = lvl.bank.dataSync();
      assert.deepEqual([bank[0 * 12 + 7], bank[3 * 12 + 7]], [28, 31]);
      // Lazily built metric banks.
      const unit = lvl.unitBank().arraySync();
      for (let j = 0; j < 12; j++) {
        const n = Math.hypot(...unit.map((r) => r[j]));
        assert.ok(Math.abs(n - 1) < 1e-6 || j === 0, `column ${j} norm ${n}`);
      }
      const l2 = lvl.l2Bank().arraySync();
      assert.deepEqual(l2.length, 5);
      assert.equal(l2[4][7], -(28 * 28 + 29 * 29 + 30 * 30 + 31 * 31));
      assert.equal(l2[2][7], 60);
      pool.dispose();
      assert.equal(tf.memory().numTensors, before);
      assert.throws(() => pool.level(0), /dispose/);
    });

    it('a zero reference column stays finite in the cosine bank', () => {
      const pool = ReferencePool.fromRows([tf.tensor2d([[0, 0], [3, 4]])]);
      const unit = pool.level(0).unitBank().dataSync();
      assert.ok(maxAbsDiff(unit, [0, 0.6, 0, 0.8]) < 1e-7);
      pool.dispose();
    });

    it('rejects inconsistent inputs', () => {
      const a = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
      const b = tf.zeros([3, 1, 1, 3]) as tf.Tensor4D;
      assert.throws(() => ReferencePool.fromFeatures([a, b]), /images/);
      assert.throws(() => ReferencePool.fromFeatures([]), /no levels/);
      tf.dispose([a, b]);
    });
  });

  describe('nearestNeighbours', () => {
    const c = 6;
    let pool: ReferencePool;
    let refs: Float32Array;
    let query: tf.Tensor2D;
    let qv: Float32Array;

    before(() => {
      const rng = new Rng(11);
      const feats = randn<tf.Rank.R4>(rng, [3, 4, 5, c]);
      pool = ReferencePool.fromFeatures([feats]);
      refs = feats.dataSync() as Float32Array;
      feats.dispose();
      // Queries near random references plus noise, and pure noise rows, with some scaled copies
      // (the cosine and L2 answers then differ for some rows).
      const v = randn<tf.Rank.R2>(rng, [37, c]).dataSync() as Float32Array;
      for (let i = 0; i < 20; i++) {
        const j = rng.int(60);
        const s = rng.range(0.3, 3);
        for (let k = 0; k < c; k++) v[i * c + k] = s * refs[j * c + k] + 0.2 * v[i * c + k];
      }
      qv = v;
      query = tf.tensor2d(v, [37, c]);
    });
    after(() => {
      pool.dispose();
      query.dispose();
    });

    it('defaults to the paper\'s L2 metric', () => {
      assert.equal(DEFAULT_NN_METRIC, 'l2');
    });

    for (const metric of ['l2', 'cosine'] as NnMetric[]) {
      it(`${metric}: matches a float64 brute force (indices, matched rows, distances)`, () => {
        const expected = bruteForce(qv, refs, c, metric);
        const res = nearestNeighbours(query, pool.level(0), { metric });
        const idx = res.indices.dataSync();
        const matched = res.matched.dataSync();
        const dist = res.distances.dataSync();
        assert.equal(res.indices.dtype, 'int32');
        let checked = 0;
        expected.forEach((e, i) => {
          if (e.gap < 1e-4) return; // a float32 near-tie may legitimately go either way
          checked++;
          assert.equal(idx[i], e.idx, `row ${i}`);
          assert.ok(maxAbsDiff(row(matched, c, i), row(refs, c, e.idx)) === 0, `matched row ${i}`);
          assert.ok(Math.abs(dist[i] - e.dist) < 1e-5 * Math.max(1, e.dist), `distance row ${i}: ${dist[i]} vs ${e.dist}`);
        });
        assert.ok(checked >= 35, `only ${checked} rows without near-ties`);
        tf.dispose([res.indices, res.matched, res.distances]);
      });
    }

    it('l2 and cosine pick different neighbours where they should (hand case)', () => {
      // x = (1, 0); a = (10, 1) is nearly parallel but far; b = (0.5, 0.3) is close but at 31 degrees.
      const p = ReferencePool.fromRows([tf.tensor2d([[10, 1], [0.5, 0.3]])]);
      const x = tf.tensor2d([[1, 0]]);
      const l2 = nearestNeighbours(x, p.level(0), { metric: 'l2' });
      const cos = nearestNeighbours(x, p.level(0), { metric: 'cosine' });
      assert.deepEqual([l2.indices.dataSync()[0], cos.indices.dataSync()[0]], [1, 0]);
      assert.ok(Math.abs(l2.distances.dataSync()[0] - Math.hypot(0.5, 0.3)) < 1e-6);
      assert.ok(Math.abs(cos.distances.dataSync()[0] - (1 - 10 / Math.sqrt(101))) < 1e-6);
      assert.deepEqual(Array.from(cos.matched.dataSync()), [10, 1]); // x* is the raw reference, not the normalised one
      tf.dispose([x, l2.indices, l2.matched, l2.distances, cos.indices, cos.matched, cos.distances]);
      p.dispose();
    });

    for (const metric of ['l2', 'cosine'] as NnMetric[]) {
      it(`${metric}: chunked results equal unchunked ones`, () => {
        const full = nearestNeighbours(query, pool.level(0), { metric, chunkSize: 1000 });
        for (const opts of [{ chunkSize: 1 }, { chunkSize: 7 }, { chunkSize: 36 }, { maxBlockElements: 200 }]) {
          const part = nearestNeighbours(query, pool.level(0), { metric, ...opts });
          assert.deepEqual(Array.from(part.indices.dataSync()), Array.from(full.indices.dataSync()), JSON.stringify(opts));
          assert.equal(maxAbsDiff(part.matched.dataSync(), full.matched.dataSync()), 0);
          assert.ok(maxAbsDiff(part.distances.dataSync(), full.distances.dataSync()) < 1e-6);
          tf.dispose([part.indices, part.matched, part.distances]);
        }
        tf.dispose([full.indices, full.matched, full.distances]);
      });
    }

    it('derives the chunk from the block budget', () => {
      assert.equal(nnChunkRows(12544, { maxBlockElements: 12544 * 300 + 5 }), 300);
      assert.equal(nnChunkRows(100, { chunkSize: 3, maxBlockElements: 1 }), 3);
      assert.equal(nnChunkRows(1e9, { maxBlockElements: 10 }), 1);
      assert.throws(() => nnChunkRows(10, { chunkSize: 0 }), /chunkSize/);
    });

    it('leaves no tensors behind (chunked, both metrics) and rejects a channel mismatch', () => {
      for (const metric of ['l2', 'cosine'] as NnMetric[]) {
        expectNoLeak(() => {
          const r = nearestNeighbours(query, pool.level(0), { metric, chunkSize: 5 });
          return [r.indices, r.matched, r.distances];
        }, `nearestNeighbours ${metric}`);
      }
      const bad = tf.zeros([2, c + 1]) as tf.Tensor2D;
      assert.throws(() => nearestNeighbours(bad, pool.level(0)), /channels/);
      bad.dispose();
    });
  });

  describe('computeResiduals', () => {
    const rng = new Rng(5);
    let refFeats: tf.Tensor4D[];
    let pool: ReferencePool;
    let feats: tf.Tensor4D[];

    before(() => {
      refFeats = [randn<tf.Rank.R4>(rng, [2, 4, 4, 3]), randn<tf.Rank.R4>(rng, [2, 2, 2, 5])];
      pool = ReferencePool.fromFeatures(refFeats);
      feats = [randn<tf.Rank.R4>(rng, [2, 4, 4, 3]), randn<tf.Rank.R4>(rng, [2, 2, 2, 5])];
    });
    after(() => {
      pool.dispose();
      tf.dispose([...refFeats, ...feats]);
    });

    it("defaults to the paper's r = x - x*", () => {
      assert.equal(DEFAULT_RESIDUAL_MODE, 'diff');
    });

    for (const metric of ['l2', 'cosine'] as NnMetric[]) {
      it(`${metric}: 'diff' is x - x* and 'sqdiff' is (x - x*)^2 with x* the brute-force neighbour`, () => {
        const diff = computeResiduals(feats, pool, { mode: 'diff', metric });
        const sq = computeResiduals(feats, pool, { mode: 'sqdiff', metric, chunkSize: 3 });
        feats.forEach((f, l) => {
          const cc = f.shape[3];
          const x = f.dataSync() as Float32Array;
          const b = refFeats[l].dataSync() as Float32Array;
          const nn = bruteForce(x, b, cc, metric);
          const d = diff[l].dataSync();
          const s = sq[l].dataSync();
          assert.deepEqual(diff[l].shape, f.shape);
          nn.forEach((e, i) => {
            for (let k = 0; k < cc; k++) {
              const r = x[i * cc + k] - b[e.idx * cc + k];
              assert.equal(d[i * cc + k], Math.fround(r));
              assert.ok(Math.abs(s[i * cc + k] - r * r) <= 1e-6 * Math.max(1, r * r));
            }
          });
        });
        tf.dispose([...diff, ...sq]);
      });
    }

    it("'none' returns x itself (values), as new tensors", () => {
      const r = computeResiduals(feats, pool, { mode: 'none' });
      r.forEach((t, l) => {
        assert.notEqual(t, feats[l]);
        assert.equal(maxAbsDiff(t.dataSync(), feats[l].dataSync()), 0);
      });
      tf.dispose(r);
      assert.equal(feats[0].isDisposed, false);
    });

    for (const metric of ['l2', 'cosine'] as NnMetric[]) {
      it(`${metric}: a query equal to a reference image gives exactly zero residuals`, () => {
        const r = computeResiduals(refFeats, pool, { metric });
        r.forEach((t) => assert.equal(maxAbsDiff(t.dataSync(), new Float32Array(t.size)), 0));
        const [m0] = matchLevels([refFeats[0]], pool, { metric });
        // Self-matches: index m for position m, and distance ~0.
        assert.deepEqual(Array.from(m0.indices.dataSync()), Array.from({ length: 32 }, (_, i) => i));
        assert.ok(Math.max(...Array.from(m0.distances.dataSync(), Math.abs)) < 1e-6);
        tf.dispose([...r, m0.matched, m0.indices, m0.distances]);
      });
    }

    it('per-image pools match each image against its own references', () => {
      const other = ReferencePool.fromFeatures([randn<tf.Rank.R4>(rng, [1, 4, 4, 3]), randn<tf.Rank.R4>(rng, [1, 2, 2, 5])]);
      const mixed = computeResiduals(feats, [pool, other]);
      const [a0, a1] = feats.map((f) => tf.slice(f, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
      const [b0, b1] = feats.map((f) => tf.slice(f, [1, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
      const first = computeResiduals([a0, a1], pool);
      const second = computeResiduals([b0, b1], other);
      for (let l = 0; l < 2; l++) {
        const both = tf.concat([first[l], second[l]], 0);
        assert.equal(maxAbsDiff(mixed[l].dataSync(), both.dataSync()), 0);
        both.dispose();
      }
      assert.throws(() => computeResiduals(feats, [pool]), /pools for a batch/);
      tf.dispose([...mixed, a0, a1, b0, b1, ...first, ...second]);
      other.dispose();
    });

    it('matchLevels returns maps of matches, indices and distances', () => {
      const m = matchLevels(feats, pool, { metric: 'l2' });
      assert.deepEqual(m[1].matched.shape, [2, 2, 2, 5]);
      assert.deepEqual(m[1].indices.shape, [2, 2, 2]);
      assert.deepEqual(m[1].distances.shape, [2, 2, 2]);
      // distance == ||x - x*||
      const norms = tf.tidy(() => tf.norm(tf.sub(feats[1], m[1].matched), 'euclidean', 3));
      assert.ok(maxAbsDiff(norms.dataSync(), m[1].distances.dataSync()) < 1e-6);
      tf.dispose([norms, ...m.flatMap((x) => [x.matched, x.indices, x.distances])]);
    });

    it('is leak-free in every mode and rejects mismatched levels', () => {
      for (const mode of ['diff', 'sqdiff', 'none'] as const) {
        expectNoLeak(() => computeResiduals(feats, pool, { mode, chunkSize: 4 }), `computeResiduals ${mode}`);
      }
      const wrong = tf.zeros([1, 4, 4, 4]) as tf.Tensor4D;
      assert.throws(() => computeResiduals([wrong], pool), /channels/);
      wrong.dispose();
    });
  });
});
