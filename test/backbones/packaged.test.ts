/**
 * The packaged (nsfwjs) backbones: offline loading, declared levels vs real
 * outputs at 224 and at a non-multiple size (200), determinism, no leaks, no
 * trainable variables, and equality with the unmodified models (nsfwjs's own
 * loader for MobileNetV2: proves the base64 decoding; the uncut topology for
 * the others: proves the topology cut and the freed input size).
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { PACKAGED_MODELS, createBackbone } from '../../src/backbones/index';
import { readPackagedArtifacts } from '../../src/backbones/packaged';
import type { Backbone } from '../../src/backbones/index';

interface Expect {
  channels: number[];
  /** Exact sizes at 224 and 200 (InceptionV3's valid padding gives fewer cells). */
  at224: Array<[number, number]>;
  at200: Array<[number, number]>;
  /** nsfwjs model name and native (converted) input size, for the cross-check. */
  nsfw: string;
  native: number;
}

const EXPECT: Record<string, Expect> = {
  nsfw_mobilenetv2: { channels: [144, 192, 576], at224: [[56, 56], [28, 28], [14, 14]], at200: [[50, 50], [25, 25], [12, 12]], nsfw: 'MobileNetV2', native: 224 },
  nsfw_mobilenetv2_mid: { channels: [192, 288, 816], at224: [[56, 56], [28, 28], [14, 14]], at200: [[50, 50], [25, 25], [13, 13]], nsfw: 'MobileNetV2Mid', native: 224 },
  nsfw_inceptionv3: { channels: [192, 288, 768], at224: [[52, 52], [25, 25], [12, 12]], at200: [[46, 46], [22, 22], [10, 10]], nsfw: 'InceptionV3', native: 299 },
};

function trainableVariables(): number {
  return Object.values(tf.engine().state.registeredVariables).filter((v) => v.trainable).length;
}

