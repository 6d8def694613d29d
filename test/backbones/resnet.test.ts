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
import { RESNET_ARCHS, createResNet, foldConvBn } from '../../src/backbones/resnet';
import { createBackbone } from '../../src/backbones/index';
import { formulaInput, writeFormulaCheckpoint } from './formula-weights';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'backbones');
const TOL = 1e-4;

interface FixtureLevel {
  name: string;
  fullShape: number[];
  storedShape: number[];
  channelStep: number;
  offset: number;
  count: number;
  maxAbs: number;
  fractionZero: number;
}
interface Fixture {
  arch: string;
  inputShape: number[];
  levels: FixtureLevel[];
  weightSums: Record<string, number>;
}

function loadFixture(arch: string): { meta: Fixture; data: Float32Array } {
  const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${arch}_formula.json`), 'utf8')) as Fixture;
  const raw = fs.readFileSync(path.join(FIXTURES, `${arch}_formula.f32`));
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { meta, data };
}

/** max |ours - ref| / max |ref| over the stored (channel-subsampled) values of one level. */
function levelError(ours: Float32Array, oursChannels: number, level: FixtureLevel, ref: Float32Array): number {
  const stored = level.storedShape[3];
  let diff = 0;
  let scale = 0;
  for (let p = 0; p < level.count; p++) {
    const pix = Math.floor(p / stored);
    const c = (p % stored) * level.channelStep;
    const r = ref[level.offset + p];
    diff = Math.max(diff, Math.abs(ours[pix * oursChannels + c] - r));
    scale = Math.max(scale, Math.abs(r));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}

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

  it('folds BatchNorm into the conv exactly as y = gamma (conv - mean) / sqrt(var + eps) + beta', () => {
    // 1 output channel, 2 input channels, 1x2 kernel: OIHW [1,2,1,2]
    const w = new Float32Array([1, 2, 3, 4]);
    const { hwio, bias } = foldConvBn(w, [1, 2, 1, 2], new Float32Array([2]), new Float32Array([0.5]), new Float32Array([1]), new Float32Array([3]), 1);
    // scale = 2 / sqrt(4) = 1; HWIO order [h][w][i][o]: (w0,i0)=1, (w0,i1)=3, (w1,i0)=2, (w1,i1)=4
    assert.deepEqual([...hwio], [1, 3, 2, 4]);
    assert.deepEqual([...bias], [-0.5]);
  });

  it('errors: no weights configured, missing file, wrong architecture', async () => {
    const saved = process.env.RESAD_WRN50_WEIGHTS;
    delete process.env.RESAD_WRN50_WEIGHTS;
    try {
      await assert.rejects(createBackbone('wide_resnet50_2'), (err: Error) => {
        assert.match(err.message, /RESAD_WRN50_WEIGHTS/);
        assert.match(err.message, /scripts\/export_wrn50_safetensors\.py/);
        assert.match(err.message, /wide_resnet50_2\.tv_in1k/);
        return true;
      });
      process.env.RESAD_WRN50_WEIGHTS = path.join(dir, 'nope.safetensors');
      assert.throws(() => createResNet('wide_resnet50_2'), /nope\.safetensors \(from RESAD_WRN50_WEIGHTS\) does not exist/);
    } finally {
      if (saved === undefined) delete process.env.RESAD_WRN50_WEIGHTS;
      else process.env.RESAD_WRN50_WEIGHTS = saved;
    }
    assert.throws(
      () => createResNet('wide_resnet50_2', { weights: files.resnet18 }),
      /resnet18_formula\.safetensors: tensor 'layer1\.0\.conv1\.weight' has shape \[64, 64, 3, 3\], expected \[128, 64, 1, 1\]/,
    );
    assert.throws(() => createResNet('resnet18', { weights: files.resnet18, layers: ['layer3', 'layer1'] }), /increasing subset/);
    assert.throws(() => createResNet('resnet18', { weights: files.resnet18, layers: ['layer5'] }), /unknown layer 'layer5'/);
  });
});
