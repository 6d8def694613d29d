/**
 * Engine benchmark: matmul and conv2d, forward and forward+backward, on every
 * backend available here (patched wasm, stock wasm, pure-JS cpu on small sizes,
 * tfjs-node / tfjs-node-gpu when installed). Prints ms and GFLOP/s, then ratio
 * checks against references measured in the same run (performance targets
 * live here, never in unit tests).
 *
 * ```sh
 * npx tsx bench/run.ts engine            # ~2-4 minutes on 2 shared cores
 * npx tsx bench/run.ts engine --quick    # fewer repetitions, skips the slowest stock runs
 * ```
 *
 * Timing: each repetition runs the op, reduces every output to one scalar
 * inside tf.tidy and awaits that scalar (the reduction is <2% of any case);
 * the reported time is the minimum over repetitions after one warm-up, which
 * is the most stable statistic on a machine shared with other jobs.
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine, resetEngine, describeEngine } from '../src/engine/index';
import { Rng } from '../src/util/rng';

type Size = 'large' | 'small';
type Setup = () => { run: () => tf.Tensor[]; dispose: () => void };

interface Case {
  id: string;
  label: string;
  size: Size;
  /** floating-point operations per run (multiply-add = 2). */
  flops: number;
  setup: Setup;
  /** Kernels stock wasm lacks: the case is reported as n/a there. */
  needsPatch?: boolean;
  /** Stock wasm takes seconds here: one run, no warm-up. */
  slowOnStock?: boolean;
}

interface Engine {
  name: string;
  init: () => Promise<string>;
  sizes: Size[];
}

export interface Row {
  engine: string;
  caseId: string;
  label: string;
  ms?: number;
  medianMs?: number;
  gflops?: number;
  reps: number;
  note?: string;
}

export const description = 'matmul and conv2d forward/backward per tfjs backend (patched vs stock wasm, cpu, native)';

function randn(seed: number, shape: number[]): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal();
  return tf.tensor(data, shape);
}

function matmulCase(id: string, label: string, size: Size, m: number, k: number, n: number, mode: 'fwd' | 'transB' | 'fwdbwd'): Case {
  const mm = 2 * m * n * k;
  return {
    id, label, size,
    flops: mode === 'fwdbwd' ? 3 * mm : mm,
    slowOnStock: size === 'large' && mode !== 'fwd',
    setup: () => {
      const a = randn(1, [m, k]) as tf.Tensor2D;
      const b = randn(2, mode === 'transB' ? [n, k] : [k, n]) as tf.Tensor2D;
      const dy = randn(3, [m, n]);
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D);
      const vg = tf.valueAndGrads(f);
      const both = () => {
        const { value, grads } = vg([a, b], dy);
        return [value, ...grads];
      };
      const run = mode === 'fwd' ? () => [tf.matMul(a, b)] : mode === 'transB' ? () => [tf.matMul(a, b, false, true)] : both;
      return { run, dispose: () => tf.dispose([a, b, dy]) };
    },
  };
}

type ConvMode = 'fwd' | 'fwdbwd' | 'dx' | 'dw';

function convCase(id: string, label: string, size: Size, x: [number, number, number, number], co: number, k: number, stride: number, mode: ConvMode): Case {
  const oh = Math.ceil(x[1] / stride);
  const ow = Math.ceil(x[2] / stride);
  const one = 2 * x[0] * oh * ow * k * k * x[3] * co;
  return {
    id, label, size,
    flops: mode === 'fwdbwd' ? 3 * one : one,
    needsPatch: mode === 'fwdbwd' || mode === 'dw',
    slowOnStock: size === 'large' && mode === 'dx',
    setup: () => {
      const xs = randn(4, x) as tf.Tensor4D;
      const w = randn(5, [k, k, x[3], co]) as tf.Tensor4D;
      const dy = randn(6, [x[0], oh, ow, co]) as tf.Tensor4D;
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same');
      const vg = tf.valueAndGrads(conv);
      let run: () => tf.Tensor[];
      if (mode === 'fwd') run = () => [conv(xs, w)];
      else if (mode === 'fwdbwd') {
        run = () => {
          const { value, grads } = vg([xs, w], dy);
          return [value, ...grads];
        };
      }
      else if (mode === 'dx') run = () => [tf.conv2dTranspose(dy, w, x, stride, 'same')];
      else run = () => [tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy }, { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape: [k, k, x[3], co] }) as tf.Tensor];
      return { run, dispose: () => tf.dispose([xs, w, dy]) };
    },
  };
}

