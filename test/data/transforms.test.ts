/**
 * transforms: the paper's preprocessing must equal torchvision-on-PIL
 * (Resize(S, BICUBIC) + CenterCrop(S); masks NEAREST). References come from
 * Pillow via test/fixtures/gen_transforms.py: the default 'uint8' precision
 * must match them exactly, 'float' within 1.25/255. Also geometry of crop vs
 * whole, mask alignment, normalisation, every input format, batching, and
 * real MVTec images when ../shared/datasets is present.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, RgbImage } from '../../src/data/image';
import { createMask, createRgbImage, maskArea } from '../../src/data/image';
import { readImage, readMask, writeMaskPng, writePng } from '../../src/data/image-io';
import type { Sample } from '../../src/data/sample';
import {
  DEFAULT_PREPROCESS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  denormalize,
  loadSample,
  preprocess,
  preprocessGeometry,
  preprocessImage,
  preprocessMask,
  resizeBicubic,
  resolvePreprocessConfig,
  toBatchTensor,
  type PreprocessConfig,
} from '../../src/data/transforms';
import { describeWithSharedData } from '../helpers/shared-data';

const FIX = path.resolve(__dirname, '..', 'fixtures', 'images');
const fixture = (name: string): string => path.join(FIX, name);

interface Manifest {
  pillow: string;
  cases: Record<string, { resize: [number, number]; crop_left_top: [number, number] }>;
}
const manifest = JSON.parse(fs.readFileSync(fixture('manifest.json'), 'utf8')) as Manifest;

/** Max |a - b| in units of 1/255. */
function maxErr255(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) * 255);
  return m;
}

/** Intensity-weighted centroid (x, y) of channel 0. */
function centroid(width: number, height: number, value: (i: number) => number): [number, number] {
  let sx = 0;
  let sy = 0;
  let s = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = value(y * width + x);
      sx += v * x;
      sy += v * y;
      s += v;
    }
  }
  assert.ok(s > 0, 'centroid of an empty image');
  return [sx / s, sy / s];
}

