/**
 * Defect painters shared by the procedural classes: scratches, cracks,
 * stains, holes, particles, fibres, colour spots, dents and glue blobs.
 *
 * Each painter draws on a copy of the clean scene (`ctx.canvas()`), in pixel
 * units, and touches only the pixels inside the defect's own shape (plus its
 * 1-2 px anti-aliasing ramp). The exact ground-truth mask is derived later
 * from what actually changed (render.ts), so painters do not build masks.
 * `support` (object coverage) scales every painter's opacity, so a scratch
 * on a nut stays on the nut.
 */
import type { RgbImage } from '../image';
import { Rng } from '../../util/rng';
import type { ValueNoise } from './noise';
import * as raster from './raster';
import type { Rgb } from './raster';

// Per-pixel helpers are bound to local constants: under tsx (esbuild's
// CommonJS output) every call through an import is a live-binding getter,
// which profiling showed to cost ~20 % of render time in these loops.
const { StrokeField, bezierPath, blobSdf, boxAround, clamp01, coverage, noiseFrom, smoothstep, wanderPath } = raster;

interface Common {
  /** Object coverage that limits where paint lands (null = anywhere). */
  support?: Float32Array | null;
}

function sup(support: Float32Array | null | undefined, i: number): number {
  return support ? support[i] : 1;
}

function luma(d: Float32Array, o: number): number {
  return 0.299 * d[o] + 0.587 * d[o + 1] + 0.114 * d[o + 2];
}

export interface ScratchOptions extends Common {
  x: number;
  y: number;
  angle: number;
  length: number;
  /** Half-width of the groove in px (>= ~0.5). */
  halfWidth: number;
  /** 'light': specular groove; 'dark': dirty groove. */
  tone: 'light' | 'dark';
  /** Opacity in (0, 1]; low values make subtle defects. */
  strength: number;
  /** Bow of the curve as a fraction of its length. */
  bend?: number;
}

/** A tapered, slightly curved groove with intensity varying along its length. */
export function paintScratch(img: RgbImage, rng: Rng, o: ScratchOptions): void {
  const S = img.width;
  const dx = Math.cos(o.angle) * o.length * 0.5;
  const dy = Math.sin(o.angle) * o.length * 0.5;
  const bend = (o.bend ?? rng.range(-0.12, 0.12)) * o.length;
  const p0: [number, number] = [o.x - dx, o.y - dy];
  const p2: [number, number] = [o.x + dx, o.y + dy];
  const p1: [number, number] = [o.x - Math.sin(o.angle) * bend, o.y + Math.cos(o.angle) * bend];
  const n = Math.max(8, Math.ceil(o.length / 4));
  const pts = bezierPath(p0, p1, p2, n);
  const hw = pts.map((_, k) => Math.max(0.35, o.halfWidth * (0.35 + 0.65 * Math.sqrt(Math.sin((Math.PI * k) / n)))));
  const field = new StrokeField(S);
  field.stroke(pts, hw);
  const noise = noiseFrom(rng);
  const d = img.data;
  const { x0, y0, x1, y1 } = field.box;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * S + x;
      const c = coverage(field.sdf[i]);
      if (c <= 0) continue;
      // Scratches are interrupted where the tool skipped: modulate along the path.
      const along = 0.45 + 0.55 * smoothstep(0.25, 0.6, noise.at(field.along[i] * o.length * 0.08, 3.7));
      const a = c * o.strength * along * sup(o.support, i);
      if (a <= 0) continue;
      const p = i * 3;
      if (o.tone === 'light') {
        const l = Math.min(1, luma(d, p) + 0.45);
        d[p] += (l - d[p]) * a;
        d[p + 1] += (l - d[p + 1]) * a;
        d[p + 2] += (l * 0.98 - d[p + 2]) * a;
      } else {
        d[p] *= 1 - 0.7 * a;
        d[p + 1] *= 1 - 0.7 * a;
        d[p + 2] *= 1 - 0.68 * a;
      }
    }
  }
}

export interface CrackOptions extends Common {
  x: number;
  y: number;
  angle: number;
  length: number;
  halfWidth: number;
  /** Darkness of the crack core in (0, 1]. */
  strength: number;
  /** Probability of a side branch per step. */
  branching?: number;
}

