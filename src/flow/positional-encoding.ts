/**
 * 2-D sin/cos positional encoding: the condition vector of ResAD's conditional
 * normalizing flow (spec step 6), so that one flow can model a position-dependent
 * residual distribution.
 *
 * Same layout as CFlow-AD's `positionalencoding2d(D, H, W)` (gudovskiy/cflow-ad)
 * and ResAD's `get_position_encoding` (xcyao00/ResAD, models/modules.py):
 * with D' = D/2 and frequencies f_k = 1 / 10000^(2k / D'), k = 0 .. D'/2 - 1,
 *   channel 2k        = sin(x * f_k)      channel D' + 2k     = sin(y * f_k)
 *   channel 2k + 1    = cos(x * f_k)      channel D' + 2k + 1 = cos(y * f_k)
 * where x is the column (0 .. W-1) and y the row (0 .. H-1). Rows of the result
 * are positions in row-major order (y slowest), i.e. the order of a feature map
 * [H, W, C] flattened to [H*W, C]: row y*W + x.
 *
 * ```ts
 * const pe = positionalEncoding2d(28, 28);        // Tensor2D [784, 256], caller disposes
 * const grid = positionalEncodingGrid(28, 28, 64); // Tensor3D [28, 28, 64]
 * ```
 */
import * as tf from '@tensorflow/tfjs';

/** The spec's condition dimension (ResAD `--pos_embed_dim 256`). */
export const DEFAULT_POS_DIM = 256;

/*
 * The cache keeps plain Float32Arrays, not tensors: a cached tensor would be
 * tied to the backend that was active when it was made and could be disposed by
 * an enclosing tf.tidy. Building a tensor from cached values is a single copy.
 * Maps are at most a few MB (56*56*256 floats = 3.2 MB) and there are only a
 * handful of distinct (H, W, D) per run, so the cache is not bounded.
 */
const cache = new Map<string, Float32Array>();

function checkArgs(height: number, width: number, dim: number): void {
  for (const [name, v] of [['height', height], ['width', width], ['dim', dim]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`positionalEncoding2d: ${name} must be a positive integer, got ${v}`);
  }
  // D' = D/2 must itself be even: channels come in (sin, cos) pairs per axis.
  if (dim % 4 !== 0) throw new Error(`positionalEncoding2d: dim must be a multiple of 4, got ${dim}`);
}

function compute(height: number, width: number, dim: number): Float32Array {
  const half = dim / 2;
  const nFreq = half / 2;
  const out = new Float32Array(height * width * dim);
  const freq = new Float64Array(nFreq);
  // exp(-2k * ln(1e4) / D') as in the references; computed in float64, rounded once.
  for (let k = 0; k < nFreq; k++) freq[k] = Math.exp(-(2 * k) * (Math.log(1e4) / half));
  // Per-axis tables: every row shares the x part, every column the y part.
  const xPart = new Float32Array(width * half);
  for (let x = 0; x < width; x++) {
    for (let k = 0; k < nFreq; k++) {
      xPart[x * half + 2 * k] = Math.sin(x * freq[k]);
      xPart[x * half + 2 * k + 1] = Math.cos(x * freq[k]);
    }
  }
  const yPart = new Float32Array(height * half);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < nFreq; k++) {
      yPart[y * half + 2 * k] = Math.sin(y * freq[k]);
      yPart[y * half + 2 * k + 1] = Math.cos(y * freq[k]);
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const row = (y * width + x) * dim;
      out.set(xPart.subarray(x * half, (x + 1) * half), row);
      out.set(yPart.subarray(y * half, (y + 1) * half), row + half);
    }
  }
  return out;
}

function cached(height: number, width: number, dim: number): Float32Array {
  checkArgs(height, width, dim);
  const key = `${height}x${width}x${dim}`;
  let values = cache.get(key);
  if (values === undefined) {
    values = compute(height, width, dim);
    cache.set(key, values);
  }
  return values;
}

/** The encoding as a fresh Float32Array of length H*W*D (row-major [H*W, D]); safe to modify. */
export function positionalEncoding2dValues(height: number, width: number, dim: number = DEFAULT_POS_DIM): Float32Array {
  return cached(height, width, dim).slice();
}

/** The encoding as a new Tensor2D [H*W, D] (row y*W + x); the caller owns (and disposes) it. */
export function positionalEncoding2d(height: number, width: number, dim: number = DEFAULT_POS_DIM): tf.Tensor2D {
  return tf.tensor2d(cached(height, width, dim), [height * width, dim], 'float32');
}

/** The encoding as a new Tensor3D [H, W, D]; the caller owns (and disposes) it. */
export function positionalEncodingGrid(height: number, width: number, dim: number = DEFAULT_POS_DIM): tf.Tensor3D {
  return tf.tensor3d(cached(height, width, dim), [height, width, dim], 'float32');
}

/** Drops the cached value tables (tests, or after a run with many distinct map sizes). */
export function clearPositionalEncodingCache(): void {
  cache.clear();
}
