/**
 * ROC / PR curves against sklearn roc_curve and precision_recall_curve (fixtures from
 * test/fixtures/gen_metrics.py), hand cases, ties, bad input.
 */
import { strict as assert } from 'assert';
import { precisionRecallCurve, rocCurve, SortedScores } from '../../src/metrics/index';
import { binaryFixtures, maxAbsDiff } from './fixtures';

describe('metrics/roc', () => {
  it('matches the sklearn docstring example (hand-checkable)', () => {
    const roc = rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    assert.deepEqual(Array.from(roc.fpr), [0, 0, 0.5, 0.5, 1]);
    assert.deepEqual(Array.from(roc.tpr), [0, 0.5, 0.5, 1, 1]);
    assert.deepEqual(Array.from(roc.thresholds), [Infinity, 0.8, 0.4, 0.35, 0.1]);
    const pr = precisionRecallCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    assert.deepEqual(Array.from(pr.precision), [0.5, 2 / 3, 0.5, 1, 1]);
    assert.deepEqual(Array.from(pr.recall), [1, 1, 0.5, 0.5, 0]);
    assert.deepEqual(Array.from(pr.thresholds), [0.1, 0.35, 0.4, 0.8]);
  });

  it('groups tied scores into one point (including -0 and +0)', () => {
    // scores 0.9 (pos, neg), 0 (pos), -0 (neg): two thresholds only
    const roc = rocCurve([0.9, 0.9, 0, -0], [1, 0, 1, 0]);
    assert.deepEqual(Array.from(roc.fpr), [0, 0.5, 1]);
    assert.deepEqual(Array.from(roc.tpr), [0, 0.5, 1]);
    assert.equal(roc.thresholds.length, 3);
    assert.ok(Object.is(roc.thresholds[2], 0), 'threshold is +0');
  });

  it('sweeps thresholds with cumulative counts', () => {
    const seen: number[][] = [];
    SortedScores.from([3, 1, 2, 2, 3], [1, 0, 1, 0, 0]).forEachThreshold((t, tp, fp) => seen.push([t, tp, fp]));
    assert.deepEqual(seen, [
      [3, 1, 1],
      [2, 2, 2],
      [1, 2, 3],
    ]);
  });

  for (const fx of binaryFixtures()) {
    it(`equals sklearn roc_curve / precision_recall_curve: ${fx.name}`, () => {
      const roc = rocCurve(fx.scores, fx.labels);
      assert.equal(maxAbsDiff(roc.fpr, fx.roc.fpr), 0);
      assert.equal(maxAbsDiff(roc.tpr, fx.roc.tpr), 0);
      assert.equal(roc.thresholds[0], Infinity);
      assert.equal(maxAbsDiff(roc.thresholds.subarray(1), fx.roc.thresholds_tail), 0);

      const drop = rocCurve(fx.scores, fx.labels, { dropIntermediate: true });
      assert.equal(maxAbsDiff(drop.fpr, fx.roc_drop.fpr), 0);
      assert.equal(maxAbsDiff(drop.tpr, fx.roc_drop.tpr), 0);
      assert.equal(maxAbsDiff(drop.thresholds.subarray(1), fx.roc_drop.thresholds_tail), 0);

      const pr = precisionRecallCurve(Float64Array.from(fx.scores), Uint8Array.from(fx.labels));
      assert.ok(maxAbsDiff(pr.precision, fx.pr.precision) <= 1e-15);
      assert.ok(maxAbsDiff(pr.recall, fx.pr.recall) <= 1e-15);
      assert.equal(maxAbsDiff(pr.thresholds, fx.pr.thresholds), 0);
    });
  }

  it('dropIntermediate removes collinear points only', () => {
    // 4 negatives strictly above 2 positives: a straight run on each axis
    const full = rocCurve([6, 5, 4, 3, 2, 1], [0, 0, 0, 0, 1, 1]);
    const drop = rocCurve([6, 5, 4, 3, 2, 1], [0, 0, 0, 0, 1, 1], { dropIntermediate: true });
    assert.equal(full.fpr.length, 7);
    assert.deepEqual(Array.from(drop.fpr), [0, 0.25, 1, 1]);
    assert.deepEqual(Array.from(drop.tpr), [0, 0, 0, 1]);
    assert.deepEqual(Array.from(drop.thresholds), [Infinity, 6, 3, 1]);
  });

  it('rejects bad input with clear errors', () => {
    assert.throws(() => rocCurve([0.1, 0.2], [0, 1, 1]), /differ in length: 2 vs 3/);
    assert.throws(() => rocCurve([0.1, NaN], [0, 1]), /scores must be finite, got scores\[1\] = NaN/);
    assert.throws(() => rocCurve([0.1, Infinity], [0, 1]), /finite/);
    assert.throws(() => rocCurve([0.1, 0.2], [0, 2]), /labels must be 0 or 1, got labels\[1\] = 2/);
    assert.throws(() => rocCurve([0.1, 0.2], [1, 1]), /only one class present/);
    assert.throws(() => precisionRecallCurve([0.1, 0.2], [0, 0]), /only one class present/);
    assert.throws(() => rocCurve([], []), /no samples/);
  });
});