export const CASES: Case[] = [
  matmulCase('mm', 'matmul 3136x256 @ 256x1024', 'large', 3136, 256, 1024, 'fwd'),
  matmulCase('mmT', 'matmul 3136x256 @ (1024x256)^T', 'large', 3136, 256, 1024, 'transB'),
  matmulCase('mmFB', 'matmul 3136x256x1024 fwd+bwd', 'large', 3136, 256, 1024, 'fwdbwd'),
  convCase('conv', 'conv 8x56x56 64->64 3x3 s1 fwd', 'large', [8, 56, 56, 64], 64, 3, 1, 'fwd'),
  convCase('convFB', 'conv 8x56x56 64->64 3x3 s1 fwd+bwd', 'large', [8, 56, 56, 64], 64, 3, 1, 'fwdbwd'),
  convCase('convDx', 'conv 3x3 s1 input grad (dx)', 'large', [8, 56, 56, 64], 64, 3, 1, 'dx'),
  convCase('convDx2', 'conv 3x3 s2 input grad (dx)', 'large', [8, 56, 56, 64], 64, 3, 2, 'dx'),
  convCase('convDw2', 'conv 3x3 s2 filter grad (dW)', 'large', [8, 56, 56, 64], 64, 3, 2, 'dw'),
  matmulCase('smmFB', 'small matmul 784x256x256 fwd+bwd', 'small', 784, 256, 256, 'fwdbwd'),
  convCase('sconvFB', 'small conv 2x20x20 32->32 3x3 fwd+bwd', 'small', [2, 20, 20, 32], 32, 3, 1, 'fwdbwd'),
];

async function timeCase(c: Case, reps: number, warmup: boolean): Promise<{ min: number; median: number }> {
  const { run, dispose } = c.setup();
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    // Reduce to a scalar inside tidy and read it outside: returning dataSync()
    // arrays from tidy makes tidy walk every element (ENV_NOTES benchmark trap).
    const s = tf.tidy(() => tf.addN(run().map((t) => tf.sum(t))));
    await s.data();
    const ms = performance.now() - t0;
    s.dispose();
    return ms;
  };
  try {
    if (warmup) await once();
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) ts.push(await once());
    ts.sort((a, b) => a - b);
    return { min: ts[0], median: ts[Math.floor(ts.length / 2)] };
  } finally {
    dispose();
  }
}

function engines(): Engine[] {
  const init = (opts: Parameters<typeof initEngine>[0]) => async () => {
    resetEngine();
    const info = await initEngine({ quiet: true, ...opts });
    return describeEngine(info);
  };
  return [
    { name: 'tfjs-node-gpu', init: init({ backend: 'tensorflow-gpu' }), sizes: ['large', 'small'] },
    { name: 'tfjs-node', init: init({ backend: 'tensorflow' }), sizes: ['large', 'small'] },
    { name: 'wasm + onnx kernels', init: init({ backend: 'wasm' }), sizes: ['large', 'small'] },
    { name: 'wasm patched', init: init({ backend: 'wasm', onnxKernels: false }), sizes: ['large', 'small'] },
    { name: 'wasm stock', init: init({ backend: 'wasm', patchWasm: false }), sizes: ['large', 'small'] },
    { name: 'cpu', init: init({ backend: 'cpu' }), sizes: ['small'] },
  ];
}

function fmt(v: number | undefined, digits: number): string {
  return v == null ? '-' : v.toFixed(digits);
}

