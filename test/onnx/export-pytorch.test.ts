/**
 * The exported ONNX graphs against PyTorch, not against our own tfjs path:
 * the PyTorch fixtures the tfjs tests use (backbones: scripts/gen_*_fixture.py
 * on formula weights; constraintor: test/fixtures/constraintor/
 * make_constraintor_fixture.py) fed through the exported graph in
 * onnxruntime. A mistake shared by the tfjs code and the exporter (both ours)
 * would pass the tfjs comparison in export.test.ts, not this one.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '../../src/engine/index';
import { createBackbone, encodeSafetensors, mobileNetV2WeightKeys, resnetV2WeightKeys } from '../../src/backbones/index';
import { createResNet, RESNET_ARCHS } from '../../src/backbones/resnet';
import type { ConstraintorKind } from '../../src/constraintor/kinds';
import { addConstraintorLevel, exportBackboneGraph, OnnxGraph, OnnxSession, onnxRuntime } from '../../src/onnx/index';
import { fixtureLevelError, formulaInput, formulaTensors, loadBackboneFixture, writeFormulaCheckpoint } from '../backbones/formula-weights';

interface ConstraintorCase {
  kind: ConstraintorKind;
  channels: number[];
  weights: Array<{ name: string; shape: number[]; values: number[] }>;
  inputs: Array<{ shape: number[]; values: number[] }>;
  /** Running statistics after the fixture's train-mode forward: what its eval-mode output uses. */
  runningAfter: Array<{ name: string; shape: number[]; values: number[] }>;
  evalOut: Array<{ shape: number[]; values: number[] }>;
}

describe('ONNX export against PyTorch references (onnxruntime)', function () {
  this.timeout(300000);
  let dir: string;

  before(async function () {
    if (onnxRuntime() === null) {
      console.log('    (skipped: onnxruntime-node is not installed)');
      this.skip();
    }
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-onnx-torch-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the backbone's exported graph on the fixture's input and compares each level with PyTorch (max error / scale < 1e-4). */
  async function assertExportedBackboneMatchesTorch(fixture: string, make: (layers: string[]) => Promise<Parameters<typeof exportBackboneGraph>[0]>, layers: string[]): Promise<void> {
    const { meta, data } = loadBackboneFixture(fixture);
    const [, h, w] = meta.inputShape;
    const net = await make(layers);
    const session = await OnnxSession.create(exportBackboneGraph(net).toBytes());
    try {
      const out = await session.run({ images: { data: formulaInput(h, w), dims: [1, h, w, 3] } });
      layers.forEach((name, l) => {
        const level = meta.levels.find((lv) => lv.name === name)!;
        const got = out[`level${l}`];
        assert.deepEqual(got.dims, level.fullShape, `${fixture} ${name} shape`);
        const err = fixtureLevelError(got.data, got.dims[3], level, data);
        assert.ok(err < 1e-4, `${fixture} ${name}: max abs err / scale = ${err.toExponential(2)}`);
      });
    } finally {
      await session.release();
      net.dispose();
    }
  }

  it('resnet50_v2 exported: the default levels equal PyTorch', async () => {
    const weights = path.join(dir, 'resnet50_v2.safetensors');
    fs.writeFileSync(weights, encodeSafetensors(formulaTensors(resnetV2WeightKeys()).tensors));
    await assertExportedBackboneMatchesTorch('resnet50_v2_formula', (layers) => createBackbone('resnet50_v2', { weights, layers }), ['stage1_act', 'stage2_act', 'stage3_act']);
  });

  it('mobilenetv2_imagenet exported: the default levels equal torchvision', async () => {
    const weights = path.join(dir, 'mobilenetv2.safetensors');
    fs.writeFileSync(weights, encodeSafetensors(formulaTensors(mobileNetV2WeightKeys()).tensors));
    await assertExportedBackboneMatchesTorch('mobilenetv2_imagenet_formula', (layers) => createBackbone('mobilenetv2_imagenet', { weights, layers }), ['block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu']);
  });

  it("wide_resnet50_2 exported (the paper's backbone): layer1-3 equal torchvision", async () => {
    const { file } = writeFormulaCheckpoint(RESNET_ARCHS.wide_resnet50_2, 3, dir);
    await assertExportedBackboneMatchesTorch('wide_resnet50_2_formula', async (layers) => createResNet('wide_resnet50_2', { weights: file, layers }), ['layer1', 'layer2', 'layer3']);
  });

  const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'constraintor', 'constraintor_fixture.json'), 'utf8')) as { torch: string; cases: ConstraintorCase[] };
  for (const kind of ['conv-bn', 'conv-bn-relu'] as const) {
    it(`constraintor '${kind}' exported (BatchNorm folded) gives PyTorch's eval-mode output`, async () => {
      const fc = fixture.cases.find((c) => c.kind === kind)!;
      const weights = new Map([...fc.weights, ...fc.runningAfter].map((w) => [w.name, { shape: w.shape, values: Float32Array.from(w.values) }]));
      const g = new OnnxGraph(`constraintor-${kind}`);
      fc.channels.forEach((c, l) => {
        const [b, h, w] = fc.inputs[l].shape;
        const r = g.input(`r${l}`, [b * h * w, c]);
        g.output(addConstraintorLevel(g, kind, weights, l, r, h, w, c), `y${l}`, [b, h * w, c]);
      });
      const session = await OnnxSession.create(g.toBytes());
      try {
        const feeds = Object.fromEntries(fc.inputs.map((x, l) => [`r${l}`, { data: Float32Array.from(x.values), dims: [x.shape[0] * x.shape[1] * x.shape[2], x.shape[3]] }]));
        const out = await session.run(feeds);
        fc.evalOut.forEach((want, l) => {
          const got = out[`y${l}`].data;
          assert.equal(got.length, want.values.length);
          want.values.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 2e-5 + 2e-5 * Math.abs(v), `level ${l} [${i}]: ${got[i]} vs torch ${v}`));
        });
      } finally {
        await session.release();
      }
    });
  }
});
