import { strict as assert } from 'assert';
import * as path from 'path';
import sharp from 'sharp';
import { BinaryMask, RgbImage, cloneImage, createRgbImage, maskArea } from '../../src/data/image';
import { PERLIN_2D_BOUND, Perlin2D, fade, fractalNoise, perlinNoiseGrid, randomPerlinScales } from '../../src/data/perlin';
import {
  ANOMALY_KINDS,
  AnomalyKind,
  checkAnomalyMask,
  cutPaste,
  cutPasteScar,
  perlinAnomaly,
  synthesizeAnomaly,
} from '../../src/data/synthetic-anomalies';
import { Rng } from '../../src/util/rng';
import { describeWithSharedData } from '../helpers/shared-data';

const W = 256;
const H = 256;

/** A smooth coloured pattern plus pixel noise: every patch differs from every other. */
function texturedImage(seed: number, width = W, height = H): RgbImage {
  const rng = new Rng(seed);
  const noise = new Perlin2D(rng);
  const img = createRgbImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + noise.noise(x / 16 + c * 5.3, y / 16 - c * 2.1) + 0.2 * (rng.uniform() - 0.5);
        img.data[(y * width + x) * 3 + c] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return img;
}

function uniformImage(r: number, g: number, b: number, width = W, height = H): RgbImage {
  const img = createRgbImage(width, height);
  for (let p = 0; p < width * height; p++) img.data.set([r, g, b], p * 3);
  return img;
}

function sameImage(a: RgbImage, b: RgbImage): boolean {
  return a.width === b.width && a.height === b.height && Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer));
}

function sameMask(a: BinaryMask, b: BinaryMask): boolean {
  return Buffer.from(a.data).equals(Buffer.from(b.data));
}

/** Bounding box and principal-axis extents of a mask (second moments of the pixel set). */
function shapeStats(mask: BinaryMask): { area: number; bboxW: number; bboxH: number; thickness: number; length: number } {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p]) continue;
    const x = p % mask.width;
    const y = Math.floor(p / mask.width);
    n++;
    sx += x;
    sy += y;
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const mx = sx / n;
  const my = sy / n;
  let cxx = 0;
  let cyy = 0;
  let cxy = 0;
  for (let p = 0; p < mask.data.length; p++) {
    if (!mask.data[p]) continue;
    const dx = (p % mask.width) - mx;
    const dy = Math.floor(p / mask.width) - my;
    cxx += dx * dx;
    cyy += dy * dy;
    cxy += dx * dy;
  }
  cxx /= n;
  cyy /= n;
  cxy /= n;
  const tr = cxx + cyy;
  const disc = Math.sqrt(Math.max(0, ((cxx - cyy) / 2) ** 2 + cxy * cxy));
  const lmax = tr / 2 + disc;
  const lmin = tr / 2 - disc;
  // A uniform w x l rectangle has variances w^2/12 and l^2/12 along its axes;
  // +1/12 undoes the variance a 1-pixel-wide row already has.
  return {
    area: n,
    bboxW: x1 - x0 + 1,
    bboxH: y1 - y0 + 1,
    thickness: Math.sqrt(12 * lmin),
    length: Math.sqrt(12 * lmax),
  };
}

