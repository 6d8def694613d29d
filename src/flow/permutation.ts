/**
 * Fixed channel mixings placed after each coupling block of the flow: a random
 * rotation (FrEIA AllInOneBlock `permute_soft=True`, what CFlow-AD and ResAD use)
 * or a random hard permutation (FrEIA's default, `permute_soft=False`).
 *
 * Both are orthogonal, so they contribute log|det| = 0 and their inverse is the
 * transpose. They are returned as row-major [C, C] matrices R in "[in, out]"
 * layout, applied as y = x R (so the forward path is a plain matMul with no
 * transpose flag, which is the fast path on the wasm backend).
 *
 * FrEIA draws the rotation with scipy's `special_ortho_group.rvs` (Haar measure
 * on SO(C)); here: QR (Gram-Schmidt with re-orthogonalisation, float64) of a
 * Gaussian matrix with R's diagonal made positive (Haar on O(C)), then one
 * column negated if det = -1 (Haar on SO(C)).
 *
 * ```ts
 * const R = randomRotation(256, new Rng(1));  // Float64Array, 256*256, orthogonal
 * const P = randomPermutationMatrix(8, new Rng(1));
 * ```
 */
import { Rng } from '../util/rng';

/** A random rotation (orthogonal, det +1), row-major [n, n]. */
export function randomRotation(n: number, rng: Rng): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`randomRotation: n must be a positive integer, got ${n}`);
  // Columns q_j of Q, stored column-major while building (cols[j*n + i]).
  const cols = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) cols[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    const qj = cols.subarray(j * n, (j + 1) * n);
    // Two Gram-Schmidt passes ("twice is enough") keep Q orthogonal to ~1e-15.
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const qk = cols.subarray(k * n, (k + 1) * n);
        let dot = 0;
        for (let i = 0; i < n; i++) dot += qk[i] * qj[i];
        for (let i = 0; i < n; i++) qj[i] -= dot * qk[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += qj[i] * qj[i];
    norm = Math.sqrt(norm);
    if (!(norm > 1e-10)) throw new Error('randomRotation: degenerate Gaussian draw');
    // Dividing by the (positive) norm is the "positive diagonal of R" convention
    // that makes Q Haar-distributed rather than biased by the QR sign choice.
    for (let i = 0; i < n; i++) qj[i] /= norm;
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = cols[j * n + i];
  if (determinantSign(out, n) < 0) {
    for (let i = 0; i < n; i++) out[i * n] = -out[i * n];
  }
  return out;
}

/** A random permutation matrix, row-major [n, n], in the y = x P layout: y_i = x_{perm[i]}. */
export function randomPermutationMatrix(n: number, rng: Rng): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`randomPermutationMatrix: n must be a positive integer, got ${n}`);
  const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[perm[i] * n + i] = 1;
  return out;
}

/** Sign of det(M) (+1, -1, or 0) for a row-major [n, n] matrix, by LU with partial pivoting. */
export function determinantSign(m: ArrayLike<number>, n: number): number {
  const { sign, logAbs } = logAbsDeterminant(m, n);
  return logAbs === -Infinity ? 0 : sign;
}

/**
 * log|det(M)| and sign(det M) of a row-major [n, n] matrix in float64 (LU with
 * partial pivoting). Used for the permutation's det sign and, in tests, for the
 * log-determinant of numerical Jacobians.
 */
export function logAbsDeterminant(m: ArrayLike<number>, n: number): { sign: number; logAbs: number } {
  const a = Float64Array.from(m as ArrayLike<number>);
  if (a.length !== n * n) throw new Error(`logAbsDeterminant: expected ${n * n} entries, got ${a.length}`);
  let sign = 1;
  let logAbs = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    let best = Math.abs(a[c * n + c]);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(a[r * n + c]);
      if (v > best) { best = v; p = r; }
    }
    if (best === 0) return { sign: 0, logAbs: -Infinity };
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        const t = a[c * n + k]; a[c * n + k] = a[p * n + k]; a[p * n + k] = t;
      }
      sign = -sign;
    }
    const piv = a[c * n + c];
    if (piv < 0) sign = -sign;
    logAbs += Math.log(Math.abs(piv));
    for (let r = c + 1; r < n; r++) {
      const f = a[r * n + c] / piv;
      if (f === 0) continue;
      for (let k = c + 1; k < n; k++) a[r * n + k] -= f * a[c * n + k];
    }
  }
  return { sign, logAbs };
}

/** Transpose of a row-major [n, n] matrix (the inverse of an orthogonal one). */
export function transposeSquare(m: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = m[i * n + j];
  return out;
}
