/**
 * Noise primitives for the procedural dataset: integer hashes, lattice value
 * noise with fractal sums (fbm), and cellular (Worley) noise.
 *
 * Why not the shared Perlin module: the generator must be byte-for-byte
 * reproducible and fast (hundreds of 256 px images in seconds), so the noise
 * here is a small periodic lattice filled from a hash. A sample is 4 array
 * reads and a quintic blend, with no allocation, and every value depends only
 * on (seed, coordinates), never on call order.
 *
 * ```ts
 * const n = new ValueNoise(1234);
 * n.at(3.2, 7.9);            // [0, 1], smooth, feature size ~1 unit
 * n.fbm(x / 32, y / 32, 4);  // [0, 1], 4 octaves
 * cellular(x / 9, y / 9, 77, out); // out = [f1, f2, cellHash, dx, dy]
 * ```
 */

/** 32-bit avalanche hash of two integers and a seed (murmur3 finaliser). */
export function hash2i(x: number, y: number, seed: number): number {
  let h = (Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1)) | 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of two integers and a seed as a float in [0, 1). */
export function hash2(x: number, y: number, seed: number): number {
  return hash2i(x, y, seed) / 4294967296;
}

const LATTICE = 128;
const LMASK = LATTICE - 1;

/** Fixed per-octave rotations (cos, sin) so octaves do not share lattice axes (hides grid artefacts). */
const OCT_COS = [1, Math.cos(0.63), Math.cos(1.27), Math.cos(2.09), Math.cos(2.71), Math.cos(3.37), Math.cos(4.11)];
const OCT_SIN = [0, Math.sin(0.63), Math.sin(1.27), Math.sin(2.09), Math.sin(2.71), Math.sin(3.37), Math.sin(4.11)];

/**
 * Smooth value noise on a periodic 128 x 128 lattice (period 128 units, far
 * larger than any feature we draw, so the repetition never shows).
 */
export class ValueNoise {
  private readonly lattice = new Float32Array(LATTICE * LATTICE);

  constructor(readonly seed: number) {
    for (let y = 0; y < LATTICE; y++) {
      for (let x = 0; x < LATTICE; x++) this.lattice[y * LATTICE + x] = hash2(x, y, seed);
    }
  }

  /** Noise in [0, 1] with feature size ~1 unit. */
  at(x: number, y: number): number {
    const xf = Math.floor(x);
    const yf = Math.floor(y);
    let tx = x - xf;
    let ty = y - yf;
    // Quintic fade: C2-continuous, avoids the creases of linear/cubic blending.
    tx = tx * tx * tx * (tx * (tx * 6 - 15) + 10);
    ty = ty * ty * ty * (ty * (ty * 6 - 15) + 10);
    const x0 = xf & LMASK;
    const y0 = (yf & LMASK) * LATTICE;
    const x1 = (x0 + 1) & LMASK;
    const y1 = (((yf + 1) & LMASK) * LATTICE) | 0;
    const L = this.lattice;
    const a = L[y0 + x0];
    const b = L[y0 + x1];
    const c = L[y1 + x0];
    const d = L[y1 + x1];
    const top = a + (b - a) * tx;
    const bot = c + (d - c) * tx;
    return top + (bot - top) * ty;
  }

  /**
   * Fractal sum of `octaves` octaves (lacunarity 2), normalised to [0, 1].
   * Each octave is rotated and shifted so the lattice never lines up.
   */
  fbm(x: number, y: number, octaves: number, gain = 0.5): number {
    let sum = 0;
    let norm = 0;
    let amp = 1;
    let f = 1;
    const n = Math.min(octaves, OCT_COS.length);
    for (let o = 0; o < n; o++) {
      const c = OCT_COS[o];
      const s = OCT_SIN[o];
      const px = (x * c - y * s) * f + o * 17.31;
      const py = (x * s + y * c) * f + o * 9.73;
      sum += amp * this.at(px, py);
      norm += amp;
      amp *= gain;
      f *= 2;
    }
    return sum / norm;
  }
}

/**
 * Cellular (Worley) noise: distance to the nearest and second-nearest jittered
 * feature point on a unit grid. Writes [f1, f2, hash of the nearest cell in
 * [0, 1), dx, dy] to `out` (length >= 5, reused by the caller so there is no
 * allocation per pixel); (dx, dy) = point - nearest feature point, which
 * gives a bump normal for shading.
 */
export function cellular(x: number, y: number, seed: number, out: Float64Array, jitter = 0.9): void {
  const xi = Math.floor(x);
  const yi = Math.floor(y);
  let f1 = 1e9;
  let f2 = 1e9;
  let id = 0;
  let vx = 0;
  let vy = 0;
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      const cx = xi + dx;
      const cy = yi + dy;
      const h = hash2i(cx, cy, seed);
      const px = cx + 0.5 + ((h & 0xffff) / 65536 - 0.5) * jitter;
      const py = cy + 0.5 + ((h >>> 16) / 65536 - 0.5) * jitter;
      const ddx = px - x;
      const ddy = py - y;
      const d = ddx * ddx + ddy * ddy;
      if (d < f1) {
        f2 = f1;
        f1 = d;
        id = h;
        vx = -ddx;
        vy = -ddy;
      } else if (d < f2) {
        f2 = d;
      }
    }
  }
  out[0] = Math.sqrt(f1);
  out[1] = Math.sqrt(f2);
  out[2] = id / 4294967296;
  out[3] = vx;
  out[4] = vy;
}
