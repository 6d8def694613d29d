/**
 * The heavy kernels of tfjs training (convolutions, their two gradients,
 * matmuls, and big reductions) run by onnxruntime-node when it is installed, inside the tfjs wasm
 * backend's autograd.
 *
 * Why: a training step is mostly dense arithmetic (3x3 convs of the
 * constraintor and their gradients, the flows' subnet matmuls). WebAssembly
 * SIMD is 128 bits wide and has no fused multiply-add, so even XNNPACK's
 * tuned wasm kernels reach about 7-8 GMAC/s on one core here, where native
 * code (PyTorch's oneDNN, onnxruntime's MLAS, AVX2 + FMA) reaches 25-35. No
 * wasm kernel can close that gap; the native library that `npm install`
 * already brings can. tfjs still records the gradients and runs every other
 * op: only the arithmetic of these kernels moves, so the values are the same
 * computation in another summation order (float32 rounding, ~1e-6 relative).
 *
 * How: a tfjs kernel must return at once, so it runs a synchronous session
 * (onnx-sync.ts). Inputs are handed over as views of the wasm heap (no copy), the
 * output is copied into a tensor the wasm backend allocates. One small ONNX
 * graph per kernel, shape and attributes, built once and cached. Work below
 * `minWork` multiply-adds stays on wasm, where an onnxruntime call (~20 us
 * plus copies) would cost more than it saves. Anything this module does not
 * cover (dilations, NCHW, batch broadcasting, other fused activations) falls
 * through to the kernel that was registered before it.
 *
 * ```ts
 * await initEngine();                 // registers them on wasm when onnxruntime-node loads
 * onnxKernelsActive();                // ['Conv2D', 'Conv2DBackpropInput', ...]
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxGraph } from '../util/onnx-graph';
import { SyncSession, SyncTensor, syncOnnxProblem, syncOnnxVersion } from './onnx-sync';

const WASM = 'wasm';

/** Kernels this module can route to onnxruntime. */
export const ONNX_KERNELS: readonly string[] = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul', 'Sum', 'Mean'];

/** Environment switch: RESAD_ONNX_KERNELS=0 keeps every kernel on wasm. */
export const ONNX_KERNELS_ENV_VAR = 'RESAD_ONNX_KERNELS';

/**
 * Multiply-adds (for reductions: input elements) below which a kernel stays
 * on wasm: ~30 us of wasm work, about what an onnxruntime call costs. Not
 * tuned further: a training step's kernels are far above or far below it.
 */
export const ONNX_KERNEL_MIN_WORK = 200_000;

