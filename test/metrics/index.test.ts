/**
 * computeMetrics / meanMetrics: pixel metrics against sklearn and the MVTec reference, undefined
 * handling, input errors.
 */
import { strict as assert } from 'assert';
import {
  auroc,
  averagePrecision,
  computeMetrics,
  f1Max,
  METRIC_KEYS,
  meanMetrics,
  MetricSet,
} from '../../src/metrics/index';
import { proFixtures } from './fixtures';

describe('metrics/index', () => {
  const imageScores = [0.1, 0.4, 0.35, 0.8];
  const imageLabels = [0, 0, 1, 1];

  it('image-only metrics leave the pixel keys undefined', () => {
    const m = computeMetrics({ imageScores, imageLabels });
    assert.equal(m.imageAUROC, 0.75);
    assert.ok(Math.abs(m.imageAP - 5 / 6) < 1e-15);
    assert.equal(m.imageF1Max, 0.8);
    assert.deepEqual(Object.keys(m), ['imageAUROC', 'imageAP', 'imageF1Max']);
  });

  for (const fx of proFixtures()) {
    it(`pixel metrics equal sklearn / the MVTec AUPRO reference: ${fx.name}`, () => {
      const { width, height } = fx;
      const pixelMaps = fx.maps.map((d) => ({ width, height, data: Float32Array.from(d) }));
      const pixelMasks = fx.masks.map((d) => ({ width, height, data: Uint8Array.from(d) }));
      const m = computeMetrics({ imageScores, imageLabels, pixelMaps, pixelMasks });
      assert.ok(Math.abs(m.pixelAUROC! - fx.pixel_auroc) <= 1e-12, `${m.pixelAUROC} vs ${fx.pixel_auroc}`);
      assert.ok(Math.abs(m.pixelAP! - fx.pixel_ap) <= 1e-12, `${m.pixelAP} vs ${fx.pixel_ap}`);
      assert.ok(Math.abs(m.pixelF1Max! - fx.pixel_f1max) <= 1e-15);
      assert.ok(Math.abs(m.pixelAUPRO! - fx.conn8.aupro['0.3']) <= 1e-12);
      const m4 = computeMetrics({ imageScores, imageLabels, pixelMaps, pixelMasks, connectivity: 4, fprLimit: 0.05 });
      assert.ok(Math.abs(m4.pixelAUPRO! - fx.conn4.aupro['0.05']) <= 1e-12);
      // the shared sort gives the same numbers as the standalone functions
      const flatS = Float32Array.from(fx.maps.flat());
      const flatL = fx.masks.flat();
      assert.equal(m.pixelAUROC, auroc(flatS, flatL));
      assert.equal(m.pixelAP, averagePrecision(flatS, flatL));
      assert.equal(m.pixelF1Max, f1Max(flatS, flatL).f1);
    });
  }

  it('rejects inconsistent pixel inputs', () => {
    const map = { width: 2, height: 1, data: new Float32Array([0, 1]) };
    const mask = { width: 2, height: 1, data: new Uint8Array([0, 1]) };
    assert.throws(() => computeMetrics({ imageScores, imageLabels, pixelMaps: [map] }), /given together/);
    assert.throws(
      () => computeMetrics({ imageScores, imageLabels, pixelMaps: [map], pixelMasks: [{ ...mask, width: 1, height: 2 }] }),
      /pixelMaps\[0\] is 2x1 but pixelMasks\[0\] is 1x2/,
    );
    assert.throws(
      () => computeMetrics({ imageScores, imageLabels, pixelMaps: [map], pixelMasks: [{ ...mask, data: new Uint8Array(2) }] }),
      /pixel level\): only one class present/,
    );
    assert.throws(() => computeMetrics({ imageScores, imageLabels: [1, 1, 1, 1] }), /image level\): only one class present/);
  });

  it('meanMetrics averages per key and skips undefined', () => {
    const a: MetricSet = { imageAUROC: 1, imageAP: 0.5, imageF1Max: 0.2, pixelAUROC: 0.9, pixelAUPRO: 0.6 };
    const b: MetricSet = { imageAUROC: 0.5, imageAP: 0.25, imageF1Max: 0.4, pixelAUROC: 0.7 };
    const mean = meanMetrics([a, b]);
    assert.equal(mean.pixelAP, undefined);
    assert.equal('pixelAP' in mean, false);
    assert.deepEqual(mean, { imageAUROC: 0.75, imageAP: 0.375, imageF1Max: (0.2 + 0.4) / 2, pixelAUROC: 0.8, pixelAUPRO: 0.6 });
    assert.ok(Number.isNaN(meanMetrics([a, { ...b, imageAUROC: NaN }]).imageAUROC), 'NaN is not hidden');
    assert.throws(() => meanMetrics([]), /empty list/);
    assert.deepEqual([...METRIC_KEYS], ['imageAUROC', 'imageAP', 'imageF1Max', 'pixelAUROC', 'pixelAP', 'pixelF1Max', 'pixelAUPRO']);
  });
});
