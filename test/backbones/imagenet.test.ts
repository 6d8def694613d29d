/**
 * The ImageNet backbones (resnet50_v2, mobilenetv2_imagenet) against PyTorch
 * references built independently of resad (scripts/gen_imagenet_fixture.py:
 * ResNet50-v2 written in torch.nn from the model zoo's layer order,
 * MobileNetV2 = torchvision's own network), on the fixture's 64x56 image:
 * - formula weights under the model zoo's tensor names, written here to a
 *   safetensors file AND to an ONNX file (the zoo's format: initializers as
 *   raw bytes, as float lists and as Constant nodes), loaded through the
 *   registry; both files must give the same features;
 * - the real ImageNet weights of ../shared/backbones when that folder exists.
 * Tolerance: max |tfjs - torch| / max |torch| < 1e-4 per level (float32 vs a
 * float64 reference).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { checkWeightsFit, createBackbone, encodeSafetensors, mobileNetV2WeightKeys, resnetV2WeightKeys } from '../../src/backbones/index';
import { encodeModel, ONNX_DTYPE, ONNX_IR_VERSION } from '../../src/util/onnx-proto';
import type { TensorProtoJson } from '../../src/util/onnx-proto';
import { fixtureLevelError as levelError, formulaInput, formulaTensors, loadBackboneFixture as loadFixture } from './formula-weights';
import type { BackboneFixture } from './formula-weights';

const SHARED_BACKBONES = process.env.RESAD_SHARED_BACKBONES ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'backbones');
const TOL = 1e-4;

/** The zoo's format: an ONNX model whose weights are initializers (raw bytes or float lists) or Constant nodes. */
function writeZooStyleOnnx(file: string, tensors: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): void {
  const initializer: TensorProtoJson[] = [];
  const node = [];
  Object.entries(tensors).forEach(([name, t], i) => {
    const values = Float32Array.from(t.data);
    const proto: TensorProtoJson =
      i % 3 === 1
        ? { name, dims: [...t.shape], dataType: ONNX_DTYPE.float, floatData: Array.from(values) }
        : { name, dims: [...t.shape], dataType: ONNX_DTYPE.float, rawData: new Uint8Array(values.buffer) };
    if (i % 3 === 2) node.push({ name: `const_${i}`, opType: 'Constant', input: [], output: [name], attribute: [{ name: 'value', type: 4, t: proto }] });
    else initializer.push(proto);
  });
  node.push({ name: 'id', opType: 'Identity', input: ['data'], output: ['out'], attribute: [] });
  const vi = (name: string): TensorProtoJson & never => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }] } } } }) as never;
  fs.writeFileSync(
    file,
    encodeModel({
      irVersion: ONNX_IR_VERSION,
      producerName: 'test',
      producerVersion: '0',
      graph: { name: 'zoo-like', node, initializer, input: [vi('data')], output: [vi('out')] },
      opsetImport: [{ domain: '', version: 7 }],
      metadataProps: [],
    }),
  );
}

const NETS = [
  { name: 'resnet50_v2', keys: resnetV2WeightKeys, sharedFile: 'resnet50_v2.safetensors', channels: [256, 512, 1024], defaults: ['stage1_act', 'stage2_act', 'stage3_act'] },
  { name: 'mobilenetv2_imagenet', keys: mobileNetV2WeightKeys, sharedFile: 'mobilenetv2_1.0.safetensors', channels: [144, 192, 576], defaults: ['block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'] },
] as const;

