/**
 * A trained ResAD must detect anomalies on classes it never saw, and its
 * training must reach those classes. One short seeded training on the
 * procedural dataset (packaged backbone, the offline CPU preset at 64 px, 75
 * steps, scored by ||r'|| as the default `cpu` preset scores): trained on
 * five classes, evaluated 4-shot on three others whose
 * defects are visible at 64 px (marble, carpet, washer; 8 normal and 9
 * anomalous test images each). Beside it, the same training without residual
 * and the same training with its updates switched off (learning rate 1e-12).
 * Trainings are deterministic: the numbers below reproduce exactly.
 *
 * Measured (this commit): ResAD 0.861 mean image AUROC, without residual
 * 0.602; ||r'|| contrast (anomalous / normal positions) on the unseen classes
 * 1.574 trained vs 1.518 without updates; flow log p / C of their normal
 * positions -0.9109 vs -0.9182. What the updates do not move is the AUROC
 * itself (0.833 without updates; on larger test sets neither is ahead, and
 * the quality benchmark finds the same on real folds, docs/QUALITY.md): at
 * this budget detection rests on the residual, so a training that stops
 * working is caught by the two training checks, not by the AUROC.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import { drawReferences, ReferenceSet } from '../../src/data/references';
import { loadSample } from '../../src/data/transforms';
import type { Sample } from '../../src/data/sample';
import { evaluateResAD, OFFLINE_CPU_CONFIG, ResADConfig, ResADModel, trainResAD } from '../../src/resad/index';

const TRAIN = ['wood', 'fabric', 'leather', 'hex_nut', 'screw'];
const UNSEEN = ['marble', 'carpet', 'washer'];
const SIZE = 64;
const CONFIG: ResADConfig = { ...OFFLINE_CPU_CONFIG, imageSize: SIZE, seed: 0, scoring: 'distance' };

/** Mean over unseen test images of: ||r'|| at anomalous and at normal positions, and the flow's log p / C at normal positions. */
async function unseenResidualStats(model: ResADModel, samples: readonly Sample[], refs: ReferenceSet): Promise<{ contrast: number; normalLogp: number }> {
  let dNormal = 0;
  let dAnomalous = 0;
  let logpNormal = 0;
  let nNormal = 0;
  let nAnomalous = 0;
  for (const cls of UNSEEN) {
    const references = await Promise.all(refs.classes[cls].map((p) => loadSample({ imagePath: p, className: cls, split: 'train', label: 0, defectType: 'good', maskPaths: [] }, model.preprocess)));
    const pool = model.buildPool(references.map((r) => r.image));
    for (const s of samples.filter((x) => x.className === cls && x.split === 'test')) {
      const { image, mask } = await loadSample(s, model.preprocess);
      const features = model.extract([image]);
      const out = model.levelOutputs(features, pool);
      tf.dispose(features);
      out.shapes.forEach(([, h, w], l) => {
        for (let q = 0; q < h * w; q++) {
          // The mask pixel at the centre of the position's cell.
          const y = Math.floor(((Math.floor(q / w) + 0.5) * SIZE) / h);
          const x = Math.floor((((q % w) + 0.5) * SIZE) / w);
          if (s.label === 0) {
            dNormal += out.distances[l][q];
            logpNormal += out.logps[l][q];
            nNormal++;
          } else if (mask.data[y * SIZE + x] > 0) {
            dAnomalous += out.distances[l][q];
            nAnomalous++;
          }
        }
      });
    }
    pool.dispose();
  }
  return { contrast: dAnomalous / nAnomalous / (dNormal / nNormal), normalLogp: logpNormal / nNormal };
}

describe('resad: a trained model detects anomalies of unseen classes', function () {
  this.timeout(600000);
  let dir: string;
  let samples: Sample[];
  let refs: ReferenceSet;
  const results: Record<string, { auroc: number; contrast: number; normalLogp: number }> = {};

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-detects-'));
    await generateDataset({ root: dir, classes: [...TRAIN, ...UNSEEN], size: SIZE, trainPerClass: 6, testGoodPerClass: 8, testDefectPerType: 3, quiet: true });
    samples = readDataset(dir, { format: 'mvtec' });
    refs = drawReferences(samples, { shots: 4, seed: 0, classes: UNSEEN });
    const known = samples.filter((s) => TRAIN.includes(s.className) && (s.split === 'train' || s.label === 1));
    const unseen = samples.filter((s) => UNSEEN.includes(s.className));
    const variants: Record<string, Partial<ResADConfig>> = { resad: {}, 'without residual': { residual: 'none' }, 'without updates': { lr: 1e-12 } };
    for (const [name, change] of Object.entries(variants)) {
      const model = await ResADModel.create({ ...CONFIG, ...change });
      try {
        await trainResAD(model, known, { quiet: true });
        const evaluation = await evaluateResAD(model, unseen, refs, { quiet: true });
        results[name] = { auroc: evaluation.mean.imageAUROC, ...(await unseenResidualStats(model, unseen, refs)) };
      } finally {
        model.dispose();
      }
    }
    console.log(`      measured: ${JSON.stringify(results)}`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('clears chance by a wide margin on the unseen classes (mean image AUROC >= 0.80)', () => {
    // Scores unrelated to the labels give a class AUROC of 0.5 with standard deviation
    // sqrt((8 + 9 + 1) / (12 * 8 * 9)) = 0.144, so 0.083 for the mean of three classes:
    // 0.80 is 3.6 standard deviations above chance (one-sided p < 2e-4).
    assert.ok(results.resad.auroc >= 0.8, `ResAD mean image AUROC ${results.resad.auroc}`);
  });

  it('scores clearly below that without the residual (the ablation the paper reports)', () => {
    // Without residual the flow sees the unseen classes' own features, unlike anything it trained on.
    assert.ok(results['without residual'].auroc <= results.resad.auroc - 0.15, `without residual ${results['without residual'].auroc} vs ResAD ${results.resad.auroc}`);
  });

  it('its training reaches the unseen classes: the constraintor pulls normal residuals in, the flow raises their likelihood', () => {
    // Against the same run with its updates switched off (same data, batches and BatchNorm statistics):
    // about half of each measured effect (contrast +0.056, log p / C +0.0073) is required.
    const on = results.resad;
    const off = results['without updates'];
    assert.ok(on.contrast >= off.contrast + 0.03, `||r'|| anomalous / normal: ${on.contrast} trained vs ${off.contrast} without updates`);
    assert.ok(on.normalLogp >= off.normalLogp + 0.004, `log p / C of unseen normal positions: ${on.normalLogp} trained vs ${off.normalLogp} without updates`);
  });
});
