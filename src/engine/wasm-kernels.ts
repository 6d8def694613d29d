/**
 * Training kernels for the tfjs wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22 ships no Conv2DBackpropFilter, no depthwise
 * backprops and no UnsortedSegmentSum, so training any conv net on wasm fails
 * with "kernel not registered". Its matmul is fast (XNNPACK) only without
 * transpose flags and with batch 1, but autograd of matMul always uses the
 * transposed forms; its Conv2DBackpropInput is a scalar loop; and its slow
 * matmul path is wrong for a flagged/batched _FusedMatMul with bias and for
 * batch broadcasting like [2,1] x [3]. This module registers replacements that
 * rewrite those cases onto fast XNNPACK paths (explicit transposes + plain
 * matMul, convs with flipped kernels, 4-D-only reshapes/slices). The originals
 * are kept and still serve the cases that are already fast. Details and
 * timings: docs/ENGINE.md.
 *
 * A kernelFunc here calls ordinary tf ops: nested ops run with the engine's
 * kernelDepth > 0, so autograd does not record them, and the tf.tidy around
 * each kernel disposes every intermediate.
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { registerWasmTrainingKernels } from './wasm-kernels';
 * await tf.setBackend('wasm');
 * registerWasmTrainingKernels(); // ['Conv2DBackpropFilter', 'BatchMatMul', ...]
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { unregisterOnnxKernels } from './onnx-kernels';

const WASM = 'wasm';

/** How Conv2DBackpropFilter turns the filter gradient into matmuls (see docs/ENGINE.md for timings). */
export type FilterGradStrategy = 'auto' | 'conv' | 'taps' | 'im2col';

export interface WasmKernelOptions {
  /**
   * 'conv': dW computed by one forward conv2d (batch <- Ci, channels <- N,
   *   filter <- dy dilated by the stride), XNNPACK's indirect GEMM, no patch copies;
   * 'taps': one [Ci, P] x [P, Co] matmul per filter tap;
   * 'im2col': one [KH*KW*Ci, P] x [P, Co] matmul over a materialised patch matrix.
   * 'auto' (default): 'taps' for 1x1 filters (then a single matmul), else
   *   'conv' — the fastest per shape measured here. Persists until changed.
   */
  conv2dFilterGrad?: FilterGradStrategy;
}

/** Kernels this module registers, in registration order. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'BatchMatMul',
  '_FusedMatMul',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
  'Tile',
  'GatherV2',
];

/**
 * Where the rewrites stop paying (multiply-adds, measured in bench/engine.ts):
 * each extra op (transpose, slice, XNNPACK operator creation + weight packing)
 * costs ~0.05-0.3 ms, while the stock scalar loop runs ~1-2 GFLOP/s. Below
 * `flagged` a transposed batch-1 matmul stays on the stock kernel; below
 * `batchItem` per item, a matmul batched on both sides does too (the rewrite
 * runs one XNNPACK matmul per item).
 */
export const MATMUL_REWRITE_MIN_WORK = { flagged: 65536, batchItem: 2_000_000 } as const;

/** Measured fastest here (bench/engine.ts, docs/ENGINE.md). */
export const DEFAULT_FILTER_GRAD: FilterGradStrategy = 'auto';
let options: Required<WasmKernelOptions> = { conv2dFilterGrad: DEFAULT_FILTER_GRAD };
/** kernelName -> the config that was registered before we patched (undefined: there was none). */
const originals = new Map<string, tf.KernelConfig | undefined>();

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Pair = number | [number, number];
type Shape4 = [number, number, number, number];

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Inputs reach registered kernels as Tensors; a bare TensorInfo (direct kernel calls) is wrapped by Identity, which keeps refcounts balanced. */
function asTensor(info: tf.TensorInfo): tf.Tensor {
  if (info instanceof tf.Tensor) return info;
  return tf.engine().runKernel('Identity', { x: info as tf.Tensor }) as tf.Tensor;
}

function input(inputs: tf.NamedTensorInfoMap, name: string): tf.Tensor {
  const info = inputs[name];
  if (info == null) throw new Error(`resad wasm kernel: missing input '${name}'`);
  return asTensor(info);
}

function optionalInput(inputs: tf.NamedTensorInfoMap, name: string): tf.Tensor | undefined {
  const info = inputs[name];
  return info == null ? undefined : asTensor(info);
}

