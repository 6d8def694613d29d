import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { BACKBONE_ENV_VAR, DEFAULT_BACKBONE, PACKAGED_MODELS, canonicalBackboneName, createBackbone, listBackbones } from '../../src/backbones/index';

describe('backbones/registry', function () {
  this.timeout(60000);
  before(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('lists packaged (available), ResNets (available only with weights) and the user syntaxes', () => {
    const saved = process.env.RESAD_WRN50_WEIGHTS;
    delete process.env.RESAD_WRN50_WEIGHTS;
    try {
      const list = listBackbones();
      const byName = new Map(list.map((l) => [l.name, l]));
      for (const n of Object.keys(PACKAGED_MODELS)) assert.equal(byName.get(n)?.available, true, n);
      const wrn = byName.get('wide_resnet50_2');
      assert.equal(wrn?.available, false);
      assert.match(wrn?.note ?? '', /RESAD_WRN50_WEIGHTS/);
      assert.ok(list.some((l) => l.name.startsWith('layers:')) && list.some((l) => l.name.startsWith('graph:')));
      assert.ok(byName.has(DEFAULT_BACKBONE), 'the default is a listed backbone');
      assert.equal(byName.get(DEFAULT_BACKBONE)?.kind, 'packaged', 'the default works offline');
    } finally {
      if (saved !== undefined) process.env.RESAD_WRN50_WEIGHTS = saved;
    }
  });

  it('canonical names: case, dashes and aliases', () => {
    assert.equal(canonicalBackboneName('WRN50'), 'wide_resnet50_2');
    assert.equal(canonicalBackboneName('wide-resnet50-2'), 'wide_resnet50_2');
    assert.equal(canonicalBackboneName('Inception_V3'), 'inceptionv3');
    assert.equal(canonicalBackboneName('mobilenet_v2'), 'mobilenetv2');
    assert.equal(canonicalBackboneName('vgg16'), null);
  });

  it(`createBackbone() uses ${BACKBONE_ENV_VAR}, else DEFAULT_BACKBONE`, async () => {
    const saved = process.env[BACKBONE_ENV_VAR];
    try {
      process.env[BACKBONE_ENV_VAR] = 'MobileNet_V2';
      const a = await createBackbone();
      assert.equal(a.name, 'mobilenetv2');
      assert.notEqual(a.name, DEFAULT_BACKBONE, 'the env var really changed the choice');
      a.dispose();
      delete process.env[BACKBONE_ENV_VAR];
      const before = tf.memory().numTensors;
      const b = await createBackbone();
      assert.equal(b.name, DEFAULT_BACKBONE);
      b.dispose();
      assert.equal(tf.memory().numTensors, before, 'dispose frees the weights');
      assert.throws(() => b.extract(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D), /after dispose/);
    } finally {
      if (saved === undefined) delete process.env[BACKBONE_ENV_VAR];
      else process.env[BACKBONE_ENV_VAR] = saved;
    }
  });

  it('extract() checks its input', async () => {
    const bb = await createBackbone('mobilenetv2_mid');
    try {
      const gray = tf.zeros([1, 64, 64, 1]) as tf.Tensor4D;
      assert.throws(() => bb.extract(gray), /NHWC RGB images \[N, H, W, 3\], got shape \[1, 64, 64, 1\]/);
      const ints = tf.zeros([1, 64, 64, 3], 'int32') as tf.Tensor4D;
      assert.throws(() => bb.extract(ints), /float32 images in \[0,1\], got int32/);
      tf.dispose([gray, ints]);
    } finally {
      bb.dispose();
    }
  });
});
