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
import { collectFeatureVectors, featureNormStats, featureNormTable, LevelFeatureSet, project } from '../../src/feature-views/index';
import { scatterPanelsFigure } from '../../src/notebook/index';
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

describe('features: norm table and scatter panels', () => {
  const v = (...x: number[]) => Float32Array.from(x);
  const meta = (className: string, anomalous: boolean) => ({ className, anomalous, source: 'sample' as const, image: 0, row: 0, col: 0 });
  const set: LevelFeatureSet = {
    level: 0, channels: 2, height: 1, width: 1,
    initial: [v(3, 4), v(6, 8), v(0, 2)],
    residual: [v(0, 1), v(0, 3), v(1, 0)],
    constrained: [v(0, 0), v(0, 1), v(0, 0)],
    meta: [meta('a', false), meta('a', true), meta('b', false)],
  };

  it('featureNormTable: per class, mean norms per stage and group, anomalous/normal ratio', () => {
    const rows = featureNormTable(set, ['initial', 'residual']);
    assert.deepEqual(rows, [
      { class: 'a', 'initial · normal': 5, 'initial · anomalous': 10, 'initial · ratio': 2, 'residual · normal': 1, 'residual · anomalous': 3, 'residual · ratio': 3 },
      { class: 'b', 'initial · normal': 2, 'initial · anomalous': null, 'initial · ratio': null, 'residual · normal': 1, 'residual · anomalous': null, 'residual · ratio': null },
    ]);
    assert.equal(featureNormTable(set)[0]['constrained · ratio'], null, 'normal norm 0: no ratio');
  });

  it('scatterPanelsFigure: one colour per group in every panel, one legend entry, emphasized groups on top and larger', () => {
    const panel = (title: string) => ({ title, x: [0, 1, 2], y: [0, 1, 2], groups: ['normal', 'anomalous', 'normal'] });
    const fig = scatterPanelsFigure([panel('initial'), panel('residual')], 'T', { emphasize: (g) => g === 'anomalous', markerSize: 3 });
    type Trace = { name: string; showlegend: boolean; xaxis: string; x: number[]; marker: { size: number; color: string } };
    const traces = fig.data as unknown as Trace[];
    assert.deepEqual(traces.map((t) => `${t.xaxis}:${t.name}`), ['x:normal', 'x:anomalous', 'x2:normal', 'x2:anomalous']);
    assert.deepEqual(traces.map((t) => t.marker.size), [3, 6, 3, 6]);
    assert.equal(traces[0].marker.color, traces[2].marker.color);
    assert.notEqual(traces[0].marker.color, traces[1].marker.color);
    assert.deepEqual(traces.map((t) => t.showlegend), [true, true, false, false]);
    assert.deepEqual(traces[0].x, [0, 2]);
    assert.deepEqual(fig.layout?.title, { text: 'T' });
    const many = scatterPanelsFigure([{ title: 'p', x: [...Array(15).keys()], y: [...Array(15).keys()], groups: [...Array(15).keys()].map((i) => `c${i}`) }], 'T');
    assert.equal(new Set((many.data as unknown as Trace[]).map((t) => t.marker.color)).size, 15, '15 classes, 15 colours');
  });
});
