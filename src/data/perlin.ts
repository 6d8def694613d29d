/**
 * Seeded 2-D Perlin (gradient) noise, the shape generator behind DRAEM-style
 * synthetic anomalies (Zavrtanik et al., "DRAEM", ICCV 2021): thresholding a
 * smooth noise field gives irregular blobs that look like stains or wear,
 * unlike the rectangles of CutPaste.
 *
 * Classic construction (Perlin 2002, "Improving Noise"): a seeded permutation
 * hashes each integer lattice point to a unit gradient; the value at a point is
 * the fade-weighted (6t^5 - 15t^4 + 10t^3) blend of the dot products between
 * the four surrounding gradients and the offsets to them. Consequences the
 * tests check: the noise is exactly 0 at lattice points, C2-continuous, and
 * bounded by sqrt(2)/2 in magnitude (unit gradients in 2-D).
 *
 * ```ts
 * const rng = new Rng(7);
 * const noise = new Perlin2D(rng.fork('perlin'));
 * noise.noise(1.5, 2.25);                                   // one value
 * const { scaleX, scaleY } = randomPerlinScales(rng);       // 2^[0..6] per axis
 * const field = perlinNoiseGrid(256, 256, noise, { scaleX, scaleY, angleDeg: 30 });
 * ```
 */
import { Rng } from '../util/rng';

/** |noise| never exceeds this for unit gradients in 2-D (reached only in the limit). */
export const PERLIN_2D_BOUND = Math.SQRT1_2;

/** Perlin's quintic fade 6t^5 - 15t^4 + 10t^3: zero first and second derivatives at 0 and 1. */
export function fade(t: number): number {
  return t * t * t * (t * (t * 6 - 15) + 10);
}

const TABLE_SIZE = 256;
const TABLE_MASK = TABLE_SIZE - 1;

/** One seeded noise function; cheap to build (a 512-entry table and 256 gradients). */
export class Perlin2D {
  /** Permutation repeated twice so `perm[perm[x] + y]` needs no wrap-around. */
  private readonly perm = new Uint8Array(TABLE_SIZE * 2);
  private readonly gradX = new Float64Array(TABLE_SIZE);
  private readonly gradY = new Float64Array(TABLE_SIZE);

  constructor(rng: Rng) {
    const order: number[] = [];
    for (let i = 0; i < TABLE_SIZE; i++) order.push(i);
    const shuffled = rng.shuffle(order);
    for (let i = 0; i < TABLE_SIZE * 2; i++) this.perm[i] = shuffled[i & TABLE_MASK];
    // Random unit gradients (as DRAEM's rand_perlin_2d) rather than Perlin's 8/12
    // fixed directions: no axis-aligned artefacts in the blob shapes.
    for (let i = 0; i < TABLE_SIZE; i++) {
      const angle = rng.range(0, 2 * Math.PI);
      this.gradX[i] = Math.cos(angle);
      this.gradY[i] = Math.sin(angle);
    }
  }

  /** Noise at (x, y); period 256 along each axis. Exactly 0 at integer points. */
  noise(x: number, y: number): number {
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    // `& 255` also maps negative lattice coordinates into the table.
    const xi = x0 & TABLE_MASK;
    const yi = y0 & TABLE_MASK;
    const p = this.perm;
    const a = p[xi] + yi;
    const b = p[xi + 1] + yi;
    const h00 = p[a];
    const h01 = p[a + 1];
    const h10 = p[b];
    const h11 = p[b + 1];
    const gx = this.gradX;
    const gy = this.gradY;
    const n00 = gx[h00] * fx + gy[h00] * fy;
    const n10 = gx[h10] * (fx - 1) + gy[h10] * fy;
    const n01 = gx[h01] * fx + gy[h01] * (fy - 1);
    const n11 = gx[h11] * (fx - 1) + gy[h11] * (fy - 1);
    const u = fade(fx);
    const v = fade(fy);
    const nx0 = n00 + u * (n10 - n00);
    const nx1 = n01 + u * (n11 - n01);
    return nx0 + v * (nx1 - nx0);
  }
}

export interface PerlinGridOptions {
  /** Lattice cells across the image width (noise frequency along x). */
  scaleX: number;
  /** Lattice cells across the image height. */
  scaleY: number;
  /**
   * Rotation of the noise pattern about the image centre, in degrees. Applied
   * to the sampling coordinates, so the result is exact (no resampling blur).
   */
  angleDeg?: number;
}

/**
 * Noise sampled at every pixel: pixel (x, y) reads the noise at
 * (x * scaleX / width, y * scaleY / height), after rotating (x, y) about the
 * image centre when `angleDeg` is set. Row-major, length width * height.
 */
export function perlinNoiseGrid(width: number, height: number, noise: Perlin2D, options: PerlinGridOptions): Float32Array {
  const { scaleX, scaleY } = options;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`perlinNoiseGrid: width and height must be positive integers, got ${width}x${height}`);
  }
  if (!(scaleX > 0 && scaleY > 0)) {
    throw new Error(`perlinNoiseGrid: scaleX and scaleY must be > 0, got ${scaleX}, ${scaleY}`);
  }
  const out = new Float32Array(width * height);
  const sx = scaleX / width;
  const sy = scaleY / height;
  const angle = ((options.angleDeg ?? 0) * Math.PI) / 180;
  if (angle === 0) {
    for (let y = 0; y < height; y++) {
      const ny = y * sy;
      const row = y * width;
      for (let x = 0; x < width; x++) out[row + x] = noise.noise(x * sx, ny);
    }
    return out;
  }
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  for (let y = 0; y < height; y++) {
    const dy = y - cy;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      const rx = cx + cos * dx - sin * dy;
      const ry = cy + sin * dx + cos * dy;
      out[row + x] = noise.noise(rx * sx, ry * sy);
    }
  }
  return out;
}

/**
 * DRAEM's random frequency: 2^e cells per axis, e drawn independently per axis
 * from the integers [minExp, maxExp] (inclusive; DRAEM itself uses [0, 6)).
 * Different x/y scales give elongated blobs.
 */
export function randomPerlinScales(rng: Rng, minExp = 0, maxExp = 6): { scaleX: number; scaleY: number } {
  if (!(Number.isInteger(minExp) && Number.isInteger(maxExp) && 0 <= minExp && minExp <= maxExp && maxExp <= 7)) {
    throw new Error(`randomPerlinScales: need integers 0 <= minExp <= maxExp <= 7, got [${minExp}, ${maxExp}]`);
  }
  const scaleX = 2 ** rng.intRange(minExp, maxExp);
  const scaleY = 2 ** rng.intRange(minExp, maxExp);
  return { scaleX, scaleY };
}

/**
 * Fractal sum (fBm) of `octaves` noise layers, each at twice the frequency and
 * `persistence` times the amplitude of the previous one, normalised so the
 * result stays within [-PERLIN_2D_BOUND, PERLIN_2D_BOUND]. Used for procedural
 * textures, where a single octave looks too smooth.
 */
export function fractalNoise(noise: Perlin2D, x: number, y: number, octaves = 3, persistence = 0.5): number {
  let sum = 0;
  let amplitude = 1;
  let norm = 0;
  let frequency = 1;
  for (let o = 0; o < octaves; o++) {
    // Offsets between octaves avoid all layers sharing the zero at the origin.
    sum += amplitude * noise.noise(x * frequency + o * 17.31, y * frequency + o * 9.73);
    norm += amplitude;
    amplitude *= persistence;
    frequency *= 2;
  }
  return sum / norm;
}