function getOriginal(name: string): tf.KernelConfig {
  const cfg = originals.get(name);
  if (cfg == null) throw new Error(`resad wasm kernel: no original '${name}' kernel to fall back to`);
  return cfg;
}

/** Pads (positive amounts) or crops (negative amounts) the two spatial dims of an NHWC tensor. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const t = Math.max(0, -top);
    const l = Math.max(0, -left);
    const h = y.shape[1] - t - Math.max(0, -bottom);
    const w = y.shape[2] - l - Math.max(0, -right);
    y = tf.slice(y, [0, t, l, 0], [y.shape[0], h, w, y.shape[3]]);
  }
  const pt = Math.max(0, top);
  const pb = Math.max(0, bottom);
  const pl = Math.max(0, left);
  const pr = Math.max(0, right);
  if (pt + pb + pl + pr > 0) {
    y = tf.pad(y, [[0, 0], [pt, pb], [pl, pr], [0, 0]]);
  }
  return y;
}

/** Inserts (s-1) zeros after every row/column: the input-gradient of a strided conv is a stride-1 conv over this. Output keeps the trailing zeros: [N, OH*sh, OW*sw, C]. */
function zeroInsert(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, h, w, c] = dy.shape;
  const rows = tf.pad(tf.reshape(dy, [n * h, 1, w, c]), [[0, 0], [0, sh - 1], [0, 0], [0, 0]]);
  const cols = tf.pad(tf.reshape(rows, [n * h * sh, w, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.reshape(cols, [n, h * sh, w * sw, c]);
}

/**
 * Strided taps of a padded NHWC tensor using only 4-D reshapes, transposes and
 * slices: wasm runs those through XNNPACK, while its StridedSlice and 5-/6-D
 * transposes are generic loops 50-100x slower. Rows are split into (hq, sh)
 * phases and the phase axis moved in front of N once; then every tap is one
 * contiguous 4-D slice. Returns tap(r0, c0) = xp[:, r0::sh (oh rows), c0::sw (ow cols), :].
 */
function stridedTaps(x: tf.Tensor4D, sh: number, sw: number, oh: number, ow: number): {
  tap: (r0: number, c0: number) => tf.Tensor4D; dispose: () => void;
} {
  const [n, h, w, c] = x.shape;
  if (sh === 1 && sw === 1) {
    return { tap: (r0, c0) => tf.slice(x, [0, r0, c0, 0], [n, oh, ow, c]), dispose: () => undefined };
  }
  const hq = Math.ceil(h / sh);
  const wq = Math.ceil(w / sw);
  const xp = padOrCrop(x, 0, hq * sh - h, 0, wq * sw - w);
  const rows = tf.reshape(xp, [n, hq, sh, wq * sw * c]);
  const moved = sh === 1 ? rows : tf.transpose(rows, [2, 0, 1, 3]);
  const view = tf.reshape(moved, [sh * n, hq, wq, sw * c]) as tf.Tensor4D;
  for (const t of [xp, rows, moved]) if (t !== x && t !== view) t.dispose();
  return {
    tap: (r0, c0) => tf.slice(view, [(r0 % sh) * n, Math.floor(r0 / sh), Math.floor(c0 / sw), (c0 % sw) * c], [n, oh, ow, c]),
    dispose: () => view.dispose(),
  };
}

function toNHWC(x: tf.Tensor4D, dataFormat: string | undefined): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(x, [0, 2, 3, 1]) : x;
}

function fromNHWC(x: tf.Tensor4D, dataFormat: string | undefined): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(x, [0, 3, 1, 2]) : x;
}

function nhwcShape(shape: Shape4, dataFormat: string | undefined): Shape4 {
  return dataFormat === 'NCHW' ? [shape[0], shape[2], shape[3], shape[1]] : shape;
}

function convInfo(
  shape: Shape4, filterShape: Shape4, strides: Pair, dilations: Pair, pad: Pad,
  rounding: Rounding, depthwise: boolean, dataFormat: string | undefined,
): tf.backend_util.Conv2DInfo {
  const fmt = dataFormat === 'NCHW' ? 'channelsFirst' : 'channelsLast';
  return tf.backend_util.computeConv2DInfo(shape, filterShape, strides, dilations, pad, rounding, depthwise, fmt);
}

// ---------------------------------------------------------------------------
// matmul
// ---------------------------------------------------------------------------

