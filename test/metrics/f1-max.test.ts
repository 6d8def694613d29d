/**
 * F1-max value and threshold against exact (fraction) references and hand cases, including tie-
 * breaking.
 */
import { strict as assert } from 'assert';
import { f1Max, f1MaxChunks } from '../../src/metrics/index';
import { binaryFixtures } from './fixtures';

describe('metrics/f1-max', () => {
  it('hand-computed cases', () => {
    // F1 = 2TP/(TP+FP+P): t=.8 -> 2/3, .4 -> 1/2, .35 -> 4/5, .1 -> 2/3
    assert.deepEqual(f1Max([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), { f1: 0.8, threshold: 0.35 });
    assert.deepEqual(f1Max([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), { f1: 1, threshold: 0.8 });
    // all tied: the only threshold predicts everything anomalous: F1 = 2*2/(2+2+2)
    assert.deepEqual(f1Max([3, 3, 3, 3], [1, 0, 1, 0]), { f1: 2 / 3, threshold: 3 });
  });

  it('breaks exact F1 ties towards the lowest threshold (anomalib argmax order)', () => {
    // t=0.9: TP1 FP0 -> 2/3; t=0.5: TP2 FP2 -> 4/6 = 2/3; t=0.1: TP2 FP3 -> 4/7
    const r = f1Max([0.9, 0.5, 0.5, 0.5, 0.1], [1, 1, 0, 0, 0]);
    assert.equal(r.f1, 2 / 3);
    assert.equal(r.threshold, 0.5);
  });

  for (const fx of binaryFixtures()) {
    it(`equals exact F1-max from sklearn's curve counts: ${fx.name}`, () => {
      const r = f1MaxChunks([{ scores: fx.scores, labels: fx.labels }]);
      assert.ok(Math.abs(r.f1 - fx.f1max) <= 1e-15, `${r.f1} vs ${fx.f1max}`);
      assert.equal(r.threshold, fx.f1max_threshold);
    });
  }

  it('rejects a single class', () => {
    assert.throws(() => f1Max([0.1, 0.2], [1, 1]), /f1Max: only one class present/);
  });
});
