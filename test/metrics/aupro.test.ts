/**
 * Connected components against scipy.ndimage.label and AUPRO against a numpy port of the MVTec AD
 * official code, plus hand-checkable maps.
 */
import { strict as assert } from 'assert';
import { AnomalyMap, aupro, labelComponents, MaskLike, proCurve, trapezoidToLimit } from '../../src/metrics/index';
import { maxAbsDiff, ProFixture, proFixtures } from './fixtures';

function square(w: number, h: number, x0: number, y0: number, size: number, value = 1): Float32Array {
  const d = new Float32Array(w * h);
  for (let y = y0; y < y0 + size; y++) for (let x = x0; x < x0 + size; x++) d[y * w + x] = value;
  return d;
}

function toInputs(fx: ProFixture): { maps: AnomalyMap[]; masks: MaskLike[] } {
  const { width, height } = fx;
  return {
    maps: fx.maps.map((m) => ({ width, height, data: Float32Array.from(m) })),
    masks: fx.masks.map((m) => ({ width, height, data: Uint8Array.from(m) })),
  };
}

describe('metrics/connected-components', () => {
  it('labels in raster order with 8- or 4-connectivity', () => {
    const mask = { width: 3, height: 2, data: [1, 0, 0, 0, 1, 1] };
    const c8 = labelComponents(mask);
    assert.equal(c8.count, 1);
    assert.deepEqual(Array.from(c8.labels), [1, 0, 0, 0, 1, 1]);
    assert.deepEqual(Array.from(c8.sizes), [3, 3]);
    const c4 = labelComponents(mask, 4);
    assert.equal(c4.count, 2);
    assert.deepEqual(Array.from(c4.labels), [1, 0, 0, 0, 2, 2]);
    assert.deepEqual(Array.from(c4.sizes), [3, 1, 2]);
    // a U shape is one region although its arms start as separate runs
    const u = labelComponents({ width: 3, height: 3, data: [1, 0, 1, 1, 0, 1, 1, 1, 1] }, 4);
    assert.equal(u.count, 1);
  });

  for (const fx of proFixtures()) {
    it(`equals scipy.ndimage.label (8: np.ones((3,3)), 4: default): ${fx.name}`, () => {
      for (const [conn, ref] of [
        [8, fx.conn8],
        [4, fx.conn4],
      ] as const) {
        let total = 0;
        fx.masks.forEach((m, i) => {
          const r = labelComponents({ width: fx.width, height: fx.height, data: m }, conn);
          assert.deepEqual(Array.from(r.labels), ref.labels[i]);
          total += r.count;
        });
        assert.equal(total, ref.n_regions);
      }
      assert.ok(fx.conn4.n_regions > fx.conn8.n_regions, 'fixture exercises diagonal contacts');
    });
  }

  it('rejects non-binary masks and bad sizes', () => {
    assert.throws(() => labelComponents({ width: 2, height: 1, data: [0, 255] }), /mask values must be 0 or 1, got data\[1\] = 255/);
    assert.throws(() => labelComponents({ width: 2, height: 2, data: [0, 1] }), /mask data has 2 values, expected 2x2 = 4/);
  });
});

