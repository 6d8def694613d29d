import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import {
  discoverQualityFolds,
  formatQualityMarkdown,
  mergeQualityReports,
  readQualityReport,
  runQualityBenchmark,
} from '../../src/experiments/quality';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';

/** A scoring mode other than the preset's, for re-scoring a stored model. */
const OTHER_SCORING = TINY_CONFIG.scoring === 'distance' ? 'nll+distance' : 'distance';
const TINY = { size: 48, trainPerClass: 4, testGoodPerClass: 2, testDefectPerType: 1, quiet: true } as const;

describe('experiments/quality: leave-one-class-out benchmark', function () {
  this.timeout(180000);
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

  it('makes one fold per real class: trains on the others, tests the held-out class, _extra defects for training only', async () => {
    const folds = await discoverQualityFolds({ sharedRoot: shared, procedural: false });
    assert.deepEqual(folds.map((f) => f.name), ['hex_nut', 'dsA/wood', 'dsB/wood']);
    const nut = folds.find((f) => f.name === 'hex_nut')!;
    assert.ok(nut.test.length > 0 && nut.test.every((s) => s.className === 'hex_nut' && s.split === 'test'));
    assert.ok(!nut.test.some((s) => s.defectType === 'defect_extra'), 'extra defects are not test images');
    assert.ok(nut.referencePool.every((s) => s.className === 'hex_nut' && s.split === 'train' && s.label === 0));
    assert.ok(nut.train.every((s) => s.className === 'wood'));
    const inDs = (root: string) => (s: { imagePath: string }) => s.imagePath.startsWith(path.join(shared, root) + path.sep);
    assert.ok(nut.train.some(inDs('dsA')) && nut.train.some(inDs('dsB')), 'both wood classes train the hex_nut fold');
    const wood = folds.find((f) => f.name === 'dsA/wood')!;
    assert.ok(wood.train.some((s) => s.defectType === 'defect_extra'), 'extra defects train the other folds');
    assert.ok(!wood.train.some((s) => inDs('dsA')(s) && s.className === 'wood'));
    assert.ok(wood.train.some((s) => inDs('dsB')(s)));
  });

  it('scores ResAD (and extra scoring modes), ResAD w/o residual and PatchCore; reuses models; merges parts', async () => {
    const folds = (await discoverQualityFolds({ sharedRoot: shared, procedural: false })).filter((f) => f.name !== 'dsB/wood');
    const out1 = path.join(dir, 'run1');
    const common = { config: TINY_CONFIG, seeds: [0, 1], shots: 2, backbone, quiet: true, log: () => undefined };
    const report = await runQualityBenchmark({ ...common, folds: [folds[0]], outDir: out1, curve: true, scorings: [OTHER_SCORING] });
    const [fold] = report.folds;
    assert.deepEqual(fold.methods.map((m) => m.label), ['resad', `resad[${OTHER_SCORING}]`, 'resad-no-residual', 'patchcore']);
    for (const m of fold.methods) {
      assert.equal(m.seeds.length, 2);
      assert.ok(m.mean.imageAUROC >= 0 && m.mean.imageAUROC <= 1, `${m.label} image AUROC ${m.mean.imageAUROC}`);
      assert.ok(m.mean.pixelAUROC !== null && m.mean.pixelAUPRO !== null);
    }
    const resad = fold.methods[0];
    assert.equal(resad.scoring, TINY_CONFIG.scoring);
    assert.ok(resad.trainSeconds !== null && resad.trainSeconds > 0 && !resad.modelReused);
    // One curve point per epoch and scoring mode.
    assert.equal(fold.curve!.length, TINY_CONFIG.epochs * 2);
    assert.deepEqual(Object.keys(report.looMean).sort(), ['patchcore', 'resad', 'resad-no-residual', `resad[${OTHER_SCORING}]`]);
    const saved = readQualityReport(path.join(out1, 'results.json'));
    assert.deepEqual(saved.looMean, report.looMean);
    const md = fs.readFileSync(path.join(out1, 'results.md'), 'utf8');
    assert.match(md, /leave-one-class-out mean/);
    assert.ok(md.includes(`ResAD, ${OTHER_SCORING} scoring`));
    assert.match(md, /Learning curves/);

    // Same weights config, other scoring: the stored model is reused, the scores follow the new mode.
    const rescored = await runQualityBenchmark({ ...common, config: { ...TINY_CONFIG, scoring: OTHER_SCORING }, folds: [folds[0]], outDir: out1, methods: ['resad'], calibrationFloors: [0.25, 100] });
    const again = rescored.folds[0].methods[0];
    assert.ok(again.modelReused);
    // The predict threshold measured per seed: rates in [0, 1]; a huge floor raises the threshold, so neither rate can grow.
    for (const seed of again.seeds) {
      const [low, high] = seed.calibration!;
      assert.deepEqual([low.spreadFloor, high.spreadFloor], [0.25, 100]);
      for (const c of [low, high]) assert.ok(c.falseAlarmRate >= 0 && c.falseAlarmRate <= 1 && c.detectionRate >= 0 && c.detectionRate <= 1);
      assert.ok(high.falseAlarmRate <= low.falseAlarmRate && high.detectionRate <= low.detectionRate);
      assert.equal(high.detectionRate, 0, 'a threshold 100 peak heights above the normals detects nothing');
    }
    assert.match(formatQualityMarkdown(rescored), /Reference-only threshold[\s\S]*floor 0.25 \| floor 100/);
    assert.equal(again.trainSeconds, resad.trainSeconds);
    assert.deepEqual(again.mean, fold.methods[1].mean, 'reused model re-scored = the extra scoring row');

    const out2 = path.join(dir, 'run2');
    const part2 = await runQualityBenchmark({ ...common, folds: [folds[1]], outDir: out2, methods: ['resad', 'patchcore'] });
    const part1 = readQualityReport(path.join(out1, 'results.json'));
    assert.throws(() => mergeQualityReports([part1, { ...part2, config: { ...part2.config, epochs: 9 } }]), /differ in their model config/);
    // Same weights, other scoring: rows keep apart by label.
    const rescoredMerge = mergeQualityReports([part1, part2]);
    assert.deepEqual(rescoredMerge.folds[1].methods.map((m) => m.label), [`resad[${TINY_CONFIG.scoring}]`, 'patchcore']);
    assert.deepEqual(rescoredMerge.folds[0].methods.map((m) => m.label), ['resad']);
    const first = await runQualityBenchmark({ ...common, folds: [folds[0]], outDir: path.join(dir, 'run3'), methods: ['resad', 'patchcore'] });
    const merged = mergeQualityReports([first, part2]);
    assert.deepEqual(merged.folds.map((f) => f.fold), [folds[0].name, folds[1].name]);
    const mean = (k: string): number => merged.folds.reduce((s, f) => s + f.methods.find((m) => m.label === k)!.mean.imageAUROC, 0) / 2;
    assert.ok(Math.abs(merged.looMean.resad.imageAUROC - mean('resad')) < 1e-12);
    assert.match(formatQualityMarkdown(merged), /\(2 folds\)/);
  });
});
