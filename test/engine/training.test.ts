/**
 * End-to-end: a small Conv + BatchNorm + ReLU (+ depthwise, strided conv, dense)
 * tf.layers model trained with Adam from identical weights on cpu and on
 * patched wasm. Stock wasm cannot train it at all (no Conv2DBackpropFilter).
 * Tolerance: every step's loss within 1e-5 relative, final weights within 1e-4
 * scale-relative (measured: ~1e-7 and <=5e-6; Adam divides by sqrt(v), which
 * magnifies float32 rounding differences on near-zero gradients a little).
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../../src/engine/wasm-kernels';
import { maxRelErr, randomData, sizeOf, useBackend } from './helpers';

const STEPS = 5;

function buildModel(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  h = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 1 }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4 }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

async function train(backend: string): Promise<{ losses: number[]; weights: Float32Array[]; leaked: number }> {
  await useBackend(backend);
  const before = tf.memory().numTensors;
  const model = buildModel();
  // Seeded weights for every trainable kernel; BN keeps its deterministic ones/zeros.
  const init = model.getWeights().map((w, i) => (model.weights[i].originalName.includes('kernel')
    ? tf.tensor(randomData(1000 + i, w.size).map((v) => v * 0.3), w.shape)
    : w.clone()));
  model.setWeights(init);
  tf.dispose(init);
  const optimizer = tf.train.adam(0.01);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const x = tf.tensor(randomData(1, sizeOf([6, 12, 12, 3])), [6, 12, 12, 3]);
  const y = tf.tensor(randomData(2, 24), [6, 4]);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) losses.push((await model.trainOnBatch(x, y)) as number);
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return { losses, weights, leaked: tf.memory().numTensors - before };
}

describe('engine: Conv+BN+ReLU training with Adam, cpu vs patched wasm', function () {
  let previous = '';
  before(() => {
    previous = tf.getBackend() ?? '';
  });
  after(async () => {
    registerWasmTrainingKernels();
    if (previous) await tf.setBackend(previous);
  });

  it('stock wasm cannot train a conv net (this is what the patch fixes)', async () => {
    unregisterWasmTrainingKernels();
    try {
      await assert.rejects(train('wasm'), /Conv2DBackpropFilter|DepthwiseConv2dNativeBackprop/);
    } finally {
      registerWasmTrainingKernels();
    }
  });

  it(`${STEPS} Adam steps give the same losses and weights, and leak nothing`, async () => {
    registerWasmTrainingKernels();
    const cpu = await train('cpu');
    const wasm = await train('wasm');
    assert.ok(cpu.losses[STEPS - 1] < cpu.losses[0], `loss decreases on cpu: ${cpu.losses}`);
    for (let s = 0; s < STEPS; s++) {
      const rel = Math.abs(wasm.losses[s] - cpu.losses[s]) / Math.abs(cpu.losses[s]);
      assert.ok(rel < 1e-5, `step ${s}: wasm ${wasm.losses[s]} vs cpu ${cpu.losses[s]} (rel ${rel.toExponential(2)})`);
    }
    assert.equal(wasm.weights.length, cpu.weights.length);
    cpu.weights.forEach((w, i) => {
      const err = maxRelErr(wasm.weights[i], w);
      assert.ok(err < 1e-4, `weight ${i}: max rel err ${err.toExponential(2)}`);
    });
    assert.equal(wasm.leaked, 0, 'wasm training leaked tensors');
    assert.equal(cpu.leaked, 0, 'cpu training leaked tensors');
  });
});