/** What the wasm backend offers a kernel (public methods of BackendWasm). */
interface WasmBackendLike {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const sessions = new Map<string, SyncSession>();
/** Kernel name -> the config registered before this module's wrapper (undefined: none). */
const previous = new Map<string, tf.KernelConfig | undefined>();
let minWork = ONNX_KERNEL_MIN_WORK;
const calls = { onnx: 0, wasm: 0 };

function session(key: string, build: () => OnnxGraph): SyncSession {
  let s = sessions.get(key);
  if (s === undefined) {
    s = SyncSession.create(build().toBytes());
    sessions.set(key, s);
  }
  return s;
}

/** Runs `s` on the inputs' heap views, writing its single output straight into a new wasm tensor. */
function runInto(backend: WasmBackendLike, s: SyncSession, feeds: Record<string, tf.TensorInfo>, outShape: number[]): tf.TensorInfo {
  // Allocate first: makeOutput may grow the wasm heap, which detaches views taken before it.
  const out = backend.makeOutput(outShape, 'float32');
  const views: Record<string, SyncTensor> = {};
  for (const [name, info] of Object.entries(feeds)) views[name] = { data: backend.typedArrayFromHeap(info), dims: info.shape };
  s.run(views, { y: { data: backend.typedArrayFromHeap(out), dims: outShape } });
  calls.onnx++;
  return out;
}

const allFloat = (infos: ReadonlyArray<tf.TensorInfo | undefined>): boolean => infos.every((t) => t == null || t.dtype === 'float32');

function delegate(name: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const cfg = previous.get(name);
  if (cfg == null) throw new Error(`onnx kernels: no wasm kernel '${name}' to fall back to`);
  calls.wasm++;
  return cfg.kernelFunc(args);
}

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Pair = number | [number, number];

interface ConvAttrs {
  strides: Pair;
  pad: Pad;
  dataFormat?: string;
  dilations?: Pair;
  dimRoundingMode?: Rounding;
}

function plainConv(attrs: ConvAttrs): boolean {
  const d = attrs.dilations ?? 1;
  const dilated = Array.isArray(d) ? d[0] !== 1 || d[1] !== 1 : d !== 1;
  return (attrs.dataFormat ?? 'NHWC') === 'NHWC' && !dilated;
}

function convInfo(xShape: Shape4, filterShape: Shape4, attrs: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/** ONNX Conv weight [Co, Ci, kh, kw] from a tfjs filter [kh, kw, Ci, Co], in the graph. */
function oihw(g: OnnxGraph, filter: string): string {
  return g.node('Transpose', [filter], { perm: [3, 2, 0, 1] });
}

/** y = conv(x, filter) in NHWC, as NCHW Conv between two transposes (MLAS reorders to its blocked layout anyway). */
function conv2dGraph(xShape: Shape4, filterShape: Shape4, info: tf.backend_util.Conv2DInfo): OnnxGraph {
  const g = new OnnxGraph('resad-kernel');
  const x = g.input('x', xShape);
  const f = g.input('filter', filterShape);
  const p = info.padInfo;
  const y = g.node('Conv', [g.node('Transpose', [x], { perm: [0, 3, 1, 2] }), oihw(g, f)], {
    kernel_shape: [filterShape[0], filterShape[1]],
    strides: [info.strideHeight, info.strideWidth],
    pads: [p.top, p.left, p.bottom, p.right],
  });
  g.output(g.node('Transpose', [y], { perm: [0, 2, 3, 1] }), 'y', info.outShape);
  return g;
}

/**
 * dx of a conv: stride 1 as a Conv of dy with the flipped, in/out-swapped
 * filter (MLAS's fast path); strided as ConvTranspose, with output_padding
 * giving back the exact input size.
 */
function inputGradGraph(dyShape: Shape4, filterShape: Shape4, inShape: Shape4, info: tf.backend_util.Conv2DInfo): OnnxGraph | null {
  const [kh, kw] = filterShape;
  const p = info.padInfo;
  const g = new OnnxGraph('resad-kernel');
  const dy = g.node('Transpose', [g.input('dy', dyShape)], { perm: [0, 3, 1, 2] });
  const f = g.input('filter', filterShape);
  let dx: string;
  if (info.strideHeight === 1 && info.strideWidth === 1) {
    const pads = [kh - 1 - p.top, kw - 1 - p.left, kh - 1 - p.bottom, kw - 1 - p.right];
    if (pads.some((v) => v < 0)) return null;
    // [kh, kw, Ci, Co] -> [Ci, Co, kh, kw], flipped in both spatial axes.
    const swapped = g.node('Transpose', [f], { perm: [2, 3, 0, 1] });
    const flipped = g.node('Slice', [swapped, g.ints('s', [-1, -1]), g.ints('e', [-(kh + 1), -(kw + 1)]), g.ints('a', [2, 3]), g.ints('st', [-1, -1])]);
    dx = g.node('Conv', [dy, flipped], { kernel_shape: [kh, kw], pads });
  } else {
    const outH = info.strideHeight * (dyShape[1] - 1) + kh - p.top - p.bottom;
    const outW = info.strideWidth * (dyShape[2] - 1) + kw - p.left - p.right;
    const op = [inShape[1] - outH, inShape[2] - outW];
    if (op[0] < 0 || op[1] < 0 || op[0] >= info.strideHeight || op[1] >= info.strideWidth) return null;
    dx = g.node('ConvTranspose', [dy, oihw(g, f)], {
      kernel_shape: [kh, kw],
      strides: [info.strideHeight, info.strideWidth],
      pads: [p.top, p.left, p.bottom, p.right],
      output_padding: op,
    });
  }
  g.output(g.node('Transpose', [dx], { perm: [0, 2, 3, 1] }), 'y', inShape);
  return g;
}

/** dW[i, j] = taps(x)[i, j]^T dy, one Gemm per filter tap over the zero-padded input (strided taps by Slice steps). */
function filterGradGraph(xShape: Shape4, dyShape: Shape4, filterShape: Shape4, info: tf.backend_util.Conv2DInfo): OnnxGraph {
  const [n, , , ci] = xShape;
  const [, oh, ow, co] = dyShape;
  const [kh, kw] = filterShape;
  const p = info.padInfo;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const g = new OnnxGraph('resad-kernel');
  const x = g.input('x', xShape);
  const dy = g.node('Reshape', [g.input('dy', dyShape), g.ints('dyshape', [n * oh * ow, co])]);
  const padded = p.top + p.bottom + p.left + p.right > 0 ? g.node('Pad', [x, g.ints('pads', [0, p.top, p.left, 0, 0, p.bottom, p.right, 0])]) : x;
  const rowsShape = g.ints('rows', [n * oh * ow, ci]);
  const taps: string[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const tap = g.node('Slice', [padded, g.ints('s', [i, j]), g.ints('e', [i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1]), g.ints('a', [1, 2]), g.ints('st', [sh, sw])]);
      const grad = g.node('Gemm', [g.node('Reshape', [tap, rowsShape]), dy], { transA: 1 });
      taps.push(g.node('Unsqueeze', [grad, g.ints('ax', [0])]));
    }
  }
  const stacked = taps.length === 1 ? taps[0] : g.node('Concat', taps, { axis: 0 });
  g.output(g.node('Reshape', [stacked, g.ints('fshape', filterShape)]), 'y', filterShape);
  return g;
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/**
 * a x b (+ bias, relu) for [..., m, k] x [..., k, n] with the same batch on
 * both sides: one Gemm (transposes as its flags) for a single item, else a
 * 3-D MatMul with in-graph transposes.
 */
function matMulGraph(aShape: number[], bShape: number[], batch: number, biasShape: number[] | null, attrs: MatMulAttrs, outShape: number[]): OnnxGraph {
  const g = new OnnxGraph('resad-kernel');
  const a = g.input('a', aShape);
  const b = g.input('b', bShape);
  const bias = biasShape === null ? null : g.input('bias', biasShape);
  const last2 = (shape: number[]): number[] => shape.slice(-2);
  let y: string;
  if (batch === 1) {
    const a2 = aShape.length === 2 ? a : g.node('Reshape', [a, g.ints('as', last2(aShape))]);
    const b2 = bShape.length === 2 ? b : g.node('Reshape', [b, g.ints('bs', last2(bShape))]);
    const c = bias === null ? [] : [biasShape!.length === 1 ? bias : g.node('Reshape', [bias, g.ints('cs', [-1])])];
    y = g.node('Gemm', [a2, b2, ...c], { transA: attrs.transposeA ? 1 : 0, transB: attrs.transposeB ? 1 : 0 });
  } else {
    const a3 = g.node('Reshape', [a, g.ints('as', [batch, ...last2(aShape)])]);
    const b3 = g.node('Reshape', [b, g.ints('bs', [batch, ...last2(bShape)])]);
    const at = attrs.transposeA ? g.node('Transpose', [a3], { perm: [0, 2, 1] }) : a3;
    const bt = attrs.transposeB ? g.node('Transpose', [b3], { perm: [0, 2, 1] }) : b3;
    y = g.node('MatMul', [at, bt]);
    if (bias !== null) y = g.node('Add', [y, bias]);
  }
  if (attrs.activation === 'relu') y = g.node('Relu', [y]);
  g.output(g.node('Reshape', [y, g.ints('ys', outShape)]), 'y', outShape);
  return g;
}

const shapeKey = (...shapes: ReadonlyArray<readonly number[] | null>): string => shapes.map((s) => (s === null ? '-' : s.join('x'))).join('|');

const KERNELS: Record<string, tf.KernelFunc> = {
  Conv2D: (args) => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs;
    if (!plainConv(attrs) || !allFloat([x, filter])) return delegate('Conv2D', args);
    const info = convInfo(x.shape as Shape4, filter.shape as Shape4, attrs);
    if (info.outShape.reduce((p, d) => p * d, 1) * info.filterHeight * info.filterWidth * info.inChannels < minWork) return delegate('Conv2D', args);
    const key = `conv|${shapeKey(x.shape, filter.shape)}|${info.strideHeight},${info.strideWidth}|${JSON.stringify(info.padInfo)}`;
    return runInto(args.backend as unknown as WasmBackendLike, session(key, () => conv2dGraph(x.shape as Shape4, filter.shape as Shape4, info)), { x, filter }, info.outShape);
  },
  Conv2DBackpropInput: (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: Shape4 };
    if (!plainConv(attrs) || !allFloat([dy, filter])) return delegate('Conv2DBackpropInput', args);
    const info = convInfo(attrs.inputShape, filter.shape as Shape4, attrs);
    if (dy.shape.reduce((p, d) => p * d, 1) * info.filterHeight * info.filterWidth * info.inChannels < minWork) return delegate('Conv2DBackpropInput', args);
    const key = `dx|${shapeKey(dy.shape, filter.shape, attrs.inputShape)}|${info.strideHeight},${info.strideWidth}|${JSON.stringify(info.padInfo)}`;
    let graph: OnnxGraph | null = null;
    if (!sessions.has(key)) {
      graph = inputGradGraph(dy.shape as Shape4, filter.shape as Shape4, attrs.inputShape, info);
      if (graph === null) return delegate('Conv2DBackpropInput', args);
    }
    return runInto(args.backend as unknown as WasmBackendLike, session(key, () => graph!), { dy, filter }, [...attrs.inputShape]);
  },
  Conv2DBackpropFilter: (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: Shape4 };
    if (!plainConv(attrs) || !allFloat([x, dy])) return delegate('Conv2DBackpropFilter', args);
    const info = convInfo(x.shape as Shape4, attrs.filterShape, attrs);
    if (dy.shape.reduce((p, d) => p * d, 1) * info.filterHeight * info.filterWidth * info.inChannels < minWork) return delegate('Conv2DBackpropFilter', args);
    const key = `dw|${shapeKey(x.shape, dy.shape, attrs.filterShape)}|${info.strideHeight},${info.strideWidth}|${JSON.stringify(info.padInfo)}`;
    return runInto(args.backend as unknown as WasmBackendLike, session(key, () => filterGradGraph(x.shape as Shape4, dy.shape as Shape4, attrs.filterShape, info)), { x, dy }, [...attrs.filterShape]);
  },
  BatchMatMul: (args) => matMul('BatchMatMul', args),
  _FusedMatMul: (args) => matMul('_FusedMatMul', args),
  Sum: (args) => reduce('Sum', args),
  Mean: (args) => reduce('Mean', args),
};