function swapLast2(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = x.rank;
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/**
 * a [...outerA, M, K] x b [...outerB, K, N] with no transpose flags, built only
 * from batch-1 no-flag matmuls (the XNNPACK path). tf.matMul here re-enters the
 * patched BatchMatMul, whose fast case is the original kernel.
 */
export function matMulNoFlags(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const n = b.shape[b.rank - 1];
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  const outShape = [...outer, m, n];
  if (batchB === 1) {
    // b is shared by every batch item: stack the items of a into one tall matrix.
    const r = tf.matMul(tf.reshape(a, [batchA * m, k]) as tf.Tensor2D, tf.reshape(b, [k, n]) as tf.Tensor2D);
    return tf.reshape(r, outShape);
  }
  if (batchA === 1) {
    // a is shared: lay the items of b side by side, [K, B*N], one wide matmul.
    const bw = tf.reshape(tf.transpose(tf.reshape(b, [batchB, k, n]), [1, 0, 2]), [k, batchB * n]) as tf.Tensor2D;
    const r = tf.matMul(tf.reshape(a, [m, k]) as tf.Tensor2D, bw);
    return tf.reshape(tf.transpose(tf.reshape(r, [m, batchB, n]), [1, 0, 2]), outShape);
  }
  const batch = sizeOf(outer);
  const a3 = tf.reshape(sameShape(outerA, outer) ? a : tf.broadcastTo(a, [...outer, m, k]), [batch, m, k]);
  const b3 = tf.reshape(sameShape(outerB, outer) ? b : tf.broadcastTo(b, [...outer, k, n]), [batch, k, n]);
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < batch; i++) {
    const ai = tf.reshape(tf.slice(a3, [i, 0, 0], [1, m, k]), [m, k]) as tf.Tensor2D;
    const bi = tf.reshape(tf.slice(b3, [i, 0, 0], [1, k, n]), [k, n]) as tf.Tensor2D;
    parts.push(tf.matMul(ai, bi));
    ai.dispose();
    bi.dispose();
  }
  return tf.reshape(tf.stack(parts), outShape);
}

function matMulDims(a: { shape: number[] }, b: { shape: number[] }, ta: boolean, tb: boolean) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  return {
    m: ta ? a.shape[ra - 1] : a.shape[ra - 2],
    k: ta ? a.shape[ra - 2] : a.shape[ra - 1],
    kb: tb ? b.shape[rb - 1] : b.shape[rb - 2],
    n: tb ? b.shape[rb - 2] : b.shape[rb - 1],
    batchA: sizeOf(a.shape.slice(0, -2)),
    batchB: sizeOf(b.shape.slice(0, -2)),
  };
}

/** How the patched BatchMatMul runs a product (exported so tests can check which path they cover). */
export type MatMulRoute = 'stock-fast' | 'stock-small' | 'rewrite';

export function batchMatMulRoute(aShape: readonly number[], bShape: readonly number[], transposeA: boolean, transposeB: boolean): MatMulRoute {
  const d = matMulDims({ shape: aShape as number[] }, { shape: bShape as number[] }, transposeA, transposeB);
  if (!transposeA && !transposeB && d.batchA === 1 && d.batchB === 1) return 'stock-fast';
  // Stock wasm reads out of bounds when both sides are batched with different outer
  // shapes (e.g. [2,1] x [3]); the rewrite broadcasts like numpy at any size.
  if (d.batchA > 1 && d.batchB > 1 && !sameShape(aShape.slice(0, -2), bShape.slice(0, -2))) return 'rewrite';
  const work = d.m * d.n * d.k;
  if (work * Math.max(d.batchA, d.batchB) < MATMUL_REWRITE_MIN_WORK.flagged) return 'stock-small';
  if (d.batchA > 1 && d.batchB > 1 && work < MATMUL_REWRITE_MIN_WORK.batchItem) return 'stock-small';
  return 'rewrite';
}

const batchMatMul: tf.KernelFunc = (args) => {
  const original = getOriginal('BatchMatMul');
  const { inputs } = args;
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
  const ta = !!attrs.transposeA;
  const tb = !!attrs.transposeB;
  const ai = inputs.a;
  const bi = inputs.b;
  if (ai == null || bi == null) return original.kernelFunc(args);
  const d = matMulDims(ai, bi, ta, tb);
  // Invalid shapes and other dtypes go to the stock kernel too, for its standard error message.
  if (batchMatMulRoute(ai.shape, bi.shape, ta, tb) !== 'rewrite' || d.k !== d.kb || ai.dtype !== 'float32' || bi.dtype !== 'float32') {
    return original.kernelFunc(args);
  }
  return tf.tidy(() => {
    const a = input(inputs, 'a');
    const b = input(inputs, 'b');
    return matMulNoFlags(ta ? swapLast2(a) : a, tb ? swapLast2(b) : b);
  });
};

