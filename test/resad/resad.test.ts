import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import { drawReferences } from '../../src/data/references';
import { loadSample } from '../../src/data/transforms';
import type { Sample } from '../../src/data/sample';
import { evaluateResAD, loadModel, readWeightsFolder, ResADConfig, ResADModel, saveModel, trainResAD, withResADPlusPlus } from '../../src/resad/index';
import { toResultsFile } from '../../src/report/results-json';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';

const CONFIG: ResADConfig = TINY_CONFIG;

describe('resad: model, training, checkpoints, evaluation', function () {
  this.timeout(300000);
  let dir: string;
  let samples: Sample[];

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-model-'));
    await generateDataset({
      root: path.join(dir, 'data'),
      classes: ['wood', 'hex_nut', 'marble'],
      size: 48,
      trainPerClass: 6,
      testGoodPerClass: 3,
      testDefectPerType: 1,
      quiet: true,
    });
    samples = readDataset(path.join(dir, 'data'), { format: 'mvtec' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const known = (): Sample[] => samples.filter((s) => s.className !== 'marble');

  it('predicts maps of the input size whose maximum is the image score, leak-free', async () => {
    const model = await ResADModel.create(CONFIG, { backbone: tinyBackbone() });
    const imgs = await Promise.all(samples.filter((s) => s.className === 'wood').slice(0, 3).map((s) => loadSample(s, model.preprocess)));
    const pool = model.buildPool(imgs.slice(0, 2).map((i) => i.image));
    // Standardised scoring needs the statistics training measures; an untrained model says so.
    assert.throws(() => model.predict([imgs[2].image], pool), /score statistics measured at the end of training/);
    model.scoreStats = model.backbone.levels.map(() => ({ nll: { mean: 1, std: 2 }, distance: { mean: 0.5, std: 0.25 } }));
    model.predict([imgs[2].image], pool); // first use builds the pool's cached matching banks
    const before = tf.memory().numTensors;
    const out = model.predict([imgs[2].image], pool);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(out.maps[0].width, 32);
    assert.equal(out.maps[0].height, 32);
    assert.equal(out.scores[0], Math.max(...out.maps[0].data));
    // Scores of one image do not depend on what else is in the batch.
    const batched = model.predict([imgs[0].image, imgs[2].image], pool);
    assert.ok(Math.abs(batched.scores[1] - out.scores[0]) < 1e-5);
    pool.dispose();
    model.dispose();
  });

  it('trains both stages with decreasing flow loss, saves, and reloads to identical predictions', async () => {
    const backbone = tinyBackbone();
    const model = await ResADModel.create({ ...CONFIG, epochs: 3 }, { backbone });
    const epochs: number[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const report = await trainResAD(model, known(), { outDir: path.join(dir, 'm1'), quiet: true, onEpoch: (e) => epochs.push(e.stage) });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'training leaves no tensors behind');
    assert.deepEqual(epochs, [1, 2, 2]);
    assert.equal(report.counts.classes, 2);
    assert.ok(report.counts.realAnomalies > 0);
    assert.ok(report.epochs[2].mlLoss < report.epochs[0].mlLoss, `ml ${report.epochs.map((e) => e.mlLoss)}`);
    assert.ok(report.epochs[1].bgsppLoss > 0 || report.epochs[2].bgsppLoss > 0, 'BG-SPP active in stage 2');
    assert.ok(!fs.existsSync(path.join(dir, 'm1', 'checkpoint')), 'checkpoint removed after the final save');
    // Score statistics come from the training normals, one entry per level, usable for standardising.
    assert.equal(model.scoreStats!.length, model.numLevels);
    for (const st of model.scoreStats!) for (const m of [st.nll, st.distance]) assert.ok(Number.isFinite(m.mean) && m.std > 0, JSON.stringify(st));

    const refs = drawReferences(samples, { shots: 2, seed: 0, classes: ['marble'] });
    const test = samples.filter((s) => s.className === 'marble');
    const a = await evaluateResAD(model, test, refs, { quiet: true });
    const loaded = await loadModel(path.join(dir, 'm1'), { backbone });
    const b = await evaluateResAD(loaded, test, refs, { quiet: true });
    assert.deepEqual(b.perImage, a.perImage);
    for (const r of a.perClass) {
      assert.ok(r.imageAUROC >= 0 && r.imageAUROC <= 1);
      assert.ok(r.pixelAUROC !== undefined && r.pixelAUROC >= 0 && r.pixelAUROC <= 1);
    }
    const json = toResultsFile(a, { x: 1 });
    assert.deepEqual(Object.keys(json), ['perClass', 'mean', 'config']);
    assert.deepEqual(Object.keys(json.mean), ['imageAUROC', 'imageAP', 'imageF1Max', 'pixelAUROC', 'pixelAP', 'pixelF1Max', 'pixelAUPRO']);
    loaded.dispose({ keepBackbone: true });
    model.dispose();
  });

  it('resumes an interrupted run to exactly the weights of an uninterrupted one', async () => {
    const backbone = tinyBackbone();
    const full = await ResADModel.create(CONFIG, { backbone });
    await trainResAD(full, known(), { quiet: true });

    // Crash in epoch 2, after epoch 1's checkpoint was written.
    const outDir = path.join(dir, 'm2');
    const first = await ResADModel.create(CONFIG, { backbone });
    await assert.rejects(
      trainResAD(first, known(), {
        outDir,
        quiet: true,
        onEpoch: (e) => {
          if (e.epoch === 1) throw new Error('simulated crash');
        },
      }),
      /simulated crash/,
    );
    assert.ok(fs.existsSync(path.join(outDir, 'checkpoint', 'model.json')));
    const resumed = await ResADModel.create(CONFIG, { backbone });
    const report = await trainResAD(resumed, known(), { outDir, quiet: true });
    assert.equal(report.resumedFromEpoch, 0);
    assert.equal(report.epochs.length, 2);
    const want = full.getWeights();
    const got = resumed.getWeights();
    let maxDiff = 0;
    want.forEach((w, i) => w.values.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - got[i].values[j])))));
    assert.ok(maxDiff < 1e-6, `max weight difference ${maxDiff}`);
    first.dispose({ keepBackbone: true });
    resumed.dispose({ keepBackbone: true });
    full.dispose();
  });

  it('trains the official-code (ResAD++) variant and the ablation variants', async () => {
    const backbone = tinyBackbone();
    const variants: Array<Partial<ResADConfig>> = [
      { residual: 'sqdiff', matchMetric: 'cosine', occ: 'logbarrier', flowLoss: 'resad++' },
      { residual: 'none', constraintor: 'none' },
      { constraintor: 'msf+bottleneck', occ: 'paper-first-term' },
      { occ: 'off', anomalies: 'synthetic' },
    ];
    for (const v of variants) {
      const model = await ResADModel.create({ ...CONFIG, ...v }, { backbone });
      const report = await trainResAD(model, known(), { quiet: true });
      const last = report.epochs[report.epochs.length - 1];
      assert.ok(Number.isFinite(last.mlLoss) && Number.isFinite(last.occLoss), JSON.stringify(v));
      if (v.anomalies === 'synthetic') assert.ok(report.counts.syntheticAnomalies > 0 && report.counts.realAnomalies === 0);
      if (v.occ === 'off' || v.constraintor === 'none') assert.equal(last.occLoss, 0);
      model.dispose({ keepBackbone: true });
    }
    backbone.dispose();
  });

  it('ResAD++: trains its codebooks, scores with EFDM and the abnormal density, saves, reloads and resumes exactly', async () => {
    const backbone = tinyBackbone();
    const config: ResADConfig = { ...withResADPlusPlus(CONFIG), vqCodes: 16 };
    const plain = await ResADModel.create(CONFIG, { backbone });
    assert.equal(plain.codebooks.length, 0);
    assert.ok(plain.getWeights().every((w) => !w.name.startsWith('vq')));
    plain.dispose({ keepBackbone: true });

    const model = await ResADModel.create(config, { backbone });
    const initial = model.codebooks.map((b) => b.codes.dataSync().slice());
    const outDir = path.join(dir, 'resadpp');
    const report = await trainResAD(model, known(), { outDir, quiet: true });
    const vq = report.epochs.map((e) => e.vqLoss);
    assert.ok(vq.every((v) => v !== undefined && Number.isFinite(v) && v > 0), `vq losses ${vq}`);
    // The codes moved: Adam moves each assigned code by about lr per step.
    model.codebooks.forEach((b, l) => {
      const now = b.codes.dataSync();
      const moved = Math.max(...Array.from(now, (v, i) => Math.abs(v - initial[l][i])));
      assert.ok(moved > 0.5 * config.lr, `level ${l} codebook moved ${moved}`);
    });
    assert.ok(model.scoreStats!.every((s) => s.abnormal !== undefined && s.abnormal.std > 0));

    const imgs = await Promise.all(samples.filter((s) => s.className === 'marble').slice(0, 3).map((s) => loadSample(s, model.preprocess)));
    const pool = model.buildPool(imgs.slice(0, 2).map((i) => i.image));
    model.predict([imgs[2].image], pool); // first use builds the pool's cached matching banks
    const before = tf.memory().numTensors;
    const out = model.predict([imgs[2].image], pool);
    assert.equal(tf.memory().numTensors, before);
    // EFDM changes what the constraintor sees; without it the scores differ.
    const noEfdm = await ResADModel.create({ ...config, efdmAlpha: 1 }, { backbone });
    noEfdm.setWeights(model.getWeights());
    noEfdm.scoreStats = model.scoreStats;
    assert.notEqual(noEfdm.predict([imgs[2].image], pool).scores[0], out.scores[0]);
    // Each mode reads its own quantity.
    for (const scoring of ['abnormal', 'nll'] as const) assert.notEqual(model.predict([imgs[2].image], pool, { scoring }).scores[0], out.scores[0]);

    const loaded = await loadModel(outDir, { backbone });
    assert.equal(loaded.codebooks.length, model.numLevels);
    assert.deepEqual(Array.from(loaded.codebooks[0].codes.dataSync()), Array.from(model.codebooks[0].codes.dataSync()));
    assert.equal(loaded.predict([imgs[2].image], pool).scores[0], out.scores[0]);

    // Crash after epoch 1's checkpoint, resume: codebooks and their optimiser state come back exactly.
    const crashDir = path.join(dir, 'resadpp-crash');
    const first = await ResADModel.create(config, { backbone });
    await assert.rejects(
      trainResAD(first, known(), {
        outDir: crashDir,
        quiet: true,
        onEpoch: (e) => {
          if (e.epoch === 1) throw new Error('simulated crash');
        },
      }),
      /simulated crash/,
    );
    const resumed = await ResADModel.create(config, { backbone });
    await trainResAD(resumed, known(), { outDir: crashDir, quiet: true });
    const got = resumed.getWeights();
    model.getWeights().forEach((w, i) => {
      const diff = Math.max(...Array.from(w.values, (v, j) => Math.abs(v - got[i].values[j])));
      assert.ok(diff < 1e-6, `${w.name}: ${diff}`);
    });
    for (const m of [noEfdm, loaded, first, resumed, model]) m.dispose({ keepBackbone: true });
    pool.dispose();
    backbone.dispose();
  });

  it('rejects a truncated weights file naming it, keeping model.json readable', async () => {
    const model = await ResADModel.create(CONFIG, { backbone: tinyBackbone() });
    const out = path.join(dir, 'm3');
    saveModel(out, model);
    const { file } = readWeightsFolder(out);
    const bin = path.join(out, file.weightsFile);
    fs.truncateSync(bin, 100);
    await assert.rejects(loadModel(out, { backbone: tinyBackbone() }), new RegExp(`${file.weightsFile}: truncated`));
    await assert.rejects(loadModel(path.join(dir, 'nothing')), /model.json not found/);
    model.dispose();
  });
});
