/**
 * Hand-checkable cases for the training-free baselines: small fixed feature
 * tensors whose expected patch / image scores are computed by hand in the
 * comments, plus leak checks.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { embedLevels, kCenterGreedy, localAverage3x3, padim, patchcore, spade, invertSmall } from '../../src/baselines/index';

/** [1, h, w, C] or [K, h, w, C] from nested numbers. */
const t4 = (values: number[][][][]): tf.Tensor4D => tf.tensor4d(values);
const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-5): void => {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tol * Math.max(1, Math.abs(e)), `index ${i}: ${actual[i]} vs ${e}`));
};

describe('baselines: hand-checked features and methods', function () {
  this.timeout(60000);
  before(async () => {
    await initEngine({ quiet: true });
  });

  it('3x3 local averaging counts the zero padding (PyTorch AvgPool2d(3, 1, 1))', () => {
    // 2x2 map: every 3x3 window covers all four values -> 10 / 9 everywhere.
    const x = t4([[[[1], [2]], [[3], [4]]]]);
    const y = localAverage3x3(x);
    close(y.dataSync(), [10 / 9, 10 / 9, 10 / 9, 10 / 9]);
    // 3x3 one-hot centre: every window contains the centre -> 1 / 9 everywhere.
    const z = localAverage3x3(t4([[[[0], [0], [0]], [[0], [9], [0]], [[0], [0], [0]]]]));
    close(z.dataSync(), new Array(9).fill(1));
    tf.dispose([x, y, z]);
  });

  it('concatenates levels on the finest selected grid', () => {
    const fine = t4([[[[1], [2]], [[3], [4]]]]); // 2x2, C=1
    const coarse = t4([[[[5, 6]]]]); // 1x1, C=2: upsampled to a constant
    const e = embedLevels([fine, coarse], { levels: [0, 1], upsample: 'bilinear' });
    assert.deepEqual(e.shape, [1, 2, 2, 3]);
    close(e.dataSync(), [1, 5, 6, 2, 5, 6, 3, 5, 6, 4, 5, 6]);
    const n = embedLevels([fine, coarse], { levels: [1], upsample: 'nearest' });
    assert.deepEqual(n.shape, [1, 1, 1, 2]);
    tf.dispose([fine, coarse, e, n]);
  });

  it('PatchCore: patch score = L2 distance to the nearest of 3 bank vectors, image score = max', () => {
    // Bank (one reference, 1x3 grid): (0,0), (3,0), (0,4).
    const refs = t4([[[[0, 0], [3, 0], [0, 4]]]]);
    // Query 2x2: (0,0) -> 0; (1,0) -> 1; (3,4) -> min(5, 4, 3) = 3; (2,2) -> min(sqrt8, sqrt5, sqrt8) = sqrt5.
    const query = t4([[[[0, 0], [1, 0]], [[3, 4], [2, 2]]]]);
    const fitted = patchcore({ levels: [0], localPool: false }).fit([refs]);
    const out = fitted.scoreFeatures([query]);
    assert.equal(out.patchScores[0].width, 2);
    close(out.patchScores[0].data, [0, 1, 3, Math.sqrt(5)]);
    close(out.imageScores ?? [], [3]);
    fitted.dispose();
    tf.dispose([refs, query]);
  });

  it('PatchCore reweighting follows Eq. 7 (anomalib form)', () => {
    // 1-D bank {0, 1, 10}; query 4: s* = 3, m* = 1, N_2(m*) = {1, 0};
    // w = 1 - e^|4-1| / (e^|4-1| + e^|4-0|) = 1 - 1/(1+e).
    const refs = t4([[[[0], [1], [10]]]]);
    const query = t4([[[[4]]]]);
    const fitted = patchcore({ levels: [0], localPool: false, reweight: true, reweightNeighbours: 2 }).fit([refs]);
    const out = fitted.scoreFeatures([query]);
    close(out.imageScores ?? [], [3 * (1 - 1 / (1 + Math.E))]);
    fitted.dispose();
    tf.dispose([refs, query]);
  });

  it('greedy k-center picks the expected points on a line, with and without projection', () => {
    // Points p * v for p in [0, 1, 3, 7, 8, 20]. Start 0 -> farthest 20 (idx 5) ->
    // min distances 1,3,7,8 vs {0,20}: 8 (idx 4) -> then {1, 3, 1 (7 vs 8)}: 3 (idx 2).
    const pos = [0, 1, 3, 7, 8, 20];
    const v = [1, 2, -1, 0.5];
    const rows = tf.tensor2d(pos.map((p) => v.map((c) => p * c)));
    assert.deepEqual(kCenterGreedy(rows, 4, { start: 0, projectionDim: 0 }), [0, 5, 4, 2]);
    // A linear projection scales all distances along a line by one factor: same picks.
    assert.deepEqual(kCenterGreedy(rows, 4, { start: 0, projectionDim: 2, seed: 3 }), [0, 5, 4, 2]);
    // Seeded start: reproducible, no duplicates even when all points are taken.
    const a = kCenterGreedy(rows, 6, { seed: 7 });
    assert.deepEqual(a, kCenterGreedy(rows, 6, { seed: 7 }));
    assert.equal(new Set(a).size, 6);
    rows.dispose();
  });

  it('PatchCore with a coreset keeps the chosen bank entries', () => {
    // Bank on a line {0, 1, 3, 7, 8, 20} (1-D, no projection); ratio 0.5 -> 3 entries.
    // The start is seeded, so check the property: every query point scores its distance to the coreset.
    const refs = t4([[[[0], [1], [3], [7], [8], [20]]]]);
    const fitted = patchcore({ levels: [0], localPool: false, coresetRatio: 0.5, coresetProjection: 0, seed: 1 }).fit([refs]);
    const out = fitted.scoreFeatures([refs]);
    const zeros = Array.from(out.patchScores[0].data).filter((d) => d === 0).length;
    assert.equal(zeros, 3); // exactly the three kept points match themselves
    assert.equal(fitted.memoryBytes, 3 * 1 * 4 * 3);
    fitted.dispose();
    refs.dispose();
  });

  it('PaDiM, K = 2 on 1-D features: Mahalanobis with the 0.01 regulariser', () => {
    // References 0 and 2 -> mu = 1, unbiased variance 2, Sigma = 2.01.
    // Query 3 -> 2 / sqrt(2.01); query 1 -> 0; query 0 -> 1 / sqrt(2.01).
    const refs = t4([[[[0]]], [[[2]]]]);
    const queries = t4([[[[3]]], [[[1]]], [[[0]]]]);
    const fitted = padim({}).fit([refs]);
    const out = fitted.scoreFeatures([queries]);
    close(out.patchScores.map((g) => g.data[0]), [2 / Math.sqrt(2.01), 0, 1 / Math.sqrt(2.01)]);
    assert.equal(out.imageScores, undefined); // image score = max of the smoothed map
    fitted.dispose();
    // K = 1: no sample covariance (np.cov is NaN) -> Sigma = eps I -> |x - mu| / 0.1.
    const one = padim({}).fit([t4([[[[0]]]])]);
    close(one.scoreFeatures([t4([[[[3]]]])]).patchScores[0].data, [30]);
    one.dispose();
    tf.dispose([refs, queries]);
  });

  it('PaDiM Woodbury form equals the explicit inverse of S + eps I (K = 3, d = 4, per position)', () => {
    const refData = [
      [[[1, 0, 2, -1]], [[0.5, 1, 0, 2]]],
      [[[0, 1, 1, 0]], [[1, 1, -1, 1]]],
      [[[2, -1, 0, 1]], [[0, 2, 1, 0]]],
    ]; // K=3 images, 2x1 grid, C=4
    const qData = [[[[3, 1, -2, 0.5]], [[0.2, 0.1, 0.4, -0.3]]]];
    const fitted = padim({ epsilon: 0.05 }).fit([t4(refData)]);
    const out = fitted.scoreFeatures([t4(qData)]);
    const expected = [0, 1].map((p) => {
      const xs = refData.map((img) => img[p][0]);
      const mu = [0, 1, 2, 3].map((c) => xs.reduce((a, x) => a + x[c], 0) / 3);
      const cov = new Float64Array(16);
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) cov[i * 4 + j] = xs.reduce((a, x) => a + (x[i] - mu[i]) * (x[j] - mu[j]), 0) / 2 + (i === j ? 0.05 : 0);
      const inv = invertSmall(cov, 4);
      const v = qData[0][p][0].map((x, c) => x - mu[c]);
      let m2 = 0;
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) m2 += v[i] * inv[i * 4 + j] * v[j];
      return Math.sqrt(m2);
    });
    close(out.patchScores[0].data, expected, 1e-5);
    fitted.dispose();
  });

  it("SPADE: image kNN picks the expected references and the gallery is theirs only", () => {
    // References (1x2 grid, C=1): r0 = [0,0] (mean 0), r1 = [10,10] (mean 10), r2 = [4,4] (mean 4).
    const refs = t4([[[[0], [0]]], [[[10], [10]]], [[[4], [4]]]]);
    // Query [0.5, 11.5], mean 6: image distances r0 6, r1 4, r2 2 -> k=2 nearest {r2, r1}, score (2+4)/2 = 3.
    // Gallery {4, 10} (r0's 0 excluded): 0.5 -> 3.5, 11.5 -> 1.5.
    const query = t4([[[[0.5], [11.5]]]]);
    const two = spade({ imageK: 2 }).fit([refs]);
    const a = two.scoreFeatures([query]);
    close(a.imageScores ?? [], [3]);
    close(a.patchScores[0].data, [3.5, 1.5]);
    two.dispose();
    // All 3 references (k = min(K, 50)), kappa = 2: gallery {0,0,10,10,4,4}: 0.5 -> (0.5+0.5)/2, 11.5 -> 1.5;
    // image score (6+4+2)/3 = 4.
    const all = spade({ kappa: 2 }).fit([refs]);
    const b = all.scoreFeatures([query]);
    close(b.imageScores ?? [], [4]);
    close(b.patchScores[0].data, [0.5, 1.5]);
    all.dispose();
    // kappa = 3: 0.5 -> (0.5+0.5+3.5)/3 = 1.5.
    const k3 = spade({ kappa: 3 }).fit([refs]);
    close(k3.scoreFeatures([query]).patchScores[0].data, [1.5, (1.5 + 1.5 + 7.5) / 3]);
    k3.dispose();
    tf.dispose([refs, query]);
  });

  it('fit + score + dispose leave no tensors behind (all methods, multi-level, batch of 2)', () => {
    const rng = (shape: [number, number, number, number], seed: number): tf.Tensor4D => tf.randomNormal(shape, 0, 1, 'float32', seed);
    const refs = [rng([3, 8, 8, 5], 1), rng([3, 4, 4, 7], 2), rng([3, 2, 2, 9], 3)];
    const query = [rng([2, 8, 8, 5], 4), rng([2, 4, 4, 7], 5), rng([2, 2, 2, 9], 6)];
    const methods = [patchcore({ coresetRatio: 0.3, reweight: true }), spade({ imageK: 2, kappa: 2 }), padim({ dims: 10 })];
    for (const m of methods) {
      const before = tf.memory().numTensors;
      const fitted = m.fit(refs);
      const out = fitted.scoreFeatures(query);
      assert.equal(out.patchScores.length, 2);
      out.patchScores.forEach((g) => assert.ok(g.data.every(Number.isFinite), m.method));
      fitted.dispose();
      assert.equal(tf.memory().numTensors, before, `${m.method} leaked tensors`);
    }
    tf.dispose([...refs, ...query]);
  });
});
