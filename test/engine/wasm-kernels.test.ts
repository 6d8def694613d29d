/**
 * Every kernel patched on wasm is checked against the pure-JS cpu backend,
 * values and gradients. Tolerance: scale-relative max error (max|a-b|/max|b|)
 * below 1e-4 — float32 sums in a different order differ by ~1e-6 here, a wrong
 * index or padding gives errors of order 1.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { DEFAULT_FILTER_GRAD, MatMulRoute, batchMatMulRoute, patchedWasmKernels, registerWasmTrainingKernels, unregisterWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../src/engine/wasm-kernels';
import { unregisterOnnxKernels } from '../../src/engine/onnx-kernels';
import { compareBackends, expectClose, leakedTensors, maxRelErr, randomData, runOn, seeded, sizeOf, withGrads } from './helpers';

const TOL = 1e-4;

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

describe('engine: wasm training kernels vs cpu', function () {
  let previous = '';
  before(async () => {
    previous = tf.getBackend() ?? '';
    await tf.setBackend('wasm');
    // These tests are about the wasm kernels: onnxruntime's wrappers (test/engine/onnx-kernels.test.ts) stay off.
    unregisterOnnxKernels();
    registerWasmTrainingKernels();
  });
  after(async () => {
    if (previous) await tf.setBackend(previous);
  });

  it('registers every kernel it lists and restores the stock ones', () => {
    assert.deepEqual(patchedWasmKernels(), [...WASM_TRAINING_KERNELS]);
    const patchedMatMul = tf.getKernel('BatchMatMul', 'wasm').kernelFunc;
    unregisterWasmTrainingKernels();
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined, 'stock wasm has no Conv2DBackpropFilter');
    assert.notEqual(tf.getKernel('BatchMatMul', 'wasm').kernelFunc, patchedMatMul);
    registerWasmTrainingKernels();
    assert.deepEqual(registerWasmTrainingKernels(), [...WASM_TRAINING_KERNELS], 'idempotent');
    assert.equal(tf.getKernel('BatchMatMul', 'wasm').kernelFunc, patchedMatMul);
  });

  describe('BatchMatMul', () => {
    // tfjs-core's matMul gradient does not reduce over broadcast batch dims (it throws on cpu too): values only there.
    const cases: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean; note: string; noGrad?: boolean; route: MatMulRoute }> = [
      { a: [67, 45], b: [45, 71], ta: false, tb: false, note: 'plain', route: 'stock-fast' },
      { a: [45, 67], b: [45, 71], ta: true, tb: false, note: 'transposeA', route: 'rewrite' },
      { a: [67, 45], b: [71, 45], ta: false, tb: true, note: 'transposeB', route: 'rewrite' },
      { a: [45, 67], b: [71, 45], ta: true, tb: true, note: 'both flags', route: 'rewrite' },
      { a: [2, 130, 125], b: [2, 125, 129], ta: false, tb: false, note: 'batch 2 both sides, big items', route: 'rewrite' },
      { a: [2, 125, 130], b: [2, 129, 125], ta: true, tb: true, note: 'batch 2 + flags, big items', route: 'rewrite' },
      { a: [3, 33, 45], b: [3, 31, 45], ta: false, tb: true, note: 'batch 3 small items', route: 'stock-small' },
      { a: [4, 41, 37], b: [37, 39], ta: false, tb: false, note: 'b broadcast (rank 2)', noGrad: true, route: 'rewrite' },
      { a: [1, 41, 37], b: [4, 39, 37], ta: false, tb: true, note: 'a broadcast, transposeB', noGrad: true, route: 'rewrite' },
      { a: [13, 9], b: [13, 11], ta: true, tb: false, note: 'tiny flagged', route: 'stock-small' },
    ];
    for (const c of cases) {
      it(`${c.note} [${c.route}]: a${JSON.stringify(c.a)} b${JSON.stringify(c.b)} tA=${c.ta} tB=${c.tb}`, async () => {
        assert.equal(batchMatMulRoute(c.a, c.b, c.ta, c.tb), c.route, 'case covers the intended path');
        const a = seeded(1, c.a);
        const b = seeded(2, c.b);
        const f = c.noGrad ? () => [tf.matMul(a(), b(), c.ta, c.tb)] : withGrads((x, y) => tf.matMul(x, y, c.ta, c.tb), [a, b]);
        await compareBackends(f, TOL, c.note);
      });
    }

    it('numpy broadcasting of outer dims [2,1] x [3] (stock wasm reads out of bounds, the cpu kernel indexes batches modulo: reference built per pair)', async () => {
      assert.equal(batchMatMulRoute([2, 1, 40, 36], [3, 36, 35], false, false), 'rewrite');
      const a = seeded(1, [2, 1, 40, 36]);
      const b = seeded(2, [3, 36, 35]);
      const ref = await runOn('cpu', () => {
        const av = a();
        const bv = b();
        const rows: tf.Tensor[] = [];
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 3; j++) {
            rows.push(tf.matMul(tf.reshape(tf.slice(av, [i, 0, 0, 0], [1, 1, 40, 36]), [40, 36]), tf.reshape(tf.slice(bv, [j, 0, 0], [1, 36, 35]), [36, 35])));
          }
        }
        return [tf.reshape(tf.stack(rows), [2, 3, 40, 35])];
      });
      const got = await runOn('wasm', () => [tf.matMul(a(), b())]);
      expectClose(got, ref, TOL, 'broadcast');
    });

    it('leaves no tensors behind (forward + backward)', async () => {
      const f = withGrads((a, b) => tf.matMul(a, b, true, true), [seeded(1, [2, 125, 130]), seeded(2, [2, 129, 125])]);
      assert.equal(await leakedTensors(f), 0);
    });
  });

  describe('_FusedMatMul', () => {
    type Act = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu';
    const cases: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean; act: Act; bias?: number[] }> = [
      { a: [1, 37, 29], b: [1, 29, 41], ta: false, tb: false, act: 'relu', bias: [41] },
      { a: [1, 29, 37], b: [1, 29, 41], ta: true, tb: false, act: 'linear', bias: [41] },
      { a: [1, 37, 29], b: [1, 41, 29], ta: false, tb: true, act: 'relu6', bias: [41] },
      { a: [3, 29, 37], b: [1, 41, 29], ta: true, tb: true, act: 'relu', bias: [41] },
      { a: [3, 33, 45], b: [3, 45, 31], ta: false, tb: false, act: 'elu', bias: [31] },
      { a: [1, 37, 29], b: [1, 29, 41], ta: false, tb: false, act: 'sigmoid' },
      { a: [1, 37, 29], b: [1, 41, 29], ta: false, tb: true, act: 'leakyrelu', bias: [37, 41] },
      { a: [1, 37, 29], b: [1, 29, 41], ta: false, tb: false, act: 'prelu', bias: [1] },
    ];
    for (const c of cases) {
      it(`${c.act} a${JSON.stringify(c.a)} b${JSON.stringify(c.b)} tA=${c.ta} tB=${c.tb} bias=${JSON.stringify(c.bias)}`, async () => {
        const a = seeded(3, c.a);
        const b = seeded(4, c.b);
        const bias = c.bias ? seeded(5, c.bias) : undefined;
        const n = c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
        const alpha = seeded(6, [n]);
        await compareBackends(() => [tf.fused.matMul({
          a: a(), b: b(), transposeA: c.ta, transposeB: c.tb, bias: bias?.(), activation: c.act,
          preluActivationWeights: c.act === 'prelu' ? tf.abs(alpha()) : undefined, leakyreluAlpha: 0.15,
        })], TOL, c.act);
      });
    }

    it('fixes stock wasm: a flagged _FusedMatMul with bias gives rows > 0 the last bias value', async () => {
      const f = () => [tf.fused.matMul({ a: seeded(60, [5, 3])(), b: seeded(61, [4, 3])(), transposeB: true, bias: tf.tensor1d([1, 2, 3, 4]) })];
      const ref = await runOn('cpu', f);
      unregisterWasmTrainingKernels();
      let stock: Awaited<ReturnType<typeof runOn>>;
      try {
        stock = await runOn('wasm', f);
      } finally {
        registerWasmTrainingKernels();
      }
      assert.ok(maxRelErr(stock[0].values, ref[0].values) > 0.05, 'stock tfjs-backend-wasm 4.22 bug (if this fails, the bug is fixed upstream)');
      expectClose(await runOn('wasm', f), ref, TOL, 'patched');
    });

    it('leaves no tensors behind (flagged, batched, prelu)', async () => {
      const a = seeded(62, [3, 29, 37]);
      const b = seeded(63, [1, 41, 29]);
      const alpha = seeded(64, [41]);
      assert.equal(await leakedTensors(() => [
        tf.fused.matMul({ a: a(), b: b(), transposeA: true, transposeB: true, activation: 'prelu', preluActivationWeights: alpha() }),
        tf.fused.matMul({ a: a(), b: b(), transposeA: true, transposeB: true, bias: alpha(), activation: 'relu' }),
      ]), 0);
    });

    it('gradients of a fused dense layer (bias, transposeB)', async () => {
      await compareBackends(withGrads(
        (x, w, bias) => tf.fused.matMul({ a: x, b: w, transposeB: true, bias }),
        [seeded(7, [40, 33]), seeded(8, [27, 33]), seeded(9, [27])],
      ), TOL, 'fused grads');
    });
  });

  describe('Conv2D backprop (filter + input)', () => {
    const cases: Array<{ x: number[]; w: number[]; s: number | [number, number]; pad: 'same' | 'valid' | Pad4; note: string }> = [
      { x: [2, 9, 9, 5], w: [3, 3, 5, 7], s: 1, pad: 'same', note: '3x3 s1 same' },
      { x: [2, 9, 8, 5], w: [3, 3, 5, 7], s: 1, pad: 'valid', note: '3x3 s1 valid' },
      { x: [2, 9, 9, 5], w: [3, 3, 5, 6], s: 2, pad: 'same', note: '3x3 s2 same odd input' },
      { x: [2, 10, 10, 4], w: [3, 3, 4, 6], s: 2, pad: 'same', note: '3x3 s2 same even input' },
      { x: [1, 11, 10, 3], w: [3, 3, 3, 4], s: 2, pad: 'valid', note: '3x3 s2 valid' },
      { x: [2, 7, 9, 3], w: [5, 3, 3, 4], s: [1, 2], pad: 'same', note: '5x3 strides [1,2]' },
      { x: [2, 8, 8, 6], w: [1, 1, 6, 5], s: 2, pad: 'valid', note: '1x1 s2 (ResNet downsample)' },
      { x: [1, 8, 7, 3], w: [3, 3, 3, 4], s: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]], note: 'explicit pads s1' },
      { x: [2, 12, 12, 3], w: [7, 7, 3, 8], s: 2, pad: 'same', note: '7x7 s2 (ResNet stem)' },
    ];
    for (const c of cases) {
      it(`${c.note}: x${JSON.stringify(c.x)} w${JSON.stringify(c.w)}`, async () => {
        await compareBackends(withGrads(
          (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad),
          [seeded(10, c.x), seeded(11, c.w)],
        ), TOL, c.note);
      });
    }

    it('fused conv2d + bias + relu gradients (what tf.layers.conv2d runs)', async () => {
      await compareBackends(withGrads(
        (x, w, b) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' }),
        [seeded(12, [2, 8, 8, 4]), seeded(13, [3, 3, 4, 6]), seeded(14, [6])],
      ), TOL, 'fused conv');
    });

    it('conv2dTranspose stride 2 (Conv2DBackpropInput forward)', async () => {
      const dy = seeded(15, [2, 5, 5, 6]);
      const w = seeded(16, [3, 3, 4, 6]);
      await compareBackends(() => [
        tf.conv2dTranspose(dy() as tf.Tensor4D, w() as tf.Tensor4D, [2, 10, 10, 4], 2, 'same'),
        tf.conv2dTranspose(dy() as tf.Tensor4D, w() as tf.Tensor4D, [2, 11, 11, 4], 2, 'valid'),
      ], TOL, 'conv2dTranspose');
    });

    it('NCHW data format, called at kernel level', async () => {
      const x = seeded(17, [2, 5, 9, 8]);
      const dy = seeded(18, [2, 6, 9, 8]);
      const w = seeded(19, [3, 3, 5, 6]);
      await compareBackends(() => [
        tf.engine().runKernel('Conv2DBackpropFilter', { x: x(), dy: dy() },
          { strides: [1, 1], pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 5, 6] }) as tf.Tensor,
        tf.engine().runKernel('Conv2DBackpropInput', { dy: dy(), filter: w() },
          { strides: [1, 1], pad: 'same', dataFormat: 'NCHW', inputShape: [2, 5, 9, 8] }) as tf.Tensor,
      ], TOL, 'NCHW');
    });

    it('every Conv2DBackpropFilter strategy (auto, conv, taps, im2col) agrees with cpu', async () => {
      const configs: Array<{ x: number[]; w: number[]; s: number; pad: 'same' | 'valid' }> = [
        { x: [2, 9, 9, 5], w: [3, 3, 5, 7], s: 2, pad: 'same' },
        { x: [2, 8, 7, 4], w: [3, 3, 4, 6], s: 1, pad: 'valid' },
        { x: [1, 11, 10, 3], w: [5, 3, 3, 4], s: 2, pad: 'valid' },
        { x: [2, 8, 8, 6], w: [1, 1, 6, 5], s: 2, pad: 'same' },
      ];
      try {
        for (const c of configs) {
          const f = withGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad), [seeded(20, c.x), seeded(21, c.w)]);
          const ref = await runOn('cpu', f);
          for (const strategy of ['auto', 'conv', 'taps', 'im2col'] as const) {
            unregisterWasmTrainingKernels();
            registerWasmTrainingKernels({ conv2dFilterGrad: strategy });
            expectClose(await runOn('wasm', f), ref, TOL, `${strategy} ${JSON.stringify(c)}`);
          }
        }
      } finally {
        unregisterWasmTrainingKernels();
        registerWasmTrainingKernels({ conv2dFilterGrad: DEFAULT_FILTER_GRAD });
      }
    });

    it('leaves no tensors behind (forward + backward, stride 2)', async () => {
      const f = withGrads((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), [seeded(22, [2, 9, 9, 5]), seeded(23, [3, 3, 5, 7])]);
      assert.equal(await leakedTensors(f), 0);
    });
  });

  describe('DepthwiseConv2dNative backprops (missing on stock wasm)', () => {
    const cases: Array<{ x: number[]; w: number[]; s: number; pad: 'same' | 'valid' }> = [
      { x: [2, 8, 8, 4], w: [3, 3, 4, 1], s: 1, pad: 'same' },
      { x: [2, 9, 9, 3], w: [3, 3, 3, 2], s: 2, pad: 'same' },
      { x: [1, 9, 8, 3], w: [5, 3, 3, 1], s: 1, pad: 'valid' },
      { x: [2, 10, 10, 2], w: [3, 3, 2, 3], s: 2, pad: 'valid' },
    ];
    for (const c of cases) {
      it(`x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s${c.s} ${c.pad}`, async () => {
        await compareBackends(withGrads(
          (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad),
          [seeded(30, c.x), seeded(31, c.w)],
        ), TOL, 'depthwise');
      });
    }

    // tfjs gradients never pass dilations > 1 and the cpu backprop kernels ignore them, so the
    // reference is the adjoint identity: <dW, v> = sum(dwconv(x, v) * dy), <dx, u> = sum(dwconv(u, w) * dy).
    it('dilation 2 at kernel level (adjoint identity against the cpu forward conv)', async () => {
      const x = seeded(32, [2, 9, 9, 3]);
      const dy = seeded(33, [2, 9, 9, 6]);
      const w = seeded(34, [3, 3, 3, 2]);
      const attrs = { strides: [1, 1], dilations: [2, 2], pad: 'same' };
      const [dW, dx] = await runOn('wasm', () => [
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: x(), dy: dy() }, { ...attrs, filterShape: [3, 3, 3, 2] }) as tf.Tensor,
        tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dy(), filter: w() }, { ...attrs, inputShape: [2, 9, 9, 3] }) as tf.Tensor,
      ]);
      for (let probe = 0; probe < 3; probe++) {
        const v = seeded(100 + probe, [3, 3, 3, 2]);
        const u = seeded(200 + probe, [2, 9, 9, 3]);
        const [lhsW, lhsX, rhsW, rhsX] = await runOn('cpu', () => [
          tf.sum(tf.mul(tf.tensor(dW.values, dW.shape), v())),
          tf.sum(tf.mul(tf.tensor(dx.values, dx.shape), u())),
          tf.sum(tf.mul(tf.depthwiseConv2d(x() as tf.Tensor4D, v() as tf.Tensor4D, 1, 'same', 'NHWC', 2), dy())),
          tf.sum(tf.mul(tf.depthwiseConv2d(u() as tf.Tensor4D, w() as tf.Tensor4D, 1, 'same', 'NHWC', 2), dy())),
        ]);
        assert.ok(Math.abs(lhsW.values[0] - rhsW.values[0]) < 1e-4 * Math.abs(rhsW.values[0]) + 1e-3, `filter probe ${probe}: ${lhsW.values[0]} vs ${rhsW.values[0]}`);
        assert.ok(Math.abs(lhsX.values[0] - rhsX.values[0]) < 1e-4 * Math.abs(rhsX.values[0]) + 1e-3, `input probe ${probe}: ${lhsX.values[0]} vs ${rhsX.values[0]}`);
      }
    });

    it('leaves no tensors behind', async () => {
      const f = withGrads((x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), [seeded(35, [2, 9, 9, 3]), seeded(36, [3, 3, 3, 2])]);
      assert.equal(await leakedTensors(f), 0);
    });
  });

  describe('UnsortedSegmentSum (gradient of gather, missing on stock wasm)', () => {
    it('matches cpu, drops out-of-range ids, and gives gather gradients', async () => {
      const ids = [0, 3, 3, 1, 5, -1, 0];
      const x = seeded(40, [7, 4, 3]);
      await compareBackends(() => [tf.unsortedSegmentSum(x(), tf.tensor1d(ids, 'int32'), 5)], TOL, 'segment sum');
      await compareBackends(withGrads((t) => tf.gather(t, tf.tensor1d([2, 0, 2, 4, 1], 'int32')), [seeded(41, [5, 6])]), TOL, 'gather grad');
    });

    it('leaves no tensors behind', async () => {
      const x = seeded(42, [7, 4]);
      assert.equal(await leakedTensors(() => [tf.unsortedSegmentSum(x(), tf.tensor1d([0, 1, 1, 2, 0, 3, 3], 'int32'), 4)]), 0);
    });
  });

  describe('Tile and GatherV2 (block copies instead of element loops)', () => {
    const ints = (n: number): (() => tf.Tensor) => () => tf.range(0, n, 1, 'int32');
    it('tile matches cpu: BatchNorm-gradient shape, inner and outer reps, int32, empty', async () => {
      await compareBackends(() => [
        tf.tile(seeded(31, [1, 1, 1, 6])(), [3, 4, 5, 1]),
        tf.tile(seeded(32, [2, 3, 4])(), [2, 1, 3]),
        tf.cast(tf.tile(ints(5)(), [4]), 'float32'),
        tf.tile(seeded(33, [2, 1, 3, 1, 2])(), [1, 3, 1, 2, 2]),
        tf.tile(tf.zeros([0, 3]), [2, 2]),
      ], 1e-12, 'tile');
    });
    it('gather matches cpu on every axis, with repeated and 2-D indices, and its gradient', async () => {
      const idx = (v: number[], shape = [v.length]): tf.Tensor => tf.tensor(v, shape, 'int32');
      await compareBackends(() => [
        tf.gather(seeded(34, [10, 6])(), idx([3, 0, 9, 3])),
        tf.gather(seeded(35, [3, 4, 5])(), idx([1, 0, 3, 3], [2, 2]), 1),
        tf.gather(seeded(36, [3, 4, 5])(), idx([4, 0]), -1),
        tf.cast(tf.gather(tf.reshape(ints(12)(), [4, 3]), idx([2, 2, 0])), 'float32'),
        ...withGrads((x) => tf.gather(x, idx([1, 1, 4, 0])), [seeded(37, [5, 3])])(),
      ], 1e-6, 'gather');
    });
    it('gather refuses an out-of-range index, naming it', async () => {
      await tf.setBackend('wasm');
      assert.throws(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([3], 'int32')).dataSync(), /index value 3 is not in \[0, 2\]/);
    });
  });

  it('sanity: a corrupted input gives a large error (the comparison can fail)', async () => {
    const a = seeded(50, [20, 20]);
    const ref = await runOn('cpu', () => [tf.matMul(a(), a(), true, false)]);
    const bad = await runOn('wasm', () => [tf.matMul(a(), a(), false, false)]);
    assert.ok(maxRelErr(bad[0].values, ref[0].values) > 0.1);
    assert.equal(sizeOf(ref[0].shape), 400);
  });
});
