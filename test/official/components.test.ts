/**
 * resad's ResAD / ResAD++ components against the official code itself
 * (github.com/xcyao00/ResAD at 0afc30e, FrEIA at 4e0c6ab): fixtures written by
 * scripts/reference_official.py, which imports the official modules from a
 * checkout and runs them on seeded inputs (regenerate: see that script's doc).
 * Each part loads the official weights into ours and compares forward values,
 * losses and gradients (1e-4 relative of each array's scale where the
 * computation is meant to be the same).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { computeResiduals, matchDistribution, ReferencePool, ResidualCodebook } from '../../src/converter/index';
import { createConstraintor, occLossLevels } from '../../src/constraintor/index';
import {
  abnormalLogProbPerDim,
  bgSppLoss,
  ConditionalFlow,
  focalLoss,
  logSigmoidMlLoss,
  normalQuantile,
  positionalEncoding2dValues,
  standardNormalLogProb,
} from '../../src/flow/index';

interface Arr {
  shape: number[];
  values: number[];
}
type Named = Arr & { name: string };
interface FlowCase {
  dim: number;
  condDim: number;
  clamp: number;
  x: Arr;
  cond: Arr;
  mask: number[];
  blocks: Array<Record<'w1' | 'b1' | 'w2' | 'b2' | 'globalScale' | 'globalOffset' | 'perm', Arr> & { grads: Record<string, Arr> }>;
  z: Arr;
  logdet: number[];
  logp: number[];
  logpA: number[];
  abnormalProb: number[];
  boundary: number;
  losses: Record<'ml' | 'mlAbnormal' | 'focal' | 'bgsppNormal' | 'bgsppAnomaly' | 'total' | 'stage1', number>;
}
interface Fixture {
  torch: string;
  official: string;
  channels: number[];
  position: { dim: number; height: number; width: number; code: Arr };
  matching: { features: Arr[]; references: Arr[]; residuals: Arr[]; masks: Arr[] };
  codebook: { codes: Arr[]; loss: number; grads: Arr[]; quantised: Arr[]; fdmAlpha: number; aligned: Arr[] };
  constraintor: { weights: Named[]; trainOut: Arr[]; occLevels: Array<{ loss: number }>; occTotal: number; grads: Named[]; runningAfter: Named[] };
  flows: FlowCase[];
}

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'official', 'components.json');

/** max |a - b| <= tol * max(1, max |b|): relative to the array's scale. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= tol * scale, `${what}: max difference ${worst} > ${tol} x ${scale}`);
}

function near(actual: number, expected: number, what: string, tol = 1e-4): void {
  assertClose([actual], [expected], what, tol);
}

const t4 = (a: Arr): tf.Tensor4D => tf.tensor4d(a.values, a.shape as [number, number, number, number]);

describe('official code (ResAD / ResAD++) vs resad, component by component', () => {
  const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture;
  const levels = fx.channels.length;

  before(async () => {
    await initEngine({ quiet: true });
  });

  it(`position code equals models/modules.get_position_encoding (torch ${fx.torch})`, () => {
    const { dim, height, width, code } = fx.position;
    const ours = positionalEncoding2dValues(height, width, dim);
    const theirs = new Float32Array(height * width * dim);
    for (let d = 0; d < dim; d++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) theirs[(y * width + x) * dim + d] = code.values[(d * height + y) * width + x];
    assertClose(ours, theirs, 'position code', 1e-6);
  });

  it("the 'sqdiff' residual with 'cosine' matching equals utils.get_mc_matched_ref_features + get_residual_features(pos_flag=True)", () => {
    const feats = fx.matching.features.map(t4);
    const refs = fx.matching.references.map(t4);
    const pool = ReferencePool.fromFeatures(refs);
    const ours = computeResiduals(feats, pool, { mode: 'sqdiff', metric: 'cosine' });
    ours.forEach((r, l) => assertClose(r.dataSync(), fx.matching.residuals[l].values, `residual level ${l}`, 1e-5));
    tf.dispose([...feats, ...refs, ...ours]);
    pool.dispose();
  });

  it('codebook loss and gradient equal models/vq.MultiScaleVQ (train), quantised residuals its codebook entries, EFDM utils.applying_EFDM', () => {
    let loss = 0;
    for (let l = 0; l < levels; l++) {
      const c = fx.channels[l];
      const codes = fx.codebook.codes[l];
      const book = new ResidualCodebook(codes.shape[0], c, 0);
      tf.tidy(() => book.codes.assign(tf.tensor2d(codes.values, [codes.shape[0], c])));
      const residual = Float32Array.from(fx.matching.residuals[l].values);
      const mask = fx.matching.masks[l].values;
      const normalRows = new Float32Array(mask.filter((m) => m === 0).length * c);
      let k = 0;
      mask.forEach((m, i) => {
        if (m === 0) normalRows.set(residual.subarray(i * c, (i + 1) * c), c * k++);
      });
      const out = book.lossAndGradient(normalRows, 0.25);
      loss += out.loss;
      assertClose(out.grad.dataSync(), fx.codebook.grads[l].values, `codebook gradient level ${l}`);
      out.grad.dispose();
      const quantised = book.quantize(residual);
      assertClose(quantised, fx.codebook.quantised[l].values, `quantised level ${l}`, 1e-6);
      const shape = fx.matching.residuals[l].shape as [number, number, number, number];
      assertClose(matchDistribution(residual, quantised, shape, fx.codebook.fdmAlpha), fx.codebook.aligned[l].values, `EFDM level ${l}`, 1e-6);
      book.dispose();
    }
    near(loss, fx.codebook.loss, 'codebook loss');
  });

  it("conv-bn-relu constraintor + 'logbarrier' OCC (levels summed) equal MultiScaleConv + calculate_log_barrier_bi_occ_loss: outputs, losses, gradients, running statistics", () => {
    const before = tf.memory().numTensors;
    const c = createConstraintor('conv-bn-relu', fx.channels, 0, { bnGammaInit: 'one' });
    c.setWeights(fx.constraintor.weights.map((w) => ({ name: w.name, shape: w.shape, values: Float32Array.from(w.values) })));
    const trainableNames = c.getWeights().map((w) => w.name).filter((n) => !/running_(mean|var)$/.test(n));
    const residuals = fx.matching.residuals.map(t4);
    const masks = fx.matching.masks.map((m) => Float32Array.from(m.values));
    let perLevel: number[] = [];
    let outs: tf.Tensor4D[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const out = c.apply(residuals, true);
      outs = out.map((t) => tf.keep(t));
      const res = occLossLevels(out, residuals, masks, { variant: 'logbarrier', levelReduction: 'sum' });
      perLevel = res.perLevel.map((p) => p.normalTerm + p.anomalyTerm);
      return res.loss;
    }, c.trainableVariables);
    outs.forEach((o, l) => assertClose(o.dataSync(), fx.constraintor.trainOut[l].values, `train output level ${l}`));
    perLevel.forEach((v, l) => near(v, fx.constraintor.occLevels[l].loss, `OCC level ${l}`));
    near(value.dataSync()[0], fx.constraintor.occTotal, 'OCC total');
    const expected = new Map(fx.constraintor.grads.map((g) => [g.name, g.values]));
    c.trainableVariables.forEach((v, i) => {
      const name = trainableNames[i];
      assert.ok(expected.has(name), `official gradient for ${name}`);
      assertClose(grads[v.name].dataSync(), expected.get(name)!, `gradient ${name}`);
    });
    const stats = new Map(c.getWeights().map((w) => [w.name, w.values]));
    for (const r of fx.constraintor.runningAfter) assertClose(stats.get(r.name) ?? [], r.values, r.name, 1e-5);
    tf.dispose([value, grads, ...outs, ...residuals]);
    c.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  for (const [i, fc] of fx.flows.entries()) {
    it(`flow case ${i} (C = ${fc.dim}, ${fc.blocks.length} blocks): z, logdet, logp, logp_a, abnormal probability, every ResAD++ flow loss and its gradients equal FrEIA AllInOneBlock + train.py`, () => {
      const before = tf.memory().numTensors;
      const flow = new ConditionalFlow({ dim: fc.dim, condDim: fc.condDim, blocks: fc.blocks.length, clamp: fc.clamp, softClamp: 'tanh', permutation: 'soft', seed: 0 });
      flow.setWeights(
        fc.blocks.flatMap((b, k) =>
          (['w1', 'b1', 'w2', 'b2', 'globalScale', 'globalOffset', 'perm'] as const).map((n) => ({ name: `block${k}.${n}`, shape: b[n].shape, values: Float32Array.from(b[n].values) })),
        ),
      );
      const x = tf.tensor2d(fc.x.values, fc.x.shape as [number, number]);
      const cond = tf.tensor2d(fc.cond.values, fc.cond.shape as [number, number]);
      const flags = tf.tensor1d(fc.mask);
      const normal = tf.tensor1d(fc.mask.map((m) => 1 - m));
      const parts: Record<string, number> = {};
      let seen: Record<string, Float32Array> = {};
      const { value, grads } = tf.variableGrads(() => {
        const { z, logdet } = flow.forward(x, cond);
        const logp = tf.div(tf.add(standardNormalLogProb(z), logdet), fc.dim) as tf.Tensor1D;
        const logpA = abnormalLogProbPerDim(z, logdet);
        const abnormal = tf.sigmoid(tf.sub(tf.mean(z, 1), 0.5));
        seen = { z: z.dataSync() as Float32Array, logdet: logdet.dataSync() as Float32Array, logp: logp.dataSync() as Float32Array, logpA: logpA.dataSync() as Float32Array, abnormal: abnormal.dataSync() as Float32Array };
        parts.boundary = normalQuantile(seen.logp, fc.mask, 0.05)!;
        const ml = logSigmoidMlLoss(logp, normal);
        const mlA = logSigmoidMlLoss(logpA, flags);
        const focal = focalLoss(tf.softmax(tf.stack([logp, logpA], 1)) as tf.Tensor2D, flags);
        const bg = bgSppLoss(logp, flags, fc.boundary, 0.1, { reduction: 'mean-violators', penalty: 'softplus' });
        parts.ml = ml.dataSync()[0];
        parts.mlAbnormal = mlA.dataSync()[0];
        parts.focal = focal.dataSync()[0];
        parts.bgspp = bg.dataSync()[0];
        parts.stage1 = logSigmoidMlLoss(logp).dataSync()[0];
        return tf.addN([ml, mlA, focal, bg]) as tf.Scalar;
      }, flow.trainableVariables);
      assertClose(seen.z, fc.z.values, 'z');
      assertClose(seen.logdet, fc.logdet, 'logdet');
      assertClose(seen.logp, fc.logp, 'logp / C');
      assertClose(seen.logpA, fc.logpA, 'logp_a / C');
      // softmax([logp, logp_a])[1] of validate.py is sigmoid(mean(z) - 1/2): the logdet cancels.
      assertClose(seen.abnormal, fc.abnormalProb, 'abnormal probability', 1e-5);
      near(parts.boundary, fc.boundary, 'normal boundary (get_normal_boundary)', 1e-6);
      near(parts.ml, fc.losses.ml, 'ML (log-sigmoid)');
      near(parts.mlAbnormal, fc.losses.mlAbnormal, 'ML of anomalies under N(1, I)');
      near(parts.focal, fc.losses.focal, 'focal');
      near(parts.bgspp, fc.losses.bgsppNormal + fc.losses.bgsppAnomaly, 'log-barrier BG-SPP');
      near(parts.stage1, fc.losses.stage1, 'stage-1 ML');
      near(value.dataSync()[0], fc.losses.total, 'total');
      const names = ['w1', 'b1', 'w2', 'b2', 'globalScale', 'globalOffset'];
      flow.trainableVariables.forEach((v, j) => {
        const block = Math.floor(j / names.length);
        const name = names[j % names.length];
        assertClose(grads[v.name].dataSync(), fc.blocks[block].grads[name].values, `gradient block${block}.${name}`);
      });
      tf.dispose([value, grads, x, cond, flags, normal]);
      flow.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }
});