describe('perlin noise', () => {
  it('fade is 6t^5 - 15t^4 + 10t^3 with flat ends', () => {
    assert.equal(fade(0), 0);
    assert.equal(fade(1), 1);
    assert.equal(fade(0.5), 0.5);
    assert.ok(Math.abs(fade(0.25) - (6 * 0.25 ** 5 - 15 * 0.25 ** 4 + 10 * 0.25 ** 3)) < 1e-15);
    // Slope ~ 30 h^2 next to the ends (also zero curvature): far below a linear ramp's 1.
    const h = 1e-4;
    assert.ok(Math.abs(fade(h) / h) < 1e-6, 'zero slope at 0');
    assert.ok(Math.abs((1 - fade(1 - h)) / h) < 1e-6, 'zero slope at 1');
  });

  it('is exactly zero at integer lattice points, negative ones included', () => {
    const noise = new Perlin2D(new Rng(3));
    for (let x = -5; x <= 300; x += 7) for (let y = -5; y <= 300; y += 11) assert.ok(noise.noise(x, y) === 0, `(${x}, ${y})`); // -0 counts as 0
  });

  it('stays within +-sqrt(2)/2 and actually uses most of that range', () => {
    const noise = new Perlin2D(new Rng(4));
    const rng = new Rng(5);
    let max = 0;
    for (let i = 0; i < 200000; i++) max = Math.max(max, Math.abs(noise.noise(rng.range(-50, 300), rng.range(-50, 300))));
    assert.ok(max <= PERLIN_2D_BOUND, `max ${max}`);
    assert.ok(max > 0.55, `max ${max} suspiciously small`);
  });

  it('is continuous: neighbouring pixels differ little, also across lattice cell borders', () => {
    const noise = new Perlin2D(new Rng(6));
    const field = perlinNoiseGrid(W, H, noise, { scaleX: 8, scaleY: 16, angleDeg: 0 });
    let maxStep = 0;
    let maxAbs = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = field[y * W + x];
        maxAbs = Math.max(maxAbs, Math.abs(v));
        if (x + 1 < W) maxStep = Math.max(maxStep, Math.abs(field[y * W + x + 1] - v));
        if (y + 1 < H) maxStep = Math.max(maxStep, Math.abs(field[(y + 1) * W + x] - v));
      }
    }
    // One pixel is 1/16 of a cell in y; the slope is at most ~2 per cell.
    assert.ok(maxStep < 0.15, `max step ${maxStep}`);
    assert.ok(maxStep < maxAbs / 2, 'steps are small relative to the field amplitude');
    for (const k of [1, 2, 3, 10]) {
      const y = 0.37;
      assert.ok(Math.abs(noise.noise(k - 1e-7, y) - noise.noise(k + 1e-7, y)) < 1e-5, `jump at x = ${k}`);
    }
    // The fade makes it smooth too: the slope has no kink at cell borders
    // (plain linear interpolation of the gradient terms would have one).
    const h = 1e-4;
    for (const [x, y] of [[3, 0.37], [0.61, 5], [7, 2.2], [1.3, 9]]) {
      const alongX = y % 1 !== 0;
      const f = (t: number): number => (alongX ? noise.noise(x + t, y) : noise.noise(x, y + t));
      const left = (f(0) - f(-h)) / h;
      const right = (f(h) - f(0)) / h;
      assert.ok(Math.abs(left - right) < 1e-3, `kink at (${x}, ${y}): ${left} vs ${right}`);
    }
  });

  it('grid: zero on lattice pixels when unrotated, seeded, and rotation changes the pattern', () => {
    const a = perlinNoiseGrid(W, H, new Perlin2D(new Rng(7)), { scaleX: 4, scaleY: 8 });
    for (let y = 0; y < H; y += H / 8) for (let x = 0; x < W; x += W / 4) assert.ok(a[y * W + x] === 0, `(${x}, ${y})`);
    const b = perlinNoiseGrid(W, H, new Perlin2D(new Rng(7)), { scaleX: 4, scaleY: 8 });
    assert.deepEqual(a, b);
    const c = perlinNoiseGrid(W, H, new Perlin2D(new Rng(8)), { scaleX: 4, scaleY: 8 });
    assert.notDeepEqual(a, c);
    const d = perlinNoiseGrid(W, H, new Perlin2D(new Rng(7)), { scaleX: 4, scaleY: 8, angleDeg: 40 });
    assert.notDeepEqual(a, d);
  });

  it('random scales are powers of two 2^[min..max], both ends reached', () => {
    const rng = new Rng(9);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const { scaleX, scaleY } = randomPerlinScales(rng, 0, 6);
      for (const s of [scaleX, scaleY]) {
        assert.ok(Number.isInteger(Math.log2(s)) && s >= 1 && s <= 64, `scale ${s}`);
        seen.add(s);
      }
    }
    assert.deepEqual([...seen].sort((x, y) => x - y), [1, 2, 4, 8, 16, 32, 64]);
    assert.throws(() => randomPerlinScales(rng, 3, 2), /minExp/);
  });

  it('fractal noise stays in the single-octave bound', () => {
    const noise = new Perlin2D(new Rng(10));
    const rng = new Rng(11);
    for (let i = 0; i < 20000; i++) {
      assert.ok(Math.abs(fractalNoise(noise, rng.range(0, 50), rng.range(0, 50), 4)) <= PERLIN_2D_BOUND);
    }
  });
});