type Activation = 'linear' | 'relu' | 'prelu' | 'elu' | 'relu6' | 'leakyrelu' | 'sigmoid';

/** Same semantics as tfjs-core's fused applyActivation (what the cpu backend runs). */
function applyActivation(x: tf.Tensor, activation: Activation, prelu: tf.Tensor | undefined, alpha: number | undefined): tf.Tensor {
  switch (activation) {
    case 'linear': return x;
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'elu': return tf.elu(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'leakyrelu': return tf.leakyRelu(x, alpha ?? 0.2);
    case 'prelu':
      if (prelu == null) throw new Error('resad wasm _FusedMatMul: prelu activation without preluActivationWeights');
      return tf.prelu(x, prelu);
    default: throw new Error(`resad wasm _FusedMatMul: unknown activation '${String(activation)}'`);
  }
}

const fusedMatMul: tf.KernelFunc = (args) => {
  const original = getOriginal('_FusedMatMul');
  const { inputs } = args;
  const attrs = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean; activation?: Activation; leakyreluAlpha?: number };
  const ta = !!attrs.transposeA;
  const tb = !!attrs.transposeB;
  const activation: Activation = attrs.activation ?? 'linear';
  const ai = inputs.a;
  const bi = inputs.b;
  if (ai == null || bi == null) return original.kernelFunc(args);
  const d = matMulDims(ai, bi, ta, tb);
  const biasInfo = inputs.bias;
  // XNNPACK reads exactly N bias values and clamps only for relu/relu6; everything else is composed from ops.
  const biasOk = biasInfo == null || (biasInfo.shape.length === 1 && biasInfo.shape[0] === d.n);
  const actOk = activation === 'linear' || activation === 'relu' || activation === 'relu6';
  if ((!ta && !tb && d.batchA === 1 && d.batchB === 1 && biasOk && actOk) || d.k !== d.kb) return original.kernelFunc(args);
  return tf.tidy(() => {
    const a0 = input(inputs, 'a');
    const b0 = input(inputs, 'b');
    const bias = optionalInput(inputs, 'bias');
    const prelu = optionalInput(inputs, 'preluActivationWeights');
    const a = ta ? swapLast2(a0) : a0;
    const b = tb ? swapLast2(b0) : b0;
    if (biasOk && actOk && d.batchB === 1) {
      // Items of a stacked into rows keep the single fused XNNPACK call (bias + clamp included).
      const a3 = tf.reshape(a, [1, d.batchA * d.m, d.k]) as tf.Tensor3D;
      const b3 = tf.reshape(b, [1, d.k, d.n]) as tf.Tensor3D;
      const y = tf.engine().runKernel('_FusedMatMul', bias == null ? { a: a3, b: b3 } : { a: a3, b: b3, bias },
        { transposeA: false, transposeB: false, activation, leakyreluAlpha: attrs.leakyreluAlpha ?? 0 }) as tf.Tensor;
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(ai.shape.slice(0, -2), bi.shape.slice(0, -2));
      return tf.reshape(y, [...outer, d.m, d.n]);
    }
    let y = matMulNoFlags(a, b);
    if (bias != null) y = tf.add(y, bias);
    return applyActivation(y, activation, prelu, attrs.leakyreluAlpha);
  });
};

// ---------------------------------------------------------------------------
// conv2d
// ---------------------------------------------------------------------------

interface Conv2DBackpropFilterAttrs {
  strides: Pair; pad: Pad; dataFormat?: 'NHWC' | 'NCHW'; dimRoundingMode?: Rounding; filterShape: Shape4;
}

interface Conv2DBackpropInputAttrs {
  strides: Pair; pad: Pad; dataFormat?: 'NHWC' | 'NCHW'; dimRoundingMode?: Rounding; inputShape: Shape4;
}

/**
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} xpad[n, oh*s+kh*d, ow*s+kw*d, ci] * dy[n,oh,ow,co].
 * 'conv' evaluates that sum as one forward conv (see WasmKernelOptions). 'taps'
 * and 'im2col' build [Ci, P] slabs per tap (x channels-first) and multiply them
 * by the same dy [P, Co], whose packed XNNPACK copy is cached on its tensor id.
 */
