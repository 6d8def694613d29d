/**
 * One rule for "same model" (issue 19): `obtainModel` loads a folder's model
 * when its weights config (the config without scoring fields) and training
 * data match, and every entry point keys its model folders by the same
 * weights config: the runner (and with it the notebooks' sessions and the
 * quality benchmark, whose folds are protocols), the notebooks' own models,
 * `resad train` (planModel).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import type { Sample } from '../../src/data/sample';
import { inspectModelFolder, obtainModel, planModel, ResADConfig } from '../../src/resad/index';
import { customProtocol } from '../../src/experiments/protocols';
import { modelKeyOf } from '../../src/experiments/runner';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';

describe('resad: obtainModel, one rule for "same model"', function () {
  this.timeout(180000);
  let dir: string;
  let samples: Sample[];
  const known = (): Sample[] => samples.filter((s) => s.className !== 'marble' && (s.split === 'train' || s.label === 1));
  const rescored: ResADConfig = { ...TINY_CONFIG, scoring: 'distance', scoreSigma: 2 };
  const retrained: ResADConfig = { ...TINY_CONFIG, lr: 2e-3 };

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-obtain-'));
    await generateDataset({ root: path.join(dir, 'data'), classes: ['wood', 'hex_nut', 'marble'], size: 48, trainPerClass: 5, testGoodPerClass: 2, testDefectPerType: 1, quiet: true });
    samples = readDataset(path.join(dir, 'data'), { format: 'mvtec' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('every entry point keys models by the weights config: scoring fields share a folder, a weights field does not', () => {
    const protocol = customProtocol({ train: [`${path.join(dir, 'data')}:wood,hex_nut`], test: [`${path.join(dir, 'data')}:marble`], trainImages: 'train+anomalies' });
    assert.equal(modelKeyOf(protocol, rescored), modelKeyOf(protocol, TINY_CONFIG));
    assert.notEqual(modelKeyOf(protocol, retrained), modelKeyOf(protocol, TINY_CONFIG));
  });

  it('loads the same model with the wanted scoring, refuses or retrains a different one, and `resad train` plans alike', async () => {
    const backbone = tinyBackbone();
    const out = path.join(dir, 'model');
    const plans: string[] = [];
    const first = await obtainModel(out, TINY_CONFIG, known(), { backbone, quiet: true, onPlan: (p) => plans.push(p.kind) });
    assert.equal(first.trained, true);
    assert.equal(first.epochs.length, TINY_CONFIG.epochs);
    const weights = first.model.getWeights();
    first.model.dispose({ keepBackbone: true });

    // Other scoring fields: the same model, loaded and scoring as asked.
    const again = await obtainModel(out, rescored, known(), { backbone, quiet: true, onPlan: (p) => plans.push(p.kind) });
    try {
      assert.equal(again.trained, false);
      assert.equal(again.model.config.scoring, 'distance');
      assert.equal(again.model.config.scoreSigma, 2);
      assert.ok(again.trainSeconds !== null && again.trainSeconds > 0, 'training seconds come from the saved model');
      const loaded = new Map(again.model.getWeights().map((w) => [w.name, w.values]));
      for (const w of weights) assert.deepEqual(loaded.get(w.name), w.values, w.name);
    } finally {
      again.model.dispose({ keepBackbone: true });
    }
    assert.deepEqual(plans, ['train', 'load']);
    const state = inspectModelFolder(out, rescored, known());
    assert.equal(planModel(out, state, { ifDifferent: 'error' }).kind, 'load', 'resad train: "already trained" for a scoring-only change');

    // Another weights field or other data: refused by default, retrained with ifDifferent: 'retrain'.
    await assert.rejects(obtainModel(out, retrained, known(), { backbone, quiet: true }), /already holds a model trained with a different config or data \(lr: 0\.001 -> 0\.002\)/);
    await assert.rejects(obtainModel(out, TINY_CONFIG, samples, { backbone, quiet: true }), /data: \d+ -> \d+ images/);
    const tensors = tf.memory().numTensors;
    const replaced = await obtainModel(out, retrained, known(), { backbone, quiet: true, ifDifferent: 'retrain', onPlan: (p) => plans.push(p.kind === 'train' ? `train: ${p.note}` : p.kind) });
    assert.equal(replaced.trained, true);
    assert.equal(replaced.model.config.lr, 2e-3);
    replaced.model.dispose({ keepBackbone: true });
    assert.equal(tf.memory().numTensors, tensors, 'no tensors left behind');
    assert.match(plans[2], /retraining .*lr: 0\.001 -> 0\.002/);
    assert.equal(inspectModelFolder(out, retrained, known()).model.kind, 'same');
  });
});