describe('metrics/aupro', () => {
  const W = 10;
  const H = 10;

  it('a map equal to the mask scores 1 (any limit)', () => {
    const mask = { width: W, height: H, data: Uint8Array.from(square(W, H, 2, 3, 4)) };
    const maps = [{ width: W, height: H, data: square(W, H, 2, 3, 4) }];
    assert.equal(aupro(maps, [mask]), 1);
    assert.equal(aupro(maps, [mask], { fprLimit: 1 }), 1);
    assert.equal(aupro(maps, [mask], { fprLimit: 0.01 }), 1);
  });

  it('a constant map scores limit / 2 (PRO = FPR on the chord (0,0)-(1,1))', () => {
    const mask = { width: W, height: H, data: Uint8Array.from(square(W, H, 2, 3, 4)) };
    const maps = [{ width: W, height: H, data: new Float32Array(W * H).fill(0.7) }];
    assert.ok(Math.abs(aupro(maps, [mask]) - 0.15) < 1e-15);
    assert.ok(Math.abs(aupro(maps, [mask], { fprLimit: 0.05 }) - 0.025) < 1e-15);
    assert.ok(Math.abs(aupro(maps, [mask], { fprLimit: 1 }) - 0.5) < 1e-15);
  });

  it('weights regions equally regardless of size', () => {
    // region A: 1 pixel, found (score 1); region B: 3x3, missed (score 0 like the background)
    // points (0,0) (0,.5) (1,1); at FPR .3, PRO = .65; area .3 * (.5 + .65) / 2, normalised: .575
    const maskData = Uint8Array.from(square(W, H, 6, 6, 3));
    maskData[1 * W + 1] = 1;
    const mapData = new Float32Array(W * H);
    mapData[1 * W + 1] = 1;
    const m = [{ width: W, height: H, data: mapData }];
    const k = [{ width: W, height: H, data: maskData }];
    assert.ok(Math.abs(aupro(m, k) - 0.575) < 1e-15);
    const curve = proCurve(m, k);
    assert.deepEqual(Array.from(curve.fpr), [0, 0, 1]);
    assert.deepEqual(Array.from(curve.pro), [0, 0.5, 1]);
    assert.deepEqual(Array.from(curve.thresholds), [Infinity, 1, 0]);
  });

  it('counts false positives over all normal pixels, normal images included', () => {
    // 4-pixel defect scored 1, one normal pixel scored 2: FPR jumps to 1/96 before PRO rises
    const maskData = Uint8Array.from(square(W, H, 4, 4, 2));
    const mapData = square(W, H, 4, 4, 2);
    mapData[0] = 2;
    const maps: AnomalyMap[] = [{ width: W, height: H, data: mapData }];
    const masks: MaskLike[] = [{ width: W, height: H, data: maskData }];
    assert.ok(Math.abs(aupro(maps, masks) - (1 - 1 / 96 / 0.3)) < 1e-15);
    // a second, all-normal image with scores below 1 adds 100 normal pixels: 1 FP out of 196
    maps.push({ width: W, height: H, data: new Float32Array(W * H).fill(0.5) });
    masks.push({ width: W, height: H, data: new Uint8Array(W * H) });
    assert.ok(Math.abs(aupro(maps, masks) - (1 - 1 / 196 / 0.3)) < 1e-15);
  });

  for (const fx of proFixtures()) {
    it(`equals the MVTec AD official logic (numpy/scipy, |diff| <= 1e-12): ${fx.name}`, () => {
      const { maps, masks } = toInputs(fx);
      for (const [conn, ref] of [
        [8, fx.conn8],
        [4, fx.conn4],
      ] as const) {
        for (const lim of ['0.3', '0.05', '1.0']) {
          const v = aupro(maps, masks, { fprLimit: Number(lim), connectivity: conn });
          assert.ok(Math.abs(v - ref.aupro[lim]) <= 1e-12, `conn ${conn} limit ${lim}: ${v} vs ${ref.aupro[lim]}`);
        }
        if (ref.curve) {
          const c = proCurve(maps, masks, { connectivity: conn });
          assert.ok(maxAbsDiff(c.fpr, ref.curve.fpr) <= 1e-12);
          assert.ok(maxAbsDiff(c.pro, ref.curve.pro) <= 1e-12);
          assert.equal(c.thresholds[0], Infinity);
          assert.equal(maxAbsDiff(c.thresholds.subarray(1), ref.curve.thresholds_tail), 0);
          const area = trapezoidToLimit(c.fpr, c.pro, 0.3) / 0.3;
          assert.ok(Math.abs(area - aupro(maps, masks, { connectivity: conn })) <= 1e-15);
        }
      }
      assert.notEqual(fx.conn8.aupro['0.3'], fx.conn4.aupro['0.3']);
    });
  }

  it('trapezoidToLimit interpolates at the limit', () => {
    assert.equal(trapezoidToLimit([0, 1], [0, 1], 0.5), 0.125);
    assert.equal(trapezoidToLimit([0, 0.5, 1], [1, 1, 0], 0.5), 0.5); // limit on a point: no interpolation
    assert.equal(trapezoidToLimit([0, 0, 1], [0, 1, 1], 0.25), 0.25); // vertical segment has no area
    assert.throws(() => trapezoidToLimit([0, 0.5], [0, 1], 0.7), /outside/);
  });

  it('rejects bad input with clear errors', () => {
    const map = { width: 2, height: 2, data: new Float32Array([0, 1, 2, 3]) };
    const mask = { width: 2, height: 2, data: new Uint8Array([0, 0, 1, 0]) };
    assert.throws(() => aupro([map], []), /1 anomaly maps but 0 masks/);
    assert.throws(() => aupro([], []), /no anomaly maps/);
    assert.throws(() => aupro([map], [{ width: 4, height: 1, data: new Uint8Array(4) }]), /maps\[0\] is 2x2 but masks\[0\] is 4x1/);
    assert.throws(() => aupro([{ ...map, data: new Float32Array([0, NaN, 0, 0]) }], [mask]), /maps\[0\]\.data\[1\] = NaN/);
    assert.throws(() => aupro([map], [{ ...mask, data: new Uint8Array([0, 0, 255, 0]) }]), /mask values must be 0 or 1/);
    assert.throws(() => aupro([map], [{ ...mask, data: new Uint8Array(4) }]), /no defect pixels/);
    assert.throws(() => aupro([map], [{ ...mask, data: new Uint8Array(4).fill(1) }]), /no normal pixels/);
    assert.throws(() => aupro([map], [mask], { fprLimit: 0 }), /fprLimit must be in \(0, 1\]/);
    assert.throws(() => aupro([map], [mask], { fprLimit: 1.5 }), /fprLimit/);
    assert.throws(() => aupro([map], [mask], { fprLimit: NaN }), /fprLimit/);
    assert.throws(() => aupro([map], [mask], { connectivity: 6 as 4 }), /connectivity must be 4 or 8/);
  });
});