function matMul(name: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const attrs = args.attrs as unknown as MatMulAttrs;
  if (a == null || b == null || preluActivationWeights != null || !allFloat([a, b, bias]) || a.shape.length < 2 || b.shape.length < 2) return delegate(name, args);
  const activation = attrs.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') return delegate(name, args);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [m, k] = attrs.transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const [kb, n] = attrs.transposeB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  const batchDimsA = a.shape.slice(0, -2);
  const batchDimsB = b.shape.slice(0, -2);
  const batch = batchDimsA.reduce((p, d) => p * d, 1);
  const batchB = batchDimsB.reduce((p, d) => p * d, 1);
  // Broadcast batches (one side shared, [2,1] x [3], ...) stay on the wasm kernels that handle them.
  const sameBatch = batch === batchB && (batch === 1 || batchDimsA.join(',') === batchDimsB.join(','));
  if (!sameBatch || k !== kb || batch * m * n * k < minWork) return delegate(name, args);
  const out = [...(ra >= rb ? batchDimsA : batchDimsB), m, n];
  // Gemm's C broadcasts one-way to [m, n]: a bias of n or 1 values along its last axis; others stay on wasm.
  const biasSize = bias == null ? 0 : bias.shape.reduce((p, d) => p * d, 1);
  if (bias != null && (!(biasSize === n || biasSize === 1) || (bias.shape.length > 0 && bias.shape[bias.shape.length - 1] !== biasSize))) return delegate(name, args);
  const key = `mm|${shapeKey(a.shape, b.shape, bias?.shape ?? null)}|${attrs.transposeA ? 1 : 0}${attrs.transposeB ? 1 : 0}|${activation}`;
  const feeds: Record<string, tf.TensorInfo> = { a, b };
  if (bias != null) feeds.bias = bias;
  return runInto(args.backend as unknown as WasmBackendLike, session(key, () => matMulGraph(a.shape, b.shape, batch, bias?.shape ?? null, { ...attrs, activation }, out)), feeds, out);
}