/** A jagged, branching, tapering dark line (ceramic, stone, capsule shell). */
export function paintCrack(img: RgbImage, rng: Rng, o: CrackOptions): void {
  const S = img.width;
  const field = new StrokeField(S);
  const step = Math.max(1.5, S / 128);
  const steps = Math.max(4, Math.round(o.length / step));
  // Crack grows both ways from the seed point, like a real fracture.
  const fwd = crackPath(rng, o.x, o.y, o.angle, Math.ceil(steps / 2), step);
  const back = crackPath(rng, o.x, o.y, o.angle + Math.PI, Math.floor(steps / 2), step);
  const main = back.reverse().concat(fwd.slice(1));
  const taper = (k: number, n: number, w: number): number => Math.max(0.3, w * Math.pow(Math.sin((Math.PI * (k + 0.5)) / (n + 1)), 0.6));
  field.stroke(main, main.map((_, k) => taper(k, main.length, o.halfWidth)));
  const branching = o.branching ?? 0.06;
  for (let k = 2; k < main.length - 2; k++) {
    if (!rng.bool(branching)) continue;
    const [bx, by] = main[k];
    const [nx, ny] = main[k + 1];
    const dir = Math.atan2(ny - by, nx - bx) + (rng.bool() ? 1 : -1) * rng.range(0.5, 1.1);
    const br = crackPath(rng, bx, by, dir, rng.intRange(3, Math.max(4, Math.round(steps * 0.35))), step);
    const w0 = taper(k, main.length, o.halfWidth) * 0.7;
    field.stroke(br, br.map((_, j) => Math.max(0.25, w0 * (1 - j / br.length))));
  }
  const d = img.data;
  const { x0, y0, x1, y1 } = field.box;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * S + x;
      const sdf = field.sdf[i];
      if (sdf >= 1.6) continue;
      const s = sup(o.support, i);
      const core = coverage(sdf) * o.strength * s;
      // A faint light lip next to the dark core (chipped glaze catches light).
      const lip = sdf > 0 ? 0.1 * o.strength * s * (1 - smoothstep(0.4, 1.6, sdf)) : 0;
      const p = i * 3;
      for (let c = 0; c < 3; c++) {
        let v = d[p + c] * (1 - 0.78 * core);
        v += (1 - v) * lip;
        d[p + c] = v;
      }
    }
  }
}

/**
 * A fracture path: keeps a slowly drifting main direction with independent
 * sharp kinks at every step (jagged yet straight overall, unlike a fibre).
 */
function crackPath(rng: Rng, x: number, y: number, angle: number, steps: number, step: number): Array<[number, number]> {
  const pts: Array<[number, number]> = [[x, y]];
  let heading = angle;
  for (let i = 0; i < steps; i++) {
    heading += rng.normal(0, 0.06);
    const a = heading + rng.normal(0, 0.45);
    x += Math.cos(a) * step;
    y += Math.sin(a) * step;
    pts.push([x, y]);
  }
  return pts;
}

export interface StainOptions extends Common {
  x: number;
  y: number;
  radius: number;
  /** Per-channel multiplier at full strength (e.g. [0.55, 0.4, 0.25] for coffee). */
  tint: Rgb;
  strength: number;
  /** Boundary irregularity (fraction of radius). */
  rough?: number;
  /** Darker drying ring at the edge (coffee-ring effect). */
  ring?: number;
  /** Granularity in [0, 1] (rust, dirt) instead of a smooth film. */
  grain?: number;
  /** Edge softness in px. */
  soft?: number;
  /** Elongation (x scale) and orientation of the blob. */
  stretch?: number;
  angle?: number;
}

/** A soft, irregular multiplicative stain (liquid, oil, rust, dirt). */
export function paintStain(img: RgbImage, rng: Rng, o: StainOptions): void {
  const S = img.width;
  const noise = noiseFrom(rng);
  const rough = o.rough ?? 0.3;
  const soft = o.soft ?? Math.max(1.2, o.radius * 0.12);
  const ring = o.ring ?? 0;
  const grain = o.grain ?? 0;
  const stretch = o.stretch ?? 1;
  const ca = Math.cos(o.angle ?? 0);
  const sa = Math.sin(o.angle ?? 0);
  const reach = o.radius * (1 + 2 * rough) * Math.max(1, stretch) + soft + 2;
  const b = boxAround(o.x, o.y, reach, reach, S);
  const d = img.data;
  const f = 2.2 / o.radius;
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const px = x + 0.5 - o.x;
      const py = y + 0.5 - o.y;
      const lx = (px * ca + py * sa) / stretch + o.x;
      const ly = -px * sa + py * ca + o.y;
      const sdf = blobSdf(lx, ly, o.x, o.y, o.radius, rough, noise, f);
      if (sdf >= soft) continue;
      const i = y * S + x;
      let a = smoothstep(soft, -soft, sdf);
      a *= 0.75 + 0.25 * noise.at(x * 0.15 + 40, y * 0.15);
      if (ring > 0) a = Math.min(1, a + ring * Math.exp(-((sdf + soft) * (sdf + soft)) / (soft * soft * 2)) * smoothstep(soft, 0, sdf));
      if (grain > 0) a *= 1 - grain + grain * smoothstep(0.35, 0.75, noise.at(x * 0.7 + 91, y * 0.7 + 13));
      a *= o.strength * sup(o.support, i);
      if (a <= 0) continue;
      const p = i * 3;
      d[p] *= 1 + (o.tint[0] - 1) * a;
      d[p + 1] *= 1 + (o.tint[1] - 1) * a;
      d[p + 2] *= 1 + (o.tint[2] - 1) * a;
    }
  }
}

