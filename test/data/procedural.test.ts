/**
 * Tests of the procedural dataset (src/data/procedural): catalogue, normal
 * renders (valid, varied, class-distinct), defects (exact masks, sane areas,
 * visible), determinism, and the on-disk generator (layout, manifest,
 * skip / regeneration rules).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Rng } from '../../src/util/rng';
import type { RgbImage } from '../../src/data/image';
import {
  CLASS_MARKER_FILE,
  DEFECT_AREA_RANGE,
  GENERATOR_VERSION,
  MANIFEST_FILE,
  SYNTHETIC_CLASSES,
  SYNTHETIC_CLASS_NAMES,
  expectedManifest,
  generateDataset,
  isDatasetComplete,
  readManifest,
  renderDefect,
  renderNormal,
} from '../../src/data/procedural/index';

function bytes(img: RgbImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255);
  return out;
}

function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

/** Simple appearance descriptor: colour moments, gradient energy and a 4x4 luminance thumbnail. */
function describe_(img: RgbImage): number[] {
  const { width: W, height: H, data: d } = img;
  const f: number[] = [];
  for (let c = 0; c < 3; c++) {
    let m = 0;
    for (let i = 0; i < W * H; i++) m += d[i * 3 + c];
    m /= W * H;
    let v = 0;
    for (let i = 0; i < W * H; i++) v += (d[i * 3 + c] - m) ** 2;
    f.push(m * 2, Math.sqrt(v / (W * H)) * 4);
  }
  let gx = 0;
  let gy = 0;
  for (let y = 0; y < H - 1; y++) {
    for (let x = 0; x < W - 1; x++) {
      const i = (y * W + x) * 3;
      gx += Math.abs(d[i] - d[i + 3]) + Math.abs(d[i + 1] - d[i + 4]);
      gy += Math.abs(d[i] - d[i + W * 3]) + Math.abs(d[i + 1] - d[i + W * 3 + 1]);
    }
  }
  f.push((gx / (W * H)) * 8, (gy / (W * H)) * 8);
  for (let by = 0; by < 4; by++) {
    for (let bx = 0; bx < 4; bx++) {
      let s = 0;
      for (let y = (by * H) / 4; y < ((by + 1) * H) / 4; y++) {
        for (let x = (bx * W) / 4; x < ((bx + 1) * W) / 4; x++) s += d[(y * W + x) * 3 + 1];
      }
      f.push(s / ((W * H) / 16));
    }
  }
  return f;
}

