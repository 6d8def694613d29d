/**
 * Shared helpers for the converter and constraintor tests: cpu backend, seeded
 * random tensors, plain-array comparisons and a tensor-leak guard.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export function randnValues(rng: Rng, n: number, std = 1): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal(0, std);
  return v;
}

export function randn<R extends tf.Rank>(rng: Rng, shape: number[], std = 1): tf.Tensor<R> {
  return tf.tensor(randnValues(rng, shape.reduce((p, d) => p * d, 1), std), shape as tf.ShapeMap[R]) as tf.Tensor<R>;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Runs fn and asserts that it leaves no more tensors than `kept` (what it returns and the caller owns). */
export function expectNoLeak(fn: () => tf.Tensor | tf.Tensor[] | void, what = 'operation'): void {
  const before = tf.memory().numTensors;
  const out = fn();
  const outs = out === undefined ? [] : Array.isArray(out) ? out : [out];
  const kept = new Set(outs.map((t) => t.id)).size;
  const after = tf.memory().numTensors;
  tf.dispose(outs);
  if (after - before !== kept) throw new Error(`${what} leaked ${after - before - kept} tensor(s)`);
  if (tf.memory().numTensors !== before) throw new Error(`${what}: outputs share storage unexpectedly`);
}

/** Row r of a row-major [rows, cols] array. */
export function row(values: ArrayLike<number>, cols: number, r: number): number[] {
  return Array.from({ length: cols }, (_, j) => values[r * cols + j]);
}