describe('backbones/packaged (nsfwjs models, offline)', function () {
  this.timeout(180000);
  before(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
  });

  it('PACKAGED_MODELS lists exactly the tested models', () => {
    assert.deepEqual(Object.keys(PACKAGED_MODELS).sort(), Object.keys(EXPECT).sort());
  });

  for (const [name, exp] of Object.entries(EXPECT)) {
    describe(name, () => {
      let bb: Backbone;
      let trainableBefore = 0;
      before(async () => {
        trainableBefore = trainableVariables();
        bb = await createBackbone(name);
      });
      after(() => bb?.dispose());

      it('declares 3 levels at strides 4/8/16 with the expected channels; nothing trainable', () => {
        assert.equal(bb.name, name);
        assert.deepEqual(bb.levels.map((l) => l.channels), exp.channels);
        assert.deepEqual(bb.levels.map((l) => l.stride), [4, 8, 16]);
        assert.deepEqual(bb.levels.map((l) => l.name), [...PACKAGED_MODELS[name].defaultLayers]);
        assert.equal(trainableVariables(), trainableBefore, 'loading adds no trainable variable');
        assert.deepEqual(bb.inputNormalization, { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
      });

      it('outputs match the declared levels for 224 and 200 inputs (batch 2), deterministic, leak-free', () => {
        for (const [size, sizes] of [[224, exp.at224], [200, exp.at200]] as const) {
          assert.deepEqual(bb.featureSizes(size, size), sizes, `featureSizes(${size})`);
          const x = tf.randomUniform([2, size, size, 3], 0, 1, 'float32', size) as tf.Tensor4D;
          const before = tf.memory().numTensors;
          const a = bb.extract(x);
          const b = bb.extract(x);
          a.forEach((t, i) => {
            assert.deepEqual(t.shape, [2, sizes[i][0], sizes[i][1], bb.levels[i].channels], `${size}: level ${i}`);
            // stride really is the nominal one up to valid-padding border loss
            assert.ok(Math.abs(sizes[i][0] - size / bb.levels[i].stride) <= 5);
            const va = t.dataSync();
            assert.deepEqual(va, b[i].dataSync(), 'deterministic');
            let nonZero = 0;
            for (const v of va) if (v !== 0) nonZero++;
            assert.ok(nonZero > va.length * 0.05, `level ${i} is not (almost) all zero`);
          });
          // the two images differ, so must their features
          const img0 = a[2].slice([0, 0, 0, 0], [1, -1, -1, -1]);
          const img1 = a[2].slice([1, 0, 0, 0], [1, -1, -1, -1]);
          assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(img0, img1))).dataSync()[0]) > 0);
          tf.dispose([img0, img1, ...a, ...b]);
          assert.equal(tf.memory().numTensors, before, `${size}: no tensor left behind`);
          x.dispose();
        }
      });

      it(`features equal those of the unmodified model at its native ${exp.native}px`, async () => {
        // nsfw_mobilenetv2: nsfwjs's own loader (independent base64/shard decoding; ~10 s, so only for
        // the smallest model). The others: the uncut topology (fixed input size, classifier head)
        // from the same artifacts, which checks the topology cut and the freed input size.
        let m: tf.LayersModel | tf.GraphModel;
        let nodes: string[] = [];
        if (name === 'nsfw_mobilenetv2') {
          // eslint-disable-next-line @typescript-eslint/no-var-requires
          const nsfwjs = require('nsfwjs') as { load: (n: string, o: { size: number }) => Promise<{ model: tf.LayersModel }> };
          const info = console.info;
          console.info = () => undefined; // nsfwjs announces the model it loads
          try {
            m = (await nsfwjs.load(exp.nsfw, { size: exp.native })).model;
          } finally {
            console.info = info;
          }
        } else {
          const art = readPackagedArtifacts(PACKAGED_MODELS[name]);
          nodes = ((art.json.modelTopology as { node?: Array<{ name: string }> }).node ?? []).map((n) => n.name);
          const io = tf.io.fromMemory({ modelTopology: art.json.modelTopology as object, weightSpecs: art.json.weightsManifest.flatMap((g) => g.weights), weightData: art.weightData });
          m = PACKAGED_MODELS[name].kind === 'layers' ? await tf.loadLayersModel(io) : await tf.loadGraphModel(io);
        }
        const x = tf.randomUniform([1, exp.native, exp.native, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
        const ours = bb.extract(x);
        let theirs: tf.Tensor[];
        if (m instanceof tf.LayersModel) {
          const lm = m;
          const sub = tf.model({ inputs: lm.inputs, outputs: bb.levels.map((l) => lm.getLayer(l.name).output as tf.SymbolicTensor) });
          theirs = sub.predict(x) as tf.Tensor[];
        } else {
          theirs = m.execute(x, bb.levels.map((l) => nodes.find((n) => n.endsWith('/' + l.name)) as string)) as tf.Tensor[];
        }
        ours.forEach((o, i) => {
          assert.deepEqual(o.shape, theirs[i].shape);
          const d = tf.tidy(() => tf.max(tf.abs(tf.sub(o, theirs[i]))).dataSync()[0]);
          assert.ok(d <= 1e-5, `${bb.levels[i].name}: max diff ${d}`);
        });
        tf.dispose([x, ...ours, ...theirs]);
        m.dispose();
      });
    });
  }

  it('custom layer choice and clear errors for unknown layers', async () => {
    const bb = await createBackbone('mobilenetv2', { layers: ['block_5_add', 'block_12_add'] });
    try {
      assert.deepEqual(bb.levels, [
        { name: 'block_5_add', channels: 32, stride: 8 },
        { name: 'block_12_add', channels: 96, stride: 16 },
      ]);
    } finally {
      bb.dispose();
    }
    await assert.rejects(createBackbone('mobilenetv2', { layers: ['block_3_expand_relu', 'block_99_relu'] }), /mobilenetv2 .*model\.min\.js.*no layer named 'block_99_relu'/);
    await assert.rejects(createBackbone('mobilenetv2_mid', { layers: ['expanded_conv_99/expand/Relu6'] }), /no graph node named 'expanded_conv_99\/expand\/Relu6'/);
  });
});
