/**
 * The convs, conv gradients and matmuls that onnxruntime-node runs inside the
 * wasm backend, against the pure-JS cpu backend (values and gradients, scale-
 * relative 1e-4 as the wasm kernels), with proof that they really ran there
 * (call counts), that what they do not cover falls through to wasm, and that
 * a seeded training (fused flow updates included) gives the same losses with
 * and without them. Skipped,
 * saying why, where onnxruntime-node cannot load.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/engine/wasm-kernels';
import { ONNX_KERNELS, onnxKernelCalls, onnxKernelsActive, onnxKernelsProblem, registerOnnxKernels, unregisterOnnxKernels } from '../../src/engine/onnx-kernels';
import { expectClose, leakedTensors, runOn, seeded, withGrads } from './helpers';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import { ResADModel, trainResAD } from '../../src/resad/index';
import type { EpochReport } from '../../src/resad/index';
import { TINY_CONFIG } from '../helpers/tiny-backbone';
import { OFFLINE_BACKBONE } from '../../src/backbones/defaults';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const TOL = 1e-4;

/** Runs fn on cpu and on wasm with the onnxruntime kernels; returns how many kernel calls went to onnxruntime and how many fell through. */
async function compareOnOnnx(fn: () => tf.Tensor[], label: string): Promise<{ onnx: number; wasm: number }> {
  const ref = await runOn('cpu', fn);
  onnxKernelCalls(true);
  const got = await runOn('wasm', fn);
  const calls = onnxKernelCalls(true);
  expectClose(got, ref, TOL, label);
  return calls;
}