/**
 * Sum / Mean over any axes (BatchNorm statistics and gradients reduce an
 * NHWC batch over N, H, W: wasm transposes the whole tensor first).
 */
function reduce(name: 'Sum' | 'Mean', args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  const attrs = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const size = x.shape.reduce((p, d) => p * d, 1);
  if (x.dtype !== 'float32' || size < minWork || x.shape.length === 0) return delegate(name, args);
  const rank = x.shape.length;
  const given = attrs.axis == null ? x.shape.map((_, i) => i) : Array.isArray(attrs.axis) ? attrs.axis : [attrs.axis];
  const axes = [...new Set(given.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (axes.length === 0) return delegate(name, args);
  const out = attrs.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  const key = `${name}|${shapeKey(x.shape, out)}|${axes.join(',')}`;
  return runInto(args.backend as unknown as WasmBackendLike, session(key, () => {
    const g = new OnnxGraph('resad-kernel');
    const xi = g.input('x', x.shape);
    // Opset 17: ReduceSum takes its axes as an input, ReduceMean as an attribute.
    const r = name === 'Sum' ? g.node('ReduceSum', [xi, g.ints('axes', axes)], { keepdims: 0 }) : g.node('ReduceMean', [xi], { axes, keepdims: 0 });
    g.output(g.node('Reshape', [r, g.ints('shape', out)]), 'y', out);
    return g;
  }), { x }, out);
}

/** Why onnxruntime kernels cannot run here, or null when they can. */
export function onnxKernelsProblem(): string | null {
  return syncOnnxProblem();
}

/**
 * Wraps the wasm kernels in ONNX_KERNELS so that their big cases run on
 * onnxruntime (idempotent; call after registerWasmTrainingKernels, whose
 * kernels serve the rest). Returns the kernels now routed, [] when
 * onnxruntime-node cannot be loaded.
 */
export function registerOnnxKernels(options: { minWork?: number } = {}): string[] {
  if (options.minWork !== undefined) minWork = options.minWork;
  if (syncOnnxProblem() !== null) return [];
  for (const name of ONNX_KERNELS) {
    if (previous.has(name)) continue;
    const existing = tf.getKernel(name, WASM);
    previous.set(name, existing);
    if (existing != null) tf.unregisterKernel(name, WASM);
    tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc: KERNELS[name], setupFunc: existing?.setupFunc, disposeFunc: existing?.disposeFunc });
  }
  return onnxKernelsActive();
}

/** Puts back the kernels that were registered before registerOnnxKernels and frees the cached sessions. */
export function unregisterOnnxKernels(): void {
  for (const [name, cfg] of previous) {
    tf.unregisterKernel(name, WASM);
    if (cfg != null) tf.registerKernel(cfg);
  }
  previous.clear();
  for (const s of sessions.values()) s.dispose?.();
  sessions.clear();
  minWork = ONNX_KERNEL_MIN_WORK;
}

/** Kernels currently routed to onnxruntime. */
export function onnxKernelsActive(): string[] {
  return ONNX_KERNELS.filter((k) => previous.has(k));
}

/** onnxruntime-node's version as the kernels load it (null when they cannot). */
export function onnxKernelsRuntime(): string | null {
  return syncOnnxVersion();
}

/** How many kernel calls went to onnxruntime and how many fell through to wasm since the last reset. */
export function onnxKernelCalls(reset = false): { onnx: number; wasm: number } {
  const out = { ...calls };
  if (reset) {
    calls.onnx = 0;
    calls.wasm = 0;
  }
  return out;
}