export function conv2dFilterGradNHWC(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, info: tf.backend_util.Conv2DInfo,
  strategy: FilterGradStrategy = options.conv2dFilterGrad,
): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = info;
  const [n, h, w] = x.shape;
  const needH = (oh - 1) * sh + (kh - 1) * dh + 1;
  const needW = (ow - 1) * sw + (kw - 1) * dw + 1;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const xp = padOrCrop(x, pt, needH - h - pt, pl, needW - w - pl);
  // Measured (interleaved runs, 2x20x20x32 ... 8x7x7x512): 'conv' is as fast or faster for
  // k x k > 1; for 1x1 filters 'taps' is one plain matmul and 2-4x faster than 'conv'.
  const useConv = strategy === 'conv' || (strategy === 'auto' && kh * kw > 1);
  if (useConv && dh === 1 && dw === 1) {
    // dW as a forward conv: batch <- Ci, channels <- N, "filter" <- dy [OH, OW, N, Co]
    // dilated by the stride; XNNPACK's indirect GEMM then never materialises patches.
    const xs = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
    const dyf = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const g = tf.conv2d(xs, dyf, 1, 'valid', 'NHWC', [sh, sw]);
    const out = tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D;
    for (const t of [xs, dyf, g]) t.dispose();
    if (xp !== x) xp.dispose();
    return out;
  }
  const p = n * oh * ow;
  const dy2 = tf.reshape(dy, [p, co]) as tf.Tensor2D;
  let slab: (i: number, j: number) => tf.Tensor2D;
  let release: () => void;
  if (sh === 1 && sw === 1) {
    // Stride 1: one channels-first copy of x, then each tap is a plain 4-D slice.
    const xT = tf.transpose(xp, [3, 0, 1, 2]);
    release = () => xT.dispose();
    slab = (i, j) => tf.tidy(() => tf.reshape(tf.slice(xT, [0, 0, i * dh, j * dw], [ci, n, oh, ow]), [ci, p]) as tf.Tensor2D);
  } else {
    const taps = stridedTaps(xp, sh, sw, oh, ow);
    release = taps.dispose;
    slab = (i, j) => tf.tidy(() => tf.transpose(tf.reshape(taps.tap(i * dh, j * dw), [p, ci])) as tf.Tensor2D);
  }
  if (xp !== x) xp.dispose();
  let out: tf.Tensor;
  if (strategy === 'im2col') {
    const slabs: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) slabs.push(slab(i, j));
    const cols = tf.concat(slabs, 0);
    slabs.forEach((t) => t.dispose());
    out = tf.matMul(cols, dy2);
    cols.dispose();
  } else {
    const parts: tf.Tensor2D[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const sl = slab(i, j);
        parts.push(tf.matMul(sl, dy2));
        sl.dispose();
      }
    }
    out = tf.concat(parts, 0);
    parts.forEach((t) => t.dispose());
  }
  release();
  return tf.reshape(out, [kh, kw, ci, co]);
}

/**
 * dx of a conv2d as stride-1 'valid' convs of dy with the spatially flipped,
 * in/out-swapped filter. Stride 1: one conv, padded by (KH-1-padTop) on top and
 * whatever makes exactly H rows below (negative amounts crop). Stride s > 1:
 * sub-pixel decomposition — output rows i = s*q + r only meet filter taps
 * k = k0 + s*t with k0 = (r + padTop) mod s, so each of the sh*sw phases is a
 * small stride-1 conv with the sub-filter w[k0::s]; the phases are then
 * interleaved. No multiply is wasted (zero-insertion would waste 1 - 1/(sh*sw)).
 */