describe('data/transforms', () => {
  describe(`matches Pillow ${manifest.pillow} (torchvision on PIL) on committed fixtures`, () => {
    let src: RgbImage;
    let srcPortrait: RgbImage;
    before(async () => {
      src = await readImage(fixture('resize_src_40x30.png'));
      srcPortrait = await readImage(fixture('resize_src_30x40.png'));
    });

    const cases: [string, 'landscape' | 'portrait', Partial<PreprocessConfig>][] = [
      ['resize_crop_24', 'landscape', { size: 24 }],
      ['resize_crop_27', 'landscape', { size: 27 }], // crop offset 4.5 rounds half to even -> 4
      ['resize_crop_45', 'landscape', { size: 45 }], // upsampling path
      ['resize_crop_portrait_27', 'portrait', { size: 27 }],
      ['resize_whole_24', 'landscape', { size: 24, mode: 'resize-whole' }],
    ];
    for (const [name, which, cfg] of cases) {
      it(`${name}: geometry as torchvision, 'uint8' bit-exact, 'float' within 1.25/255`, async () => {
        const image = which === 'landscape' ? src : srcPortrait;
        const ref = await readImage(fixture(`${name}.png`));
        const g = preprocessGeometry(image.width, image.height, cfg);
        const expected = manifest.cases[name];
        assert.deepEqual([g.resizeWidth, g.resizeHeight], expected.resize);
        assert.deepEqual([g.cropLeft, g.cropTop], expected.crop_left_top);
        const exact = preprocessImage(image, { ...cfg, normalize: false });
        assert.deepEqual([exact.width, exact.height], [ref.width, ref.height]);
        assert.equal(maxErr255(exact.data, ref.data), 0);
        const float = preprocessImage(image, { ...cfg, normalize: false, precision: 'float' });
        const e = maxErr255(float.data, ref.data);
        assert.ok(e > 0 && e <= 1.25, `float max error ${e.toFixed(3)}/255`);
      });
    }

    it('resizeBicubic region equals resize-then-crop', () => {
      const full = resizeBicubic(src, 33, 25);
      const part = resizeBicubic(src, 33, 25, { region: { left: 5, top: 3, width: 20, height: 17 } });
      for (let y = 0; y < 17; y++) {
        for (let x = 0; x < 20; x++) {
          for (let c = 0; c < 3; c++) assert.equal(part.data[(y * 20 + x) * 3 + c], full.data[((y + 3) * 33 + x + 5) * 3 + c]);
        }
      }
    });

    for (const [name, cfg] of [
      ['mask_crop_27', { size: 27 }],
      ['mask_crop_45', { size: 45 }],
      ['mask_whole_24', { size: 24, mode: 'resize-whole' }],
    ] as [string, Partial<PreprocessConfig>][]) {
      it(`${name}: nearest-neighbour mask equals Pillow NEAREST and stays binary`, async () => {
        const mask = await readMask([fixture('mask_src_40x30.png')]);
        const ref = await readMask([fixture(`${name}.png`)]);
        const out = preprocessMask(mask, cfg);
        assert.deepEqual([out.width, out.height], [ref.width, ref.height]);
        assert.ok(out.data.every((v) => v === 0 || v === 1));
        assert.deepEqual(out.data, ref.data);
      });
    }
  });

  describe('geometry on a non-square image', () => {
    // 80x40 black image with a 4x4 white block centred at (50, 10) and one at the right edge (76..79).
    const W = 80;
    const H = 40;
    const image = createRgbImage(W, H);
    const mask = createMask(W, H);
    const paint = (x0: number, y0: number): void => {
      for (let y = y0; y < y0 + 4; y++) {
        for (let x = x0; x < x0 + 4; x++) {
          image.data.fill(1, (y * W + x) * 3, (y * W + x) * 3 + 3);
          mask.data[y * W + x] = 1;
        }
      }
    };
    paint(48, 8);
    paint(76, 18);

    /** Where a source point (continuous coordinates) lands as an output pixel index. */
    const land = (sx: number, sy: number, cfg: Partial<PreprocessConfig>): [number, number] => {
      const g = preprocessGeometry(W, H, cfg);
      return [(sx * g.resizeWidth) / W - 0.5 - g.cropLeft, (sy * g.resizeHeight) / H - 0.5 - g.cropTop];
    };

    it('resize-crop: marker lands where the crop puts it, the edge marker is cut off', () => {
      const cfg = { size: 20, normalize: false };
      const g = preprocessGeometry(W, H, cfg);
      assert.deepEqual([g.resizeWidth, g.resizeHeight, g.cropLeft, g.cropTop, g.width, g.height], [40, 20, 10, 0, 20, 20]);
      const out = preprocessImage(image, cfg);
      const [cx, cy] = centroid(20, 20, (i) => out.data[i * 3]);
      const [ex, ey] = land(50, 10, cfg); // (14.5, 4.5)
      assert.ok(Math.abs(cx - ex) < 0.25 && Math.abs(cy - ey) < 0.25, `centroid (${cx}, ${cy}) vs (${ex}, ${ey})`);
      const m = preprocessMask(mask, cfg);
      assert.equal(maskArea(m), 4); // only the first marker survives, as 2x2
      const [mx, my] = centroid(20, 20, (i) => m.data[i]);
      assert.ok(Math.abs(mx - ex) <= 0.5 && Math.abs(my - ey) <= 0.5, 'mask aligned with the image');
    });

    it('resize-whole: both markers survive at the squeezed positions', () => {
      const cfg = { size: 20, normalize: false, mode: 'resize-whole' as const };
      const out = preprocessImage(image, cfg);
      assert.deepEqual([out.width, out.height], [20, 20]);
      const m = preprocessMask(mask, cfg);
      assert.ok(m.data.every((v) => v === 0 || v === 1));
      // Marker 1 lands near x = 12, marker 2 at the right edge (x = 19): look at columns 8..15 and 16..19.
      for (const [x0, x1, sx, sy] of [
        [8, 16, 50, 10],
        [16, 20, 78, 20],
      ] as const) {
        const bw = x1 - x0;
        const at = (i: number): number => Math.floor(i / bw) * 20 + x0 + (i % bw);
        const [cx, cy] = centroid(bw, 20, (i) => out.data[at(i) * 3]);
        const [ex, ey] = land(sx, sy, cfg);
        assert.ok(Math.abs(cx + x0 - ex) < 0.3 && Math.abs(cy - ey) < 0.3, `centroid (${cx + x0}, ${cy}) vs (${ex}, ${ey})`);
        const [mx, my] = centroid(bw, 20, (i) => m.data[at(i)]);
        assert.ok(Math.abs(mx + x0 - ex) <= 0.5 && Math.abs(my - ey) <= 0.5, `mask aligned at (${ex}, ${ey})`);
      }
      // 4x4 source pixels -> 1x2 in the output (x / 4, y / 2): 2 pixels per marker.
      assert.equal(maskArea(m), 4);
    });
  });

  describe('normalisation', () => {
    const colour = [128 / 255, 64 / 255, 200 / 255];
    const flat = (): RgbImage => {
      const img = createRgbImage(10, 8);
      for (let i = 0; i < img.data.length; i++) img.data[i] = colour[i % 3];
      return img;
    };

    it('defaults to ImageNet mean/std at 224', () => {
      assert.equal(DEFAULT_PREPROCESS.size, 224);
      assert.equal(DEFAULT_PREPROCESS.mode, 'resize-crop');
      assert.deepEqual(DEFAULT_PREPROCESS.mean, [0.485, 0.456, 0.406]);
      assert.deepEqual(DEFAULT_PREPROCESS.std, [0.229, 0.224, 0.225]);
      const out = preprocessImage(flat(), { size: 6 });
      assert.equal(out.normalized, true);
      for (let i = 0; i < out.data.length; i++) {
        const c = i % 3;
        assert.ok(Math.abs(out.data[i] - (colour[c] - IMAGENET_MEAN[c]) / IMAGENET_STD[c]) < 1e-5);
      }
      // e.g. red: (0.50196 - 0.485) / 0.229 = 0.07406
      assert.ok(Math.abs(out.data[0] - 0.07406) < 1e-4);
    });

    it('custom mean/std, normalisation off, and denormalize round trip', () => {
      const custom = preprocessImage(flat(), { size: 6, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 2] });
      assert.ok(Math.abs(custom.data[0] - (colour[0] - 0.5) / 0.5) < 1e-6);
      assert.ok(Math.abs(custom.data[1] - (colour[1] - 0.5) / 0.25) < 1e-6);
      assert.ok(Math.abs(custom.data[2] - (colour[2] - 0.5) / 2) < 1e-6);
      const off = preprocessImage(flat(), { size: 6, normalize: false });
      assert.equal(off.normalized, false);
      assert.ok(maxErr255(off.data, Array.from(off.data, (_, i) => colour[i % 3])) < 1e-4);
      const back = denormalize(preprocessImage(flat(), { size: 6 }));
      assert.ok(maxErr255(back.data, off.data) < 1e-3);
      const backCustom = denormalize(custom, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 2] });
      assert.ok(maxErr255(backCustom.data, off.data) < 1e-3);
      // Unnormalised input is only clipped.
      assert.deepEqual(denormalize({ ...off, data: off.data.map(() => 1.5) }).data, new Float32Array(off.data.length).fill(1));
    });

    it('rejects bad options by name', () => {
      assert.throws(() => resolvePreprocessConfig({ size: 0 }), /PreprocessConfig\.size/);
      assert.throws(() => resolvePreprocessConfig({ cropSize: 2.5 }), /PreprocessConfig\.cropSize/);
      assert.throws(() => resolvePreprocessConfig({ std: [1, 0, 1] }), /PreprocessConfig\.std/);
      assert.throws(() => resolvePreprocessConfig({ mode: 'stretch' as unknown as 'resize-crop' }), /PreprocessConfig\.mode/);
      assert.throws(() => preprocessGeometry(40, 30, { size: 24, cropSize: 30 }), /PreprocessConfig\.cropSize \(30\)/);
    });

    it('cropSize smaller than size (Resize(S) + CenterCrop(C))', () => {
      const g = preprocessGeometry(40, 30, { size: 24, cropSize: 20 });
      assert.deepEqual([g.resizeWidth, g.resizeHeight, g.cropLeft, g.cropTop, g.width], [32, 24, 6, 2, 20]);
    });
  });

  describe('inputs of every format through preprocess()', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-transforms-'));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('16-bit, grey, RGBA, BMP, JPEG, TIFF all give S x S in the normalised range', async () => {
      const w = 12;
      const h = 9;
      const n = w * h;
      const ramp8 = (c: number): Uint8Array => new Uint8Array(n * c).map((_, i) => (i * 29) % 256);
      const files: Record<string, string> = {};
      const out = (name: string): string => (files[name] = path.join(dir, name));
      await sharp(new Uint16Array(n * 3).map((_, i) => (i * 7919) % 65536), { raw: { width: w, height: h, channels: 3 } })
        .toColourspace('rgb16').png().toFile(out('rgb16.png'));
      await sharp(ramp8(1), { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png().toFile(out('grey.png'));
      await sharp(ramp8(4), { raw: { width: w, height: h, channels: 4 } }).png().toFile(out('rgba.png'));
      await sharp(ramp8(3), { raw: { width: w, height: h, channels: 3 } }).jpeg().toFile(out('rgb.jpg'));
      await sharp(ramp8(3), { raw: { width: w, height: h, channels: 3 } }).tiff({ compression: 'lzw' }).toFile(out('rgb.tif'));
      files['bmp'] = fixture('bmp_rgb24_7x5.bmp');
      const lo = Math.min(...[0, 1, 2].map((c) => -IMAGENET_MEAN[c] / IMAGENET_STD[c]));
      const hi = Math.max(...[0, 1, 2].map((c) => (1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]));
      for (const [name, file] of Object.entries(files)) {
        const x = await preprocess(file, { size: 4 });
        assert.deepEqual([x.width, x.height, x.data.length], [4, 4, 48], name);
        assert.ok(x.data.every((v) => Number.isFinite(v) && v >= lo - 1e-6 && v <= hi + 1e-6), name);
      }
      // Grey stays grey: R = G = B after resize (normalisation off).
      const g = await preprocess(files['grey.png'], { size: 4, normalize: false });
      for (let i = 0; i < g.data.length; i += 3) assert.ok(g.data[i] === g.data[i + 1] && g.data[i + 1] === g.data[i + 2]);
      // 16-bit detail survives 'float' precision but is quantised by the Pillow-exact 'uint8'.
      const f = await preprocess(files['rgb16.png'], { size: 9, normalize: false, precision: 'float' });
      const q = await preprocess(files['rgb16.png'], { size: 9, normalize: false });
      const off255 = (v: number): number => Math.abs(v * 255 - Math.round(v * 255));
      assert.ok(f.data.some((v) => off255(v) > 0.01));
      assert.ok(q.data.every((v) => off255(v) < 1e-4));
    });

    it('preprocess(path) equals preprocessImage(readImage(path)) and fails naming the file', async () => {
      const a = await preprocess(fixture('resize_src_40x30.png'), { size: 24 });
      const b = preprocessImage(await readImage(fixture('resize_src_40x30.png')), { size: 24 });
      assert.deepEqual(a, b);
      const missing = path.join(dir, 'missing.png');
      await assert.rejects(preprocess(missing), (e: Error) => e.message.includes(missing));
    });

    it('loadSample: image and mask at the same geometry; normal and mask-less samples', async () => {
      const img = createRgbImage(40, 30, 0.2);
      const mask = createMask(40, 30);
      for (let y = 10; y < 20; y++) for (let x = 20; x < 30; x++) mask.data[y * 40 + x] = 1;
      await writePng(path.join(dir, 'a.png'), img);
      await writeMaskPng(path.join(dir, 'a_mask.png'), mask);
      const base: Sample = {
        imagePath: path.join(dir, 'a.png'),
        className: 'thing',
        split: 'test',
        label: 1,
        defectType: 'scratch',
        maskPaths: [path.join(dir, 'a_mask.png')],
      };
      const s = await loadSample(base, { size: 20 });
      assert.deepEqual([s.image.width, s.image.height, s.mask.width, s.mask.height], [20, 20, 20, 20]);
      assert.deepEqual(s.originalSize, { width: 40, height: 30 });
      assert.equal(s.hasMask, true);
      assert.deepEqual(s.mask, preprocessMask(mask, { size: 20 }));
      assert.ok(maskArea(s.mask) > 0);

      const normal = await loadSample({ ...base, label: 0, defectType: 'good', maskPaths: [] }, { size: 20 });
      assert.equal(normal.hasMask, true);
      assert.equal(maskArea(normal.mask), 0);
      const unknown = await loadSample({ ...base, maskPaths: [] }, { size: 20 });
      assert.equal(unknown.hasMask, false);

      const small = createMask(20, 15);
      await writeMaskPng(path.join(dir, 'small_mask.png'), small);
      await assert.rejects(
        loadSample({ ...base, maskPaths: [path.join(dir, 'small_mask.png')] }),
        (e: Error) => e.message.includes('small_mask.png') && /40x30/.test(e.message),
      );
    });
  });

  describe('toBatchTensor', () => {
    // Whatever backend other suites registered (e.g. wasm) must be initialised first.
    before(async () => {
      await tf.ready();
    });

    it('stacks HWC images into NHWC float32 and checks sizes', async () => {
      const a = preprocessImage(createRgbImage(8, 8, 0.1), { size: 4 });
      const b = new Float32Array(48).map((_, i) => i);
      const t = toBatchTensor([a, b], 4);
      try {
        assert.deepEqual(t.shape, [2, 4, 4, 3]);
        assert.equal(t.dtype, 'float32');
        const v = await t.data();
        assert.deepEqual(v.slice(0, 48), a.data);
        assert.deepEqual(v.slice(48), b);
      } finally {
        t.dispose();
      }
      assert.throws(() => toBatchTensor([a, new Float32Array(47)], 4), /image 1 has 47 values/);
      assert.throws(() => toBatchTensor([a], { width: 4, height: 5 }), /image 0 is 4x4, expected 4x5/);
      assert.throws(() => toBatchTensor([], 4), /empty/);
    });
  });

  describeWithSharedData('on real MVTec AD images', (root) => {
    const bottle = path.join(root, 'mvtec_ad', 'bottle');
    const sample = (defect: string, name: string): Sample => ({
      imagePath: path.join(bottle, 'test', defect, `${name}.png`),
      className: 'bottle',
      split: 'test',
      label: defect === 'good' ? 0 : 1,
      defectType: defect,
      maskPaths: defect === 'good' ? [] : [path.join(bottle, 'ground_truth', defect, `${name}_mask.png`)],
    });

    it('broken_large/000: 224x224 image in the normalised range, binary non-empty aligned mask', async () => {
      const s = await loadSample(sample('broken_large', '000'));
      assert.deepEqual([s.image.width, s.image.height, s.image.data.length], [224, 224, 224 * 224 * 3]);
      assert.deepEqual([s.mask.width, s.mask.height], [224, 224]);
      const lo = Math.min(...[0, 1, 2].map((c) => -IMAGENET_MEAN[c] / IMAGENET_STD[c]));
      const hi = Math.max(...[0, 1, 2].map((c) => (1 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]));
      let min = Infinity;
      let max = -Infinity;
      for (const v of s.image.data) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      assert.ok(min >= lo - 1e-6 && max <= hi + 1e-6 && max - min > 1, `range [${min}, ${max}]`);
      assert.ok(s.mask.data.every((v: number) => v === 0 || v === 1));
      // Same defect fraction before and after the (uniform) rescale.
      const full: BinaryMask = await readMask(s.sample.maskPaths);
      const before = maskArea(full) / full.data.length;
      const after = maskArea(s.mask) / s.mask.data.length;
      assert.ok(before > 0.001 && Math.abs(after - before) < 0.1 * before, `area ${before} -> ${after}`);
    });

    it('a normal image gets an all-zero mask, resize-whole gives the same size for a square image', async () => {
      const s = await loadSample(sample('good', '000'), { mode: 'resize-whole', size: 128 });
      assert.deepEqual([s.image.width, s.image.height], [128, 128]);
      assert.equal(maskArea(s.mask), 0);
      assert.equal(s.hasMask, true);
    });
  });
});
