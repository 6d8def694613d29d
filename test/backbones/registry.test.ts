import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CPU_CONFIG, OFFLINE_CPU_CONFIG } from '../../src/resad/config';
import { BACKBONE_ENV_VAR, DEFAULT_BACKBONE, DEFAULT_BACKBONE_IMAGE_SIZE, OFFLINE_BACKBONE, OFFLINE_BACKBONE_IMAGE_SIZE, PACKAGED_MODELS, canonicalBackboneName, createBackbone, defaultBackbone, listBackbones } from '../../src/backbones/index';

describe('backbones/registry', function () {
  this.timeout(60000);
  before(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('lists packaged (available), ImageNet backbones (available only with weights) and the user syntaxes', () => {
    const saved = { wrn: process.env.RESAD_WRN50_WEIGHTS, home: process.env.RESAD_HOME, shared: process.env.RESAD_SHARED_BACKBONES };
    delete process.env.RESAD_WRN50_WEIGHTS;
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-registry-'));
    process.env.RESAD_HOME = home;
    process.env.RESAD_SHARED_BACKBONES = path.join(home, 'no-shared-copy');
    try {
      const list = listBackbones();
      const byName = new Map(list.map((l) => [l.name, l]));
      for (const n of Object.keys(PACKAGED_MODELS)) assert.equal(byName.get(n)?.available, true, n);
      for (const n of ['wide_resnet50_2', DEFAULT_BACKBONE, 'mobilenetv2_imagenet']) {
        assert.equal(byName.get(n)?.kind, 'imagenet', n);
        assert.equal(byName.get(n)?.available, false, `${n}: nothing in an empty cache`);
        assert.match(byName.get(n)?.note ?? '', new RegExp(`resad weights get ${n}`));
      }
      assert.ok(list.some((l) => l.name.startsWith('layers:')) && list.some((l) => l.name.startsWith('graph:')));
      assert.equal(byName.get(OFFLINE_BACKBONE)?.kind, 'packaged', 'the fallback works offline');
      assert.equal(defaultBackbone(), OFFLINE_BACKBONE, 'no ImageNet weights anywhere: the packaged backbone');
      process.env.RESAD_WRN50_WEIGHTS = path.join(home, 'wrn.safetensors');
      assert.match(listBackbones().find((l) => l.name === 'wide_resnet50_2')?.note ?? '', /wrn\.safetensors \(from RESAD_WRN50_WEIGHTS\) does not exist/);
    } finally {
      for (const [k, v] of [['RESAD_WRN50_WEIGHTS', saved.wrn], ['RESAD_HOME', saved.home], ['RESAD_SHARED_BACKBONES', saved.shared]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('one default: the cpu presets run DEFAULT_BACKBONE and its offline fallback', () => {
    assert.equal(CPU_CONFIG.backbone, DEFAULT_BACKBONE);
    assert.equal(OFFLINE_CPU_CONFIG.backbone, OFFLINE_BACKBONE);
    assert.equal(CPU_CONFIG.imageSize, DEFAULT_BACKBONE_IMAGE_SIZE);
    assert.equal(OFFLINE_CPU_CONFIG.imageSize, OFFLINE_BACKBONE_IMAGE_SIZE);
    // Both are built-in names as the registry spells them.
    assert.equal(canonicalBackboneName(DEFAULT_BACKBONE), DEFAULT_BACKBONE);
    assert.equal(canonicalBackboneName(OFFLINE_BACKBONE), OFFLINE_BACKBONE);
  });

  it('canonical names: case, dashes and aliases', () => {
    assert.equal(canonicalBackboneName('WRN50'), 'wide_resnet50_2');
    assert.equal(canonicalBackboneName('wide-resnet50-2'), 'wide_resnet50_2');
    // The packaged models' old names stay accepted (saved models name them).
    assert.equal(canonicalBackboneName('Inception_V3'), 'nsfw_inceptionv3');
    assert.equal(canonicalBackboneName('mobilenet_v2'), 'nsfw_mobilenetv2');
    assert.equal(canonicalBackboneName('mobilenetv2'), 'nsfw_mobilenetv2');
    assert.equal(canonicalBackboneName('mobilenetv2_mid'), 'nsfw_mobilenetv2_mid');
    assert.equal(canonicalBackboneName('ResNet50-v2'), 'resnet50_v2');
    assert.equal(canonicalBackboneName('mobilenetv2_imagenet'), 'mobilenetv2_imagenet');
    assert.equal(canonicalBackboneName('vgg16'), null);
  });

  it(`createBackbone() uses ${BACKBONE_ENV_VAR}, else defaultBackbone()`, async () => {
    const saved = process.env[BACKBONE_ENV_VAR];
    try {
      process.env[BACKBONE_ENV_VAR] = 'MobileNet_V2';
      const a = await createBackbone();
      assert.equal(a.name, 'nsfw_mobilenetv2');
      a.dispose();
      process.env[BACKBONE_ENV_VAR] = 'nsfw_mobilenetv2_mid';
      const m = await createBackbone();
      assert.equal(m.name, 'nsfw_mobilenetv2_mid', 'the env var really changes the choice');
      m.dispose();
      delete process.env[BACKBONE_ENV_VAR];
      const before = tf.memory().numTensors;
      const b = await createBackbone();
      assert.equal(b.name, defaultBackbone());
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