export function printTable(rows: Row[]): void {
  const header = ['case', 'engine', 'ms (min)', 'ms (med)', 'GFLOP/s', 'reps', 'note'];
  const lines = rows.map((r) => [r.label, r.engine, fmt(r.ms, 1), fmt(r.medianMs, 1), fmt(r.gflops, 2), String(r.reps), r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmtLine = (l: string[]) => `| ${l.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  console.log(fmtLine(header));
  console.log(`|${widths.map((w, i) => (i >= 2 && i <= 5 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const l of lines) console.log(fmtLine(l));
}

interface Check {
  text: string;
  /** Returns [measured ratio or value, pass] or undefined when an input is missing. */
  eval: (get: (engine: string, caseId: string) => number | undefined) => [number, boolean] | undefined;
}

function ratio(slowE: string, slowC: string, fastE: string, fastC: string, atLeast: number, text: string): Check {
  return {
    text,
    eval: (get) => {
      const slow = get(slowE, slowC);
      const fast = get(fastE, fastC);
      if (slow == null || fast == null) return undefined;
      return [slow / fast, slow / fast >= atLeast];
    },
  };
}

export const CHECKS: Check[] = [
  ratio('wasm stock', 'mmFB', 'wasm patched', 'mmFB', 3, 'patched wasm matmul fwd+bwd is >= 3x stock wasm'),
  ratio('wasm stock', 'mmT', 'wasm patched', 'mmT', 3, 'patched wasm transposeB matmul is >= 3x stock wasm'),
  ratio('wasm stock', 'convDx', 'wasm patched', 'convDx', 5, 'patched wasm conv input grad s1 is >= 5x stock wasm'),
  ratio('wasm stock', 'convDx2', 'wasm patched', 'convDx2', 2, 'patched wasm conv input grad s2 is >= 2x stock wasm'),
  {
    text: 'patched wasm matmul fwd+bwd costs <= 5x its forward (ideal 3x)',
    eval: (get) => {
      const fb = get('wasm patched', 'mmFB');
      const f = get('wasm patched', 'mm');
      return fb == null || f == null ? undefined : [fb / f, fb / f <= 5];
    },
  },
  {
    text: 'patched wasm conv fwd+bwd costs <= 5x its forward (ideal 3x)',
    eval: (get) => {
      const fb = get('wasm patched', 'convFB');
      const f = get('wasm patched', 'conv');
      return fb == null || f == null ? undefined : [fb / f, fb / f <= 5];
    },
  },
  ratio('cpu', 'sconvFB', 'wasm patched', 'sconvFB', 5, 'patched wasm small conv fwd+bwd is >= 5x cpu'),
  ratio('cpu', 'smmFB', 'wasm patched', 'smmFB', 5, 'patched wasm small matmul fwd+bwd is >= 5x cpu'),
  ratio('wasm patched', 'convFB', 'wasm + onnx kernels', 'convFB', 1.5, 'onnxruntime kernels: conv fwd+bwd is >= 1.5x patched wasm'),
  ratio('wasm patched', 'mmFB', 'wasm + onnx kernels', 'mmFB', 1.5, 'onnxruntime kernels: matmul fwd+bwd is >= 1.5x patched wasm'),
];

export async function main(args: string[]): Promise<{ rows: Row[]; failed: number }> {
  const quick = args.includes('--quick');
  const previous = tf.getBackend();
  const rows: Row[] = [];
  for (const e of engines()) {
    let desc: string;
    try {
      desc = await e.init();
    } catch (err) {
      const msg = (err as Error).message;
      const reason = /is not available: (.*?)\. To use it/.exec(msg)?.[1] ?? msg.slice(0, 160);
      console.log(`- ${e.name}: not available (${reason})`);
      continue;
    }
    console.log(`- ${e.name}: ${desc}`);
    for (const c of CASES) {
      if (!e.sizes.includes(c.size)) continue;
      const stock = e.name === 'wasm stock';
      if (stock && c.needsPatch) {
        rows.push({ engine: e.name, caseId: c.id, label: c.label, reps: 0, note: 'n/a: kernel missing on stock wasm' });
        continue;
      }
      if (stock && c.slowOnStock && quick) {
        rows.push({ engine: e.name, caseId: c.id, label: c.label, reps: 0, note: 'skipped (--quick)' });
        continue;
      }
      // Stock slow paths and the pure-JS cpu take seconds per run and gain nothing from warm-up.
      const slow = (stock && c.slowOnStock) || e.name === 'cpu';
      const reps = slow ? 1 : quick ? 3 : 5;
      try {
        const t = await timeCase(c, reps, !slow);
        rows.push({ engine: e.name, caseId: c.id, label: c.label, ms: t.min, medianMs: t.median, gflops: c.flops / t.min / 1e6, reps });
      } catch (err) {
        rows.push({ engine: e.name, caseId: c.id, label: c.label, reps: 0, note: `error: ${(err as Error).message.slice(0, 80)}` });
      }
    }
  }
  // Leave the process as initEngine would: patched wasm (or whatever ran before).
  resetEngine();
  await initEngine({ quiet: true, backend: 'wasm' });
  if (previous && previous !== 'wasm') await tf.setBackend(previous);

  console.log('');
  printTable([...rows].sort((a, b) => CASES.findIndex((c) => c.id === a.caseId) - CASES.findIndex((c) => c.id === b.caseId)));
  const get = (engine: string, caseId: string) => rows.find((r) => r.engine === engine && r.caseId === caseId)?.ms;
  console.log('');
  let failed = 0;
  for (const ch of CHECKS) {
    const res = ch.eval(get);
    if (res == null) {
      console.log(`SKIP  ${ch.text} (not measured)`);
      continue;
    }
    if (!res[1]) failed++;
    console.log(`${res[1] ? 'PASS' : 'FAIL'}  ${ch.text}: measured ${res[0].toFixed(2)}x`);
  }
  return { rows, failed };
}
