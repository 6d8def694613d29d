/**
 * Fig. 3 feature collection on a tiny generated dataset with the tiny
 * backbone: aligned rows per level, class / anomalous labels from the masks,
 * leave-one-out reference residuals, no tensor leaks, norm statistics.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import { loadSample, LoadedSample } from '../../src/data/transforms';
import { ResADModel } from '../../src/resad/model';
import { collectFeatureVectors, featureNormStats, project } from '../../src/feature-views/index';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';

describe('features: collectFeatureVectors (Fig. 3)', function () {
  this.timeout(60000);
  let dir: string;
  let model: ResADModel;
  let tests: LoadedSample[];
  let refs: Record<string, LoadedSample['image'][]>;

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-features-'));
    await generateDataset({ root: dir, classes: ['marble', 'washer'], size: 48, trainPerClass: 2, testGoodPerClass: 1, testDefectPerType: 1, quiet: true });
    model = await ResADModel.create(TINY_CONFIG, { backbone: tinyBackbone() });
    const samples = readDataset(dir, { format: 'mvtec' });
    const load = (s: (typeof samples)[number]): Promise<LoadedSample> => loadSample(s, model.preprocess);
    tests = await Promise.all(samples.filter((s) => s.split === 'test').map(load));
    refs = {};
    for (const s of samples.filter((x) => x.split === 'train')) (refs[s.className] ??= []).push((await load(s)).image);
  });
  after(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('returns aligned initial / residual / constrained rows with class and mask labels', () => {
    const before = tf.memory().numTensors;
    const sets = collectFeatureVectors(model, { samples: tests, references: refs, positionsPerImage: 40, seed: 0 });
    assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
    assert.deepEqual(sets.map((s) => s.level), [0, 1]);
    const [l0, l1] = sets;
    assert.equal(l0.channels, 8);
    assert.equal(l1.channels, 12);
    assert.deepEqual([l1.height, l1.width], [8, 8]);
    for (const s of sets) {
      assert.equal(s.initial.length, s.meta.length);
      assert.equal(s.residual.length, s.meta.length);
      assert.equal(s.constrained.length, s.meta.length);
      assert.ok(s.initial.every((v) => v.length === s.channels));
      assert.deepEqual([...new Set(s.meta.map((m) => m.className))].sort(), ['marble', 'washer']);
      assert.ok(s.meta.some((m) => m.anomalous), 'anomalous positions from the masks');
      assert.ok(s.meta.every((m) => !(m.anomalous && m.source === 'reference')));
      // References (2 per class): residuals against the other reference, so not all zero.
      const refRows = s.meta.map((m, k) => (m.source === 'reference' ? k : -1)).filter((k) => k >= 0);
      assert.ok(refRows.length > 0);
      assert.ok(refRows.some((k) => s.residual[k].some((v) => v !== 0)));
    }
    // positionsPerImage caps rows per image (level 0 has 16x16 = 256 positions).
    const perImage = new Map<string, number>();
    for (const m of l0.meta) perImage.set(`${m.source}:${m.className}:${m.image}`, (perImage.get(`${m.source}:${m.className}:${m.image}`) ?? 0) + 1);
    assert.ok([...perImage.values()].every((n) => n === 40));
    // Seeded: same call, same rows.
    const again = collectFeatureVectors(model, { samples: tests, references: refs, positionsPerImage: 40, seed: 0, levels: [1] });
    assert.deepEqual(again[0].meta, l1.meta);
    assert.deepEqual(again[0].constrained, l1.constrained);

    const stats = featureNormStats(l1, 'initial');
    assert.ok(stats.some((r) => r.className === 'marble' && r.group === 'normal'));
    assert.equal(stats.reduce((a, r) => a + r.count, 0), l1.meta.length);
    assert.ok(stats.every((r) => r.min <= r.mean && r.mean <= r.max && r.std >= 0));

    const p = project(l1.residual, { method: 'tsne', seed: 0, maxPoints: 60, labels: l1.meta.map((m) => m.className), tsne: { iterations: 250 } });
    assert.equal(p.x.length, 60);
  });

  it('needs references for every sample class', () => {
    assert.throws(() => collectFeatureVectors(model, { samples: tests, references: { marble: refs.marble } }), /no references for class "washer"/);
  });
});
