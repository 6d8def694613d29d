/**
 * Dataset readers: exact sample lists for a tiny fixture tree of every format,
 * auto-detection, filters, error messages, summaries, and the real datasets in
 * ../shared/datasets when present.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Sample } from '../../src/data/sample';
import {
  DatasetError,
  detectFormat,
  formatClassSummary,
  listClasses,
  naturalCompare,
  parseDataSpec,
  readDataset,
  summarizeByClass,
  summarizeSamples,
} from '../../src/data/readers/index';
import { MaskLookup, listImages, stemOf } from '../../src/data/readers/common';
import { FixtureName, buildAllFixtures, buildFixture, makeTempDir, removeDir, writeTree } from '../helpers/fixture-tree';
import { describeWithSharedData } from '../helpers/shared-data';

/** One line per sample, paths relative to `root` with "/": easy to compare and to read in a diff. */
function lines(samples: readonly Sample[], root: string): string[] {
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');
  return samples.map(
    (s) => `${rel(s.imagePath)} ${s.className} ${s.split} ${s.label} ${s.defectType} [${s.maskPaths.map(rel).join(' ')}]`,
  );
}

/** Asserts that `fn` throws a DatasetError whose message matches every pattern. */
function throwsDataset(fn: () => unknown, ...patterns: RegExp[]): DatasetError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DatasetError, `expected a DatasetError, got ${String(caught)}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('data/readers helpers', () => {
  it('naturalCompare orders digit runs by value and is a total order', () => {
    const names = ['img10.png', 'img2.png', 'img1.png', 'img02.png', 'a.png', 'img1b.png'];
    assert.deepEqual([...names].sort(naturalCompare), ['a.png', 'img1.png', 'img1b.png', 'img02.png', 'img2.png', 'img10.png']);
    assert.equal(naturalCompare('x', 'x'), 0);
    assert.ok(naturalCompare('123456789012345678901', '123456789012345678902') < 0, 'long digit runs compare exactly');
  });

  it('stemOf drops only the last extension', () => {
    assert.equal(stemOf('/a/b/000_mask.png'), '000_mask');
    assert.equal(stemOf('x.tar.gz'), 'x.tar');
    assert.equal(stemOf('noext'), 'noext');
  });

  describe('parseDataSpec', () => {
    it('reads ROOT and ROOT:class,class', () => {
      assert.deepEqual(parseDataSpec('/data/mvtec'), { root: '/data/mvtec' });
      assert.deepEqual(parseDataSpec('/data/mvtec:bottle, grid,bottle'), { root: '/data/mvtec', classes: ['bottle', 'grid'] });
      assert.deepEqual(parseDataSpec('rel/dir:01'), { root: 'rel/dir', classes: ['01'] });
    });
    it('keeps Windows drive letters in the root', () => {
      assert.deepEqual(parseDataSpec('C:\\data\\mvtec'), { root: 'C:\\data\\mvtec' });
      assert.deepEqual(parseDataSpec('C:/data/mvtec'), { root: 'C:/data/mvtec' });
      assert.deepEqual(parseDataSpec('C:\\data\\mvtec:bottle,grid'), { root: 'C:\\data\\mvtec', classes: ['bottle', 'grid'] });
      assert.deepEqual(parseDataSpec('D:/x:y/z'), { root: 'D:/x:y/z' }, 'a ":" inside a path is not a class list');
    });
    it('rejects empty values, empty class lists and missing roots', () => {
      assert.throws(() => parseDataSpec('  '), /Empty --data/);
      assert.throws(() => parseDataSpec('/data/mvtec:'), /"\/data\/mvtec:" has an empty class list/);
      assert.throws(() => parseDataSpec('/data/mvtec: , '), /empty class list/);
      assert.throws(() => parseDataSpec(':bottle'), /no root/);
    });
  });

  it('MaskLookup prefers "_mask" then the bare stem, and PNG over other extensions', () => {
    const dir = makeTempDir();
    try {
      for (const f of ['a_mask.png', 'a.png', 'b.bmp', 'b.png', 'c.bmp', 'notes.txt']) fs.writeFileSync(path.join(dir, f), '');
      const m = new MaskLookup(dir);
      assert.equal(m.size, 4, 'stems a_mask, a, b, c; notes.txt is no image');
      assert.equal(m.find('a'), path.join(dir, 'a_mask.png'));
      assert.equal(m.find('a', ['']), path.join(dir, 'a.png'));
      assert.equal(m.find('b'), path.join(dir, 'b.png'));
      assert.equal(m.find('c'), path.join(dir, 'c.bmp'));
      assert.equal(m.find('d'), undefined);
      assert.deepEqual(listImages(path.join(dir, 'missing')), []);
    } finally {
      removeDir(dir);
    }
  });
});

describe('data/readers on fixture trees', () => {
  let parent = '';
  let roots: Record<FixtureName, string>;
  /** Fresh copies for tests that damage a tree. */
  let scratch = '';

  before(async () => {
    parent = makeTempDir();
    scratch = makeTempDir('resad-scratch-');
    roots = await buildAllFixtures(parent);
  });
  after(() => {
    removeDir(parent);
    removeDir(scratch);
  });

  describe('exact sample lists per format', () => {
    it('mvtec: _mask and same-stem masks, hidden and text files ignored', () => {
      const r = roots.mvtec;
      assert.deepEqual(lines(readDataset(r, { format: 'mvtec' }), r), [
        'bottle/train/good/000.png bottle train 0 good []',
        'bottle/train/good/001.png bottle train 0 good []',
        'bottle/train/good/002.png bottle train 0 good []',
        'bottle/test/broken/000.png bottle test 1 broken [bottle/ground_truth/broken/000_mask.png]',
        'bottle/test/broken/001.png bottle test 1 broken [bottle/ground_truth/broken/001_mask.png]',
        'bottle/test/good/000.png bottle test 0 good []',
        'zipper/train/good/000.png zipper train 0 good []',
        'zipper/test/good/000.png zipper test 0 good []',
        'zipper/test/squeezed/000.png zipper test 1 squeezed [zipper/ground_truth/squeezed/000.png]',
      ]);
    });

    it('mpdd', () => {
      const r = roots.mpdd;
      assert.deepEqual(lines(readDataset(r, { format: 'mpdd' }), r), [
        'metal_plate/train/good/train_00000.png metal_plate train 0 good []',
        'metal_plate/train/good/train_00001.png metal_plate train 0 good []',
        'metal_plate/test/defective/test_00026.png metal_plate test 1 defective [metal_plate/ground_truth/defective/test_00026_mask.png]',
        'metal_plate/test/good/test_00000.png metal_plate test 0 good []',
      ]);
    });

    it('btad: ok -> good, ko anomalies, bmp/png images and masks matched by stem', () => {
      const r = roots.btad;
      assert.deepEqual(lines(readDataset(r, { format: 'btad' }), r), [
        '01/train/ok/0000.bmp 01 train 0 good []',
        '01/train/ok/0001.bmp 01 train 0 good []',
        '01/test/ko/0003.bmp 01 test 1 ko [01/ground_truth/ko/0003.png]',
        '01/test/ok/0002.bmp 01 test 0 good []',
        '02/train/ok/0000.png 02 train 0 good []',
        '02/test/ko/0001.png 02 test 1 ko [02/ground_truth/ko/0001.png]',
        '03/train/ok/0000.bmp 03 train 0 good []',
        '03/test/ko/0005.bmp 03 test 1 ko [03/ground_truth/ko/0005.bmp]',
      ]);
    });

    it('mvtec3d: rgb only, gt masks, validation/good as train unless ignored', () => {
      const r = roots.mvtec3d;
      const test = [
        'bagel/test/crack/rgb/000.png bagel test 1 crack [bagel/test/crack/gt/000.png]',
        'bagel/test/crack/rgb/001.png bagel test 1 crack [bagel/test/crack/gt/001.png]',
        'bagel/test/good/rgb/000.png bagel test 0 good []',
      ];
      assert.deepEqual(lines(readDataset(r, { format: 'mvtec3d' }), r), [
        'bagel/train/good/rgb/000.png bagel train 0 good []',
        'bagel/train/good/rgb/001.png bagel train 0 good []',
        'bagel/validation/good/rgb/000.png bagel train 0 good []',
        ...test,
      ]);
      assert.deepEqual(lines(readDataset(r, { format: 'mvtec3d', validation: 'ignore' }), r), [
        'bagel/train/good/rgb/000.png bagel train 0 good []',
        'bagel/train/good/rgb/001.png bagel train 0 good []',
        ...test,
      ]);
    });

    it('loco: several masks per image, flattened masks, validation policy', () => {
      const r = roots.loco;
      const all = lines(readDataset(r, { format: 'loco' }), r);
      assert.deepEqual(all, [
        'juice_bottle/train/good/000.png juice_bottle train 0 good []',
        'juice_bottle/validation/good/000.png juice_bottle train 0 good []',
        'juice_bottle/test/good/000.png juice_bottle test 0 good []',
        'juice_bottle/test/logical_anomalies/000.png juice_bottle test 1 logical_anomalies [juice_bottle/ground_truth/logical_anomalies/000.png]',
        'pushpins/train/good/000.png pushpins train 0 good []',
        'pushpins/train/good/001.png pushpins train 0 good []',
        'pushpins/validation/good/000.png pushpins train 0 good []',
        'pushpins/test/good/000.png pushpins test 0 good []',
        'pushpins/test/logical_anomalies/000.png pushpins test 1 logical_anomalies ' +
          '[pushpins/ground_truth/logical_anomalies/000/000.png pushpins/ground_truth/logical_anomalies/000/001.png]',
        'pushpins/test/logical_anomalies/001.png pushpins test 1 logical_anomalies [pushpins/ground_truth/logical_anomalies/001/000.png]',
        'pushpins/test/structural_anomalies/000.png pushpins test 1 structural_anomalies [pushpins/ground_truth/structural_anomalies/000/000.png]',
      ]);
      const ignored = lines(readDataset(r, { format: 'loco', validation: 'ignore' }), r);
      assert.deepEqual(
        ignored,
        all.filter((l) => !l.includes('/validation/')),
      );
    });

    it('visa: official split CSV, JPG images, anomaly masks', () => {
      const r = roots.visa;
      assert.deepEqual(lines(readDataset(r, { format: 'visa' }), r), [
        'candle/Data/Images/Normal/0000.JPG candle train 0 good []',
        'candle/Data/Images/Normal/0001.JPG candle train 0 good []',
        'candle/Data/Images/Anomaly/000.JPG candle test 1 anomaly [candle/Data/Masks/Anomaly/000.png]',
        'candle/Data/Images/Anomaly/001.JPG candle test 1 anomaly [candle/Data/Masks/Anomaly/001.png]',
        'candle/Data/Images/Normal/0002.JPG candle test 0 good []',
        'capsules/Data/Images/Normal/0000.JPG capsules train 0 good []',
        'capsules/Data/Images/Anomaly/000.JPG capsules test 1 anomaly [capsules/Data/Masks/Anomaly/000.png]',
      ]);
    });

    it('visa without CSV but in MVTec layout (prepare_data.py output) reads like mvtec', async () => {
      const r = path.join(scratch, 'visa_pytorch');
      await writeTree(r, {
        images: [
          'candle/train/good/0000.JPG',
          'candle/test/good/0001.JPG',
          'candle/test/bad/000.JPG',
          'candle/ground_truth/bad/000.png',
        ],
      });
      const samples = readDataset(r, { format: 'visa' });
      assert.equal(samples.length, 3);
      assert.deepEqual(samples, readDataset(r, { format: 'mvtec' }));
    });

    it('visa on an MVTec AD folder (named defect types) says the layout does not match', () => {
      throwsDataset(
        () => readDataset(roots.mvtec, { format: 'visa' }),
        /No visa classes found/,
        /MVTec AD layout instead .*bottle: broken/,
        /converted VisA has only test\/good and test\/bad/,
        /matches the mvtec layout .*--format mvtec\) or auto/,
      );
    });

    it('brats: ResAD layout (class brain, _mask masks)', () => {
      const r = roots.brats;
      assert.deepEqual(lines(readDataset(r, { format: 'brats' }), r), [
        'brain/train/good/00001.png brain train 0 good []',
        'brain/train/good/00002.png brain train 0 good []',
        'brain/test/anomaly/00010.png brain test 1 anomaly [brain/ground_truth/anomaly/00010_mask.png]',
        'brain/test/anomaly/00011.png brain test 1 anomaly [brain/ground_truth/anomaly/00011_mask.png]',
        'brain/test/good/00003.png brain test 0 good []',
      ]);
    });

    it('brats: BMAD layout (img/ + label/), valid/ not read', () => {
      const r = roots.brats_bmad;
      assert.deepEqual(lines(readDataset(r, { format: 'brats' }), r), [
        'Brain/train/good/00000.png Brain train 0 good []',
        'Brain/test/Ungood/img/00002.png Brain test 1 Ungood [Brain/test/Ungood/label/00002.png]',
        'Brain/test/good/img/00001.png Brain test 0 good []',
      ]);
    });

    it('shanghaitech: prepared frames, one class per scene', () => {
      const r = roots.shanghaitech;
      assert.deepEqual(lines(readDataset(r, { format: 'shanghaitech' }), r), [
        '01/train/good/01_001_000.jpg 01 train 0 good []',
        '01/train/good/01_001_001.jpg 01 train 0 good []',
        '01/test/anomaly/01_0014_100.jpg 01 test 1 anomaly [01/ground_truth/anomaly/01_0014_100.png]',
        '01/test/good/01_0014_000.jpg 01 test 0 good []',
        '02/train/good/02_001_000.jpg 02 train 0 good []',
        '02/test/anomaly/02_0161_050.jpg 02 test 1 anomaly [02/ground_truth/anomaly/02_0161_050.png]',
      ]);
    });

    it('folder: flat and split good/, masks/ and ground_truth/, image-level defect without masks', () => {
      const r = roots.folder;
      assert.deepEqual(lines(readDataset(r, { format: 'folder' }), r), [
        'gadget/good/train/a.png gadget train 0 good []',
        'gadget/crack/c.png gadget test 1 crack [gadget/ground_truth/crack/c.png]',
        'gadget/good/test/b.png gadget test 0 good []',
        'widget/good/img1.png widget train 0 good []',
        'widget/good/img2.png widget train 0 good []',
        'widget/good/img10.png widget train 0 good []',
        'widget/dent/d1.png widget test 1 dent []',
        'widget/good/test/t1.png widget test 0 good []',
        'widget/scratch/s1.png widget test 1 scratch [widget/masks/scratch/s1_mask.png]',
        'widget/scratch/s2.png widget test 1 scratch [widget/masks/scratch/s2.png]',
      ]);
    });

    it('every listed image and mask exists, paths are absolute', () => {
      for (const name of ['mvtec', 'btad', 'mvtec3d', 'loco', 'visa', 'brats', 'brats_bmad', 'shanghaitech', 'folder'] as const) {
        for (const s of readDataset(roots[name])) {
          for (const p of [s.imagePath, ...s.maskPaths]) {
            assert.ok(path.isAbsolute(p), `${name}: ${p} is absolute`);
            assert.ok(fs.statSync(p).isFile(), `${name}: ${p} exists`);
          }
        }
      }
    });
  });

  describe('auto-detection', () => {
    const cases: Array<[FixtureName, string]> = [
      ['mvtec', 'mvtec'],
      ['mpdd', 'mvtec'],
      ['btad', 'btad'],
      ['mvtec3d', 'mvtec3d'],
      ['loco', 'loco'],
      ['visa', 'visa'],
      ['brats', 'mvtec'],
      ['brats_bmad', 'brats'],
      ['shanghaitech', 'mvtec'],
      ['folder', 'folder'],
    ];
    for (const [name, format] of cases) {
      it(`${name} fixture -> ${format}`, () => {
        assert.equal(detectFormat(roots[name]), format);
        assert.deepEqual(readDataset(roots[name]), readDataset(roots[name], { format: format as 'mvtec' }));
      });
    }

    it('a class folder given as root is detected and named after itself', () => {
      const bottle = path.join(roots.mvtec, 'bottle');
      assert.equal(detectFormat(bottle), 'mvtec');
      assert.deepEqual(listClasses(bottle), ['bottle']);
      const samples = readDataset(bottle);
      assert.equal(samples.length, 6);
      assert.ok(samples.every((s) => s.className === 'bottle'));
      assert.deepEqual(listClasses(path.join(roots.btad, '03')), ['03']);
      assert.equal(detectFormat(path.join(roots.loco, 'pushpins')), 'loco');
    });

    it('an unrecognised folder names the rules it tried', () => {
      const empty = path.join(scratch, 'empty');
      fs.mkdirSync(empty);
      throwsDataset(() => readDataset(empty), new RegExp(`format of ${esc(empty)}`), /split_csv\/\*\.csv \(visa\)/, /CLASS\/good \(folder\)/);
    });

    it('raw downloads that need preparing get a hint', () => {
      throwsDataset(() => detectFormat(roots.shanghaitech_raw), /raw ShanghaiTech download/);
      throwsDataset(() => readDataset(roots.shanghaitech_raw, { format: 'shanghaitech' }), /No shanghaitech classes/, /raw ShanghaiTech/);
      throwsDataset(() => readDataset(roots.visa_raw, { format: 'visa' }), /No visa classes/, /split_csv\/1cls\.csv/);
      throwsDataset(() => detectFormat(roots.visa_raw), /no split CSV/);
    });
  });

  describe('filters and order', () => {
    it('listClasses is sorted and per format', () => {
      assert.deepEqual(listClasses(roots.mvtec), ['bottle', 'zipper']);
      assert.deepEqual(listClasses(roots.btad, 'btad'), ['01', '02', '03']);
      assert.deepEqual(listClasses(roots.visa, 'visa'), ['candle', 'capsules']);
      assert.deepEqual(listClasses(roots.loco), ['juice_bottle', 'pushpins']);
      assert.deepEqual(listClasses(roots.folder), ['gadget', 'widget']);
    });

    it('class and split filters', () => {
      const s = readDataset(roots.mvtec, { classes: ['zipper'], splits: ['test'] });
      assert.deepEqual(lines(s, roots.mvtec), [
        'zipper/test/good/000.png zipper test 0 good []',
        'zipper/test/squeezed/000.png zipper test 1 squeezed [zipper/ground_truth/squeezed/000.png]',
      ]);
      const v = readDataset(roots.visa, { classes: ['capsules', 'candle', 'capsules'], splits: ['train'] });
      assert.deepEqual(
        v.map((x) => `${x.className}/${path.basename(x.imagePath)}`),
        ['candle/0000.JPG', 'candle/0001.JPG', 'capsules/0000.JPG'],
      );
      assert.deepEqual(readDataset(roots.mvtec, { classes: [] }), readDataset(roots.mvtec), 'empty class list = all');
    });

    it('unknown class lists the available ones', () => {
      throwsDataset(
        () => readDataset(roots.mvtec, { classes: ['bottle', 'carpet'] }),
        /Unknown class "carpet"/,
        new RegExp(esc(roots.mvtec)),
        /available: bottle, zipper/,
      );
    });

    it('order is deterministic and independent of the class filter order', () => {
      const a = readDataset(roots.loco, { classes: ['pushpins', 'juice_bottle'] });
      const b = readDataset(roots.loco);
      assert.deepEqual(a, b);
    });

    it('bad option values name the option', () => {
      assert.throws(() => readDataset(roots.mvtec, { format: 'kitti' as 'mvtec' }), /Unknown dataset format "kitti" \(option format/);
      assert.throws(() => readDataset(roots.mvtec, { splits: ['val' as 'train'] }), /Unknown split "val" in option splits/);
      assert.throws(() => readDataset(roots.mvtec, { splits: [] }), /splits is empty/);
      assert.throws(() => readDataset(roots.loco, { validation: 'test' as 'train' }), /option validation/);
    });
  });

  describe('errors and mask policy', () => {
    it('missing root says what was expected', () => {
      const missing = path.join(scratch, 'nope');
      throwsDataset(() => readDataset(missing, { format: 'btad' }), new RegExp(`${esc(missing)} does not exist`), /ground_truth\/ko/);
      throwsDataset(() => readDataset(missing), /does not exist/, /dataset folder/);
      const file = path.join(roots.mvtec, 'readme.txt');
      throwsDataset(() => readDataset(file, { format: 'mvtec' }), /is not a directory/);
    });

    it('wrong format for a folder: no classes, with the expected layout and the one found', () => {
      throwsDataset(() => readDataset(roots.mvtec, { format: 'btad' }), /No btad classes found/, /NN\/train\/ok/, /matches the mvtec layout/);
      throwsDataset(() => readDataset(roots.visa, { format: 'mvtec' }), /No mvtec classes found/, /matches the visa layout \(split_csv/);
    });

    it('an anomaly without its mask is an error naming the image, unless allowed', async () => {
      const r = await buildFixture('mvtec', path.join(scratch, 'nomask'));
      fs.rmSync(path.join(r, 'bottle', 'ground_truth', 'broken', '001_mask.png'));
      const image = path.join(r, 'bottle', 'test', 'broken', '001.png');
      const err = throwsDataset(() => readDataset(r), new RegExp(`anomalous image ${esc(image)}`), /allowMissingMasks/);
      assert.equal(err.path, image);
      // Train-only reads never look at test masks.
      assert.equal(readDataset(r, { splits: ['train'] }).length, 4);
      const kept = readDataset(r, { allowMissingMasks: true }).find((s) => s.imagePath === image);
      assert.ok(kept !== undefined);
      assert.deepEqual(kept.maskPaths, []);
      assert.equal(kept.label, 1);
    });

    it('LOCO: an empty per-image mask folder counts as missing', async () => {
      const r = await buildFixture('loco', path.join(scratch, 'loco'));
      const dir = path.join(r, 'pushpins', 'ground_truth', 'structural_anomalies', '000');
      fs.rmSync(path.join(dir, '000.png'));
      throwsDataset(() => readDataset(r), /structural_anomalies\/000\.png/);
    });

    it('folder: once a mask folder exists, every image of that defect needs a mask', async () => {
      const r = await buildFixture('folder', path.join(scratch, 'folder'));
      fs.rmSync(path.join(r, 'widget', 'masks', 'scratch', 's2.png'));
      throwsDataset(() => readDataset(r), /scratch\/s2\.png/);
    });

    it('visa: missing image, missing mask and bad rows name the CSV line', async () => {
      const r = await buildFixture('visa', path.join(scratch, 'visa'));
      const csv = path.join(r, 'split_csv', '1cls.csv');
      const original = fs.readFileSync(csv, 'utf8');
      fs.rmSync(path.join(r, 'candle', 'Data', 'Masks', 'Anomaly', '001.png'));
      throwsDataset(() => readDataset(r), /Anomaly\/001\.JPG/, /Masks\/Anomaly\/001\.png/);
      fs.writeFileSync(csv, original.replace('Normal/0001.JPG', 'Normal/9999.JPG'));
      throwsDataset(() => readDataset(r, { splits: ['train'] }), /9999\.JPG/, new RegExp(`${esc(csv)}:3`));
      fs.writeFileSync(csv, original.replace('candle,train,normal,candle/Data/Images/Normal/0000.JPG', 'candle,val,normal,x.JPG'));
      throwsDataset(() => readDataset(r), /Unknown split "val"/, new RegExp(`${esc(csv)}:2`));
      fs.writeFileSync(csv, original.replace('object,', 'category,'));
      throwsDataset(() => listClasses(r, 'visa'), /no "object" column/);
    });

    it('a class with no images in the requested splits is an error naming it', async () => {
      const r = path.join(scratch, 'hollow');
      fs.mkdirSync(path.join(r, 'screw', 'train', 'good'), { recursive: true });
      throwsDataset(() => readDataset(r), /No images found for class "screw"/, new RegExp(esc(r)));
    });
  });

  describe('summaries', () => {
    it('summarizeByClass and summarizeSamples count what was read', () => {
      const samples = readDataset(roots.mvtec);
      assert.deepEqual(summarizeByClass(samples), [
        {
          className: 'bottle',
          trainNormal: 3,
          trainAnomalous: 0,
          testNormal: 1,
          testAnomalous: 2,
          anomaliesWithMasks: 2,
          defectTypes: ['broken'],
        },
        {
          className: 'zipper',
          trainNormal: 1,
          trainAnomalous: 0,
          testNormal: 1,
          testAnomalous: 1,
          anomaliesWithMasks: 1,
          defectTypes: ['squeezed'],
        },
      ]);
      assert.deepEqual(
        summarizeSamples(readDataset(roots.folder, { classes: ['widget'] })).map(
          (r) => `${r.className} ${r.split} ${r.label} ${r.defectType} ${r.images} ${r.withMasks}`,
        ),
        ['widget train 0 good 3 0', 'widget test 0 good 1 0', 'widget test 1 dent 1 0', 'widget test 1 scratch 2 2'],
      );
    });

    it('formatClassSummary prints one aligned line per class and a total', () => {
      const text = formatClassSummary(summarizeByClass(readDataset(roots.btad)));
      const rows = text.split('\n');
      assert.equal(rows.length, 5);
      assert.match(rows[0], /^class\s+train good\s+train anom\s+test good\s+test anom\s+masks\s+defect types$/);
      assert.match(rows[1], /^01\s+2\s+0\s+1\s+1\s+1\s+ko$/);
      assert.match(rows[4], /^total\s+4\s+0\s+1\s+3\s+3$/);
    });
  });
});

describeWithSharedData('data/readers on ../shared/datasets', (shared) => {
  const check = (samples: Sample[], cls: string, trainGood: number, testGood: number, testBad: number) => {
    const c = summarizeByClass(samples).find((x) => x.className === cls);
    assert.ok(c !== undefined, `class ${cls} read`);
    assert.equal(c.trainNormal, trainGood, `${cls} train good`);
    assert.equal(c.trainAnomalous, 0, `${cls} train anomalous`);
    assert.equal(c.testNormal, testGood, `${cls} test good`);
    assert.equal(c.testAnomalous, testBad, `${cls} test anomalous`);
    assert.equal(c.anomaliesWithMasks, testBad, `${cls}: every anomaly has a mask`);
    for (const s of samples.filter((x) => x.className === cls)) {
      for (const m of s.maskPaths) assert.ok(fs.statSync(m).isFile(), `mask ${m} exists`);
      if (s.label === 1) assert.equal(s.maskPaths.length, 1);
      else assert.deepEqual(s.maskPaths, []);
    }
  };

  it('mvtec_ad: bottle 209/20/63, grid 25/3/11, masks paired by stem', () => {
    const root = path.join(shared, 'mvtec_ad');
    assert.equal(detectFormat(root), 'mvtec');
    assert.deepEqual(listClasses(root), ['bottle', 'grid']);
    const samples = readDataset(root);
    check(samples, 'bottle', 209, 20, 63);
    check(samples, 'grid', 25, 3, 11);
    for (const s of samples.filter((x) => x.label === 1)) {
      assert.equal(path.basename(s.maskPaths[0]), `${stemOf(s.imagePath)}_mask.png`);
      assert.equal(path.basename(path.dirname(s.maskPaths[0])), s.defectType);
    }
    assert.deepEqual(
      summarizeByClass(samples).find((c) => c.className === 'bottle')?.defectTypes,
      ['broken_large', 'broken_small', 'contamination'],
    );
  });

  it('hazelnut_toy: 28/6/17 with masks named like the image', () => {
    const root = path.join(shared, 'hazelnut_toy');
    const samples = readDataset(root);
    check(samples, 'hazelnut', 28, 6, 17);
    for (const s of samples.filter((x) => x.label === 1)) {
      assert.equal(path.basename(s.maskPaths[0]), path.basename(s.imagePath));
    }
  });

  it('mpdd/metal_plate: 54 train good, 26 test good, 21 defective + 60 defective_extra', () => {
    const samples = readDataset(path.join(shared, 'mpdd'), { format: 'mpdd', classes: ['metal_plate'] });
    check(samples, 'metal_plate', 54, 26, 81);
    const rows = summarizeSamples(samples).filter((r) => r.label === 1);
    assert.deepEqual(
      rows.map((r) => [r.defectType, r.images, r.withMasks]),
      [
        ['defective', 21, 21],
        ['defective_extra', 60, 60],
      ],
    );
  });

  it('the --data spec selects classes of a real dataset', () => {
    const spec = parseDataSpec(`${path.join(shared, 'mvtec_ad')}:grid`);
    const samples = readDataset(spec.root, { classes: spec.classes, splits: ['test'] });
    assert.equal(samples.length, 14);
    assert.ok(samples.every((s) => s.className === 'grid' && s.split === 'test'));
  });
});