function dist2(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

describe('procedural dataset: catalogue', () => {
  it('has at least 12 classes of both kinds, each with >= 3 defect types and folder-safe names', () => {
    assert.ok(SYNTHETIC_CLASSES.length >= 12, `only ${SYNTHETIC_CLASSES.length} classes`);
    assert.equal(new Set(SYNTHETIC_CLASS_NAMES).size, SYNTHETIC_CLASS_NAMES.length, 'duplicate class names');
    assert.ok(SYNTHETIC_CLASSES.filter((c) => c.kind === 'texture').length >= 5);
    assert.ok(SYNTHETIC_CLASSES.filter((c) => c.kind === 'object').length >= 5);
    for (const c of SYNTHETIC_CLASSES) {
      assert.match(c.name, /^[a-z][a-z0-9_]*$/);
      assert.ok(c.description.length > 30, `${c.name}: description too short`);
      assert.ok(c.defects.length >= 3, `${c.name}: only ${c.defects.length} defects`);
      assert.equal(new Set(c.defects.map((d) => d.name)).size, c.defects.length, `${c.name}: duplicate defect names`);
      for (const d of c.defects) {
        assert.match(d.name, /^[a-z][a-z0-9_]*$/);
        assert.notEqual(d.name, 'good');
        assert.ok(d.description.length > 20, `${c.name}/${d.name}: description too short`);
      }
    }
  });

  it('rejects unknown classes, unknown defects and bad sizes', () => {
    assert.throws(() => renderNormal('no_such_class', new Rng(1), 64), /unknown class/);
    assert.throws(() => renderDefect('wood', 'no_such_defect', new Rng(1), 64), /no defect/);
    assert.throws(() => renderNormal('wood', new Rng(1), 10), /size/);
  });
});

describe('procedural dataset: normal images', () => {
  it('every class renders a valid, non-flat image at several sizes', () => {
    for (const name of SYNTHETIC_CLASS_NAMES) {
      for (const size of [48, 128]) {
        const img = renderNormal(name, new Rng(3), size);
        assert.equal(img.width, size);
        assert.equal(img.height, size);
        assert.equal(img.data.length, size * size * 3);
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of img.data) {
          assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `${name}: value ${v} out of [0, 1]`);
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        assert.ok(hi - lo > 0.15, `${name}@${size}: nearly flat image (range ${hi - lo})`);
      }
    }
  });

  it('normal images vary within a class (pose, phase, colour, lighting, noise)', () => {
    for (const name of SYNTHETIC_CLASS_NAMES) {
      const a = renderNormal(name, new Rng(1), 96);
      const b = renderNormal(name, new Rng(2), 96);
      const d = meanAbsDiff(a, b);
      assert.ok(d > 0.01, `${name}: two normals differ by only ${d}`);
    }
  });

  it('classes are distinct: held-out normals are nearest to references of their own class', () => {
    const size = 64;
    const refs: Array<{ name: string; f: number[] }> = [];
    for (const name of SYNTHETIC_CLASS_NAMES) {
      for (let s = 0; s < 3; s++) refs.push({ name, f: describe_(renderNormal(name, new Rng(100 + s), size)) });
    }
    const errors: string[] = [];
    for (const name of SYNTHETIC_CLASS_NAMES) {
      for (let s = 0; s < 2; s++) {
        const f = describe_(renderNormal(name, new Rng(500 + s), size));
        let best = refs[0];
        for (const r of refs) if (dist2(f, r.f) < dist2(f, best.f)) best = r;
        if (best.name !== name) errors.push(`${name} -> ${best.name}`);
      }
    }
    assert.deepEqual(errors, [], `misclassified: ${errors.join(', ')}`);
  });

  it('is deterministic and consumes exactly one draw of the caller rng', () => {
    for (const name of ['fabric', 'screw', 'pcb']) {
      const a = renderNormal(name, new Rng(42), 64);
      const b = renderNormal(name, new Rng(42), 64);
      assert.deepEqual(a.data, b.data);
      const c = renderNormal(name, new Rng(43), 64);
      assert.ok(meanAbsDiff(a, c) > 0.005);
    }
    const r = new Rng(9);
    renderNormal('wood', r, 32);
    const ref = new Rng(9);
    ref.uniform();
    assert.equal(r.uniform(), ref.uniform());
    // Two consecutive calls on one rng give two different images.
    const r2 = new Rng(5);
    assert.ok(meanAbsDiff(renderNormal('marble', r2, 64), renderNormal('marble', r2, 64)) > 0.005);
  });
});

describe('procedural dataset: defects', () => {
  for (const size of [128, 256]) {
    it(`every defect at ${size} px: non-empty mask of sane area, visible inside, exact outside`, function () {
      this.timeout(180000);
      const seeds = size === 256 ? [7] : [1, 2];
      for (const cls of SYNTHETIC_CLASSES) {
        for (const def of cls.defects) {
          for (const seed of seeds) {
            const tag = `${cls.name}/${def.name}#${seed}@${size}`;
            const normal = renderNormal(cls.name, new Rng(seed), size);
            const { image, mask } = renderDefect(cls.name, def.name, new Rng(seed), size);
            assert.equal(mask.width, size);
            assert.equal(mask.height, size);
            const nb = bytes(normal);
            const db = bytes(image);
            let area = 0;
            let leaks = 0;
            let visible = 0;
            for (let i = 0; i < size * size; i++) {
              const m = mask.data[i];
              assert.ok(m === 0 || m === 1, `${tag}: mask value ${m}`);
              const diff = Math.max(Math.abs(nb[i * 3] - db[i * 3]), Math.abs(nb[i * 3 + 1] - db[i * 3 + 1]), Math.abs(nb[i * 3 + 2] - db[i * 3 + 2]));
              if (m) {
                area++;
                if (diff >= 8) visible++;
              } else if (diff !== 0 || image.data[i * 3] !== normal.data[i * 3]) {
                leaks++;
              }
            }
            const frac = area / (size * size);
            assert.equal(leaks, 0, `${tag}: ${leaks} pixels changed outside the mask`);
            assert.ok(frac >= DEFECT_AREA_RANGE.min && frac <= DEFECT_AREA_RANGE.max, `${tag}: area ${frac}`);
            // Visible: a real share of the masked pixels changed by >= 8 grey levels.
            assert.ok(visible >= Math.max(3, area * 0.1), `${tag}: only ${visible}/${area} masked pixels visibly changed`);
          }
        }
      }
    });
  }

  it('defect images are deterministic and differ between seeds', () => {
    const a = renderDefect('tiles', 'crack', new Rng(11), 96);
    const b = renderDefect('tiles', 'crack', new Rng(11), 96);
    assert.deepEqual(a.image.data, b.image.data);
    assert.deepEqual(a.mask.data, b.mask.data);
    const c = renderDefect('tiles', 'crack', new Rng(12), 96);
    assert.notDeepEqual(a.mask.data, c.mask.data);
  });

  it('defect sizes vary (some subtle, some large) within a defect type', () => {
    const areas = [0, 1, 2, 3, 4, 5].map((s) => {
      const { mask } = renderDefect('brushed_metal', 'stain', new Rng(s), 128);
      return mask.data.reduce((a, v) => a + v, 0);
    });
    assert.ok(Math.max(...areas) > 2 * Math.min(...areas), `areas barely vary: ${areas.join(', ')}`);
  });
});