describe('engine: onnxruntime kernels inside wasm vs cpu', function () {
  let previous = '';
  before(async function () {
    if (onnxKernelsProblem() !== null) {
      console.log(`      skipped: ${onnxKernelsProblem()}`);
      this.skip();
    }
    previous = tf.getBackend() ?? '';
    await tf.setBackend('wasm');
    unregisterOnnxKernels();
    registerWasmTrainingKernels();
    // Every size goes to onnxruntime here, so small test shapes exercise it.
    registerOnnxKernels({ minWork: 1 });
  });
  after(async () => {
    unregisterOnnxKernels();
    if (previous) await tf.setBackend(previous);
  });

  it('wraps every kernel it lists, idempotently, and puts the wasm ones back', () => {
    assert.deepEqual(onnxKernelsActive(), [...ONNX_KERNELS]);
    const wrapped = tf.getKernel('Conv2D', 'wasm').kernelFunc;
    assert.deepEqual(registerOnnxKernels({ minWork: 1 }), [...ONNX_KERNELS]);
    assert.equal(tf.getKernel('Conv2D', 'wasm').kernelFunc, wrapped, 'idempotent');
    unregisterOnnxKernels();
    assert.deepEqual(onnxKernelsActive(), []);
    assert.notEqual(tf.getKernel('Conv2D', 'wasm').kernelFunc, wrapped);
    registerOnnxKernels({ minWork: 1 });
  });

  const convCases: Array<{ x: number[]; w: number[]; s: number | [number, number]; pad: 'same' | 'valid' | number }> = [
    { x: [2, 13, 11, 16], w: [3, 3, 16, 24], s: 1, pad: 'same' },
    { x: [2, 13, 11, 16], w: [3, 3, 16, 24], s: 2, pad: 'same' },
    { x: [1, 12, 12, 8], w: [3, 3, 8, 5], s: 1, pad: 'valid' },
    { x: [1, 15, 14, 6], w: [5, 3, 6, 7], s: [2, 1], pad: 'valid' },
    { x: [3, 9, 9, 4], w: [1, 1, 4, 12], s: 1, pad: 0 },
    { x: [1, 10, 10, 3], w: [7, 7, 3, 8], s: 2, pad: 3 },
  ];
  for (const c of convCases) {
    it(`conv2d + both gradients: x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s${JSON.stringify(c.s)} ${c.pad}`, async () => {
      const calls = await compareOnOnnx(withGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad), [seeded(1, c.x), seeded(2, c.w)]), 'conv');
      // forward twice (y, and inside grads), dx, dw
      assert.equal(calls.onnx, 4, `calls ${JSON.stringify(calls)}`);
      assert.equal(calls.wasm, 0);
    });
  }

  it('conv2dTranspose (Conv2DBackpropInput as a forward op), stride 2', async () => {
    const calls = await compareOnOnnx(() => [tf.conv2dTranspose(seeded(3, [1, 5, 6, 8])() as tf.Tensor4D, seeded(4, [3, 3, 4, 8])() as tf.Tensor4D, [1, 10, 12, 4], 2, 'same')], 'conv2dTranspose');
    assert.equal(calls.onnx, 1);
  });

  const mmCases: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
    { a: [67, 45], b: [45, 71], ta: false, tb: false },
    { a: [45, 67], b: [71, 45], ta: true, tb: true },
    { a: [3, 20, 30], b: [3, 30, 25], ta: false, tb: false },
    { a: [3, 30, 20], b: [3, 25, 30], ta: true, tb: true },
    { a: [2, 2, 10, 12], b: [2, 2, 12, 9], ta: false, tb: false },
  ];
  for (const c of mmCases) {
    it(`matMul + gradients: a${JSON.stringify(c.a)} b${JSON.stringify(c.b)} tA=${c.ta} tB=${c.tb}`, async () => {
      const calls = await compareOnOnnx(withGrads((a, b) => tf.matMul(a, b, c.ta, c.tb), [seeded(5, c.a), seeded(6, c.b)]), 'matMul');
      assert.equal(calls.onnx, 4, `calls ${JSON.stringify(calls)}`);
    });
  }

  it('fused matMul with bias ([n] and [1, n]) and relu; other activations fall through to wasm', async () => {
    const a = seeded(7, [40, 30]);
    const b = seeded(8, [30, 20]);
    const calls = await compareOnOnnx(() => [
      tf.fused.matMul({ a: a() as tf.Tensor2D, b: b() as tf.Tensor2D, bias: seeded(9, [20])(), activation: 'relu' }),
      tf.fused.matMul({ a: b() as tf.Tensor2D, b: a() as tf.Tensor2D, transposeA: true, transposeB: true, bias: seeded(10, [1, 40])() }),
      tf.fused.matMul({ a: a() as tf.Tensor2D, b: b() as tf.Tensor2D, bias: seeded(11, [20])(), activation: 'elu' }),
    ], 'fused');
    // elu falls through to the wasm kernel, whose inner plain matMul then runs here: 3 + 1.
    assert.deepEqual(calls, { onnx: 3, wasm: 1 });
  });

  it('sum and mean over any axes (BatchNorm statistics), keepDims, negative axes, full reductions; int32 falls through', async () => {
    const x = seeded(24, [3, 5, 4, 6]);
    const calls = await compareOnOnnx(() => [
      tf.sum(x(), [0, 1, 2]),
      tf.mean(x(), [0, 1, 2], true),
      tf.sum(x(), -1),
      tf.mean(x(), [1, 3]),
      tf.sum(x()),
      ...withGrads((a) => tf.mean(tf.square(a), [0, 1, 2]), [x])(),
      tf.cast(tf.sum(tf.cast(x(), 'int32'), [0]), 'float32'),
    ], 'reductions');
    assert.ok(calls.onnx >= 6 && calls.wasm >= 1, `calls ${JSON.stringify(calls)}`);
  });

  it('leaves broadcast batches and work under minWork to the wasm kernels', async () => {
    const calls = await compareOnOnnx(() => [tf.matMul(seeded(12, [4, 9, 7])(), seeded(13, [7, 5])())], 'broadcast');
    assert.deepEqual(calls, { onnx: 0, wasm: 1 });
    unregisterOnnxKernels();
    registerOnnxKernels({ minWork: 10_000 });
    try {
      const small = await compareOnOnnx(() => [tf.matMul(seeded(14, [10, 10])(), seeded(15, [10, 10])()), tf.matMul(seeded(16, [40, 30])(), seeded(17, [30, 20])())], 'minWork');
      assert.deepEqual(small, { onnx: 1, wasm: 1 }, '1,000 multiply-adds stay on wasm, 24,000 go to onnxruntime');
    } finally {
      unregisterOnnxKernels();
      registerOnnxKernels({ minWork: 1 });
    }
  });

  it('leaves no tensors behind (conv and matmul, forward + backward)', async () => {
    const leaked = await leakedTensors(withGrads((x, w, m) => tf.add(tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')), tf.sum(tf.matMul(m, m, false, true))), [seeded(18, [2, 8, 8, 4]), seeded(19, [3, 3, 4, 6]), seeded(20, [12, 9])]));
    assert.equal(leaked, 0);
  });

  it('sanity: a wrong kernel gives a large error (the comparison can fail)', async () => {
    const ref = await runOn('cpu', () => [tf.matMul(seeded(21, [20, 30])(), seeded(22, [30, 10])())]);
    const got = await runOn('wasm', () => [tf.matMul(seeded(21, [20, 30])(), seeded(23, [30, 10])())]);
    assert.throws(() => expectClose(got, ref, TOL, 'sanity'), /max rel err/);
  });

  it('a seeded ResAD training gives the same losses with and without them (1e-4 relative)', async function () {
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-onnx-kernels-'));
    try {
      await generateDataset({ root: dir, classes: ['wood', 'hex_nut'], size: 48, trainPerClass: 5, testGoodPerClass: 1, testDefectPerType: 1, quiet: true });
      const samples = readDataset(dir, { format: 'mvtec' });
      const train = async (): Promise<{ epochs: EpochReport[]; calls: { onnx: number; wasm: number } }> => {
        onnxKernelCalls(true);
        // The packaged backbone exports to ONNX: features and matching run there in both trainings, so they are identical inputs.
        const model = await ResADModel.create({ ...TINY_CONFIG, backbone: OFFLINE_BACKBONE, imageSize: 64, epochs: 3, stepsPerEpoch: 2 });
        try {
          const report = await trainResAD(model, samples, { quiet: true, inference: 'onnx' });
          return { epochs: report.epochs, calls: onnxKernelCalls(true) };
        } finally {
          model.dispose();
        }
      };
      const withOnnx = await train();
      unregisterOnnxKernels();
      const wasmOnly = await train();
      registerOnnxKernels({ minWork: 1 });
      assert.ok(withOnnx.calls.onnx > 20, `onnxruntime ran the constraintor's convs (${JSON.stringify(withOnnx.calls)})`);
      assert.equal(wasmOnly.calls.onnx, 0);
      const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
      wasmOnly.epochs.forEach((e, i) => {
        const o = withOnnx.epochs[i];
        for (const key of ['occLoss', 'mlLoss', 'bgsppLoss'] as const) assert.ok(rel(o[key], e[key]) < 1e-4, `epoch ${i} ${key}: ${o[key]} vs ${e[key]}`);
        e.boundaries.forEach((b, l) => assert.ok(b === null ? o.boundaries[l] === null : rel(o.boundaries[l]!, b) < 1e-4, `epoch ${i} boundary ${l}`));
      });
      assert.ok(wasmOnly.epochs[2].bgsppLoss > 0, 'stage 2 with BG-SPP was reached');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
