/**
 * AUROC against sklearn roc_auc_score fixtures, hand cases, an independent pairwise (Mann-Whitney)
 * definition, and bad input.
 */
import { strict as assert } from 'assert';
import { auroc, aurocChunks, aurocFromSorted, SortedScores } from '../../src/metrics/index';
import { Rng } from '../../src/util/rng';
import { binaryFixtures } from './fixtures';

/** Independent O(n^2) definition: P(pos > neg) + P(pos = neg) / 2. */
function mannWhitney(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('metrics/auroc', () => {
  it('hand-computed cases', () => {
    assert.equal(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
    assert.equal(auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5); // all tied
    assert.equal(auroc([1, 1, 0], [1, 0, 0]), 0.75); // one tie pair counts 1/2
    assert.equal(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1); // perfect
    assert.equal(auroc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]), 0); // inverted
    assert.equal(auroc(new Float32Array([0.25, 0.75]), new Uint8Array([0, 1])), 1);
  });

  for (const fx of binaryFixtures()) {
    it(`equals sklearn roc_auc_score (|diff| <= 1e-12): ${fx.name}`, () => {
      const v = auroc(fx.scores, fx.labels);
      assert.ok(Math.abs(v - fx.auroc) <= 1e-12, `${v} vs sklearn ${fx.auroc}`);
    });
  }

  it('equals the pairwise (Mann-Whitney) definition on random tied data', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 5; trial++) {
      const n = 150 + trial * 20;
      const labels = Array.from({ length: n }, () => (rng.bool(0.3) ? 1 : 0));
      labels[0] = 1;
      labels[1] = 0;
      const scores = labels.map((l) => Math.round((rng.uniform() + 0.4 * l) * 8) / 8);
      assert.ok(Math.abs(auroc(scores, labels) - mannWhitney(scores, labels)) <= 1e-12);
    }
  });

  it('chunked input equals the concatenation and is invariant to order', () => {
    // dyadic values: exact in float32, so the Float32Array chunk keeps the 0.875 tie
    const s = [0.25, 0.875, 0.125, 0.875, 0.5, 0.1875, 0.75];
    const l = [0, 1, 0, 0, 1, 0, 1];
    const whole = auroc(s, l);
    const chunks = aurocChunks([
      { scores: new Float32Array(s.slice(0, 3)), labels: new Uint8Array(l.slice(0, 3)) },
      { scores: s.slice(3), labels: l.slice(3) },
    ]);
    // 12 pos/neg pairs: 0.875 beats 3 and ties 1 (3.5), 0.5 and 0.75 beat 3 each
    assert.equal(whole, 9.5 / 12);
    assert.equal(chunks, whole);
    assert.equal(auroc(s.slice().reverse(), l.slice().reverse()), whole);
    assert.equal(aurocFromSorted(SortedScores.from(s, l)), whole);
  });

  it('rejects bad input with clear errors', () => {
    assert.throws(() => auroc([0.1, 0.2, 0.3], [0, 1]), /auroc: scores and labels differ in length: 3 vs 2/);
    assert.throws(() => auroc([0.1, NaN], [0, 1]), /auroc: scores must be finite/);
    assert.throws(() => auroc([0.1, 0.2], [0, 0]), /auroc: only one class present in labels \(0 positives, 2 negatives\)/);
    assert.throws(() => auroc([0.1, 0.2], [0, -1]), /labels must be 0 or 1/);
    assert.throws(() => aurocChunks([{ scores: [1], labels: [1] }, { scores: [1, 2], labels: [0] }]), /chunk 1/);
  });
});
