import { strict as assert } from 'assert';
import { preprocessGeometry } from '../../src/data/transforms';
import { mapToSourceGeometry, overlayAnomalyMap } from '../../src/report/overlay';
import type { ScoreMap } from '../../src/scoring/anomaly-map';

describe('report: maps placed on the source image', () => {
  const ramp = (n: number): ScoreMap => ({ width: n, height: n, data: Float32Array.from({ length: n * n }, (_, i) => i % n) });

  it('covers the whole image when preprocessing kept all of it, interpolating between map pixels', () => {
    const g = preprocessGeometry(8, 8, { size: 4, mode: 'resize-crop' });
    const same = mapToSourceGeometry(ramp(4), g, 4, 4);
    assert.deepEqual([...same.data], [...ramp(4).data], 'same size: the map itself');
    const up = mapToSourceGeometry(ramp(4), g, 8, 8);
    assert.equal(up.width, 8);
    // Columns of the 8-px picture sit at map x = (x + 0.5) / 2 - 0.5, clamped at the borders.
    assert.deepEqual([...up.data.subarray(0, 8)], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3]);
  });

  it('marks what the centre crop dropped as unscored (NaN) and places the map on the crop', () => {
    // 12x8 -> shorter side 4 -> 6x4 -> crop 4x4 at x = 1: source columns 2..9 were scored.
    const g = preprocessGeometry(12, 8, { size: 4, mode: 'resize-crop' });
    const m = mapToSourceGeometry({ width: 4, height: 4, data: new Float32Array(16).fill(7) }, g, 12, 8);
    for (let y = 0; y < 8; y++) {
      const row = [...m.data.subarray(y * 12, y * 12 + 12)];
      assert.deepEqual(row.map((v) => (Number.isNaN(v) ? 'x' : v)), ['x', 'x', 7, 7, 7, 7, 7, 7, 7, 7, 'x', 'x']);
    }
  });

  it('dims unscored pixels in the overlay instead of colouring them', () => {
    const image = { width: 2, height: 1, data: Float32Array.from([0.8, 0.8, 0.8, 0.8, 0.8, 0.8]) };
    const out = overlayAnomalyMap(image, { width: 2, height: 1, data: Float32Array.from([NaN, 0]) }, { range: [0, 1] });
    assert.deepEqual([...out.data.subarray(0, 3)].map((v) => +v.toFixed(6)), [0.4, 0.4, 0.4]);
    assert.ok(out.data[5] > out.data[3], 'the scored pixel is coloured (blue end of jet)');
  });
});
