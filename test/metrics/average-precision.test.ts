/**
 * Average precision against sklearn average_precision_score fixtures and hand-computed step-wise sums.
 */
import { strict as assert } from 'assert';
import { averagePrecision, averagePrecisionChunks } from '../../src/metrics/index';
import { binaryFixtures } from './fixtures';

describe('metrics/average-precision', () => {
  it('hand-computed cases', () => {
    // thresholds .8 (P 1, R .5) .4 (P .5) .35 (P 2/3, R 1): AP = .5*1 + .5*2/3
    assert.ok(Math.abs(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) - 5 / 6) < 1e-15);
    assert.equal(averagePrecision([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1); // perfect
    // inverted: positives reached at P 1/3 (R .5) and P 2/4 (R 1)
    assert.ok(Math.abs(averagePrecision([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) - (0.5 / 3 + 0.5 * 0.5)) < 1e-15);
    // all tied: one step to recall 1 at precision = prevalence (step-wise, not trapezoid)
    assert.equal(averagePrecision([0.5, 0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1, 1]), 0.6);
    // a tie between a positive and a negative at the top: P 1/2 at R 1/2
    assert.ok(Math.abs(averagePrecision([0.9, 0.9, 0.1, 0.5], [1, 0, 1, 0]) - (0.5 * 0.5 + 0.5 * 0.5)) < 1e-15);
  });

  for (const fx of binaryFixtures()) {
    it(`equals sklearn average_precision_score (|diff| <= 1e-12): ${fx.name}`, () => {
      const v = averagePrecision(fx.scores, fx.labels);
      assert.ok(Math.abs(v - fx.ap) <= 1e-12, `${v} vs sklearn ${fx.ap}`);
    });
  }

  it('chunked input equals the concatenation', () => {
    const fx = binaryFixtures()[1];
    const h = 100;
    const v = averagePrecisionChunks([
      { scores: fx.scores.slice(0, h), labels: fx.labels.slice(0, h) },
      { scores: fx.scores.slice(h), labels: fx.labels.slice(h) },
    ]);
    assert.ok(Math.abs(v - fx.ap) <= 1e-12);
  });

  it('rejects bad input with clear errors', () => {
    assert.throws(() => averagePrecision([0.1], [0, 1]), /differ in length/);
    assert.throws(() => averagePrecision([0.1, NaN], [0, 1]), /finite/);
    assert.throws(() => averagePrecision([0.1, 0.2], [0, 0]), /averagePrecision: only one class present/);
  });
});
