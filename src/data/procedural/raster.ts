/**
 * Small rasterisation toolkit for the procedural dataset: scalar helpers,
 * colours, signed distance functions (SDFs), anti-aliased coverage and a
 * stroke field for thin curves (scratches, cracks, fibres, wires).
 *
 * Everything draws on `RgbImage` (HWC Float32 in [0, 1]) in pixel units.
 * Shapes are SDFs (negative inside) so edges are anti-aliased with one
 * formula, `coverage(sdf)`, instead of supersampling: that keeps rendering
 * cheap and every pixel a pure function of the shape.
 */
import type { RgbImage } from '../image';
import { Rng } from '../../util/rng';
import { ValueNoise } from './noise';

export type Rgb = [number, number, number];

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

export function mix(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}

/** Anti-aliased coverage of a shape at a pixel from its SDF in pixels (1 px ramp). */
export function coverage(sdf: number, softness = 1): number {
  const t = 0.5 - sdf / softness;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

/** Fractional part in [0, 1). */
export function fract(v: number): number {
  return v - Math.floor(v);
}

/** HSV (h in turns, s, v in [0, 1]) to RGB. */
export function hsv(h: number, s: number, v: number): Rgb {
  const hh = fract(h) * 6;
  const i = Math.floor(hh);
  const f = hh - i;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (i) {
    case 0:
      return [v, t, p];
    case 1:
      return [q, v, p];
    case 2:
      return [p, v, t];
    case 3:
      return [p, q, v];
    case 4:
      return [t, p, v];
    default:
      return [v, p, q];
  }
}

/** A colour with small random brightness and per-channel tint changes (within-class variation). */
export function jitterRgb(rng: Rng, c: readonly number[], brightness: number, tint: number): Rgb {
  const b = 1 + rng.range(-brightness, brightness);
  return [
    clamp01(c[0] * b * (1 + rng.range(-tint, tint))),
    clamp01(c[1] * b * (1 + rng.range(-tint, tint))),
    clamp01(c[2] * b * (1 + rng.range(-tint, tint))),
  ];
}

/** Seed for a noise generator drawn from an rng (one draw). */
export function noiseFrom(rng: Rng): ValueNoise {
  return new ValueNoise(Math.floor(rng.uniform() * 0x7fffffff));
}

/** Writes `a*(1-t) + c*t` into pixel `i` (pixel index, not float index). */
export function blendPixel(img: RgbImage, i: number, r: number, g: number, b: number, t: number): void {
  if (t <= 0) return;
  const d = img.data;
  const o = i * 3;
  d[o] += (r - d[o]) * t;
  d[o + 1] += (g - d[o + 1]) * t;
  d[o + 2] += (b - d[o + 2]) * t;
}

/** Integer pixel bounding box [x0, x1) x [y0, y1) clipped to the image. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function boxAround(cx: number, cy: number, rx: number, ry: number, size: number): Box {
  return {
    x0: clamp(Math.floor(cx - rx), 0, size),
    y0: clamp(Math.floor(cy - ry), 0, size),
    x1: clamp(Math.ceil(cx + rx) + 1, 0, size),
    y1: clamp(Math.ceil(cy + ry) + 1, 0, size),
  };
}

// ---------------------------------------------------------------- SDFs ----

/** Box centred at the origin with half-extents (hx, hy), optional corner radius. */
export function sdBox(x: number, y: number, hx: number, hy: number, r = 0): number {
  const qx = Math.abs(x) - hx + r;
  const qy = Math.abs(y) - hy + r;
  const ox = Math.max(qx, 0);
  const oy = Math.max(qy, 0);
  return Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0) - r;
}

/** Regular hexagon centred at the origin with apothem (inradius) r, flat sides top and bottom. */
export function sdHexagon(x: number, y: number, r: number): number {
  const kx = -0.866025404;
  const ky = 0.5;
  const kz = 0.577350269;
  let px = Math.abs(x);
  let py = Math.abs(y);
  // Swap so flat sides face +-y (the iq formula has them facing +-x).
  const t = px;
  px = py;
  py = t;
  const d = 2 * Math.min(kx * px + ky * py, 0);
  px -= d * kx;
  py -= d * ky;
  px -= clamp(px, -kz * r, kz * r);
  py -= r;
  return Math.sqrt(px * px + py * py) * Math.sign(py);
}

/** Distance from (px, py) to segment a-b, and the projection parameter t in [0, 1]. */
export function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number, out: Float64Array): void {
  const vx = bx - ax;
  const vy = by - ay;
  const wx = px - ax;
  const wy = py - ay;
  const len2 = vx * vx + vy * vy;
  const t = len2 > 0 ? clamp01((wx * vx + wy * vy) / len2) : 0;
  const dx = wx - vx * t;
  const dy = wy - vy * t;
  out[0] = Math.sqrt(dx * dx + dy * dy);
  out[1] = t;
}

// ------------------------------------------------------------- strokes ----

/**
 * Signed distance field of a set of variable-width polylines, stored densely
 * for the whole image (+Infinity where no stroke is near). Drawing visits only
 * each segment's bounding box, so long thin curves stay cheap.
 *
 * `sdf[i]` = (distance to the nearest centreline) - (half-width there);
 * `along[i]` = arc parameter in [0, 1] of that nearest point along its stroke.
 */
