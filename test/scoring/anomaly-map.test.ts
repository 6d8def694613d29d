import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { anomalyMap, gaussianBlur, imageScore, LevelScores, LevelScoreStats, likelihoodToScore, positionScores, resizeBilinear } from '../../src/scoring/anomaly-map';

interface Fixture {
  blur_input: { width: number; height: number; data: number[] };
  blur_sigma4: number[];
  blur_sigma1_5: number[];
  resize_input: { width: number; height: number; data: number[] };
  resize_ac_true: number[];
  resize_ac_false: number[];
}

const fixture: Fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'scoring', 'reference.json'), 'utf8'));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('scoring/anomaly-map', () => {
  it('gaussianBlur equals scipy.ndimage.gaussian_filter (reflect, truncate 4) to 1e-6', () => {
    const input = { ...fixture.blur_input, data: Float32Array.from(fixture.blur_input.data) };
    assert.ok(maxAbsDiff(gaussianBlur(input, 4).data, fixture.blur_sigma4) < 1e-6);
    assert.ok(maxAbsDiff(gaussianBlur(input, 1.5).data, fixture.blur_sigma1_5) < 1e-6);
  });

  it('resizeBilinear equals torch F.interpolate for both align_corners settings to 1e-6', () => {
    const input = { ...fixture.resize_input, data: Float32Array.from(fixture.resize_input.data) };
    assert.ok(maxAbsDiff(resizeBilinear(input, 16, 11, true).data, fixture.resize_ac_true) < 1e-6);
    assert.ok(maxAbsDiff(resizeBilinear(input, 16, 11, false).data, fixture.resize_ac_false) < 1e-6);
  });

  it('turns lower likelihood into higher scores and localises the anomaly', () => {
    const w = 8;
    const logp = new Float32Array(w * w).fill(-1);
    logp[3 * w + 5] = -6; // one unlikely position
    assert.ok(Math.abs(likelihoodToScore(Float32Array.of(-1))[0] - (1 - Math.exp(-1))) < 1e-7);
    const map = anomalyMap([{ width: w, height: w, logp }], { width: 32, height: 32, sigma: 1, scoring: 'paper' });
    let argmax = 0;
    for (let i = 1; i < map.data.length; i++) if (map.data[i] > map.data[argmax]) argmax = i;
    const ax = argmax % 32;
    const ay = Math.floor(argmax / 32);
    // align_corners=True maps grid cell 5 to 5 * 31 / 7 ≈ 22.1 and cell 3 to ≈ 13.3.
    assert.ok(Math.abs(ax - 22.1) <= 1 && Math.abs(ay - 13.3) <= 1, `peak at ${ax},${ay}`);
    assert.equal(imageScore(map), map.data[argmax]);
  });

  it('sums levels and does not depend on other images', () => {
    const a = { width: 4, height: 4, logp: new Float32Array(16).fill(-2) };
    const b = { width: 2, height: 2, logp: new Float32Array(4).fill(-3) };
    const map = anomalyMap([a, b], { width: 8, height: 8, sigma: 0, scoring: 'paper' });
    const expected = 1 - Math.exp(-2) + 1 - Math.exp(-3);
    assert.ok(maxAbsDiff(map.data, new Float32Array(64).fill(expected)) < 1e-6);
    assert.throws(() => anomalyMap([], { width: 8, height: 8 }), /no feature levels/);
    assert.throws(() => anomalyMap([{ width: 3, height: 3, logp: new Float32Array(4) }], { width: 8, height: 8, scoring: 'paper' }), /3x3 has 4/);
  });

  const unit: LevelScoreStats = { nll: { mean: 0, std: 1 }, distance: { mean: 0, std: 1 } };

  it("'nll' scoring cannot saturate: images Eq. 7 ties keep their order", () => {
    // Three increasingly anomalous images (one unlikely position each) on two levels.
    const image = (peak: number): LevelScores[] =>
      [8, 4].map((w) => {
        const logp = new Float32Array(w * w).fill(-1);
        logp[w + 1] = peak;
        return { width: w, height: w, logp };
      });
    const peaks = [-20, -40, -80];
    const paper = peaks.map((p) => imageScore(anomalyMap(image(p), { width: 16, height: 16, sigma: 0, scoring: 'paper' })));
    const nll = peaks.map((p) => imageScore(anomalyMap(image(p), { width: 16, height: 16, sigma: 0, scoring: 'nll', stats: [unit, unit] })));
    assert.equal(new Set(paper).size, 1, `Eq. 7 ties (float32 1 - exp(x) = 1): ${paper}`);
    assert.ok(nll[0] < nll[1] && nll[1] < nll[2], `standardised NLL keeps the order: ${nll}`);
  });

  it('standardises each level with its own statistics, so every level contributes on one scale', () => {
    // Level A's values spread 100x wider than level B's; after standardisation a 2-sigma bump counts the same on either.
    const flat = (w: number, v: number): Float32Array => new Float32Array(w * w).fill(v);
    const stats: LevelScoreStats[] = [
      { nll: { mean: 100, std: 100 }, distance: { mean: 0, std: 1 } },
      { nll: { mean: 1, std: 1 }, distance: { mean: 0, std: 1 } },
    ];
    const levels = (bumpA: number, bumpB: number): LevelScores[] => [
      { width: 4, height: 4, logp: flat(4, -(100 + bumpA)) },
      { width: 4, height: 4, logp: flat(4, -(1 + bumpB)) },
    ];
    const score = (ls: LevelScores[], weights?: number[]): number => imageScore(anomalyMap(ls, { width: 8, height: 8, sigma: 0, scoring: 'nll', stats, weights }));
    const base = score(levels(0, 0));
    assert.ok(Math.abs(base) < 1e-6);
    assert.ok(Math.abs(score(levels(200, 0)) - 2) < 1e-5, 'level A moves the map by 2');
    assert.ok(Math.abs(score(levels(0, 2)) - 2) < 1e-5, 'level B moves the map by 2');
    assert.ok(Math.abs(score(levels(0, 2), [1, 0])) < 1e-6, 'weight 0 drops level B');
    assert.ok(Math.abs(score(levels(0, 2), [1, 0.5]) - 1) < 1e-5, 'weights scale a level');
  });

  it("'distance' and 'nll+distance' standardise ||r'|| and add it", () => {
    const level: LevelScores = { width: 2, height: 1, logp: Float32Array.of(-3, -5), distance: Float32Array.of(2, 6) };
    const stats: LevelScoreStats = { nll: { mean: 3, std: 2 }, distance: { mean: 2, std: 4 } };
    assert.deepEqual(Array.from(positionScores(level, 'nll', stats)), [0, 1]);
    assert.deepEqual(Array.from(positionScores(level, 'distance', stats)), [0, 1]);
    assert.deepEqual(Array.from(positionScores(level, 'nll+distance', stats)), [0, 2]);
    assert.throws(() => positionScores({ ...level, distance: undefined }, 'distance', stats), /constrained residual norms/);
    assert.throws(() => anomalyMap([level], { width: 4, height: 2, scoring: 'nll' }), /needs training statistics/);
    assert.throws(() => anomalyMap([level], { width: 4, height: 2, scoring: 'nll', stats: [stats], weights: [1, 1] }), /2 level weights for 1 levels/);
    assert.throws(() => anomalyMap([level], { width: 4, height: 2, scoring: 'nll', stats: [{ ...stats, nll: { mean: 0, std: 0 } }] }), /std > 0/);
  });

  it("'abnormal' and 'nll+abnormal' (ResAD++) standardise the abnormal probability and add it; older statistics are refused", () => {
    const level: LevelScores = { width: 2, height: 1, logp: Float32Array.of(-3, -5), abnormal: Float32Array.of(0.5, 0.8) };
    const stats: LevelScoreStats = { nll: { mean: 3, std: 2 }, distance: { mean: 2, std: 4 }, abnormal: { mean: 0.4, std: 0.1 } };
    const close = (got: Float32Array, want: number[]): void => got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${Array.from(got)} vs ${want}`));
    close(positionScores(level, 'abnormal', stats), [1, 4]);
    close(positionScores(level, 'nll+abnormal', stats), [1, 5]);
    assert.throws(() => positionScores(level, 'abnormal', { nll: stats.nll, distance: stats.distance }), /predates: train it again/);
    assert.throws(() => positionScores({ ...level, abnormal: undefined }, 'nll+abnormal', stats), /abnormal-density probabilities/);
  });
});
