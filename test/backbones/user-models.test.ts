/**
 * User models through the registry: 'layers:PATH[#names]' on a tiny Keras-style
 * model saved to a temp dir (model.json + weights.bin, as tfjs writes them),
 * and 'graph:PATH[#nodes]' on a hand-written converter-format graph.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { createBackbone, parseUserModelSpec } from '../../src/backbones/index';

/** Saves a layers model as model.json + weights.bin in dir (what tfjs-node's file:// handler writes). */
async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<string> {
  await model.save(
    tf.io.withSaveHandler(async (art) => {
      const json = {
        format: 'layers-model',
        modelTopology: art.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(art.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}

/** conv(s2) r1 | conv(s2) r2 | conv(s1) r2b | conv(s2) r3 | conv(s2) r4 | flatten + dense head (fixed 64x64 input). */
function tinyLayersModel(): tf.LayersModel {
  const input = tf.input({ shape: [64, 64, 3], name: 'image' });
  const conv = (x: tf.SymbolicTensor, filters: number, strides: number, name: string): tf.SymbolicTensor =>
    tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', name, kernelInitializer: tf.initializers.glorotUniform({ seed: filters + strides }) }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string): tf.SymbolicTensor => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;
  const r1 = relu(conv(input, 4, 2, 'c1'), 'r1');
  const r2 = relu(conv(r1, 6, 2, 'c2'), 'r2');
  const r2b = relu(conv(r2, 6, 1, 'c2b'), 'r2b');
  const r3 = relu(conv(r2b, 8, 2, 'c3'), 'r3');
  const r4 = relu(conv(r3, 10, 2, 'c4'), 'r4');
  const flat = tf.layers.flatten({ name: 'flat' }).apply(r4) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: 'head' }).apply(flat) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'tiny' });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A converter-format graph: input -> 4 x (Conv2D SAME stride 2 + Relu), scoped node names. */
function writeTinyGraph(dir: string): { file: string; weights: Array<{ name: string; shape: number[]; data: Float32Array }> } {
  const node: object[] = [
    { name: 'input', op: 'Placeholder', attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '64' }, { size: '64' }, { size: '3' }] } }, dtype: { type: 'DT_FLOAT' } } },
  ];
  const weights: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  let prev = 'input';
  let cin = 3;
  [4, 6, 8, 10].forEach((cout, k) => {
    const wName = `net/block${k + 1}/conv/weights`;
    const shape = [3, 3, cin, cout];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.7 + k) * 0.3);
    weights.push({ name: wName, shape, data });
    node.push({ name: wName, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } }, dtype: { type: 'DT_FLOAT' } } });
    node.push({
      name: `net/block${k + 1}/conv/Conv2D`,
      op: 'Conv2D',
      input: [prev, wName],
      attr: {
        T: { type: 'DT_FLOAT' },
        strides: { list: { i: ['1', '2', '2', '1'] } },
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
        dilations: { list: { i: ['1', '1', '1', '1'] } },
      },
    });
    node.push({ name: `net/block${k + 1}/Relu`, op: 'Relu', input: [`net/block${k + 1}/conv/Conv2D`], attr: { T: { type: 'DT_FLOAT' } } });
    prev = `net/block${k + 1}/Relu`;
    cin = cout;
  });
  const json = {
    format: 'graph-model',
    generatedBy: 'resad test',
    convertedBy: 'hand',
    modelTopology: { node, library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })) }],
  };
  const file = path.join(dir, 'model.json');
  fs.writeFileSync(file, JSON.stringify(json));
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer))));
  return { file, weights };
}

