/**
 * Shared helpers for the flow tests: seeded random tensors, weight
 * perturbation (so invertibility / log-det tests do not run on a near-identity
 * flow) and a float64 log|det| for numerical Jacobians.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';
import { NamedWeight } from '../../src/flow/coupling-block';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

export function randn(rng: Rng, shape: [number, number], std = 1): tf.Tensor2D {
  const v = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal(0, std);
  return tf.tensor2d(v, shape);
}

/** Adds N(0, std^2) noise to every trainable weight (the fixed permutation is left alone). */
export function perturbed(weights: NamedWeight[], rng: Rng, std: number): NamedWeight[] {
  return weights.map((w) => {
    if (w.name.endsWith('perm')) return w;
    const values = Float32Array.from(w.values, (v) => v + rng.normal(0, std));
    return { name: w.name, shape: w.shape.slice(), values };
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}