export interface HoleOptions extends Common {
  x: number;
  y: number;
  radius: number;
  /** What shows through the hole. */
  inner: Rgb;
  rough?: number;
  /** Width of the frayed / crushed rim in px. */
  rim?: number;
  /** Draw loose fibres across the hole (fabric, carpet). */
  fibres?: Rgb | null;
  /** Show a coarse woven backing through the hole (textiles). */
  backing?: boolean;
}

/** A hole: dark inside with an inner shadow, a frayed rim, optional torn fibres. */
export function paintHole(img: RgbImage, rng: Rng, o: HoleOptions): void {
  const S = img.width;
  const noise = noiseFrom(rng);
  const rough = o.rough ?? 0.35;
  const rim = o.rim ?? Math.max(1.5, o.radius * 0.25);
  const reach = o.radius * (1 + 2 * rough) + rim + 2;
  const b = boxAround(o.x, o.y, reach, reach, S);
  const d = img.data;
  const f = 1.8 / o.radius;
  let fibres: raster.StrokeField | null = null;
  if (o.fibres) {
    fibres = new StrokeField(S);
    const n = rng.intRange(1, 4);
    for (let k = 0; k < n; k++) {
      const a = rng.range(0, Math.PI * 2);
      const sx = o.x + Math.cos(a) * o.radius * 1.1;
      const sy = o.y + Math.sin(a) * o.radius * 1.1;
      const path = wanderPath(rng, sx, sy, a + Math.PI + rng.range(-0.6, 0.6), rng.intRange(3, 8), o.radius * 0.22, 0.25);
      fibres.stroke(path, path.map(() => Math.max(0.45, S / 420)));
    }
  }
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const sdf = blobSdf(x + 0.5, y + 0.5, o.x, o.y, o.radius, rough, noise, f);
      if (sdf >= rim) continue;
      const i = y * S + x;
      const s = sup(o.support, i);
      const p = i * 3;
      // Rim: material pushed/torn, slightly darker and uneven.
      const rimA = (1 - smoothstep(0, rim, sdf)) * (0.25 + 0.35 * noise.at(x * 0.5, y * 0.5 + 50)) * s;
      for (let c = 0; c < 3; c++) d[p + c] *= 1 - rimA * 0.6;
      const inside = coverage(sdf) * s;
      if (inside > 0) {
        // Inner shadow: darker towards the upper-left wall (light comes from there).
        const shade = 0.55 + 0.45 * smoothstep(-o.radius, o.radius, x + 0.5 - o.x + (y + 0.5 - o.y));
        let n = 0.75 + 0.5 * noise.at(x * 0.35 + 11, y * 0.35);
        if (o.backing) {
          const f = 1.3 * (256 / S);
          n *= 0.6 + 0.8 * Math.abs(Math.sin((x + 0.5) / f) * Math.sin((y + 0.5) / f));
        }
        for (let c = 0; c < 3; c++) d[p + c] += (o.inner[c] * shade * n - d[p + c]) * inside;
      }
      if (fibres && o.fibres) {
        const fc = coverage(fibres.sdf[i]) * 0.9 * s;
        if (fc > 0) for (let c = 0; c < 3; c++) d[p + c] += (o.fibres[c] * (0.8 + 0.3 * noise.at(x, y)) - d[p + c]) * fc;
      }
    }
  }
}

export interface ParticleOptions extends Common {
  x: number;
  y: number;
  /** Radius of the cluster the particles are scattered in. */
  spread: number;
  count: number;
  rMin: number;
  rMax: number;
  colors: readonly Rgb[];
}