describe('backbones/user models (layers:PATH, graph:PATH)', function () {
  this.timeout(60000);
  let dir: string;
  let layersFile: string;
  let reference: tf.LayersModel;

  before(async () => {
    await initEngine({ backend: 'wasm', quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-user-'));
    fs.mkdirSync(path.join(dir, 'layers'));
    fs.mkdirSync(path.join(dir, 'graph'));
    reference = tinyLayersModel();
    layersFile = await saveLayersModel(reference, path.join(dir, 'layers'));
  });
  after(() => {
    reference?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('parses specs: path, optional #names', () => {
    assert.deepEqual(parseUserModelSpec('layers:/a/b/model.json#x, y,z'), { kind: 'layers', path: '/a/b/model.json', layers: ['x', 'y', 'z'] });
    assert.deepEqual(parseUserModelSpec('graph:/m.json'), { kind: 'graph', path: '/m.json', layers: null });
    assert.equal(parseUserModelSpec('mobilenetv2'), null);
    assert.throws(() => parseUserModelSpec('layers:/m.json#'), /nothing after '#'/);
  });

  it('layers:PATH#names gives those layers, infers channels/strides, equals the original model, any input size', async () => {
    const bb = await createBackbone(`layers:${layersFile}#r2,r3,r4`);
    try {
      assert.deepEqual(bb.levels, [
        { name: 'r2', channels: 6, stride: 4 },
        { name: 'r3', channels: 8, stride: 8 },
        { name: 'r4', channels: 10, stride: 16 },
      ]);
      const x = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      const ours = bb.extract(x);
      const sub = tf.model({ inputs: reference.inputs, outputs: ['r2', 'r3', 'r4'].map((n) => reference.getLayer(n).output as tf.SymbolicTensor) });
      const theirs = sub.predict(x) as tf.Tensor[];
      ours.forEach((o, i) => assert.deepEqual(o.dataSync(), theirs[i].dataSync(), `level ${i}`));
      tf.dispose([x, ...ours, ...theirs]);
      // The Flatten/Dense head was cut away, so a non-multiple size works too.
      assert.deepEqual(bb.featureSizes(200, 120), [[50, 30], [25, 15], [13, 8]]);
      const before = tf.memory().numTensors;
      const y = tf.zeros([1, 100, 100, 3]) as tf.Tensor4D;
      tf.dispose(bb.extract(y));
      y.dispose();
      assert.equal(tf.memory().numTensors, before, 'no leak');
    } finally {
      bb.dispose();
    }
  });

  it('layers:PATH without names picks the last feature layer at strides 4/8/16; input option scales', async () => {
    const bb = await createBackbone(`layers:${layersFile}`);
    const scaled = await createBackbone(`layers:${layersFile}#r2`, { input: { scale: 255, mean: [1, 2, 3], std: [2, 2, 2] } });
    try {
      assert.deepEqual(bb.levels.map((l) => [l.name, l.stride]), [['r2b', 4], ['r3', 8], ['r4', 16]]);
      assert.deepEqual(scaled.inputNormalization, { scale: 255, mean: [1, 2, 3], std: [2, 2, 2] });
      const x = tf.randomUniform([1, 64, 64, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
      const [got] = scaled.extract(x);
      const sub = tf.model({ inputs: reference.inputs, outputs: reference.getLayer('r2').output as tf.SymbolicTensor });
      const want = tf.tidy(() => sub.predict(x.mul(255).sub(tf.tensor1d([1, 2, 3])).div(2)) as tf.Tensor);
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]);
      assert.ok(d < 1e-3, `normalised input: max diff ${d}`);
      tf.dispose([x, got, want]);
    } finally {
      bb.dispose();
      scaled.dispose();
    }
  });

  it('graph:PATH#nodes accepts full names and unique /-suffixes; values equal plain tf ops; auto levels', async () => {
    const { file, weights } = writeTinyGraph(path.join(dir, 'graph'));
    const bb = await createBackbone(`graph:${file}#block2/Relu,net/block3/Relu,block4/Relu`);
    const auto = await createBackbone(`graph:${file}`);
    try {
      assert.deepEqual(bb.levels, [
        { name: 'block2/Relu', channels: 6, stride: 4 },
        { name: 'net/block3/Relu', channels: 8, stride: 8 },
        { name: 'block4/Relu', channels: 10, stride: 16 },
      ]);
      assert.deepEqual(auto.levels.map((l) => l.name), ['net/block2/Relu', 'net/block3/Relu', 'net/block4/Relu']);
      // Placeholder said 64x64; the loader frees it.
      const x = tf.randomUniform([1, 96, 80, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
      const ours = bb.extract(x);
      const want = tf.tidy(() => {
        let h: tf.Tensor4D = x;
        const outs: tf.Tensor4D[] = [];
        for (const w of weights) {
          h = tf.relu(tf.conv2d(h, tf.tensor4d(w.data, w.shape as [number, number, number, number]), 2, 'same'));
          outs.push(h);
        }
        return outs.slice(1);
      });
      ours.forEach((o, i) => {
        assert.deepEqual(o.shape, want[i].shape);
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(o, want[i]))).dataSync()[0]);
        assert.ok(d < 1e-5, `node ${i}: ${d}`);
      });
      tf.dispose([x, ...ours, ...want]);
    } finally {
      bb.dispose();
      auto.dispose();
    }
  });

  it('errors name the file and the layer/node', async () => {
    await assert.rejects(createBackbone(`layers:${layersFile}#r2,nope`), (e: Error) => e.message.includes(layersFile) && /no layer named 'nope'/.test(e.message));
    const { file } = writeTinyGraph(path.join(dir, 'graph'));
    await assert.rejects(createBackbone(`graph:${file}#Relu`), /ambiguous/);
    await assert.rejects(createBackbone(`graph:${file}#block9/Relu`), (e: Error) => e.message.includes(file) && /no graph node named 'block9\/Relu'/.test(e.message));
    await assert.rejects(createBackbone(`layers:${path.join(dir, 'absent', 'model.json')}`), /absent\/model\.json does not exist/);
    const broken = path.join(dir, 'broken');
    fs.mkdirSync(broken);
    fs.copyFileSync(layersFile, path.join(broken, 'model.json'));
    await assert.rejects(createBackbone(`layers:${path.join(broken, 'model.json')}`), /weight file .*broken\/weights\.bin .*cannot be read/);
    await assert.rejects(createBackbone(`graph:${layersFile}`), /no 'node' list; is it a layers model\?/);
    await assert.rejects(createBackbone('resnet9000'), /unknown backbone 'resnet9000'; available: resnet50_v2, mobilenetv2_imagenet, .*nsfw_mobilenetv2/);
  });
});