describe('synthetic anomalies', () => {
  const img = texturedImage(1);
  const other = texturedImage(2);
  const kinds: Array<AnomalyKind | 'mixed'> = [...ANOMALY_KINDS, 'mixed'];

  for (const kind of kinds) {
    describe(kind, () => {
      it('is deterministic per seed and differs across seeds', () => {
        const a = synthesizeAnomaly(img, new Rng(42), { kind });
        const b = synthesizeAnomaly(img, new Rng(42), { kind });
        assert.ok(sameImage(a.image, b.image) && sameMask(a.mask, b.mask) && a.kind === b.kind);
        const c = synthesizeAnomaly(img, new Rng(43), { kind });
        assert.ok(!sameMask(a.mask, c.mask) || !sameImage(a.image, c.image));
      });

      for (const withOther of [false, true]) {
        it(`mask invariant holds over 25 seeds (${withOther ? 'other image as source/texture' : 'self / procedural'})`, () => {
          const before = cloneImage(img);
          for (let seed = 0; seed < 25; seed++) {
            const out = synthesizeAnomaly(img, new Rng(seed), {
              kind,
              source: withOther ? other : undefined,
              texture: withOther ? other : undefined,
            });
            const check = checkAnomalyMask(img, out.image, out.mask);
            assert.equal(check.changedOutside, 0, `seed ${seed}: pixels outside the mask changed`);
            assert.ok(check.maskArea > 0, `seed ${seed}: empty mask`);
            assert.equal(check.visibleFraction, 1, `seed ${seed}: mask pixels left visibly unchanged`);
            assert.ok(out.image !== img && out.image.data !== img.data);
            if (kind !== 'mixed') assert.equal(out.kind, kind);
          }
          assert.ok(sameImage(img, before), 'input image was mutated');
        });
      }
    });
  }

  it('without refinement the mask is the whole footprint and most of it changed', () => {
    for (let seed = 0; seed < 10; seed++) {
      const out = cutPaste(img, new Rng(seed), { refineMask: false, minChangedFraction: 0.9 });
      const s = shapeStats(out.mask);
      assert.equal(s.area, s.bboxW * s.bboxH, 'cutpaste footprint is a solid rectangle');
      const check = checkAnomalyMask(img, out.image, out.mask);
      assert.equal(check.changedOutside, 0);
      assert.ok(check.visibleFraction >= 0.9, `visible fraction ${check.visibleFraction}`);
    }
  });

  it('refinement reverts invisible changes: pasting background onto background labels nothing', () => {
    // Left half uniform grey, right half textured: patches landing on the left
    // with grey content change nothing visible.
    const half = texturedImage(3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W / 2; x++) half.data.set([0.5, 0.5, 0.5], (y * W + x) * 3);
    let sawPartial = false;
    for (let seed = 0; seed < 40; seed++) {
      const refined = cutPaste(half, new Rng(seed), { jitter: false, minChangedFraction: 0 });
      const raw = cutPaste(half, new Rng(seed), { jitter: false, minChangedFraction: 0, refineMask: false });
      const rc = checkAnomalyMask(half, refined.image, refined.mask);
      assert.equal(rc.changedOutside, 0);
      assert.equal(rc.visibleFraction, 1);
      assert.ok(maskArea(refined.mask) <= maskArea(raw.mask));
      // Where refinement kept a pixel, both variants wrote the same value.
      for (let p = 0; p < W * H; p++) {
        if (refined.mask.data[p]) assert.equal(raw.mask.data[p], 1);
      }
      if (maskArea(refined.mask) < maskArea(raw.mask)) sawPartial = true;
    }
    assert.ok(sawPartial, 'some paste overlapped the uniform half');
  });

  it('throws (naming the function) when no visible change is possible', () => {
    const flat = uniformImage(0.3, 0.3, 0.3);
    assert.throws(() => cutPaste(flat, new Rng(1), { jitter: false, maxAttempts: 3 }), /cutPaste: no visible alteration/);
    assert.throws(() => cutPasteScar(flat, new Rng(1), { jitter: false, maxAttempts: 3 }), /cutPasteScar: no visible alteration/);
    // With jitter a uniform image still gets a visible (brightness) change.
    const jittered = cutPaste(flat, new Rng(1), { jitter: { brightness: 0.5, contrast: 0, saturation: 0 } });
    assert.ok(maskArea(jittered.mask) > 0);
  });

  it('cutpaste area and aspect stay within the configured bounds', () => {
    const total = W * H;
    for (let seed = 0; seed < 40; seed++) {
      const out = cutPaste(img, new Rng(seed), { areaFraction: [0.05, 0.1], aspectRatio: [0.5, 2], refineMask: false });
      const s = shapeStats(out.mask);
      assert.ok(s.area >= 0.05 * total && s.area <= 0.1 * total, `area ${s.area / total}`);
      const aspect = s.bboxW / s.bboxH;
      assert.ok(aspect >= 0.5 && aspect <= 2, `aspect ${aspect}`);
      const refined = cutPaste(img, new Rng(seed), { areaFraction: [0.05, 0.1], aspectRatio: [0.5, 2] });
      const ra = maskArea(refined.mask);
      assert.ok(ra >= 0.5 * 0.05 * total && ra <= 0.1 * total, 'refined area in [minChangedFraction * min, max]');
    }
  });

  it('cutpaste takes the patch from another image when given one (any size)', () => {
    const red = uniformImage(0.9, 0.1, 0.2, 100, 80);
    const out = cutPaste(img, new Rng(5), { source: red, jitter: false, refineMask: false, areaFraction: [0.02, 0.05] });
    const f = (v: number): number => Math.fround(v);
    for (let p = 0; p < W * H; p++) {
      if (!out.mask.data[p]) continue;
      assert.deepEqual([...out.image.data.subarray(p * 3, p * 3 + 3)], [f(0.9), f(0.1), f(0.2)]);
    }
  });

  it('colour jitter changes the pasted patch compared with a plain paste', () => {
    const plain = cutPaste(img, new Rng(8), { jitter: false, refineMask: false });
    const jit = cutPaste(img, new Rng(8), { jitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4 }, refineMask: false });
    assert.ok(!sameImage(plain.image, jit.image));
  });

  it('scar is a thin long strip: thickness and area vs bounding box', () => {
    for (let seed = 0; seed < 30; seed++) {
      const out = cutPasteScar(img, new Rng(seed), { width: [2, 4], length: [30, 40], refineMask: false });
      const s = shapeStats(out.mask);
      assert.ok(s.thickness <= 4 + 1.5, `seed ${seed}: thickness ${s.thickness}`);
      assert.ok(s.length >= 27, `seed ${seed}: length ${s.length}`);
      assert.ok(s.length / s.thickness >= 5, `seed ${seed}: elongation ${s.length / s.thickness}`);
      // A strip covers at most width * diagonal of its bounding box.
      assert.ok(s.area <= (4 + 1) * Math.hypot(s.bboxW, s.bboxH), `seed ${seed}: area ${s.area} vs bbox ${s.bboxW}x${s.bboxH}`);
      assert.ok(s.area >= 2 * 30 * 0.7, `seed ${seed}: area ${s.area} too small for a 2x30 strip`);
    }
    // Rotation makes the strip fill only part of its bounding box.
    const rotated = shapeStats(cutPasteScar(img, new Rng(1), { width: [3, 3], length: [40, 40], angleDeg: [45, 45], refineMask: false }).mask);
    assert.ok(rotated.area / (rotated.bboxW * rotated.bboxH) < 0.25, `fill ${rotated.area / (rotated.bboxW * rotated.bboxH)}`);
    // Default options (width 2-16, length 10-25 px) never exceed the maximum width.
    for (let seed = 0; seed < 30; seed++) {
      const s = shapeStats(cutPasteScar(img, new Rng(seed), { refineMask: false }).mask);
      assert.ok(s.thickness <= 16 + 1.5 && s.area <= 16 * 25 + 2 * (16 + 25), `seed ${seed}: ${JSON.stringify(s)}`);
    }
  });

  it('perlin blends out = (1 - beta) * img + beta * tex inside the mask', () => {
    const beta = 0.6;
    const out = perlinAnomaly(img, new Rng(3), { texture: other, opacity: [beta, beta], augmentTexture: false, refineMask: false });
    let n = 0;
    for (let p = 0; p < W * H; p++) {
      if (!out.mask.data[p]) continue;
      n++;
      for (let c = 0; c < 3; c++) {
        const expected = Math.fround(Math.min(1, Math.max(0, (1 - beta) * img.data[p * 3 + c] + beta * other.data[p * 3 + c])));
        assert.equal(out.image.data[p * 3 + c], expected);
      }
    }
    assert.ok(n > 0);
  });

  it('perlin blob area stays within bounds, even when they force the fallback', () => {
    const total = W * H;
    for (let seed = 0; seed < 20; seed++) {
      const out = perlinAnomaly(img, new Rng(seed), { areaFraction: [0.01, 0.2], refineMask: false });
      const a = maskArea(out.mask);
      assert.ok(a >= 0.01 * total && a <= 0.2 * total, `seed ${seed}: area ${a / total}`);
    }
    // A 1%-wide window at 30% is rarely hit by a thresholded field: the
    // fallback (k largest noise values) must still land inside it.
    for (let seed = 0; seed < 5; seed++) {
      const out = perlinAnomaly(img, new Rng(seed), { areaFraction: [0.3, 0.31], maxMaskAttempts: 2, refineMask: false });
      const a = maskArea(out.mask);
      assert.ok(a >= 0.3 * total && a <= 0.31 * total, `seed ${seed}: area ${a / total}`);
    }
  });

  it('perlin texture of another size is resized, and the procedural texture varies', () => {
    const small = texturedImage(4, 64, 48);
    const out = perlinAnomaly(img, new Rng(2), { texture: small });
    assert.equal(checkAnomalyMask(img, out.image, out.mask).changedOutside, 0);
    const proc = perlinAnomaly(uniformImage(0.5, 0.5, 0.5), new Rng(2), { opacity: [1, 1], augmentTexture: false, areaFraction: [0.05, 0.5] });
    const values = new Set<number>();
    for (let p = 0; p < W * H; p++) if (proc.mask.data[p]) values.add(proc.image.data[p * 3]);
    assert.ok(values.size > 50, `procedural texture has only ${values.size} distinct values`);
  });

  it('mixed draws every kind and respects zero weights', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) seen.add(synthesizeAnomaly(img, new Rng(seed), { kind: 'mixed' }).kind);
    assert.deepEqual([...seen].sort(), ['cutpaste', 'cutpaste-scar', 'perlin']);
    for (let seed = 0; seed < 20; seed++) {
      const k = synthesizeAnomaly(img, new Rng(seed), { kind: 'mixed', mixWeights: { perlin: 0, cutpaste: 0 } }).kind;
      assert.equal(k, 'cutpaste-scar');
    }
  });

  it('dispatcher forwards shared and per-kind options', () => {
    for (let seed = 0; seed < 10; seed++) {
      const a = synthesizeAnomaly(img, new Rng(seed), {
        kind: 'cutpaste',
        refineMask: false,
        cutpaste: { areaFraction: [0.09, 0.11], aspectRatio: [1, 1] },
      });
      const s = shapeStats(a.mask);
      assert.ok(s.bboxW === s.bboxH && s.area === s.bboxW * s.bboxH, `seed ${seed}: not a square`);
      assert.ok(s.area >= 0.09 * W * H && s.area <= 0.11 * W * H);
    }
    // No whole-pixel rectangle has exactly 10% of 65536 pixels: a clear error, not a wrong size.
    assert.throws(
      () => synthesizeAnomaly(img, new Rng(1), { kind: 'cutpaste', cutpaste: { areaFraction: [0.1, 0.1], aspectRatio: [1, 1] } }),
      /cutPaste: could not place a cutpaste footprint/,
    );
  });

  it('rejects bad options with errors naming the option', () => {
    assert.throws(() => cutPaste(img, new Rng(1), { areaFraction: [0.3, 0.1] }), /cutPaste: option areaFraction/);
    assert.throws(() => cutPasteScar(img, new Rng(1), { width: [0, 3] }), /cutPasteScar: option width/);
    assert.throws(() => perlinAnomaly(img, new Rng(1), { threshold: 2 }), /perlinAnomaly: option threshold/);
    assert.throws(() => perlinAnomaly(img, new Rng(1), { scaleExp: [0.5, 3] }), /perlinAnomaly: option scaleExp/);
    assert.throws(() => cutPaste(img, new Rng(1), { jitter: { brightness: -1 } }), /option jitter.brightness/);
    assert.throws(() => cutPaste(img, new Rng(1), { maxAttempts: 0 }), /option maxAttempts/);
    assert.throws(() => synthesizeAnomaly(img, new Rng(1), { kind: 'blur' as AnomalyKind }), /option kind/);
    assert.throws(() => synthesizeAnomaly(img, new Rng(1), { kind: 'mixed', mixWeights: { perlin: -1 } }), /option mixWeights/);
    const broken: RgbImage = { width: 10, height: 10, data: new Float32Array(5) };
    assert.throws(() => perlinAnomaly(broken, new Rng(1)), /perlinAnomaly: image data/);
    assert.throws(() => cutPaste(img, new Rng(1), { source: broken }), /cutPaste: option source/);
  });

  it('is fast: mean under 20 ms of CPU time per 256x256 anomaly for every kind', () => {
    // CPU time, not wall time: the 2 cores are shared, and wall time under
    // contention measures the neighbours, not this code.
    for (const kind of kinds) {
      for (let i = 0; i < 3; i++) synthesizeAnomaly(img, new Rng(1000 + i), { kind }); // JIT warm-up
      const n = 20;
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) synthesizeAnomaly(img, new Rng(i), { kind, texture: other });
      const c = process.cpuUsage(c0);
      const ms = (c.user + c.system) / 1e3 / n;
      assert.ok(ms < 20, `${kind}: ${ms.toFixed(2)} ms CPU`);
    }
  });
});

describeWithSharedData('synthetic anomalies on a real image', (root) => {
  it('keeps the mask invariant on an MVTec bottle (dark uniform background)', async () => {
    const file = path.join(root, 'mvtec_ad', 'bottle', 'train', 'good', '000.png');
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const img = createRgbImage(info.width, info.height);
    for (let i = 0; i < img.data.length; i++) img.data[i] = data[i] / 255;
    for (const kind of [...ANOMALY_KINDS, 'mixed'] as const) {
      for (let seed = 0; seed < 10; seed++) {
        const out = synthesizeAnomaly(img, new Rng(seed), { kind });
        const check = checkAnomalyMask(img, out.image, out.mask);
        assert.equal(check.changedOutside, 0, `${kind} seed ${seed}`);
        assert.ok(check.maskArea > 0 && check.visibleFraction === 1, `${kind} seed ${seed}`);
      }
    }
  });
});
