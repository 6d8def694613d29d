import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { ResADConfig } from '../../src/resad/config';
import {
  availableMethods,
  buildExperimentReport,
  customProtocol,
  ExperimentSession,
  plotlyAssetName,
  plotlyBundle,
  Protocol,
  registerMethod,
  ResultsStore,
  runShotSweep,
  shotSweepSpecs,
  unregisterMethod,
  writeExperimentReport,
} from '../../src/experiments/index';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';
import { referencesName } from '../../src/data/references';
import { meanImageScorer } from '../helpers/mean-image-scorer';

const TINY: ResADConfig = { ...TINY_CONFIG, syntheticPerClass: 2 };


describe('experiments/runner, sweeps and report', function () {
  this.timeout(120000);
  let dir: string;
  let protocol: Protocol;
  let backbone: ReturnType<typeof tinyBackbone>;

  before(async () => {
    await initEngine({ quiet: true });
    backbone = tinyBackbone();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-runner-'));
    await generateDataset({ root: path.join(dir, 'data'), classes: ['wood', 'hex_nut', 'marble', 'carpet'], size: 48, trainPerClass: 5, testGoodPerClass: 3, testDefectPerType: 1, quiet: true });
    protocol = customProtocol({ name: 'tiny', train: [`${path.join(dir, 'data')}:wood,hex_nut`], test: [`mvtec=${path.join(dir, 'data')}:marble,carpet`], config: TINY, shots: [1, 2], referenceSeeds: [0, 1] });
    registerMethod('mean-image', () => meanImageScorer());
  });
  after(() => {
    unregisterMethod('mean-image');
    backbone.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sweeps K and seeds with one training, fixed shared references, skips finished runs, reruns when forced', async () => {
    const storeDir = path.join(dir, 'store');
    const session = new ExperimentSession({ store: storeDir, backbone, quiet: true });
    const out = await runShotSweep(session, protocol, { methods: ['resad', 'mean-image'] });
    assert.equal(out.length, 8);
    assert.ok(out.every((o) => !o.skipped));
    const resad = out.filter((o) => o.record.method === 'resad').map((o) => o.record);
    assert.equal(new Set(resad.map((r) => r.modelKey)).size, 1);
    assert.deepEqual(resad.map((r) => r.timings.modelReused), [false, true, true, true]);
    assert.equal(fs.readdirSync(path.join(storeDir, 'models')).length, 1);
    assert.ok(fs.existsSync(path.join(storeDir, 'models', resad[0].modelKey as string, 'model.json')));
    // One reference file per (dataset, K, seed), used by both methods.
    const refName = referencesName(path.join(dir, 'data'));
    assert.match(refName, /^data-[0-9a-f]{8}$/);
    assert.deepEqual(fs.readdirSync(path.join(storeDir, 'references')).sort(), ['k1_s0', 'k1_s1', 'k2_s0', 'k2_s1'].map((ks) => `${refName}_${ks}.json`));
    const byKS = (m: string, k: number, s: number) => out.find((o) => o.record.method === m && o.record.shots === k && o.record.referenceSeed === s)!.record;
    assert.deepEqual(byKS('resad', 2, 1).perClass.map((c) => c.references), byKS('mean-image', 2, 1).perClass.map((c) => c.references));
    assert.equal(byKS('resad', 2, 0).perClass[0].references.length, 2);

    const r = byKS('resad', 2, 0);
    assert.deepEqual(r.perClass.map((c) => c.class), ['carpet', 'marble']);
    assert.ok(r.mean.imageAUROC !== null && r.mean.imageAUROC >= 0 && r.mean.imageAUROC <= 1);
    assert.equal(r.config.imageSize, 32);
    assert.ok(r.versions.tfjs && r.versions.node && r.engine.includes('tfjs'));
    assert.ok(r.timings.trainSeconds !== null && r.timings.msPerImage > 0);
    assert.equal(r.perImage['data/marble'].scores.length, r.perClass.find((c) => c.class === 'marble')!.images);
    assert.ok(r.examples.length > 0 && r.examples.every((e) => fs.existsSync(path.join(storeDir, e.png))));

    const store = new ResultsStore(storeDir);
    assert.equal(store.load().length, 8);
    assert.equal(fs.readFileSync(store.csvFile, 'utf8').trim().split('\n').length, 1 + 8 * 3);
    const again = await session.runAll(shotSweepSpecs(protocol, { methods: ['resad', 'mean-image'] }));
    assert.ok(again.every((o) => o.skipped));
    assert.equal(store.load().length, 8);
    session.dispose();

    const forced = new ExperimentSession({ store: storeDir, backbone, quiet: true, force: true });
    const f = await forced.run({ protocol, method: 'mean-image', shots: 1, referenceSeed: 0 });
    assert.ok(!f.skipped);
    assert.equal(store.load().length, 9);
    assert.equal(store.latest().length, 8);
    // A changed knob is a new configuration, hence a new model.
    const changed = await forced.run({ protocol, config: { seed: 4 }, shots: 1, referenceSeed: 0 });
    assert.notEqual(changed.record.modelKey, resad[0].modelKey);
    assert.equal(fs.readdirSync(path.join(storeDir, 'models')).length, 2);
    forced.dispose();
  });

  it('runs a src/baselines method (patchcore) on the same references when that module is present', async function () {
    if (!availableMethods().includes('patchcore')) this.skip();
    const storeDir = path.join(dir, 'store');
    const session = new ExperimentSession({ store: storeDir, backbone, quiet: true, keepExamples: 0 });
    const { record } = await session.run({ protocol, method: 'patchcore', shots: 2, referenceSeed: 1 });
    session.dispose();
    assert.equal(record.config.imageSize, 32);
    assert.deepEqual(record.referenceFiles, [`references/${referencesName(path.join(dir, 'data'))}_k2_s1.json`]);
    assert.equal(record.perClass.length, 2);
  });

  it('resumes an interrupted training and records no half run', async () => {
    const storeDir = path.join(dir, 'store-resume');
    const crashing = new ExperimentSession({
      store: storeDir,
      backbone,
      quiet: true,
      // onEpoch runs before that epoch's checkpoint is written: dying in epoch 2 leaves epoch 1's.
      onEpoch: (e) => {
        if (e.epoch === 1) throw new Error('simulated crash in epoch 2');
      },
    });
    await assert.rejects(crashing.run({ protocol, shots: 1, referenceSeed: 0 }), /simulated crash/);
    crashing.dispose();
    const store = new ResultsStore(storeDir);
    assert.equal(store.load().length, 0);
    const models = fs.readdirSync(path.join(storeDir, 'models'));
    assert.ok(fs.existsSync(path.join(storeDir, 'models', models[0], 'checkpoint', 'model.json')));
    const session = new ExperimentSession({ store: storeDir, backbone, quiet: true });
    const { record } = await session.run({ protocol, shots: 1, referenceSeed: 0 });
    session.dispose();
    const saved = JSON.parse(fs.readFileSync(path.join(storeDir, 'models', models[0], 'model.json'), 'utf8'));
    assert.equal(saved.extra.training.resumedFromEpoch, 0);
    assert.ok(!fs.existsSync(path.join(storeDir, 'models', models[0], 'checkpoint')));
    assert.deepEqual(store.load().map((r) => r.key), [record.key]);
  });

  it('writes an offline HTML report: plotly once as a sibling file (or inlined), sweep + ROC figures, map gallery', async () => {
    const storeDir = path.join(dir, 'store');
    const out = await writeExperimentReport(storeDir);
    const html = fs.readFileSync(out.file, 'utf8');
    const marker = plotlyBundle().slice(0, 80);
    assert.equal(html.split(marker).length - 1, 0);
    // The only external script is the plotly file written next to the page.
    assert.deepEqual([...html.matchAll(/<script[^>]+src="([^"]+)"/g)].map((m) => m[1]), [plotlyAssetName()]);
    assert.equal(out.plotlyFile, path.join(storeDir, plotlyAssetName()));
    assert.equal(fs.readFileSync(out.plotlyFile, 'utf8'), fs.readFileSync(require.resolve('plotly.js-dist-min'), 'utf8'));
    assert.ok(out.figures >= 3, `figures ${out.figures}`); // image + pixel AUROC sweep curves, ROC
    assert.equal(html.split("Plotly.newPlot('fig-").length - 1, out.figures);
    assert.ok(html.includes("fill: 'toself'") || html.includes('"fill":"toself"'));
    assert.ok(out.images > 0);
    assert.equal(html.match(/<figure><img src="data:image\/(png|jpeg);base64,/g)?.length, out.images);
    assert.ok(html.includes('Shot sweep') && html.includes('ROC curves') && html.includes('Anomaly maps'));
    // Several seeds per K here: the page says mean ± std over them.
    assert.match(html, /Shot sweep: mean ± std over (\d+ )?reference seeds/);
    const inline = await writeExperimentReport(storeDir, { out: path.join(dir, 'single', 'report.html'), inlinePlotly: true });
    const single = fs.readFileSync(inline.file, 'utf8');
    assert.equal(single.split(marker).length - 1, 1);
    assert.ok(!/<script[^>]+src=/.test(single), 'no external scripts');
    assert.equal(inline.plotlyFile, null);
    assert.ok(!fs.existsSync(path.join(dir, 'single', plotlyAssetName())));
    const built = buildExperimentReport(new ResultsStore(storeDir).latest(), { storeDir, maxGalleryRuns: 0 });
    assert.equal(built.images, 0);
  });
});
