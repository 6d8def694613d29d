import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import type { RgbImage } from '../../src/data/image';
import { PreprocessedImage, preprocessImage } from '../../src/data/transforms';
import {
  calibratedDecision,
  calibrateFromReferences,
  calibrationFromLooScores,
  normalizedScore,
  ResADModel,
  uncalibratedColourRange,
} from '../../src/resad/index';
import { imageScore } from '../../src/scoring/anomaly-map';
import { jet, mapRange, overlayAnomalyMap } from '../../src/report/overlay';
import { Rng } from '../../src/util/rng';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';

function uniform(width: number, height: number, grey: number): RgbImage {
  return { width, height, data: new Float32Array(width * height * 3).fill(grey) };
}

function noise(size: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  return { width: size, height: size, data: Float32Array.from({ length: size * size * 3 }, () => rng.uniform()) };
}

/** Pixels whose overlay colour is in the hot (orange to red) part of jet: red well above blue. */
function hotPixels(overlay: RgbImage): number {
  let n = 0;
  for (let i = 0; i < overlay.width * overlay.height; i++) if (overlay.data[3 * i] - overlay.data[3 * i + 2] > 0.3) n++;
  return n;
}

describe('resad: score calibration from the references (leave-one-out)', function () {
  this.timeout(120000);
  let model: ResADModel;

  before(async () => {
    await initEngine({ quiet: true });
    model = await ResADModel.create(TINY_CONFIG, { backbone: tinyBackbone() });
    // Standardised scoring needs training statistics; any fixed ones make the arithmetic testable.
    model.scoreStats = model.backbone.levels.map(() => ({ nll: { mean: 1, std: 2 }, distance: { mean: 0.5, std: 0.25 } }));
  });
  after(() => model.dispose());

  const prep = (img: RgbImage): PreprocessedImage => preprocessImage(img, model.preprocess);

  it('derives center, threshold, normalised score and colour range from leave-one-out scores', () => {
    const c = calibrationFromLooScores([1, 2, 3, 5], 0);
    assert.equal(c.center, 2.5);
    assert.equal(c.threshold, 5, 'the highest leave-one-out score when they spread enough');
    assert.equal(c.spread, 2.5);
    assert.equal(c.spreadFloored, false);
    assert.equal(normalizedScore(c, 2.5), 0);
    assert.equal(normalizedScore(c, 5), 1);
    assert.equal(calibratedDecision(c, 5), 'normal');
    assert.equal(calibratedDecision(c, 5.01), 'anomalous');
    assert.deepEqual(c.colourRange, [0, 10], 'threshold in the middle of the colour scale');
    assert.match(c.description, /highest of the 4 references' leave-one-out scores/);

    // References that agree closely: the floor (a quarter of the normal peak height) keeps 1.0 meaningful.
    const tight = calibrationFromLooScores([1, 1.01], 0);
    assert.equal(tight.spreadFloored, true);
    assert.ok(Math.abs(tight.spread - 0.25 * 1.01) < 1e-12);
    assert.ok(tight.threshold > 1.01);
    assert.ok(Math.abs(normalizedScore(tight, tight.threshold) - 1) < 1e-12);
    assert.match(tight.description, /agree closely/);

    assert.throws(() => calibrationFromLooScores([1], 0), /at least 2/);
    assert.throws(() => calibrationFromLooScores([1, NaN], 0), /finite/);
  });

  it('scores each reference against a pool of the other K - 1 only', () => {
    const refs = [1, 2, 3].map((s) => prep(noise(40, s)));
    const cal = calibrateFromReferences(model, refs);
    assert.equal(cal.references, 3);
    const tensors = tf.memory().numTensors;
    for (let i = 0; i < refs.length; i++) {
      const others = refs.filter((_, j) => j !== i);
      const pool = model.buildPool(others);
      const expected = model.predict([refs[i]], pool).scores[0];
      pool.dispose();
      assert.ok(Math.abs(cal.looScores[i] - expected) < 1e-4, `reference ${i}: ${cal.looScores[i]} vs ${expected}`);
      // Scored against all K it would match itself (zero residual), which is what LOO avoids.
      const all = model.buildPool(refs);
      assert.notEqual(model.predict([refs[i]], all).scores[0].toFixed(4), expected.toFixed(4));
      all.dispose();
    }
    assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind');
    assert.throws(() => calibrateFromReferences(model, refs.slice(0, 1)), /at least 2 reference images, got 1/);
  });

  it('gives a uniform image a fixed colour scale with no hot pixels, where a per-image stretch paints it red', () => {
    // Identical uniform references: the query is as normal as an image can be.
    const refs = [0, 1, 2].map(() => prep(uniform(40, 40, 0.5)));
    const cal = calibrateFromReferences(model, refs);
    const query = prep(uniform(120, 90, 0.5));
    const pool = model.buildPool(refs);
    const { maps, scores } = model.predict([query], pool);
    pool.dispose();
    assert.equal(calibratedDecision(cal, scores[0]), 'normal');
    assert.ok(normalizedScore(cal, scores[0]) <= 1e-6, `normalised ${normalizedScore(cal, scores[0])}`);
    const [lo, hi] = cal.colourRange;
    for (const v of maps[0].data) assert.ok((v - lo) / (hi - lo) <= 0.5 + 1e-6, `colour position ${(v - lo) / (hi - lo)}`);
    const display = uniform(32, 32, 0.5);
    assert.equal(hotPixels(overlayAnomalyMap(display, maps[0], { range: cal.colourRange })), 0);
    // The check can fail: the old per-image min-max stretch of the same near-flat map shows red.
    const [mlo, mhi] = mapRange(maps);
    assert.ok(mhi > mlo);
    assert.ok(hotPixels(overlayAnomalyMap(display, maps[0], { range: [mlo, mhi] })) > 0);
    assert.ok(jet(0.75)[0] - jet(0.75)[2] > 0.3 * 2, 'hot means orange-red in jet');
    assert.equal(imageScore(maps[0]), scores[0]);
  });

  it('has a model-wide colour range for a single reference', () => {
    assert.deepEqual(uncalibratedColourRange(model), [0, 3 * 2 * model.numLevels]);
    assert.deepEqual(uncalibratedColourRange(model, { scoring: 'paper' }), [0, model.numLevels]);
    assert.deepEqual(uncalibratedColourRange(model, { scoring: 'distance', levelWeights: [1, 0] }), [0, 3]);
  });
});