export class StrokeField {
  readonly sdf: Float32Array;
  readonly along: Float32Array;
  private readonly tmp = new Float64Array(2);
  /** Pixel bounding box touched so far (for callers that loop over strokes only). */
  box: Box;

  constructor(readonly size: number) {
    this.sdf = new Float32Array(size * size).fill(Infinity);
    this.along = new Float32Array(size * size);
    this.box = { x0: size, y0: size, x1: 0, y1: 0 };
  }

  /** Adds a polyline; `halfWidths` per point (linearly interpolated along segments). */
  stroke(points: ReadonlyArray<readonly [number, number]>, halfWidths: ReadonlyArray<number>): void {
    const n = points.length;
    if (n < 2) return;
    const S = this.size;
    for (let s = 0; s < n - 1; s++) {
      const [ax, ay] = points[s];
      const [bx, by] = points[s + 1];
      const wa = halfWidths[s];
      const wb = halfWidths[s + 1];
      const pad = Math.max(wa, wb) + 2;
      const x0 = clamp(Math.floor(Math.min(ax, bx) - pad), 0, S);
      const x1 = clamp(Math.ceil(Math.max(ax, bx) + pad), 0, S);
      const y0 = clamp(Math.floor(Math.min(ay, by) - pad), 0, S);
      const y1 = clamp(Math.ceil(Math.max(ay, by) + pad), 0, S);
      if (x0 >= x1 || y0 >= y1) continue;
      this.box = {
        x0: Math.min(this.box.x0, x0),
        y0: Math.min(this.box.y0, y0),
        x1: Math.max(this.box.x1, x1),
        y1: Math.max(this.box.y1, y1),
      };
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          segmentDistance(x + 0.5, y + 0.5, ax, ay, bx, by, this.tmp);
          const d = this.tmp[0] - (wa + (wb - wa) * this.tmp[1]);
          const i = y * S + x;
          if (d < this.sdf[i]) {
            this.sdf[i] = d;
            this.along[i] = (s + this.tmp[1]) / (n - 1);
          }
        }
      }
    }
  }
}

/**
 * A wandering polyline: starts at (x, y) heading `angle`, `steps` steps of
 * `step` px, turning by a smooth random amount (`wiggle` radians per step,
 * correlated so the curve looks drawn, not jagged).
 */
export function wanderPath(rng: Rng, x: number, y: number, angle: number, steps: number, step: number, wiggle: number): Array<[number, number]> {
  const pts: Array<[number, number]> = [[x, y]];
  let a = angle;
  let turn = 0;
  for (let i = 0; i < steps; i++) {
    turn = 0.7 * turn + rng.normal(0, wiggle);
    a += turn;
    x += Math.cos(a) * step;
    y += Math.sin(a) * step;
    pts.push([x, y]);
  }
  return pts;
}

/** Quadratic Bezier sampled into `n + 1` points (smooth scratches and fibres). */
export function bezierPath(p0: readonly [number, number], p1: readonly [number, number], p2: readonly [number, number], n: number): Array<[number, number]> {
  const pts: Array<[number, number]> = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const u = 1 - t;
    pts.push([u * u * p0[0] + 2 * u * t * p1[0] + t * t * p2[0], u * u * p0[1] + 2 * u * t * p1[1] + t * t * p2[1]]);
  }
  return pts;
}

/**
 * Irregular blob SDF (pixels, negative inside): a circle of radius r whose
 * boundary is displaced by fbm noise, `rough` in [0, ~0.6] of the radius.
 */
export function blobSdf(x: number, y: number, cx: number, cy: number, r: number, rough: number, noise: ValueNoise, freq: number): number {
  const dx = x - cx;
  const dy = y - cy;
  const d = Math.sqrt(dx * dx + dy * dy);
  // The boundary never reaches beyond r * (1 + rough): far away, that lower
  // bound is all any caller needs (their soft edges are narrower than the
  // margin), and it skips the noise lookups for most of the image.
  const bound = d - r * (1 + rough);
  if (bound > r * 0.5 + 4) return bound;
  const n = noise.fbm(x * freq, y * freq, 3) - 0.5;
  return d - r * (1 + 2 * rough * n);
}

/**
 * A smooth scalar field evaluated on a coarse grid (every `step` pixels) and
 * bilinearly interpolated to every pixel. For low-frequency terms (mottling,
 * domain warps) whose features are much larger than `step`, this is visually
 * identical and `step * step` times cheaper. `fn` receives pixel-centre
 * coordinates.
 */
export function coarseField(size: number, step: number, fn: (x: number, y: number) => number): Float32Array {
  const n = Math.ceil((size - 1) / step) + 2;
  const grid = new Float32Array(n * n);
  for (let gy = 0; gy < n; gy++) {
    for (let gx = 0; gx < n; gx++) grid[gy * n + gx] = fn(gx * step + 0.5, gy * step + 0.5);
  }
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = y / step;
    const j = Math.floor(fy);
    const ty = fy - j;
    const r0 = j * n;
    const r1 = r0 + n;
    for (let x = 0; x < size; x++) {
      const fx = x / step;
      const i = Math.floor(fx);
      const tx = fx - i;
      const a = grid[r0 + i] + (grid[r0 + i + 1] - grid[r0 + i]) * tx;
      const b = grid[r1 + i] + (grid[r1 + i + 1] - grid[r1 + i]) * tx;
      out[y * size + x] = a + (b - a) * ty;
    }
  }
  return out;
}