/** Foreign particles: small shaded irregular grains with contact shadows. */
export function paintParticles(img: RgbImage, rng: Rng, o: ParticleOptions): void {
  const S = img.width;
  const d = img.data;
  for (let k = 0; k < o.count; k++) {
    const r = rng.range(o.rMin, o.rMax);
    const a = rng.range(0, Math.PI * 2);
    const dist = k === 0 ? 0 : Math.sqrt(rng.uniform()) * o.spread;
    const cx = o.x + Math.cos(a) * dist;
    const cy = o.y + Math.sin(a) * dist;
    const col = o.colors[rng.int(o.colors.length)];
    const noise = noiseFrom(rng);
    const rough = rng.range(0.15, 0.4);
    const f = 1.6 / Math.max(1, r);
    const sh = Math.max(0.8, r * 0.25);
    const b = boxAround(cx + sh, cy + sh, r * 2 + 3, r * 2 + 3, S);
    for (let y = b.y0; y < b.y1; y++) {
      for (let x = b.x0; x < b.x1; x++) {
        const i = y * S + x;
        const s = sup(o.support, i);
        if (s <= 0) continue;
        const p = i * 3;
        // Contact shadow, offset away from the light (lower right).
        const ssdf = blobSdf(x + 0.5 - sh, y + 0.5 - sh, cx, cy, r, rough, noise, f);
        const sa = (1 - smoothstep(-1, 1.5, ssdf)) * 0.35 * s;
        const sdf = blobSdf(x + 0.5, y + 0.5, cx, cy, r, rough, noise, f);
        const c = coverage(sdf, 1.2) * s;
        if (sa <= 0 && c <= 0) continue;
        for (let ch = 0; ch < 3; ch++) d[p + ch] *= 1 - sa;
        if (c > 0) {
          // Simple dome shading: brighter towards the upper-left.
          const lx = (x + 0.5 - cx) / Math.max(1, r);
          const ly = (y + 0.5 - cy) / Math.max(1, r);
          const shade = clamp01(0.75 - 0.35 * (lx + ly) + 0.15 * (noise.at(x * 0.6, y * 0.6) - 0.5));
          for (let ch = 0; ch < 3; ch++) d[p + ch] += (col[ch] * (0.55 + 0.6 * shade) - d[p + ch]) * c;
        }
      }
    }
  }
}

export interface FibreOptions extends Common {
  x: number;
  y: number;
  angle: number;
  length: number;
  halfWidth: number;
  color: Rgb;
  /** How much the fibre curls (radians of random turn per step). */
  curl?: number;
  opacity?: number;
}

/** A loose thread or hair lying on the surface, with a faint shadow. */
export function paintFibre(img: RgbImage, rng: Rng, o: FibreOptions): void {
  const S = img.width;
  const step = Math.max(1.5, S / 100);
  const path = wanderPath(rng, o.x, o.y, o.angle, Math.max(3, Math.round(o.length / step)), step, o.curl ?? 0.12);
  // Centre the fibre on (x, y).
  const mid = path[Math.floor(path.length / 2)];
  const pts = path.map(([px, py]) => [px - (mid[0] - o.x), py - (mid[1] - o.y)] as [number, number]);
  const field = new StrokeField(S);
  field.stroke(pts, pts.map(() => o.halfWidth));
  const shadow = new StrokeField(S);
  const off = Math.max(0.8, o.halfWidth * 1.2);
  shadow.stroke(pts.map(([px, py]) => [px + off, py + off] as [number, number]), pts.map(() => o.halfWidth * 1.3));
  const noise = noiseFrom(rng);
  const op = o.opacity ?? 0.95;
  const d = img.data;
  const bx = {
    x0: Math.min(field.box.x0, shadow.box.x0),
    y0: Math.min(field.box.y0, shadow.box.y0),
    x1: Math.max(field.box.x1, shadow.box.x1),
    y1: Math.max(field.box.y1, shadow.box.y1),
  };
  for (let y = bx.y0; y < bx.y1; y++) {
    for (let x = bx.x0; x < bx.x1; x++) {
      const i = y * S + x;
      const s = sup(o.support, i);
      const sa = coverage(shadow.sdf[i], 1.5) * 0.3 * s;
      const c = coverage(field.sdf[i]) * op * s;
      if (sa <= 0 && c <= 0) continue;
      const p = i * 3;
      const v = 0.8 + 0.4 * noise.at(field.along[i] * o.length * 0.3, 1.5);
      for (let ch = 0; ch < 3; ch++) {
        d[p + ch] *= 1 - sa * (1 - c);
        d[p + ch] += (o.color[ch] * v - d[p + ch]) * c;
      }
    }
  }
}