describe('procedural dataset: generateDataset', function () {
  this.timeout(120000);
  const tiny = { classes: ['wood', 'hex_nut'], size: 64, trainPerClass: 2, testGoodPerClass: 1, testDefectPerType: 1, quiet: true } as const;
  let tmp: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-procedural-'));
  });
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function listFiles(root: string): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(path.relative(root, p).split(path.sep).join('/'));
      }
    };
    walk(root);
    return out.sort();
  }

  it('writes the MVTec tree, 0/255 masks and a manifest with counts', async () => {
    const root = path.join(tmp, 'ds');
    let ticks = 0;
    const info = await generateDataset({ root, seed: 5, ...tiny, onProgress: () => ticks++ });
    assert.equal(info.skipped, false);
    const expected: string[] = [MANIFEST_FILE];
    for (const c of ['wood', 'hex_nut']) {
      expected.push(`${c}/${CLASS_MARKER_FILE}`, `${c}/train/good/000.png`, `${c}/train/good/001.png`, `${c}/test/good/000.png`);
      for (const d of SYNTHETIC_CLASSES.find((x) => x.name === c)!.defects) {
        expected.push(`${c}/test/${d.name}/000.png`, `${c}/ground_truth/${d.name}/000_mask.png`);
      }
    }
    assert.deepEqual(listFiles(root), expected.sort());
    const m = readManifest(root);
    assert.ok(m);
    assert.equal(m.version, GENERATOR_VERSION);
    assert.equal(m.seed, 5);
    assert.equal(m.size, 64);
    assert.deepEqual(
      m.classes.map((c) => [c.name, c.kind]),
      [
        ['wood', 'texture'],
        ['hex_nut', 'object'],
      ],
    );
    assert.equal(m.classes[1].counts.train, 2);
    assert.equal(m.classes[1].counts.testGood, 1);
    assert.deepEqual(m.classes[1].counts.testDefect, { chipped: 1, scratch: 1, rust: 1 });
    assert.equal(m.totalImages, 2 * 3 + 3 + 3);
    assert.equal(info.imagesWritten, m.totalImages);
    assert.equal(ticks, m.totalImages);
    // Images: 64x64 RGB. Masks: one channel, only 0 and 255, not empty.
    const img = await sharp(path.join(root, 'wood/train/good/000.png')).raw().toBuffer({ resolveWithObject: true });
    assert.equal(img.info.width, 64);
    assert.equal(img.info.channels, 3);
    const maskFile = path.join(root, 'hex_nut/ground_truth/chipped/000_mask.png');
    // PNG colour type (IHDR byte 25) 0 = greyscale, bit depth 8.
    const head = fs.readFileSync(maskFile);
    assert.equal(head[25], 0);
    assert.equal(head[24], 8);
    const mask = await sharp(maskFile).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.equal(mask.info.channels, 1);
    const values = new Set(mask.data);
    assert.deepEqual([...values].sort((a, b) => a - b), [0, 255]);
  });

  it('derives each image from (seed, class, split, defect, index), independent of other options', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    await generateDataset({ root: a, seed: 5, ...tiny });
    await generateDataset({ root: b, seed: 5, ...tiny, classes: ['hex_nut', 'button'], trainPerClass: 3, testDefectPerType: 2 });
    for (const f of ['hex_nut/train/good/001.png', 'hex_nut/test/rust/000.png', 'hex_nut/ground_truth/rust/000_mask.png']) {
      assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} changed with unrelated options`);
    }
    // The written mask is the in-memory mask of that image's rng.
    const { mask } = renderDefect('hex_nut', 'rust', new Rng(5).fork('hex_nut/test/rust/0'), 64);
    const png = await sharp(path.join(a, 'hex_nut/ground_truth/rust/000_mask.png')).extractChannel(0).raw().toBuffer();
    assert.deepEqual(Array.from(png), Array.from(mask.data, (v) => v * 255));
  });

  it('is byte-identical for the same seed and different for another seed', async () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    const c = path.join(tmp, 'c');
    await generateDataset({ root: a, seed: 1, ...tiny });
    await generateDataset({ root: b, seed: 1, ...tiny });
    await generateDataset({ root: c, seed: 2, ...tiny });
    const files = listFiles(a);
    assert.deepEqual(listFiles(b), files);
    let differ = 0;
    for (const f of files) {
      assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs for the same seed`);
      if (f.endsWith('.png') && !fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(c, f)))) differ++;
    }
    assert.equal(differ, files.filter((f) => f.endsWith('.png')).length, 'some image identical across seeds');
  });

  it('skips a complete dataset, regenerates when the manifest is missing, a file is missing or options change', async () => {
    const root = path.join(tmp, 'ds');
    await generateDataset({ root, seed: 3, ...tiny });
    assert.ok(isDatasetComplete(root, { seed: 3, ...tiny }));
    const probe = path.join(root, 'wood/train/good/000.png');
    const mtime = fs.statSync(probe).mtimeMs;

    const again = await generateDataset({ root, seed: 3, ...tiny });
    assert.equal(again.skipped, true);
    assert.equal(again.imagesWritten, 0);
    assert.equal(fs.statSync(probe).mtimeMs, mtime);

    // Interrupted run: manifest absent (it is written last) -> full regeneration.
    fs.rmSync(path.join(root, MANIFEST_FILE));
    fs.writeFileSync(path.join(root, 'wood/train/good/junk.png'), 'partial');
    assert.equal(isDatasetComplete(root, { seed: 3, ...tiny }), false);
    const regen = await generateDataset({ root, seed: 3, ...tiny });
    assert.equal(regen.skipped, false);
    assert.ok(fs.existsSync(path.join(root, MANIFEST_FILE)));
    assert.ok(!fs.existsSync(path.join(root, 'wood/train/good/junk.png')), 'stale file of the interrupted run survived');

    // A deleted image makes the dataset incomplete even with a manifest.
    fs.rmSync(path.join(root, 'hex_nut/test/good/000.png'));
    assert.equal((await generateDataset({ root, seed: 3, ...tiny })).skipped, false);
    assert.ok(fs.existsSync(path.join(root, 'hex_nut/test/good/000.png')));

    // Other options: regenerated, and files the new options do not produce are gone.
    const fewer = await generateDataset({ root, seed: 3, ...tiny, classes: ['wood'], trainPerClass: 1 });
    assert.equal(fewer.skipped, false);
    assert.ok(!fs.existsSync(path.join(root, 'wood/train/good/001.png')));
    assert.ok(!fs.existsSync(path.join(root, 'hex_nut')), 'class folder of the previous run survived');
    assert.deepEqual(readManifest(root), expectedManifest({ seed: 3, ...tiny, classes: ['wood'], trainPerClass: 1 }));
  });

  it('never deletes a folder it did not create', async () => {
    const root = path.join(tmp, 'ds');
    fs.mkdirSync(path.join(root, 'wood'), { recursive: true });
    fs.writeFileSync(path.join(root, 'wood', 'precious.txt'), 'user data');
    await assert.rejects(generateDataset({ root, seed: 3, ...tiny }), /refusing/);
    assert.equal(fs.readFileSync(path.join(root, 'wood', 'precious.txt'), 'utf8'), 'user data');
  });

  it('validates options', async () => {
    await assert.rejects(generateDataset({ root: tmp, classes: ['nope'] }), /unknown class/);
    await assert.rejects(generateDataset({ root: tmp, trainPerClass: -1 }), /trainPerClass/);
    await assert.rejects(generateDataset({ root: tmp, classes: [] }), /empty/);
  });
});
