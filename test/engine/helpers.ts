/**
 * Test helpers for the engine layer: run the same computation on two tfjs
 * backends (tfjs has one global engine, so we switch with tf.setBackend) and
 * compare plain arrays.
 *
 * ```ts
 * const cpu = await runOn('cpu', () => [tf.matMul(a(), b())]);
 * const wasm = await runOn('wasm', () => [tf.matMul(a(), b())]);
 * expectClose(wasm, cpu, 1e-4);
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { strict as assert } from 'assert';
import { Rng } from '../../src/util/rng';

export interface Result {
  shape: number[];
  values: Float32Array;
}

/** Seeded normal data, identical on every backend (tensors are built inside the callback). */
export function randomData(seed: number, size: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal();
  return out;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A tensor factory for seeded data of a given shape (call it inside runOn). */
export function seeded(seed: number, shape: number[]): () => tf.Tensor {
  const data = randomData(seed, sizeOf(shape));
  return () => tf.tensor(data, shape);
}

/** Switches backend; silences the cpu backend's one-off "install tfjs-node" banner (initEngine does the same). */
export async function useBackend(backend: string): Promise<void> {
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`backend ${backend} failed to initialise`);
  const be = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof be.firstUse === 'boolean') be.firstUse = false;
}

/** Runs fn on `backend`, returns the outputs as plain arrays, disposes everything it made. */
export async function runOn(backend: string, fn: () => tf.Tensor[]): Promise<Result[]> {
  await useBackend(backend);
  const outs = tf.tidy(fn);
  const res = outs.map((t) => ({ shape: t.shape.slice(), values: t.dataSync() as Float32Array }));
  outs.forEach((t) => t.dispose());
  return res;
}

/** Scale-relative error: max|a-b| / max|b| (element-wise relative error is meaningless near zero). */
export function maxRelErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (Number.isNaN(diff)) return Number.POSITIVE_INFINITY;
  return diff / Math.max(scale, 1e-30);
}

export function expectClose(actual: Result[], expected: Result[], tol: number, label = ''): void {
  assert.equal(actual.length, expected.length, `${label} output count`);
  for (let i = 0; i < expected.length; i++) {
    assert.deepEqual(actual[i].shape, expected[i].shape, `${label} output ${i} shape`);
    assert.ok(expected[i].values.every((v) => Number.isFinite(v)), `${label} reference ${i} is not finite`);
    const err = maxRelErr(actual[i].values, expected[i].values);
    assert.ok(err < tol, `${label} output ${i}: max rel err ${err.toExponential(2)} >= ${tol}`);
  }
}

/** Values on wasm vs cpu for the same tensor program. */
export async function compareBackends(fn: () => tf.Tensor[], tol: number, label = ''): Promise<void> {
  const ref = await runOn('cpu', fn);
  const got = await runOn('wasm', fn);
  expectClose(got, ref, tol, label);
}

/** Tensors alive on the wasm backend before/after fn (after disposing fn's outputs). */
export async function leakedTensors(fn: () => tf.Tensor[]): Promise<number> {
  await tf.setBackend('wasm');
  // One warm-up: first calls may create cached constants.
  tf.dispose(tf.tidy(fn));
  const before = tf.memory().numTensors;
  tf.dispose(tf.tidy(fn));
  return tf.memory().numTensors - before;
}

/** Outputs: y, then d(sum(y*dy))/d(each input), dy seeded from the output shape. */
export function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Array<() => tf.Tensor>, seed = 99): () => tf.Tensor[] {
  return () => {
    const xs = inputs.map((g) => g());
    const y = f(...xs);
    const dy = tf.tensor(randomData(seed, y.size), y.shape);
    const grads = tf.grads((...args: tf.Tensor[]) => f(...args))(xs, dy);
    return [y, ...grads];
  };
}
