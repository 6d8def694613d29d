/**
 * The tfjs ResNets against torchvision: formula weights (formula-weights.ts,
 * identical to scripts/gen_wrn_fixture.py) are written to a temporary
 * safetensors file, loaded through the real loader, and layer1..3 on the
 * fixture's 64x56 image are compared with torchvision's eval-mode outputs
 * stored in test/fixtures/backbones/<arch>_formula.{json,f32}.
 * Tolerance: max |tfjs - torch| / max |torch| < 1e-4 per level (float32 tfjs
 * vs a float64 reference; measured ~1e-6).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { RESNET_ARCHS, createResNet } from '../../src/backbones/resnet';
import { ConvNetBuilder } from '../../src/backbones/convnet';
import { createBackbone } from '../../src/backbones/index';
import { fixtureLevelError as levelError, formulaInput, loadBackboneFixture, writeFormulaCheckpoint } from './formula-weights';

const loadFixture = (arch: string) => loadBackboneFixture(`${arch}_formula`);

const TOL = 1e-4;

describe('backbones/resnet (tfjs vs torchvision on formula weights)', function () {
  this.timeout(180000);
  let dir: string;
  const files: Record<string, string> = {};

  before(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-resnet-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const arch of ['wide_resnet50_2', 'resnet18']) {
    it(`${arch}: layer1..3 match torchvision (eval) within ${TOL} of the output scale`, () => {
      const { meta, data } = loadFixture(arch);
      const { file, sums } = writeFormulaCheckpoint(RESNET_ARCHS[arch], 3, dir);
      files[arch] = file;
      // The formula itself first, so a mismatch there is not reported as a network bug.
      assert.deepEqual(Object.keys(sums).sort(), Object.keys(meta.weightSums).sort(), 'same tensor keys as torchvision stem..layer3');
      for (const [k, s] of Object.entries(meta.weightSums)) {
        assert.ok(Math.abs(sums[k] - s) <= 1e-9 * Math.max(1, Math.abs(s)), `formula weights differ from python for ${k}: ${sums[k]} vs ${s}`);
      }
      const bb = createResNet(arch, { weights: file });
      try {
        const expectedChannels = arch === 'resnet18' ? [64, 128, 256] : [256, 512, 1024];
        assert.deepEqual(bb.levels, [
          { name: 'layer1', channels: expectedChannels[0], stride: 4 },
          { name: 'layer2', channels: expectedChannels[1], stride: 8 },
          { name: 'layer3', channels: expectedChannels[2], stride: 16 },
        ]);
        const [, h, w] = meta.inputShape;
        const x = tf.tensor4d(formulaInput(h, w), [1, h, w, 3]);
        const outs = bb.extract(x);
        x.dispose();
        meta.levels.forEach((lv, i) => {
          assert.deepEqual(outs[i].shape, lv.fullShape, `${lv.name} shape`);
          assert.ok(lv.fractionZero < 0.6 && lv.maxAbs > 1, `${lv.name}: fixture is not degenerate`);
          const err = levelError(outs[i].dataSync() as Float32Array, outs[i].shape[3], lv, data);
          assert.ok(err < TOL, `${arch} ${lv.name}: max abs err / scale = ${err.toExponential(2)} >= ${TOL}`);
        });
        tf.dispose(outs);
      } finally {
        bb.dispose();
      }
    });
  }

  it('finds prefixed keys (model.*), reads F16 checkpoints, and outputs any subset of layers', () => {
    const { meta, data } = loadFixture('resnet18');
    const sub = fs.mkdtempSync(path.join(dir, 'f16-'));
    const { file } = writeFormulaCheckpoint(RESNET_ARCHS.resnet18, 3, sub, { prefix: 'model.', dtype: 'F16' });
    const bb = createResNet('resnet18', { weights: file, layers: ['layer2', 'layer3'] });
    try {
      assert.deepEqual(bb.levels.map((l) => l.name), ['layer2', 'layer3']);
      const [, h, w] = meta.inputShape;
      const x = tf.tensor4d(formulaInput(h, w), [1, h, w, 3]);
      const outs = bb.extract(x);
      x.dispose();
      // Half-precision weights: agreement to ~1e-2 of the scale, not 1e-4.
      const errs = [1, 2].map((li, i) => levelError(outs[i].dataSync() as Float32Array, outs[i].shape[3], meta.levels[li], data));
      tf.dispose(outs);
      assert.ok(errs.every((e) => e < 3e-2), `F16 errors ${errs.map((e) => e.toExponential(2)).join(', ')}`);
      assert.ok(errs.some((e) => e > 1e-5), 'F16 rounding should be visible (the weights really came from the F16 file)');
    } finally {
      bb.dispose();
    }
  });

  it('declared levels match the outputs at 224 and 200; deterministic; no leaked tensors', () => {
    const bb = createResNet('resnet18', { weights: files.resnet18 });
    try {
      assert.deepEqual(bb.featureSizes(224, 224), [[56, 56], [28, 28], [14, 14]]);
      assert.deepEqual(bb.featureSizes(200, 200), [[50, 50], [25, 25], [13, 13]]);
      const x = tf.randomUniform([2, 200, 200, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const a = bb.extract(x);
      const b = bb.extract(x);
      a.forEach((t, i) => {
        assert.equal(t.shape[3], bb.levels[i].channels);
        assert.deepEqual(t.dataSync(), b[i].dataSync(), 'same input -> same output');
      });
      tf.dispose([...a, ...b]);
      assert.equal(tf.memory().numTensors, before, 'extract leaves nothing behind');
      x.dispose();
    } finally {
      bb.dispose();
    }
  });

  it('folds BatchNorm into the conv exactly as y = gamma (conv + b - mean) / sqrt(var + eps) + beta', () => {
    // 1 output channel, 2 input channels, 1x2 kernel: OIHW [1,2,1,2]
    const b = new ConvNetBuilder();
    const f32 = (...v: number[]): Float32Array => new Float32Array(v);
    b.conv(0, { values: f32(1, 2, 3, 4), shape: [1, 2, 1, 2] }, { stride: 1, pad: 0, bias: f32(0.25), bn: { gamma: f32(4), beta: f32(0.5), mean: f32(1), variance: f32(3), eps: 1 } });
    const op = b.ops[0];
    assert.equal(op.op, 'conv');
    if (op.op !== 'conv') return;
    // scale = 4 / sqrt(4) = 2; HWIO order [h][w][i][o]: (w0,i0)=1, (w0,i1)=3, (w1,i0)=2, (w1,i1)=4, each x2
    assert.deepEqual([...op.filter.dataSync()], [2, 6, 4, 8]);
    // (0.25 - 1) * 2 + 0.5
    assert.deepEqual([...op.bias.dataSync()], [-1]);
    b.dispose();
  });

  it('errors: no weights configured, missing file, wrong architecture', async () => {
    const saved = { wrn: process.env.RESAD_WRN50_WEIGHTS, home: process.env.RESAD_HOME, shared: process.env.RESAD_SHARED_BACKBONES };
    delete process.env.RESAD_WRN50_WEIGHTS;
    process.env.RESAD_HOME = path.join(dir, 'empty-home');
    process.env.RESAD_SHARED_BACKBONES = '';
    try {
      await assert.rejects(createBackbone('wide_resnet50_2'), (err: Error) => {
        assert.match(err.message, /npx resad weights get wide_resnet50_2/);
        assert.match(err.message, /wide_resnet50_2\.tv_in1k/);
        assert.match(err.message, /RESAD_WRN50_WEIGHTS/);
        return true;
      });
      process.env.RESAD_WRN50_WEIGHTS = path.join(dir, 'nope.safetensors');
      await assert.rejects(createBackbone('wide_resnet50_2'), /nope\.safetensors \(from RESAD_WRN50_WEIGHTS\) does not exist/);
    } finally {
      for (const [k, v] of [['RESAD_WRN50_WEIGHTS', saved.wrn], ['RESAD_HOME', saved.home], ['RESAD_SHARED_BACKBONES', saved.shared]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    assert.throws(
      () => createResNet('wide_resnet50_2', { weights: files.resnet18 }),
      /resnet18_formula\.safetensors: tensor 'layer1\.0\.conv1\.weight' has shape \[64, 64, 3, 3\], expected \[128, 64, 1, 1\]/,
    );
    assert.throws(() => createResNet('resnet18', { weights: files.resnet18, layers: ['layer3', 'layer1'] }), /increasing subset/);
    assert.throws(() => createResNet('resnet18', { weights: files.resnet18, layers: ['layer5'] }), /unknown layer 'layer5'/);
  });
});
