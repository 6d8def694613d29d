/**
 * The baselines as FewShotScorers through evaluateFewShot on a tiny generated
 * dataset (tiny fixed CNN, 32 px), and `resad baseline` writing the same
 * results JSON schema as `resad eval`.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { availablePreset } from '../../src/resad/presets';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import { drawReferences } from '../../src/data/references';
import { loadSample } from '../../src/data/transforms';
import type { Sample } from '../../src/data/sample';
import { evaluateFewShot } from '../../src/evaluation/index';
import { BASELINE_METHODS, createBaselineScorer } from '../../src/baselines/index';
import { METRIC_KEYS } from '../../src/metrics/index';
import { runCli } from '../helpers/run-cli';
import { tinyBackbone } from '../helpers/tiny-backbone';

describe('baselines: evaluateFewShot end to end and the CLI', function () {
  this.timeout(120000);
  let dir: string;
  let samples: Sample[];

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-baselines-'));
    await generateDataset({ root: path.join(dir, 'data'), classes: ['marble', 'washer'], size: 48, trainPerClass: 4, testGoodPerClass: 3, testDefectPerType: 1, quiet: true });
    samples = readDataset(path.join(dir, 'data'), { format: 'mvtec' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const method of BASELINE_METHODS) {
    it(`${method}: metrics in [0, 1], maps of the image size, leak-free per class`, async () => {
      const backbone = tinyBackbone();
      const scorer = await createBaselineScorer(method, { backboneInstance: backbone, imageSize: 32, patchcore: { coresetRatio: 0.5 } });
      const refs = drawReferences(samples, { shots: 2, seed: 0 });
      const before = tf.memory().numTensors;
      const result = await evaluateFewShot(scorer, samples, refs, { quiet: true });
      assert.equal(tf.memory().numTensors, before, 'tensors leaked over a whole evaluation');
      assert.deepEqual(result.perClass.map((c) => c.class), ['marble', 'washer']);
      for (const c of result.perClass) {
        for (const k of METRIC_KEYS) {
          const v = c[k];
          if (v !== undefined) assert.ok(v >= 0 && v <= 1, `${method} ${c.class} ${k} = ${v}`);
        }
        assert.ok(c.imageAUROC >= 0 && c.pixelAUROC !== undefined);
      }
      // One image scored alone: a 32x32 map; without a method image score, score = max of the map.
      const img = await loadSample(samples.find((s) => s.split === 'test' && s.className === 'washer') as Sample, scorer.preprocess);
      const prepared = await scorer.prepareClass((await Promise.all(refs.classes.washer.map((p) => loadSample({ imagePath: p, className: 'washer', split: 'train', label: 0, defectType: 'good', maskPaths: [] }, scorer.preprocess)))).map((r) => r.image));
      const out = await prepared.score([img.image]);
      prepared.release();
      assert.equal(out.maps[0].width, 32);
      assert.equal(out.maps[0].data.length, 32 * 32);
      if (method === 'padim') assert.equal(out.scores[0], Math.max(...out.maps[0].data));
      scorer.dispose();
      backbone.dispose();
    });
  }

  it('resad baseline writes the eval results schema with the method config', async () => {
    const json = path.join(dir, 'padim.json');
    const refsFile = path.join(dir, 'refs.json');
    const { code } = await runCli(['baseline', '--method', 'padim', '--data', `${path.join(dir, 'data')}:washer`, '--shots', '2', '--image-size', '64', '--references', refsFile, '--json', json]);
    assert.equal(code, 0);
    const out = JSON.parse(fs.readFileSync(json, 'utf8')) as { perClass: Array<Record<string, unknown>>; mean: Record<string, unknown>; config: Record<string, unknown> };
    assert.deepEqual(out.perClass.map((c) => c.class), ['washer']);
    for (const k of METRIC_KEYS) assert.ok(k in out.mean, k);
    assert.equal(out.config.method, 'padim');
    // The cpu preset's backbone on this machine (the packaged one without ImageNet weights): the file names what ran.
    assert.equal(out.config.backbone, availablePreset('cpu').config.backbone);
    assert.equal(out.config.shots, 2);
    assert.equal(out.config.seed, 0);
    assert.equal(out.config.references, refsFile);
    assert.ok(fs.existsSync(refsFile));
    assert.equal((await runCli(['baseline', '--method', 'knn', '--data', dir, '--shots', '2', '--json', json])).code, 2);
  });
});