export function conv2dInputGradNHWC(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: Shape4, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [kh, kw, ci] = filter.shape;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  const [n, h, w] = inputShape;
  const [, oh, ow] = dy.shape;
  const hq = Math.ceil(h / sh);
  const wq = Math.ceil(w / sw);
  const phase = (r: number, rc: number): tf.Tensor4D => {
    const k0h = (r + padInfo.top) % sh;
    const k0w = (rc + padInfo.left) % sw;
    const th = k0h < kh ? Math.ceil((kh - k0h) / sh) : 0;
    const tw = k0w < kw ? Math.ceil((kw - k0w) / sw) : 0;
    if (th === 0 || tw === 0) return tf.zeros([n, hq, wq, ci]);
    const ch = Math.floor((r + padInfo.top) / sh);
    const cw = Math.floor((rc + padInfo.left) / sw);
    const sub = sh === 1 && sw === 1
      ? filter
      : tf.stridedSlice(filter, [k0h, k0w, 0, 0], [kh, kw, filter.shape[2], filter.shape[3]], [sh, sw, 1, 1]) as tf.Tensor4D;
    const wf = tf.transpose(tf.reverse(sub, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    const top = th - 1 - ch;
    const left = tw - 1 - cw;
    const dp = padOrCrop(dy, top, hq + th - 1 - oh - top, left, wq + tw - 1 - ow - left);
    return tf.conv2d(dp, wf, 1, 'valid');
  };
  if (sh === 1 && sw === 1) return phase(0, 0);
  // Interleave with 3-/4-D transposes only (see stridedTaps for why).
  const rowsOut: tf.Tensor[] = [];
  for (let r = 0; r < sh; r++) {
    const cols = tf.stack(Array.from({ length: sw }, (_, rc) => phase(r, rc)));     // [sw, n, hq, wq, ci]
    const woven = tf.transpose(tf.reshape(cols, [sw, n * hq, wq, ci]), [1, 2, 0, 3]); // [n*hq, wq, sw, ci]
    rowsOut.push(tf.reshape(woven, [n * hq, wq * sw * ci]));
  }
  const all = tf.transpose(tf.stack(rowsOut), [1, 0, 2]);                          // [n*hq, sh, wq*sw*ci]
  const full = tf.reshape(all, [n, hq * sh, wq * sw, ci]) as tf.Tensor4D;
  return hq * sh === h && wq * sw === w ? full : tf.slice(full, [0, 0, 0, 0], [n, h, w, ci]);
}

const conv2dBackpropFilter: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() => {
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const x = input(inputs, 'x') as tf.Tensor4D;
  const dy = input(inputs, 'dy') as tf.Tensor4D;
  const info = convInfo(x.shape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, a.dataFormat);
  return conv2dFilterGradNHWC(toNHWC(x, a.dataFormat), toNHWC(dy, a.dataFormat), a.filterShape, info);
});

const conv2dBackpropInput: tf.KernelFunc = (args) => {
  const a = args.attrs as unknown as Conv2DBackpropInputAttrs;
  return tf.tidy(() => {
    const dy = input(args.inputs, 'dy') as tf.Tensor4D;
    const filter = input(args.inputs, 'filter') as tf.Tensor4D;
    const info = convInfo(a.inputShape, filter.shape, a.strides, 1, a.pad, a.dimRoundingMode, false, a.dataFormat);
    const dx = conv2dInputGradNHWC(toNHWC(dy, a.dataFormat), filter, nhwcShape(a.inputShape, a.dataFormat), info);
    return fromNHWC(dx, a.dataFormat);
  });
};

// ---------------------------------------------------------------------------
// depthwise conv2d
// ---------------------------------------------------------------------------

interface DepthwiseBackpropAttrs {
  strides: Pair; dilations?: Pair; pad: Pad; dimRoundingMode?: Rounding;
  filterShape?: Shape4; inputShape?: Shape4;
}

/** dW[kh,kw,c,m] = sum_{n,oh,ow} xpad[n, oh*s+kh*d, ow*s+kw*d, c] * dy[n,oh,ow,c*M+m]: one broadcast product + reduction per tap. */
function depthwiseFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Shape4, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [kh, kw, c, mult] = filterShape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = info;
  const [n, h, w] = x.shape;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const needH = (oh - 1) * sh + (kh - 1) * dh + 1;
  const needW = (ow - 1) * sw + (kw - 1) * dw + 1;
  const xp = padOrCrop(x, pt, needH - h - pt, pl, needW - w - pl);
  const p = n * oh * ow;
  const dy3 = tf.reshape(dy, [p, c, mult]);
  const taps = stridedTaps(xp, sh, sw, oh, ow);
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      parts.push(tf.tidy(() => tf.sum(tf.mul(tf.reshape(taps.tap(i * dh, j * dw), [p, c, 1]), dy3), 0)));
    }
  }
  taps.dispose();
  return tf.reshape(tf.stack(parts), [kh, kw, c, mult]);
}

function depthwiseInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: Shape4, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [kh, kw, c, mult] = filter.shape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
  const [, h, w] = inputShape;
  const khe = (kh - 1) * dh + 1;
  const kwe = (kw - 1) * dw + 1;
  const dz = zeroInsert(dy, sh, sw);
  const top = khe - 1 - padInfo.top;
  const left = kwe - 1 - padInfo.left;
  const dp = padOrCrop(dz, top, h + khe - 1 - dz.shape[1] - top, left, w + kwe - 1 - dz.shape[2] - left);
  const wf = tf.reverse(filter, [0, 1]) as tf.Tensor4D;
  if (mult === 1) return tf.depthwiseConv2d(dp, wf, 1, 'valid', 'NHWC', [dh, dw]);
  const [nn, hp, wp] = dp.shape;
  const dp5 = tf.reshape(dp, [nn, hp, wp, c, mult]);
  let acc: tf.Tensor4D | undefined;
  for (let m = 0; m < mult; m++) {
    const dm = tf.reshape(tf.slice(dp5, [0, 0, 0, 0, m], [nn, hp, wp, c, 1]), [nn, hp, wp, c]) as tf.Tensor4D;
    const wm = tf.slice(wf, [0, 0, 0, m], [kh, kw, c, 1]);
    const term = tf.depthwiseConv2d(dm, wm, 1, 'valid', 'NHWC', [dh, dw]);
    acc = acc == null ? term : (tf.add(acc, term) as tf.Tensor4D);
  }
  return acc as tf.Tensor4D;
}

const depthwiseBackpropFilter: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() => {
  const a = attrs as unknown as DepthwiseBackpropAttrs;
  const x = input(inputs, 'x') as tf.Tensor4D;
  const dy = input(inputs, 'dy') as tf.Tensor4D;
  const fs = a.filterShape as Shape4;
  const info = convInfo(x.shape, fs, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true, 'NHWC');
  return depthwiseFilterGrad(x, dy, fs, info);
});

const depthwiseBackpropInput: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() => {
  const a = attrs as unknown as DepthwiseBackpropAttrs;
  const dy = input(inputs, 'dy') as tf.Tensor4D;
  const filter = input(inputs, 'filter') as tf.Tensor4D;
  const xs = a.inputShape as Shape4;
  const info = convInfo(xs, filter.shape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true, 'NHWC');
  return depthwiseInputGrad(dy, filter, xs, info);
});

// ---------------------------------------------------------------------------
// UnsortedSegmentSum (gradient of gather)
// ---------------------------------------------------------------------------

/** A plain loop over host copies: exact, linear in x.size, and gathers are rarely on the hot path. */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, attrs }) => tf.tidy(() => {
  const x = input(inputs, 'x');
  const ids = input(inputs, 'segmentIds');
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const idv = ids.dataSync();
  const xv = x.dataSync();
  const inner = sizeOf(x.shape.slice(ids.rank));
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < idv.length; i++) {
    const s = idv[i];
    if (s < 0 || s >= numSegments) continue; // TF drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += xv[src + j];
  }
  return tf.tensor(out, [numSegments, ...x.shape.slice(ids.rank)], x.dtype === 'int32' ? 'int32' : 'float32');
});

// ---------------------------------------------------------------------------
// Tile and GatherV2: block copies on the heap
// ---------------------------------------------------------------------------

/** What these kernels use of the wasm backend (public methods of BackendWasm). */
interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const copyable = (dtype: tf.DataType): boolean => dtype === 'float32' || dtype === 'int32';

/**
 * The stock wasm Tile is an element-by-element loop (~150 ms to tile a
 * [1, 1, 1, 144] BatchNorm statistic over a 8x56x56 batch, which every
 * BatchNorm gradient does); here each tiled axis is one contiguous block
 * repeated with copyWithin, innermost first.
 */