export interface ColorSpotOptions extends Common {
  x: number;
  y: number;
  radius: number;
  /** Target hue as an RGB colour; the surface's own luminance is kept. */
  color: Rgb;
  strength: number;
  rough?: number;
}

/** Re-dyes a soft irregular region with a foreign colour, keeping the texture's shading. */
export function paintColorSpot(img: RgbImage, rng: Rng, o: ColorSpotOptions): void {
  const S = img.width;
  const noise = noiseFrom(rng);
  const rough = o.rough ?? 0.35;
  const soft = Math.max(1.5, o.radius * 0.2);
  const reach = o.radius * (1 + 2 * rough) + soft + 2;
  const b = boxAround(o.x, o.y, reach, reach, S);
  const d = img.data;
  const cl = 0.299 * o.color[0] + 0.587 * o.color[1] + 0.114 * o.color[2];
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const sdf = blobSdf(x + 0.5, y + 0.5, o.x, o.y, o.radius, rough, noise, 2 / o.radius);
      if (sdf >= soft) continue;
      const i = y * S + x;
      const a = smoothstep(soft, -soft, sdf) * o.strength * sup(o.support, i);
      if (a <= 0) continue;
      const p = i * 3;
      const l = luma(d, p);
      const k = l / Math.max(0.05, cl);
      for (let c = 0; c < 3; c++) d[p + c] += (clamp01(o.color[c] * k) - d[p + c]) * a;
    }
  }
}

export interface DentOptions extends Common {
  x: number;
  y: number;
  radius: number;
  /** Shading change at the steepest slope (0.1 subtle .. 0.5 strong). */
  depth: number;
}

/** A shallow dent: a compact bump whose slopes are lit from the upper-left. */
export function paintDent(img: RgbImage, o: DentOptions): void {
  const S = img.width;
  const b = boxAround(o.x, o.y, o.radius + 1, o.radius + 1, S);
  const d = img.data;
  const L = Math.SQRT1_2;
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const dx = (x + 0.5 - o.x) / o.radius;
      const dy = (y + 0.5 - o.y) / o.radius;
      const r2 = dx * dx + dy * dy;
      if (r2 >= 1) continue;
      const i = y * S + x;
      // h = (1 - r^2)^2 is C1 at the rim, so the dent has no visible edge line.
      const g = -4 * (1 - r2);
      // Height h = -(1 - r^2)^2 (a depression); dh/dr = 4r(1 - r^2) >= 0, so the
      // surface tilts towards the light where the radial direction points away
      // from it: the lower-right wall is lit, the upper-left wall is shaded.
      const shade = o.depth * -g * 0.5 * (dx * L + dy * L) * sup(o.support, i);
      const p = i * 3;
      for (let c = 0; c < 3; c++) d[p + c] = clamp01(d[p + c] * (1 + shade));
    }
  }
}

export interface GlueOptions extends Common {
  x: number;
  y: number;
  radius: number;
  /** Colour of the dried glue film. */
  color: Rgb;
  opacity: number;
}

/** A translucent glossy blob (glue, resin, dried liquid) with a specular highlight. */
export function paintGlue(img: RgbImage, rng: Rng, o: GlueOptions): void {
  const S = img.width;
  const noise: ValueNoise = noiseFrom(rng);
  const rough = 0.3;
  const reach = o.radius * 1.7 + 3;
  const b = boxAround(o.x, o.y, reach, reach, S);
  const d = img.data;
  const hx = o.x - o.radius * 0.35;
  const hy = o.y - o.radius * 0.35;
  for (let y = b.y0; y < b.y1; y++) {
    for (let x = b.x0; x < b.x1; x++) {
      const sdf = blobSdf(x + 0.5, y + 0.5, o.x, o.y, o.radius, rough, noise, 1.8 / o.radius);
      const c = coverage(sdf, 1.5);
      if (c <= 0) continue;
      const i = y * S + x;
      const s = sup(o.support, i) * c;
      const p = i * 3;
      const edge = Math.exp(-((sdf + 1.5) * (sdf + 1.5)) / 4);
      const hd = Math.hypot(x + 0.5 - hx, y + 0.5 - hy) / (o.radius * 0.35);
      const spec = Math.exp(-hd * hd) * 0.45;
      for (let ch = 0; ch < 3; ch++) {
        let v = d[p + ch] + (o.color[ch] - d[p + ch]) * o.opacity;
        v *= 1 - 0.3 * edge;
        v += (1 - v) * spec;
        d[p + ch] += (v - d[p + ch]) * s;
      }
    }
  }
}