describe('backbones/imagenet (resnet50_v2, mobilenetv2_imagenet) against PyTorch', function () {
  this.timeout(180000);
  let dir: string;

  before(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-imagenet-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The fixture's levels, in its order; a backbone's levels go forward, so ResNet50-v2's raw and activated stages take two backbones. */
  async function features(name: string, weights: string, layers: string[], h: number, w: number): Promise<tf.Tensor4D[]> {
    const groups = name === 'resnet50_v2' ? [layers.filter((l) => !l.endsWith('_act')), layers.filter((l) => l.endsWith('_act'))] : [layers];
    const outs: tf.Tensor4D[] = [];
    for (const group of groups) {
      const bb = await createBackbone(name, { weights, layers: group });
      try {
        const x = tf.tensor4d(formulaInput(h, w), [1, h, w, 3]);
        outs.push(...bb.extract(x));
        x.dispose();
      } finally {
        bb.dispose();
      }
    }
    return outs;
  }

  function assertMatches(label: string, outs: tf.Tensor4D[], meta: BackboneFixture, data: Float32Array): void {
    meta.levels.forEach((lv, i) => {
      assert.deepEqual(outs[i].shape, lv.fullShape, `${label} ${lv.name} shape`);
      assert.ok(lv.maxAbs > 0.3 && lv.fractionZero < 0.8, `${label} ${lv.name}: fixture is not degenerate`);
      const err = levelError(outs[i].dataSync() as Float32Array, outs[i].shape[3], lv, data);
      assert.ok(err < TOL, `${label} ${lv.name}: max abs err / scale = ${err.toExponential(2)} >= ${TOL}`);
    });
  }

  for (const net of NETS) {
    it(`${net.name}: formula weights as safetensors and as a zoo-style ONNX file both match PyTorch within ${TOL}`, async () => {
      const { meta, data } = loadFixture(`${net.name}_formula`);
      const { tensors, sums } = formulaTensors(net.keys());
      assert.deepEqual(Object.keys(sums).sort(), Object.keys(meta.weightSums).sort(), 'same tensor names as the PyTorch reference reads');
      for (const [k, s] of Object.entries(meta.weightSums)) assert.ok(Math.abs(sums[k] - s) <= 1e-9 * Math.max(1, Math.abs(s)), `formula differs from python for ${k}`);
      const st = path.join(dir, `${net.name}.safetensors`);
      fs.writeFileSync(st, encodeSafetensors(tensors));
      const onnx = path.join(dir, `${net.name}.onnx`);
      writeZooStyleOnnx(onnx, tensors);
      assert.equal(checkWeightsFit(net.name, onnx).format, 'onnx');

      const [, h, w] = meta.inputShape;
      const layers = meta.levels.map((l) => l.name);
      const fromSt = await features(net.name, st, layers, h, w);
      const fromOnnx = await features(net.name, onnx, layers, h, w);
      assertMatches(net.name, fromSt, meta, data);
      fromSt.forEach((t, i) => assert.deepEqual(fromOnnx[i].dataSync(), t.dataSync(), `${layers[i]}: the ONNX file gives the same features`));
      tf.dispose([...fromSt, ...fromOnnx]);
    });

    const shared = path.join(SHARED_BACKBONES, net.sharedFile);
    const itShared = fs.existsSync(shared) ? it : it.skip;
    itShared(`${net.name}: the real ImageNet weights (../shared/backbones) match PyTorch within ${TOL}`, async () => {
      const { meta, data } = loadFixture(`${net.name}_shared`);
      const [, h, w] = meta.inputShape;
      const outs = await features(net.name, shared, meta.levels.map((l) => l.name), h, w);
      assertMatches(`${net.name} (ImageNet)`, outs, meta, data);
      tf.dispose(outs);
      assert.ok(checkWeightsFit(net.name, shared).checked > 100);
    });

    it(`${net.name}: default levels, strides 4/8/16, feature sizes; no leaked tensors`, async () => {
      const bb = await createBackbone(net.name, { weights: path.join(dir, `${net.name}.safetensors`) });
      try {
        assert.deepEqual(bb.levels.map((l) => l.name), [...net.defaults]);
        assert.deepEqual(bb.levels.map((l) => l.channels), [...net.channels]);
        assert.deepEqual(bb.levels.map((l) => l.stride), [4, 8, 16]);
        assert.deepEqual(bb.featureSizes(224, 224), [[56, 56], [28, 28], [14, 14]]);
        const x = tf.randomUniform([2, 72, 72, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        tf.dispose(bb.extract(x));
        assert.equal(tf.memory().numTensors, before);
        x.dispose();
      } finally {
        bb.dispose();
      }
    });
  }

  it('errors name the file and the first tensor that does not fit; bad level names are refused', async () => {
    const mob = path.join(dir, 'mobilenetv2_imagenet.safetensors');
    await assert.rejects(createBackbone('resnet50_v2', { weights: mob }), /mobilenetv2_imagenet\.safetensors has no tensor 'resnetv24_batchnorm0_gamma'/);
    assert.throws(() => checkWeightsFit('resnet50_v2', mob), /does not fit resnet50_v2: it has no tensor 'resnetv24_batchnorm0_gamma'/);
    // Same names, wrong shape: a MobileNetV2 with one conv replaced.
    const { tensors } = formulaTensors(mobileNetV2WeightKeys());
    tensors.conv_5_weight = { dtype: 'F32', shape: [48, 16, 1, 1], data: new Float32Array(48 * 16) };
    const bad = path.join(dir, 'bad-mobilenet.safetensors');
    fs.writeFileSync(bad, encodeSafetensors(tensors));
    assert.throws(() => checkWeightsFit('mobilenetv2_imagenet', bad), /tensor 'conv_5_weight' has shape \[48, 16, 1, 1\], expected \[96, 16, 1, 1\]/);
    await assert.rejects(createBackbone('resnet50_v2', { weights: path.join(dir, 'resnet50_v2.safetensors'), layers: ['stage4'] }), /unknown level 'stage4'/);
    await assert.rejects(createBackbone('mobilenetv2_imagenet', { weights: mob, layers: ['block_6_expand_relu', 'block_3_expand_relu'] }), /forward order/);
    await assert.rejects(createBackbone('resnet50_v2', { weights: path.join(dir, 'missing.onnx') }), /missing\.onnx/);
  });
});
