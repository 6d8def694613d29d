import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import type { Sample } from '../../src/data/sample';
import {
  discoverQualityFolds,
  ExperimentSession,
  formatQualityMarkdown,
  mergeStores,
  modelKeyOf,
  qualityFoldSamples,
  qualityRecords,
  qualitySpecs,
  ResultsStore,
  resolvedConfig,
  summarizeQuality,
} from '../../src/experiments/index';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';

/** A scoring mode other than the preset's, for re-scoring a stored model. */
const OTHER_SCORING = TINY_CONFIG.scoring === 'distance' ? 'nll+distance' : 'distance';
const TINY = { size: 48, trainPerClass: 4, testGoodPerClass: 2, testDefectPerType: 1, quiet: true } as const;

describe('experiments/quality: the leave-one-class-out benchmark as experiments', function () {
  this.timeout(300000);
  let dir: string;
  let shared: string;
  let backbone: ReturnType<typeof tinyBackbone>;

  before(async () => {
    await initEngine({ quiet: true });
    backbone = tinyBackbone();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-quality-'));
    shared = path.join(dir, 'datasets');
    // Two "datasets"; 'wood' exists in both, so its folds are named by dataset.
    await generateDataset({ root: path.join(shared, 'dsA'), classes: ['wood', 'hex_nut'], ...TINY });
    await generateDataset({ root: path.join(shared, 'dsB'), classes: ['wood'], seed: 9, ...TINY });
    // A training-only defect folder, as MPDD's defective_extra.
    const test = path.join(shared, 'dsA', 'hex_nut', 'test');
    const defect = fs.readdirSync(test).find((d) => d !== 'good')!;
    fs.cpSync(path.join(test, defect), path.join(test, 'defect_extra'), { recursive: true });
    const gt = path.join(shared, 'dsA', 'hex_nut', 'ground_truth');
    fs.cpSync(path.join(gt, defect), path.join(gt, 'defect_extra'), { recursive: true });
  });
  after(() => {
    backbone.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('makes one protocol per real class: trains on the others in the benchmark order, tests the held-out class, _extra defects for training only', async () => {
    const folds = discoverQualityFolds({ sharedRoot: shared, procedural: false, config: TINY_CONFIG });
    assert.deepEqual(folds.map((f) => f.name), ['hex_nut', 'dsA/wood', 'dsB/wood']);
    assert.deepEqual(folds.map((f) => f.protocol.name), ['quality:hex_nut', 'quality:dsA/wood', 'quality:dsB/wood']);
    const nut = await qualityFoldSamples(folds[0]);
    assert.ok(nut.test.length > 0 && nut.test.every((s) => s.className === 'hex_nut' && s.split === 'test'));
    assert.ok(!nut.test.some((s) => s.defectType === 'defect_extra'), 'extra defects are not test images');
    assert.ok(nut.referencePool.length > 0 && nut.referencePool.every((s) => s.className === 'hex_nut' && s.split === 'train' && s.label === 0));
    // The order the benchmark has always trained in: dataset folders, then classes, each class as readDataset lists it.
    const all = (ds: string): Sample[] => readDataset(path.join(shared, ds), { format: 'auto' });
    const ofClass = (ds: string, cls: string): Sample[] => all(ds).filter((s) => s.className === cls);
    assert.deepEqual(nut.train.map((s) => s.imagePath), [...ofClass('dsA', 'wood'), ...ofClass('dsB', 'wood')].map((s) => s.imagePath));
    const wood = await qualityFoldSamples(folds[1]);
    assert.deepEqual(wood.train.map((s) => s.imagePath), [...ofClass('dsA', 'hex_nut'), ...ofClass('dsB', 'wood')].map((s) => s.imagePath));
    assert.ok(wood.train.some((s) => s.defectType === 'defect_extra'), 'extra defects train the other folds');
    // Reading skips cleanly without the shared folder: only the procedural fold, generated when a run needs it.
    const none = discoverQualityFolds({ sharedRoot: path.join(dir, 'absent'), proceduralRoot: path.join(dir, 'procedural') });
    assert.deepEqual(none.map((f) => [f.name, f.protocol.trainImages]), [['procedural', 'train+anomalies']]);
    assert.ok(!fs.existsSync(path.join(dir, 'procedural')));
  });

  it('runs ResAD (and extra scoring modes of its model), ResAD w/o residual and PatchCore through a session; curves, threshold check, merge', async () => {
    const folds = discoverQualityFolds({ sharedRoot: shared, procedural: false, config: TINY_CONFIG }).filter((f) => f.name !== 'dsB/wood');
    const options = { seeds: [0, 1], shots: 2, scorings: [OTHER_SCORING] as const, curve: true };
    const store1 = path.join(dir, 'run1');
    const session = new ExperimentSession({ store: store1, backbone, quiet: true, keepExamples: 0 });
    const specs = qualitySpecs([folds[0]], options);
    const outcomes = await session.runAll(specs);
    assert.ok(outcomes.every((o) => !o.skipped));
    const summary = summarizeQuality(outcomes.map((o) => o.record));
    assert.deepEqual(summary.rows.map((r) => r.label), ['resad', `resad[${OTHER_SCORING}]`, 'resad-no-residual', 'patchcore']);
    for (const r of summary.rows) {
      assert.deepEqual(r.point.seeds, [0, 1]);
      const m = r.point.mean;
      assert.ok(m.imageAUROC !== null && m.imageAUROC >= 0 && m.imageAUROC <= 1, `${r.label} image AUROC ${m.imageAUROC}`);
      assert.ok(m.pixelAUROC !== null && m.pixelAUPRO !== null);
    }
    // Two trainings (ResAD, w/o residual); the extra scoring mode re-scores ResAD's model.
    assert.equal(fs.readdirSync(path.join(store1, 'models')).length, 2);
    const [resad, rescored] = summary.rows;
    assert.equal(resad.records[0].modelKey, rescored.records[0].modelKey);
    assert.ok(rescored.records.every((r) => r.timings.modelReused));
    assert.equal(modelKeyOf(folds[0].protocol, resolvedConfig(specs[0])), resad.records[0].modelKey);
    // One curve point per epoch and scoring mode, in the run that trained the model (first seed).
    assert.equal(resad.records[0].curve!.length, TINY_CONFIG.epochs * 2);
    assert.equal(resad.records[1].curve, undefined);
    assert.deepEqual(Object.keys(summary.looMean).sort(), ['patchcore', 'resad', 'resad-no-residual', `resad[${OTHER_SCORING}]`]);

    // Same runs again: all in the store. Asking for the threshold check reruns ResAD's runs only (models reused).
    assert.ok((await session.runAll(specs)).every((o) => o.skipped));
    const checked = await session.runAll(qualitySpecs([folds[0]], { ...options, calibrationFloors: [0.25, 100] }));
    assert.deepEqual(checked.map((o) => o.skipped), specs.map((s) => s.tags?.row !== 'resad'));
    for (const o of checked.filter((c) => !c.skipped)) {
      assert.ok(o.record.timings.modelReused);
      const [low, high] = o.record.calibration!;
      assert.deepEqual([low.spreadFloor, high.spreadFloor], [0.25, 100]);
      for (const c of [low, high]) assert.ok(c.falseAlarmRate >= 0 && c.falseAlarmRate <= 1 && c.detectionRate >= 0 && c.detectionRate <= 1);
      // A huge floor raises the threshold, so neither rate can grow.
      assert.ok(high.falseAlarmRate <= low.falseAlarmRate && high.detectionRate <= low.detectionRate);
      assert.equal(high.detectionRate, 0, 'a threshold 100 peak heights above the normals detects nothing');
      assert.deepEqual(o.record.mean, outcomes[checked.indexOf(o)].record.mean, 'the same model and references score the same');
    }
    session.dispose();

    // The config's scoring set to the extra mode: the same model, and the numbers of the extra row.
    const other = discoverQualityFolds({ sharedRoot: shared, procedural: false, config: { ...TINY_CONFIG, scoring: OTHER_SCORING } })[0];
    const s2 = new ExperimentSession({ store: store1, backbone, quiet: true, keepExamples: 0 });
    const otherSpecs = qualitySpecs([other], { seeds: [0, 1], shots: 2, methods: ['resad'] });
    const again = await s2.runAll(otherSpecs);
    s2.dispose();
    assert.ok(again.every((o) => o.skipped), 'the same runs as the extra rows: already in the store');
    const relabelled = summarizeQuality(qualityRecords(new ResultsStore(store1), otherSpecs)).rows;
    assert.deepEqual(relabelled.map((r) => r.label), ['resad']);
    assert.deepEqual(relabelled[0].point.mean, rescored.point.mean);

    const md = formatQualityMarkdown(qualityRecords(new ResultsStore(store1), qualitySpecs([folds[0]], { ...options, calibrationFloors: [0.25, 100] })));
    assert.match(md, /leave-one-class-out mean \(1 folds\)/);
    assert.ok(md.includes(`ResAD, ${OTHER_SCORING} scoring`));
    assert.match(md, /Learning curves/);
    assert.match(md, /Reference-only threshold[\s\S]*floor 0.25 \| floor 100/);

    // --retrain: the model trained anew (with its curve), and the training is deterministic: the same numbers.
    const s4 = new ExperimentSession({ store: store1, backbone, quiet: true, keepExamples: 0, retrain: true, force: true });
    const [retrained] = await s4.runAll(qualitySpecs([folds[0]], { seeds: [0], shots: 2, methods: ['resad'], curve: true }));
    s4.dispose();
    assert.ok(!retrained.skipped && !retrained.record.timings.modelReused);
    assert.equal(retrained.record.curve!.length, TINY_CONFIG.epochs);
    assert.deepEqual(retrained.record.mean, resad.records[0].mean);

    // A second fold run into another store, merged: one table of both folds.
    const store2 = path.join(dir, 'run2');
    const s3 = new ExperimentSession({ store: store2, backbone, quiet: true, keepExamples: 0 });
    await s3.runAll(qualitySpecs([folds[1]], { ...options, methods: ['resad', 'patchcore'] }));
    s3.dispose();
    const target = new ResultsStore(store1);
    assert.equal(mergeStores(target, [new ResultsStore(store2)]), 6);
    assert.equal(mergeStores(target, [new ResultsStore(store2)]), 0, 'merging twice adds nothing');
    const merged = summarizeQuality(qualityRecords(target, qualitySpecs(folds, { ...options, methods: ['resad', 'patchcore'] })));
    assert.equal(merged.realFolds, 2);
    const foldMean = (label: string): number => merged.rows.filter((r) => r.label === label).reduce((a, r) => a + (r.point.mean.imageAUROC as number), 0) / 2;
    assert.ok(Math.abs((merged.looMean.resad.imageAUROC as number) - foldMean('resad')) < 1e-12);
    assert.ok(target.latest().every((r) => r.referenceFiles.every((f) => fs.existsSync(path.join(store1, f)))));
  });
});