const tile: tf.KernelFunc = (args) => {
  const x = args.inputs.x as tf.TensorInfo;
  const reps = (args.attrs as unknown as { reps: number[] }).reps;
  if (!copyable(x.dtype) || reps.length !== x.shape.length) return getOriginal('Tile').kernelFunc(args);
  const backend = args.backend as unknown as HeapBackend;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  // Views after makeOutput: allocating may grow (and detach) the heap.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  // outStride[d]: elements of the output per index of axis d.
  const outStride = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) outStride[d] = outStride[d + 1] * outShape[d];
  const inStride = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) inStride[d] = inStride[d + 1] * x.shape[d];
  // Fills output block (axis d, source offset, output offset): first repeat from the source, then copies of it.
  const fill = (d: number, srcOff: number, dstOff: number): void => {
    if (d === rank) {
      dst[dstOff] = src[srcOff];
      return;
    }
    const n = x.shape[d];
    const block = n * outStride[d + 1];
    if (d === rank - 1) dst.set(src.subarray(srcOff, srcOff + n), dstOff);
    else for (let i = 0; i < n; i++) fill(d + 1, srcOff + i * inStride[d + 1], dstOff + i * outStride[d + 1]);
    for (let r = 1; r < reps[d]; r++) dst.copyWithin(dstOff + r * block, dstOff, dstOff + block);
  };
  fill(0, 0, 0);
  return out;
};

/**
 * The stock wasm GatherV2 copies element by element (~20 ms for 2048 rows of
 * 144 floats, every flow update gathers two such); here each gathered slice
 * is one block copy. Out-of-range indices throw, as the cpu backend does.
 */
const gatherV2: tf.KernelFunc = (args) => {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const attrs = args.attrs as unknown as { axis: number; batchDims: number };
  if (!copyable(x.dtype) || indices.dtype !== 'int32' || (attrs.batchDims ?? 0) !== 0) return getOriginal('GatherV2').kernelFunc(args);
  const backend = args.backend as unknown as HeapBackend;
  const axis = attrs.axis < 0 ? attrs.axis + x.shape.length : attrs.axis;
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const dimSize = x.shape[axis];
  const nIdx = sizeOf(indices.shape);
  const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
  const src = backend.typedArrayFromHeap(x);
  const idx = backend.typedArrayFromHeap(indices);
  const dst = backend.typedArrayFromHeap(out);
  for (let j = 0; j < nIdx; j++) {
    if (idx[j] < 0 || idx[j] >= dimSize) throw new Error(`GatherV2: the index value ${idx[j]} is not in [0, ${dimSize - 1}]`);
  }
  for (let o = 0; o < outer; o++) {
    const srcBase = o * dimSize * inner;
    const dstBase = o * nIdx * inner;
    if (inner === 1) for (let j = 0; j < nIdx; j++) dst[dstBase + j] = src[srcBase + idx[j]];
    else for (let j = 0; j < nIdx; j++) dst.set(src.subarray(srcBase + idx[j] * inner, srcBase + (idx[j] + 1) * inner), dstBase + j * inner);
  }
  return out;
};

// ---------------------------------------------------------------------------
// registry
// ---------------------------------------------------------------------------

const KERNELS: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2dBackpropFilter,
  Conv2DBackpropInput: conv2dBackpropInput,
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
  Tile: tile,
  GatherV2: gatherV2,
};

/**
 * Registers the training kernels on backend 'wasm' (idempotent). Returns the
 * names now patched. Works before or after the wasm backend is initialised:
 * replaced kernels keep the original setupFunc, which the original kernelFunc
 * (still used for the fast cases) depends on.
 */
export function registerWasmTrainingKernels(opts: WasmKernelOptions = {}): string[] {
  options = { conv2dFilterGrad: opts.conv2dFilterGrad ?? options.conv2dFilterGrad };
  for (const name of WASM_TRAINING_KERNELS) {
    if (originals.has(name)) continue;
    const existing = tf.getKernel(name, WASM);
    originals.set(name, existing);
    if (existing != null) tf.unregisterKernel(name, WASM);
    tf.registerKernel({
      kernelName: name,
      backendName: WASM,
      kernelFunc: KERNELS[name],
      setupFunc: existing?.setupFunc,
      disposeFunc: existing?.disposeFunc,
    });
  }
  return patchedWasmKernels();
}

/** Restores the stock wasm kernels (benchmarks use this to measure the unpatched backend). */
export function unregisterWasmTrainingKernels(): void {
  // The onnxruntime wrappers delegate to the kernels below them: they go first.
  unregisterOnnxKernels();
  for (const [name, original] of originals) {
    tf.unregisterKernel(name, WASM);
    if (original != null) tf.registerKernel(original);
  }
  originals.clear();
}

/** Names of the kernels currently replaced or added on 'wasm' by this module. */
export function patchedWasmKernels(): string[] {
  return WASM_TRAINING_KERNELS.filter((k) => originals.has(k));
}
