/**
 * Object classes of the procedural dataset: one item seen from above on a
 * backdrop (like MVTec's bottle, screw, capsule, metal_nut, pcb). Normal
 * images vary in position, rotation, size, material tint and backdrop, with a
 * soft contact shadow, so few-shot references must be aligned by content, not
 * by pixel position.
 *
 * Geometry is in "256 px units" (u = pixel / (size / 256)) and every shape is
 * a signed distance function, so edges are anti-aliased at any size. Missing
 * parts (chips, gaps, missing components, broken tips) are geometry
 * modifications (`mods`) and the scene is rendered again, so what is missing
 * shows the backdrop and shadow that really lie behind it.
 */
import type { RgbImage } from '../image';
import { createRgbImage } from '../image';
import { paintCrack, paintFibre, paintParticles, paintScratch, paintStain } from './defects';
import { DefectContext, ProceduralClass, defineClass } from './types';
import * as noiseLib from './noise';
import * as raster from './raster';
import * as shared from './shared';
import type { Rgb } from './raster';

// Per-pixel helpers are bound to local constants: under tsx (esbuild's
// CommonJS output) every call through an import is a live-binding getter,
// which profiling showed to cost ~20 % of render time in these loops.
const { ValueNoise, cellular } = noiseLib;
const { StrokeField, blendPixel, blobSdf, clamp01, coarseField, coverage, jitterRgb, mix, sdBox, sdHexagon, segmentDistance, smoothstep } = raster;
const { paintedAt, put, seeds, unit } = shared;

/** Math.hypot for two numbers without its vararg overhead (hot in per-pixel loops). */
function hypot2(x: number, y: number): number {
  return Math.sqrt(x * x + y * y);
}

/** Light direction (2-D, in the image plane, pointing towards the light): upper-left. */
const LX = -0.6;
const LY = -0.8;

/** Shadow darkening from a body SDF sampled at an offset point (256 units). */
function shadowFrom(sdfAtOffset: number, blur: number, strength: number): number {
  return strength * (1 - smoothstep(-blur, blur, sdfAtOffset));
}

/** Point on the image (pixel coords) for local object coords (256 units). */
function toPixel(cx: number, cy: number, rot: number, la: number, lb: number, k: number): [number, number] {
  const c = Math.cos(rot);
  const s = Math.sin(rot);
  return [(cx + la * c - lb * s) * k, (cy + la * s + lb * c) * k];
}

// ============================================================ bottle top ===

interface BottleParams {
  cx: number;
  cy: number;
  R: number;
  hi: number;
  glass: Rgb;
  lip: Rgb;
  bg: number;
  seeds: number[];
}

const bottleTop = defineClass<BottleParams, null>({
  name: 'bottle_top',
  kind: 'object',
  description: 'Dark glass bottle seen from above: mouth with thick rim, specular arcs, an amber inner lip and a dark interior, centred on a white backdrop; varies in position, size, highlight angle and glass tone.',
  sample(rng) {
    return {
      cx: 128 + rng.range(-5, 5),
      cy: 128 + rng.range(-5, 5),
      R: rng.range(106, 114),
      hi: -2.2 + rng.range(-0.35, 0.35),
      glass: jitterRgb(rng, [0.24, 0.24, 0.25], 0.1, 0.03),
      lip: jitterRgb(rng, [0.5, 0.3, 0.16], 0.1, 0.05),
      bg: rng.range(0.88, 0.95),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size) {
    const k = unit(size);
    const img = createRgbImage(size, size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const n = new ValueNoise(p.seeds[0]);
    const bgTex = coarseField(size, 8, (x, y) => 0.97 + 0.05 * n.fbm(x / k / 50, y / k / 50, 3));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        const dx = X - p.cx;
        const dy = Y - p.cy;
        const r = Math.sqrt(dx * dx + dy * dy);
        const rho = r / p.R;
        const th = Math.atan2(dy, dx);
        const i = y * size + x;
        // Backdrop with a soft shadow ring around the bottle.
        const bgv = p.bg * bgTex[i] * (1 - 0.3 * (1 - smoothstep(1.0, 1.1, rho)));
        // Glass, from outside in.
        const facing = Math.cos(th - p.hi);
        let g = p.glass[1] * (0.75 + 0.6 * smoothstep(0.92, 1.0, rho)); // outer wall catches light at the edge
        const rim = smoothstep(0.74, 0.78, rho) * (1 - smoothstep(0.9, 0.93, rho));
        g = mix(g, p.glass[1] * 1.55, rim);
        const spec = Math.exp(-((rho - 0.84) * (rho - 0.84)) / 0.0012) * Math.pow(Math.max(0, facing), 6) * 0.55;
        const spec2 = Math.exp(-((rho - 0.965) * (rho - 0.965)) / 0.0004) * Math.pow(Math.max(0, -facing), 4) * 0.25;
        const lip = smoothstep(0.68, 0.71, rho) * (1 - smoothstep(0.74, 0.77, rho));
        const wall = 1 - smoothstep(0.6, 0.68, rho);
        const interior = 0.07 + 0.1 * Math.pow(Math.max(0, 1 - rho / 0.62), 2) + 0.025 * Math.exp(-((rho - 0.36) * (rho - 0.36)) / 0.001);
        const tex = 0.94 + 0.12 * n.at(th * 30, rho * 25);
        let rr = (p.glass[0] / p.glass[1]) * g * tex;
        let gg = g * tex;
        let bb = (p.glass[2] / p.glass[1]) * g * tex;
        rr = mix(rr, p.lip[0], lip);
        gg = mix(gg, p.lip[1], lip);
        bb = mix(bb, p.lip[2], lip);
        rr = mix(rr, interior * 1.05, wall);
        gg = mix(gg, interior, wall);
        bb = mix(bb, interior * 0.95, wall);
        rr += spec + spec2;
        gg += spec + spec2;
        bb += spec + spec2;
        const cov = coverage((r - p.R) * k);
        support[i] = cov;
        put(d, i, mix(bgv, rr, cov), mix(bgv, gg, cov), mix(bgv, bb, cov));
      }
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'broken_large',
      description: 'Large break in the rim: a jagged 22-40 px region of fractured glass (bright faceted shards with dark fracture lines). Painted over the rim annulus.',
      apply: (c) => bottleBreak(c, 22, 40),
    },
    {
      name: 'broken_small',
      description: 'Small chip in the rim: as broken_large but 7-16 px, often only on the inner lip or outer edge.',
      apply: (c) => bottleBreak(c, 7, 16),
    },
    {
      name: 'contamination',
      description: 'Foreign matter inside the mouth: 1-5 light flakes or dark grains (radius 2-9 px), or a hair/fibre, on the dark interior.',
      apply(c) {
        const img = c.canvas();
        const k = unit(c.size);
        const p = c.params;
        const a = c.rng.range(0, Math.PI * 2);
        const rr = Math.sqrt(c.rng.uniform()) * p.R * 0.42;
        const x = (p.cx + Math.cos(a) * rr) * k;
        const y = (p.cy + Math.sin(a) * rr) * k;
        if (c.rng.bool(0.3)) {
          paintFibre(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(25, 60) * k, halfWidth: c.rng.range(0.6, 1.1) * k, color: c.rng.bool() ? [0.7, 0.68, 0.62] : [0.45, 0.35, 0.25], curl: 0.25 });
        } else {
          const colors: Rgb[] = c.rng.bool(0.7) ? [[0.62, 0.6, 0.56], [0.78, 0.76, 0.72]] : [[0.35, 0.25, 0.15]];
          paintParticles(img, c.rng, { x, y, spread: c.rng.range(4, 18) * k, count: c.rng.intRange(1, 5), rMin: 2 * k, rMax: c.rng.range(3, 9) * k, colors });
        }
        return img;
      },
    },
  ],
});

function bottleBreak(c: DefectContext<BottleParams, null>, rMin: number, rMax: number): RgbImage {
  const img = c.canvas();
  const p = c.params;
  const k = unit(c.size);
  const S = c.size;
  const th = c.rng.range(0, Math.PI * 2);
  const rc = p.R * c.rng.range(0.72, 0.95);
  const bx = p.cx + Math.cos(th) * rc;
  const by = p.cy + Math.sin(th) * rc;
  const br = c.rng.range(rMin, rMax);
  const noise = new ValueNoise(Math.floor(c.rng.uniform() * 1e9));
  const cellSeed = Math.floor(c.rng.uniform() * 1e9);
  const cell = new Float64Array(5);
  const d = img.data;
  const x0 = Math.max(0, Math.floor((bx - 2 * br - 2) * k));
  const x1 = Math.min(S, Math.ceil((bx + 2 * br + 2) * k));
  const y0 = Math.max(0, Math.floor((by - 2 * br - 2) * k));
  const y1 = Math.min(S, Math.ceil((by + 2 * br + 2) * k));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const X = (x + 0.5) / k;
      const Y = (y + 0.5) / k;
      const rho = hypot2(X - p.cx, Y - p.cy) / p.R;
      // The break follows the glass: clip to the rim annulus (soft inner/outer limits).
      const inRim = smoothstep(0.58, 0.64, rho) * (1 - smoothstep(0.99, 1.0, rho));
      const sdf = blobSdf(X, Y, bx, by, br, 0.5, noise, 2 / br);
      const cov = coverage(sdf * k) * inRim;
      if (cov <= 0) continue;
      cellular(X / 9, Y / 9, cellSeed, cell, 0.9);
      // Fracture surface: each conchoidal facet reflects differently; the
      // original glass shows through (70 % opaque), fracture lines are dark.
      // Each facet is a tilted plane: a linear gradient in a per-facet direction.
      const ga = cell[2] * 40;
      const tilt = 0.35 * (cell[3] * Math.cos(ga) + cell[4] * Math.sin(ga));
      const facet = 0.35 + 0.4 * cell[2] * cell[2] + tilt + 0.2 * Math.pow(noise.at(X * 0.35, Y * 0.35), 4);
      const line = 1 - smoothstep(0, 0.08, cell[1] - cell[0]);
      const v = facet * (1 - 0.5 * line);
      const a = cov * 0.8;
      const i = (y * S + x) * 3;
      d[i] += (v * 0.97 - d[i]) * a;
      d[i + 1] += (v - d[i + 1]) * a;
      d[i + 2] += (v * 1.03 - d[i + 2]) * a;
    }
  }
  return img;
}

// ================================================================ hex nut ===

interface NutParams {
  cx: number;
  cy: number;
  R: number;
  rot: number;
  metal: Rgb;
  bg: Rgb;
  seeds: number[];
}

interface NutMods {
  /** Chipped-off region (256 units), its boundary ragged. */
  cut: { x: number; y: number; r: number; seed: number };
}

const hexNut = defineClass<NutParams, NutMods>({
  name: 'hex_nut',
  kind: 'object',
  description: 'Zinc-plated hex nut seen from above on a grey steel table: flat face with turning marks, chamfered corners, threaded bore showing the dark table, contact shadow; varies in position, any rotation, size and tint.',
  sample(rng) {
    return {
      cx: 128 + rng.range(-14, 14),
      cy: 128 + rng.range(-14, 14),
      R: rng.range(60, 66),
      rot: rng.range(0, Math.PI / 3),
      metal: jitterRgb(rng, [0.66, 0.67, 0.69], 0.07, 0.02),
      bg: jitterRgb(rng, [0.42, 0.43, 0.45], 0.07, 0.02),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size, mods) {
    const k = unit(size);
    const img = createRgbImage(size, size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const n = new ValueNoise(p.seeds[0]);
    const bn = new ValueNoise(p.seeds[1]);
    const cut = mods?.cut;
    const cn = cut ? new ValueNoise(cut.seed) : null;
    const c = Math.cos(p.rot);
    const s = Math.sin(p.rot);
    const cutSdf = (X: number, Y: number): number => (cut && cn ? blobSdf(X, Y, cut.x, cut.y, cut.r, 0.4, cn, 2.2 / cut.r) : 1e9);
    const bgTex = coarseField(size, 8, (x, y) => 0.92 + 0.1 * bn.fbm(x / k / 30, y / k / 30, 3));
    const bound2 = (p.R * 1.16 + 12) ** 2;
    const body = (X: number, Y: number): number => {
      const dx = X - p.cx;
      const dy = Y - p.cy;
      const la = dx * c + dy * s;
      const lb = -dx * s + dy * c;
      const hex = sdHexagon(la, lb, p.R - 1.5) - 1.5;
      const hole = p.R * 0.5 - Math.sqrt(la * la + lb * lb);
      return Math.max(hex, hole, -cutSdf(X, Y));
    };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        const i = y * size + x;
        // Far from the object there is neither object nor shadow: skip the SDFs.
        const far = (X - p.cx) * (X - p.cx) + (Y - p.cy) * (Y - p.cy) > bound2;
        const sh = far ? 0 : shadowFrom(body(X - 4, Y - 5), 5, 0.45);
        const bgs = (bgTex[i] + 0.04 * bn.at(X * 0.02, Y * 0.9)) * (1 - sh);
        let r = p.bg[0] * bgs;
        let g = p.bg[1] * bgs;
        let b = p.bg[2] * bgs;
        const bsdf = far ? 1e9 : body(X, Y);
        const cov = coverage(bsdf * k);
        if (cov > 0) {
          const dx = X - p.cx;
          const dy = Y - p.cy;
          const rr = Math.sqrt(dx * dx + dy * dy);
          const nx = dx / (rr + 1e-6);
          const ny = dy / (rr + 1e-6);
          const la = dx * c + dy * s;
          const lb = -dx * s + dy * c;
          const hexd = sdHexagon(la, lb, p.R - 1.5) - 1.5;
          const facing = nx * LX + ny * LY;
          // Flat face with turning rings and an anisotropic sheen.
          const rings = 0.9 + 0.1 * n.at(rr * 0.9, 3.3) + 0.05 * n.at(rr * 3.1, 8.1);
          const sheen = 0.08 * Math.cos(2 * (Math.atan2(dy, dx) + 0.9));
          let v = 0.95 * rings + sheen;
          // Corner chamfer: cone outside the bearing circle, lit on the light side.
          const cham = smoothstep(p.R * 0.97, p.R * 1.0, rr);
          v = mix(v, 0.72 + 0.4 * facing, cham);
          // Countersink around the bore, sloping inwards (opposite shading).
          const sink = 1 - smoothstep(p.R * 0.56, p.R * 0.64, rr);
          v = mix(v, 0.7 - 0.4 * facing, sink);
          // Thread crests just inside the bore edge (helix seen from above).
          const thr = 1 - smoothstep(p.R * 0.5, p.R * 0.53, rr);
          const phase = rr / 2.2 + Math.atan2(dy, dx) / (Math.PI * 2);
          v = mix(v, 0.35 + 0.35 * Math.abs(Math.sin(Math.PI * phase)), thr);
          // Dark outline where the side walls drop away.
          v *= 1 - 0.45 * smoothstep(-2.2, 0, hexd);
          // Freshly broken surface is brighter and rough.
          if (cut) {
            const cs = cutSdf(X, Y);
            const frac = 1 - smoothstep(0, 3, cs);
            v = mix(v, 0.95 + 0.25 * n.at(X * 0.8, Y * 0.8), frac * 0.9);
          }
          v *= 0.95 + 0.1 * n.at(X * 0.7, Y * 0.7);
          r = mix(r, p.metal[0] * v, cov);
          g = mix(g, p.metal[1] * v, cov);
          b = mix(b, p.metal[2] * v, cov);
          support[i] = cov * smoothstep(p.R * 0.6, p.R * 0.66, rr) * (1 - smoothstep(-4, -1.5, hexd));
        }
        put(d, i, r, g, b);
      }
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'chipped',
      description: 'Chipped corner or edge: a ragged piece (radius 9-20 px) of the nut is missing (table and shadow show through) with a bright freshly broken rim. Made by re-rendering with a cut SDF.',
      apply(c) {
        const p = c.params;
        // Corners stick out most, so they chip most: aim at a corner, sometimes an edge.
        const corner = c.rng.int(6);
        const ang = p.rot + Math.PI / 6 + (corner * Math.PI) / 3 + (c.rng.bool(0.3) ? c.rng.range(-0.5, 0.5) : c.rng.range(-0.1, 0.1));
        const rad = p.R * 1.1;
        return c.rerender({ cut: { x: p.cx + Math.cos(ang) * rad, y: p.cy + Math.sin(ang) * rad, r: c.rng.range(9, 20), seed: Math.floor(c.rng.uniform() * 1e9) } });
      },
    },
    {
      name: 'scratch',
      description: 'Scratch on the face: bright or dark tapered groove, 15-60 px long, 0.5-1.6 px half-width, opacity 0.45-1, confined to the face.',
      apply: paintedAt((img, x, y, k, c) => {
        paintScratch(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(15, 60) * k, halfWidth: c.rng.range(0.5, 1.6) * k, tone: c.rng.bool(0.6) ? 'dark' : 'light', strength: c.rng.range(0.45, 1), support: c.support });
      }, 0.05),
    },
    {
      name: 'rust',
      description: 'Rust spot: granular orange-brown corrosion patch on the face, radius 5-18 px, opacity 0.45-0.95.',
      apply: paintedAt((img, x, y, k, c) => {
        paintStain(img, c.rng, { x, y, radius: c.rng.range(5, 18) * k, tint: [0.85, 0.5, 0.25], strength: c.rng.range(0.45, 0.95), grain: 0.55, rough: 0.5, support: c.support });
      }, 0.05),
    },
  ],
});

// ================================================================== screw ===

interface ScrewParams {
  cx: number;
  cy: number;
  rot: number;
  len: number;
  pitch: number;
  metal: Rgb;
  bg: Rgb;
  seeds: number[];
}

interface ScrewMods {
  /** Shortened, ragged shank end (units removed from the tip). */
  brokenTip?: number;
  /** Shank bent at `at` (units from the centre) by `angle` radians. */
  bend?: { at: number; angle: number };
  /** Crushed threads between a0 and a1 (units along the axis). */
  damage?: { a0: number; a1: number; strength: number };
}

const SCREW_HEAD = 22;
const SCREW_HEAD_HALF = 17;
const SCREW_SHANK = 8.5;
const SCREW_TIP = 22;

const screw = defineClass<ScrewParams, ScrewMods>({
  name: 'screw',
  kind: 'object',
  description: 'Steel pan-head screw lying on its side on a light plate: cylindrical head, slanted threads with specular stripe, pointed tip, soft shadow; varies in position, any in-plane rotation, length, thread pitch and tint.',
  sample(rng) {
    return {
      cx: 128 + rng.range(-12, 12),
      cy: 128 + rng.range(-12, 12),
      rot: rng.range(0, Math.PI * 2),
      len: rng.range(146, 156),
      pitch: rng.range(6.6, 7.4),
      metal: jitterRgb(rng, [0.7, 0.71, 0.72], 0.07, 0.02),
      bg: jitterRgb(rng, [0.82, 0.81, 0.78], 0.04, 0.01),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size, mods) {
    const k = unit(size);
    const img = createRgbImage(size, size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const n = new ValueNoise(p.seeds[0]);
    const bn = new ValueNoise(p.seeds[1]);
    const c = Math.cos(p.rot);
    const s = Math.sin(p.rot);
    const half = p.len / 2;
    const headEnd = -half + SCREW_HEAD;
    const tipEnd = half - (mods?.brokenTip ?? 0);
    const broken = (mods?.brokenTip ?? 0) > 0;
    const bend = mods?.bend;
    const dmg = mods?.damage;
    const out = new Float64Array(4);
    const bgTex = coarseField(size, 8, (x, y) => 0.94 + 0.07 * bn.fbm(x / k / 40, y / k / 40, 3));
    const bound2 = (half + 14) ** 2;
    // Local geometry at (X, Y): writes [sdf, a, b, part(0 head, 1 shank)].
    const local = (X: number, Y: number): void => {
      const dx = X - p.cx;
      const dy = Y - p.cy;
      let a = dx * c + dy * s;
      let b = -dx * s + dy * c;
      if (bend) {
        // Points beyond the bisector of the bend belong to the rotated part.
        const hb = bend.angle / 2;
        if ((a - bend.at) * Math.cos(hb) + b * Math.sin(hb) > 0) {
          const ra = a - bend.at;
          const cb = Math.cos(bend.angle);
          const sb = Math.sin(bend.angle);
          a = bend.at + ra * cb + b * sb;
          b = -ra * sb + b * cb;
        }
      }
      const head = sdBox(a - (-half + SCREW_HEAD / 2), b, SCREW_HEAD / 2, SCREW_HEAD_HALF, 5);
      let w = SCREW_SHANK;
      const phase = (a + 0.35 * b) / p.pitch;
      let prof = Math.abs(((phase % 1) + 1) % 1 - 0.5) * 2; // triangle wave: thread crests
      if (dmg) {
        const t = smoothstep(dmg.a0 - 2, dmg.a0 + 2, a) * (1 - smoothstep(dmg.a1 - 2, dmg.a1 + 2, a));
        prof = mix(prof, 0.55 + 0.3 * n.at(a * 0.7, b * 0.4), t * dmg.strength);
      }
      w *= 0.88 + 0.14 * prof;
      if (!broken) w *= smoothstep(tipEnd + 1, tipEnd - SCREW_TIP, a) * 0.85 + 0.15;
      const end = broken ? a - tipEnd - 2.5 * (n.at(b * 0.35, 7.7) - 0.5) : a - tipEnd;
      const shank = Math.max(Math.abs(b) - w, headEnd - 1 - a, end);
      out[0] = Math.min(head, shank);
      out[1] = a;
      out[2] = b;
      out[3] = head < shank ? 0 : 1;
    };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        const i = y * size + x;
        // Far from the object there is neither object nor shadow: skip the SDFs.
        const far = (X - p.cx) * (X - p.cx) + (Y - p.cy) * (Y - p.cy) > bound2;
        if (far) out[0] = 1e9;
        else local(X - 3, Y - 4);
        const sh = shadowFrom(out[0], 4.5, 0.4);
        const bgs = (bgTex[i] + 0.03 * bn.at(X * 1.1, Y * 1.1)) * (1 - sh);
        let r = p.bg[0] * bgs;
        let g = p.bg[1] * bgs;
        let bl = p.bg[2] * bgs;
        if (!far) local(X, Y);
        const cov = coverage(out[0] * k);
        if (cov > 0) {
          const a = out[1];
          const b = out[2];
          let v: number;
          if (out[3] === 0) {
            // Head: a short cylinder seen from the side, rounded crown towards -a.
            const nb = clamp01(Math.abs(b) / SCREW_HEAD_HALF);
            const cyl = Math.sqrt(1 - nb * nb);
            v = 0.35 + 0.55 * cyl + 0.35 * Math.exp(-((b / SCREW_HEAD_HALF + 0.4) ** 2) / 0.02);
            v *= 0.85 + 0.15 * smoothstep(-half, -half + 6, a);
            v *= 1 - 0.3 * smoothstep(headEnd - 3, headEnd, a);
          } else {
            const nb = Math.max(-1, Math.min(1, b / SCREW_SHANK));
            const cyl = Math.sqrt(1 - nb * nb);
            const phase = (a + 0.35 * b) / p.pitch;
            let thread = 0.72 + 0.28 * Math.sin(Math.PI * 2 * phase);
            if (dmg) {
              const t = smoothstep(dmg.a0 - 2, dmg.a0 + 2, a) * (1 - smoothstep(dmg.a1 - 2, dmg.a1 + 2, a));
              thread = mix(thread, 0.6 + 0.5 * n.at(a * 0.9 + 20, b * 0.6), t * dmg.strength);
            }
            v = (0.3 + 0.6 * cyl) * thread + 0.4 * Math.exp(-((nb + 0.45) ** 2) / 0.02) * thread;
            if (broken) v = mix(v, 0.95 + 0.2 * n.at(a * 0.8, b * 0.8), 1 - smoothstep(0, 2.5, tipEnd - a));
          }
          v *= 0.95 + 0.1 * n.at(X * 0.6, Y * 0.6);
          r = mix(r, p.metal[0] * v, cov);
          g = mix(g, p.metal[1] * v, cov);
          bl = mix(bl, p.metal[2] * v, cov);
          support[i] = cov;
        }
        put(d, i, r, g, bl);
      }
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'broken_tip',
      description: 'Broken tip: the last 16-40 px of the shank are missing; the end is ragged and flat with a bright fracture face. Made by re-rendering the shortened screw.',
      apply(c) {
        return c.rerender({ brokenTip: c.rng.range(16, 40) });
      },
    },
    {
      name: 'bent',
      description: 'Bent shank: the screw is bent by 7-20 degrees at a point along the shank. Made by re-rendering with a rotated half-space.',
      apply(c) {
        const p = c.params;
        const at = c.rng.range(-p.len / 2 + SCREW_HEAD + 15, p.len / 2 - 35);
        return c.rerender({ bend: { at, angle: (c.rng.range(7, 20) * Math.PI) / 180 * (c.rng.bool() ? 1 : -1) } });
      },
    },
    {
      name: 'thread_damage',
      description: 'Crushed threads: over 12-35 px of the shank the thread crests are flattened and scuffed (outline and shading). Made by re-rendering with a damaged span.',
      apply(c) {
        const p = c.params;
        const len = c.rng.range(12, 35);
        const a0 = c.rng.range(-p.len / 2 + SCREW_HEAD + 4, p.len / 2 - SCREW_TIP - len);
        return c.rerender({ damage: { a0, a1: a0 + len, strength: c.rng.range(0.7, 1) } });
      },
    },
  ],
});

// ================================================================ capsule ===

interface CapsuleParams {
  cx: number;
  cy: number;
  rot: number;
  hl: number;
  rad: number;
  capColor: Rgb;
  bodyColor: Rgb;
  bg: Rgb;
  seeds: number[];
}

interface CapsuleMods {
  /** Dent pressed into one side of the shell. */
  squeeze?: { a: number; side: number; depth: number; width: number };
  /** Imprint erased inside a circle (local units). */
  erase?: { a: number; b: number; r: number };
}

/** Imprint "RX5" on the body half as strokes in local (a, b) units from the capsule centre. */
const IMPRINT: ReadonlyArray<readonly [number, number, number, number]> = [
  // R
  [16, -9, 16, 9],
  [16, -9, 23, -9],
  [23, -9, 25, -5],
  [25, -5, 23, -1],
  [23, -1, 16, -1],
  [19, -1, 25, 9],
  // X
  [30, -9, 38, 9],
  [38, -9, 30, 9],
  // 5
  [50, -9, 43, -9],
  [43, -9, 43, -1],
  [43, -1, 48, -1],
  [48, -1, 50, 2],
  [50, 2, 50, 6],
  [50, 6, 47, 9],
  [47, 9, 43, 9],
];

const capsule = defineClass<CapsuleParams, CapsuleMods>({
  name: 'capsule',
  kind: 'object',
  description: 'Glossy two-piece gelatin capsule (red cap, ivory body with a printed "RX5" imprint) on a pale blue-grey tray: cylindrical shading, specular highlight, seam ridge, soft shadow; varies in position, rotation (+-17 deg), size and colour shade.',
  sample(rng) {
    return {
      cx: 128 + rng.range(-10, 10),
      cy: 128 + rng.range(-10, 10),
      rot: rng.range(-0.3, 0.3),
      hl: rng.range(58, 64),
      rad: rng.range(28, 31),
      capColor: jitterRgb(rng, [0.74, 0.11, 0.1], 0.07, 0.05),
      bodyColor: jitterRgb(rng, [0.92, 0.88, 0.76], 0.04, 0.02),
      bg: jitterRgb(rng, [0.76, 0.79, 0.83], 0.05, 0.02),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size, mods) {
    const k = unit(size);
    const img = createRgbImage(size, size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const n = new ValueNoise(p.seeds[0]);
    const bn = new ValueNoise(p.seeds[1]);
    const c = Math.cos(p.rot);
    const s = Math.sin(p.rot);
    const sq = mods?.squeeze;
    const er = mods?.erase;
    const seam = -p.hl * 0.12;
    const tmp = new Float64Array(2);
    // Light (3-D) and Blinn half-vector.
    const L = [-0.45, -0.55, 0.7];
    const Ln = Math.hypot(L[0], L[1], L[2]);
    const lx = L[0] / Ln;
    const ly = L[1] / Ln;
    const lz = L[2] / Ln;
    const hn = Math.hypot(lx, ly, lz + 1);
    const hx = lx / hn;
    const hy = ly / hn;
    const hz = (lz + 1) / hn;
    const bgTex = coarseField(size, 8, (x, y) => 0.95 + 0.07 * bn.fbm(x / k / 45, y / k / 45, 3));
    const bound2 = (p.hl + p.rad + 12) ** 2;
    const dent = (a: number, b: number): number => (sq ? sq.depth * Math.exp(-((a - sq.a) ** 2) / (sq.width * sq.width)) * smoothstep(0, p.rad * 0.7, sq.side * b) : 0);
    const sdfAt = (X: number, Y: number): number => {
      const dx = X - p.cx;
      const dy = Y - p.cy;
      const a = dx * c + dy * s;
      const b = -dx * s + dy * c;
      const ea = Math.max(Math.abs(a) - p.hl, 0);
      return Math.sqrt(ea * ea + b * b) - p.rad + dent(a, b);
    };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        const i = y * size + x;
        // Far from the object there is neither object nor shadow: skip the SDFs.
        const far = (X - p.cx) * (X - p.cx) + (Y - p.cy) * (Y - p.cy) > bound2;
        const sh = far ? 0 : shadowFrom(sdfAt(X - 3, Y - 5), 6, 0.35);
        const bgs = bgTex[i] * (1 - sh);
        let r = p.bg[0] * bgs;
        let g = p.bg[1] * bgs;
        let bl = p.bg[2] * bgs;
        const sdf = far ? 1e9 : sdfAt(X, Y);
        const cov = coverage(sdf * k);
        if (cov > 0) {
          const dx = X - p.cx;
          const dy = Y - p.cy;
          const a = dx * c + dy * s;
          const b = -dx * s + dy * c;
          // Normal from the distance to the axis segment (sphere caps + cylinder), with the dent's radius change.
          const ea = a > p.hl ? a - p.hl : a < -p.hl ? a + p.hl : 0;
          const effR = p.rad - dent(a, b);
          const na = ea / effR;
          const nb = b / effR;
          const nz = Math.sqrt(Math.max(0.02, 1 - na * na - nb * nb));
          // Rotate the normal to the image frame.
          const nx = na * c - nb * s;
          const ny = na * s + nb * c;
          const diff = Math.max(0, nx * lx + ny * ly + nz * lz);
          const spec = Math.pow(Math.max(0, nx * hx + ny * hy + nz * hz), 60) * 0.75;
          const isCap = a < seam;
          const col = isCap ? p.capColor : p.bodyColor;
          let v = 0.32 + 0.78 * diff;
          // Seam: the cap overlaps the body, leaving a thin dark ridge.
          v *= 1 - 0.35 * Math.exp(-((a - seam) ** 2) / 0.8);
          v *= 0.97 + 0.06 * n.at(X * 0.5, Y * 0.5);
          let cr = col[0] * v;
          let cg = col[1] * v;
          let cb = col[2] * v;
          // Imprint on the body half (printed ink follows the surface, fading on the sides).
          if (!isCap) {
            let ink = 0;
            for (const [a0, b0, a1, b1] of IMPRINT) {
              segmentDistance(a, b, a0 - 5, b0 * 0.9, a1 - 5, b1 * 0.9, tmp);
              ink = Math.max(ink, coverage((tmp[0] - 1.3) * k));
            }
            if (er && hypot2(a - er.a, b - er.b) < er.r) ink = 0;
            ink *= 0.85 * smoothstep(1, 0.6, Math.abs(nb));
            cr = mix(cr, 0.18, ink);
            cg = mix(cg, 0.17, ink);
            cb = mix(cb, 0.2, ink);
          }
          r = mix(r, cr + spec, cov);
          g = mix(g, cg + spec, cov);
          bl = mix(bl, cb + spec, cov);
          support[i] = cov;
        }
        put(d, i, r, g, bl);
      }
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'crack',
      description: 'Cracked shell: thin dark branching crack on the capsule, 15-55 px long, 0.5-1.1 px half-width, confined to the capsule.',
      apply: paintedAt((img, x, y, k, c) => {
        paintCrack(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(15, 55) * k, halfWidth: c.rng.range(0.5, 1.1) * k, strength: c.rng.range(0.6, 1), support: c.support, branching: 0.1 });
      }, 0.05),
    },
    {
      name: 'squeeze',
      description: 'Squeezed shell: a dent 3-9 px deep, 8-22 px wide, pressed into one side (outline and shading change). Made by re-rendering with a displaced SDF.',
      apply(c) {
        const p = c.params;
        return c.rerender({ squeeze: { a: c.rng.range(-p.hl, p.hl), side: c.rng.bool() ? 1 : -1, depth: c.rng.range(3, 9), width: c.rng.range(8, 22) } });
      },
    },
    {
      name: 'faulty_imprint',
      description: 'Faulty imprint: part of the "RX5" print is missing (one or two characters partly erased). Made by re-rendering with an erased region.',
      apply(c) {
        const [a0, b0, a1, b1] = IMPRINT[c.rng.int(IMPRINT.length)];
        const t = c.rng.uniform();
        return c.rerender({ erase: { a: mix(a0, a1, t) - 5, b: mix(b0, b1, t) * 0.9, r: c.rng.range(4, 11) } });
      },
    },
  ],
});

// ================================================================= washer ===

interface WasherParams {
  cx: number;
  cy: number;
  ro: number;
  ri: number;
  hi: number;
  metal: Rgb;
  bg: Rgb;
  seeds: number[];
}

interface WasherMods {
  /** Material missing in an angular slot starting at radius `from` (units). */
  gap: { th: number; width: number; from: number; seed: number };
}

const washer = defineClass<WasherParams, WasherMods>({
  name: 'washer',
  kind: 'object',
  description: 'Flat steel washer on dark felt: turned concentric marks, bow-tie anisotropic highlight, bevelled inner/outer edges, contact shadow; varies in position, size, highlight angle and tint.',
  sample(rng) {
    return {
      cx: 128 + rng.range(-10, 10),
      cy: 128 + rng.range(-10, 10),
      ro: rng.range(83, 89),
      ri: rng.range(38, 42),
      hi: rng.range(0, Math.PI),
      metal: jitterRgb(rng, [0.74, 0.74, 0.75], 0.07, 0.02),
      bg: jitterRgb(rng, [0.14, 0.14, 0.16], 0.12, 0.04),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size, mods) {
    const k = unit(size);
    const img = createRgbImage(size, size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const n = new ValueNoise(p.seeds[0]);
    const bn = new ValueNoise(p.seeds[1]);
    const gap = mods?.gap;
    const gn = gap ? new ValueNoise(gap.seed) : null;
    const gapSdf = (X: number, Y: number, r: number): number => {
      if (!gap || !gn) return 1e9;
      const th = Math.atan2(Y - p.cy, X - p.cx);
      let dth = th - gap.th;
      dth = Math.atan2(Math.sin(dth), Math.cos(dth));
      const jag = (gn.at(r * 0.4, dth > 0 ? 3 : 9) - 0.5) * 4;
      return Math.max(Math.abs(dth) * r - gap.width / 2 + jag, gap.from - r);
    };
    const bgTex = coarseField(size, 8, (x, y) => 0.92 + 0.16 * bn.fbm(x / k / 30, y / k / 30, 3));
    const bound2 = (p.ro + 12) ** 2;
    const body = (X: number, Y: number): number => {
      const r = hypot2(X - p.cx, Y - p.cy);
      return Math.max(r - p.ro, p.ri - r, -gapSdf(X, Y, r));
    };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        const i = y * size + x;
        // Far from the object there is neither object nor shadow: skip the SDFs.
        const far = (X - p.cx) * (X - p.cx) + (Y - p.cy) * (Y - p.cy) > bound2;
        const sh = far ? 0 : shadowFrom(body(X - 3, Y - 4), 4, 0.6);
        const felt = (0.85 + 0.3 * bn.at(X * 0.9, Y * 0.9)) * bgTex[i] * (1 - sh);
        let r = p.bg[0] * felt;
        let g = p.bg[1] * felt;
        let b = p.bg[2] * felt;
        const bs = far ? 1e9 : body(X, Y);
        const cov = coverage(bs * k);
        if (cov > 0) {
          const dx = X - p.cx;
          const dy = Y - p.cy;
          const rr = hypot2(dx, dy);
          const th = Math.atan2(dy, dx);
          const facing = (dx * LX + dy * LY) / (rr + 1e-6);
          const marks = 0.9 + 0.08 * n.at(rr * 1.2, 1.5) + 0.05 * n.at(rr * 4, 7.5);
          let v = 0.78 * marks + 0.16 * Math.cos(2 * (th - p.hi));
          // Bevels: outer edge faces outwards, inner edge faces the centre.
          const outer = smoothstep(p.ro - 3, p.ro, rr);
          const inner = 1 - smoothstep(p.ri, p.ri + 3, rr);
          v = mix(v, 0.6 + 0.45 * facing, outer);
          v = mix(v, 0.6 - 0.45 * facing, inner);
          if (gap) {
            const gs = gapSdf(X, Y, rr);
            v = mix(v, 0.95 + 0.2 * n.at(X, Y), (1 - smoothstep(0, 2.5, gs)) * 0.85);
          }
          v *= 1 - 0.35 * smoothstep(-1.5, 0, bs);
          r = mix(r, p.metal[0] * v, cov);
          g = mix(g, p.metal[1] * v, cov);
          b = mix(b, p.metal[2] * v, cov);
          support[i] = cov * smoothstep(-4, -2, -bs + 0) * (1 - smoothstep(-3, -1, bs));
        }
        put(d, i, r, g, b);
      }
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'broken',
      description: 'Broken ring: a ragged slot 5-20 px wide where material is missing, either cut through (felt visible across the whole ring) or a notch from the outer edge. Made by re-rendering with a gap SDF.',
      apply(c) {
        const p = c.params;
        const through = c.rng.bool(0.5);
        const from = through ? p.ri - 2 : p.ro - c.rng.range(10, (p.ro - p.ri) * 0.8);
        return c.rerender({ gap: { th: c.rng.range(-Math.PI, Math.PI), width: c.rng.range(5, 20), from, seed: Math.floor(c.rng.uniform() * 1e9) } });
      },
    },
    {
      name: 'scratch',
      description: 'Scratch on the ring face: bright or dark groove, 15-70 px long, 0.5-1.6 px half-width, confined to the metal.',
      apply: paintedAt((img, x, y, k, c) => {
        paintScratch(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(15, 70) * k, halfWidth: c.rng.range(0.5, 1.6) * k, tone: c.rng.bool(0.5) ? 'dark' : 'light', strength: c.rng.range(0.5, 1), support: c.support });
      }, 0.05),
    },
    {
      name: 'contamination',
      description: 'Contamination on the ring: white lint fibre, or 1-6 grease/dirt grains (radius 1.5-6 px).',
      apply: paintedAt((img, x, y, k, c) => {
        if (c.rng.bool(0.4)) {
          paintFibre(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(20, 70) * k, halfWidth: c.rng.range(0.6, 1.2) * k, color: [0.95, 0.94, 0.9], curl: 0.25 });
        } else {
          paintParticles(img, c.rng, { x, y, spread: c.rng.range(3, 12) * k, count: c.rng.intRange(1, 6), rMin: 1.5 * k, rMax: c.rng.range(2.5, 6) * k, colors: [[0.2, 0.16, 0.1], [0.35, 0.28, 0.18]], support: c.support });
        }
      }, 0.05),
    },
  ],
});

// ==================================================================== pcb ===

interface PcbParams {
  cx: number;
  cy: number;
  rot: number;
  mask: Rgb;
  bg: Rgb;
  seeds: number[];
}

interface PcbMods {
  /** Index into PCB_PARTS of a part that was never placed. */
  missing?: number;
  /** Solder bridge between IC pin `pin` and its right neighbour on `row` (-1 top, 1 bottom). */
  bridge?: { pin: number; row: number; seed: number };
}

interface PcbPart {
  name: string;
  x: number;
  y: number;
  hx: number;
  hy: number;
  kind: 'ic' | 'resistor' | 'capacitor' | 'crystal' | 'led';
  /** Terminals along x (false) or y (true). */
  vertical: boolean;
}

/** The board layout (fixed for the class: every board is the same design). Units: 256 px, origin board centre. */
const PCB_PARTS: readonly PcbPart[] = [
  { name: 'U1', x: 0, y: -14, hx: 34, hy: 19, kind: 'ic', vertical: false },
  { name: 'R1', x: -62, y: 48, hx: 9, hy: 4.5, kind: 'resistor', vertical: false },
  { name: 'R2', x: -62, y: 68, hx: 9, hy: 4.5, kind: 'resistor', vertical: false },
  { name: 'C1', x: 38, y: 58, hx: 4.5, hy: 9, kind: 'capacitor', vertical: true },
  { name: 'C2', x: 60, y: 58, hx: 4.5, hy: 9, kind: 'capacitor', vertical: true },
  { name: 'Y1', x: 56, y: -72, hx: 16, hy: 6.5, kind: 'crystal', vertical: false },
  { name: 'D1', x: -58, y: -72, hx: 6, hy: 3.5, kind: 'led', vertical: false },
];

const IC_PINS = 8;
const IC_PITCH = 8.2;

const PCB_TRACES: ReadonlyArray<ReadonlyArray<readonly [number, number]>> = [
  [[-28.7, 10], [-28.7, 30], [-50, 48], [-53, 48]],
  [[-20.5, 10], [-20.5, 36], [-40, 60], [-40, 68], [-53, 68]],
  [[12.3, 10], [12.3, 30], [38, 40], [38, 49]],
  [[28.7, 10], [28.7, 24], [60, 34], [60, 49]],
  [[38, 67], [38, 84], [60, 84], [60, 67]],
  [[-71, 48], [-86, 48], [-86, 86]],
  [[-71, 68], [-80, 68], [-80, 90], [10, 90]],
  [[-28.7, -38], [-28.7, -52], [-52, -72]],
  [[20.5, -38], [20.5, -50], [40, -72]],
  [[28.7, -38], [28.7, -46], [72, -46], [72, -72]],
  [[-12.3, -38], [-12.3, -60], [-20, -88], [-20, -96]],
  [[4.1, 10], [4.1, 40], [-10, 54], [-10, 74]],
];

const PCB_VIAS: ReadonlyArray<readonly [number, number]> = [
  [-86, 86],
  [10, 90],
  [-10, 74],
  [-20, -96],
  [86, 20],
  [-90, -10],
  [0, 40],
  [75, -20],
];

const PCB_HOLES: ReadonlyArray<readonly [number, number]> = [
  [-92, -92],
  [92, -92],
  [-92, 92],
  [92, 92],
];

const PART_COLOURS: Record<PcbPart['kind'], Rgb> = {
  ic: [0.1, 0.1, 0.1],
  resistor: [0.1, 0.1, 0.1],
  capacitor: [0.62, 0.5, 0.36],
  crystal: [0.72, 0.72, 0.74],
  led: [0.85, 0.85, 0.75],
};

function pinCentre(i: number, row: number): [number, number] {
  const u = PCB_PARTS[0];
  return [u.x + (i - (IC_PINS - 1) / 2) * IC_PITCH, u.y + row * (u.hy + 5)];
}

const pcb = defineClass<PcbParams, PcbMods>({
  name: 'pcb',
  kind: 'object',
  description: 'Small green PCB (always the same design: SOIC-16 chip, two resistors, two ceramic capacitors, a crystal, an LED, traces, vias, silkscreen, mounting holes) on a dark mat; varies in position, slight rotation (+-2 deg), solder-mask shade and lighting.',
  sample(rng) {
    return {
      cx: 128 + rng.range(-4, 4),
      cy: 128 + rng.range(-4, 4),
      rot: rng.range(-0.035, 0.035),
      mask: jitterRgb(rng, [0.1, 0.42, 0.22], 0.08, 0.04),
      bg: jitterRgb(rng, [0.1, 0.1, 0.11], 0.15, 0.03),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size, mods) {
    const k = unit(size);
    const img = createRgbImage(size, size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const n = new ValueNoise(p.seeds[0]);
    const c = Math.cos(p.rot);
    const s = Math.sin(p.rot);
    const tmp = new Float64Array(2);
    const missing = mods?.missing ?? -1;
    const bridge = mods?.bridge;
    const half = 108;
    const toPx = (u: number, v: number): [number, number] => [(p.cx + u * c - v * s) * k, (p.cy + u * s + v * c) * k];
    // Traces: rasterised once as a stroke field in pixel space (only their bounding boxes are visited).
    const traces = new StrokeField(size);
    for (const t of PCB_TRACES) {
      const pts = t.map(([u, v]) => toPx(u, v));
      traces.stroke(pts, pts.map(() => 1.7 * k));
    }
    const maskTex = coarseField(size, 4, (x, y) => 0.93 + 0.1 * n.fbm(x / k / 25, y / k / 25, 3));
    // Pass 1: mat, shadow, bare board with traces under the solder mask.
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        const i = y * size + x;
        const dx = X - p.cx;
        const dy = Y - p.cy;
        const u = dx * c + dy * s;
        const v = -dx * s + dy * c;
        const boardSdf = sdBox(u, v, half, half, 5);
        const shadow = shadowFrom(sdBox(u - 3, v - 4, half, half, 5), 4, 0.5);
        const bgv = (0.9 + 0.2 * n.at(X * 0.6, Y * 0.6)) * (1 - shadow);
        let r = p.bg[0] * bgv;
        let g = p.bg[1] * bgv;
        let b = p.bg[2] * bgv;
        const bc = coverage(boardSdf * k);
        if (bc > 0) {
          const trace = coverage(traces.sdf[i]);
          const mtex = maskTex[i];
          const edge = 1 - 0.4 * smoothstep(-3, 0, boardSdf);
          r = mix(r, p.mask[0] * mtex * (1 + 0.5 * trace) * edge, bc);
          g = mix(g, p.mask[1] * mtex * (1 + 0.32 * trace) * edge, bc);
          b = mix(b, p.mask[2] * mtex * (1 + 0.4 * trace) * edge, bc);
          support[i] = bc * (1 - smoothstep(-6, -3, boardSdf));
        }
        put(d, i, r, g, b);
      }
    }
    // Pass 2: features, each painted over its own pixel bounding box only.
    const paint = (cu: number, cv: number, hu: number, hv: number, fn: (i: number, u: number, v: number) => void): void => {
      const [px, py] = toPx(cu, cv);
      const ext = (Math.abs(hu * c) + Math.abs(hv * s) + 2) * k;
      const eyt = (Math.abs(hu * s) + Math.abs(hv * c) + 2) * k;
      const x0 = Math.max(0, Math.floor(px - ext));
      const x1 = Math.min(size, Math.ceil(px + ext));
      const y0 = Math.max(0, Math.floor(py - eyt));
      const y1 = Math.min(size, Math.ceil(py + eyt));
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const dx = (x + 0.5) / k - p.cx;
          const dy = (y + 0.5) / k - p.cy;
          fn(y * size + x, dx * c + dy * s, -dx * s + dy * c);
        }
      }
    };
    const blend = (i: number, r: number, g: number, b: number, t: number): void => blendPixel(img, i, r, g, b, t);
    // Mounting holes and vias: gold rings, dark drills.
    for (const [hx, hy] of PCB_HOLES) {
      paint(hx, hy, 9, 9, (i, u, v) => {
        const dd = Math.sqrt((u - hx) * (u - hx) + (v - hy) * (v - hy));
        blend(i, 0.8, 0.64, 0.3, coverage((dd - 8) * k));
        blend(i, p.bg[0] * 0.6, p.bg[1] * 0.6, p.bg[2] * 0.6, coverage((dd - 4.5) * k));
      });
    }
    for (const [vx, vy] of PCB_VIAS) {
      paint(vx, vy, 4, 4, (i, u, v) => {
        const dd = Math.sqrt((u - vx) * (u - vx) + (v - vy) * (v - vy));
        blend(i, 0.78, 0.62, 0.3, coverage((dd - 3) * k));
        blend(i, 0.1, 0.1, 0.08, coverage((dd - 1.3) * k));
      });
    }
    // Silkscreen outlines around parts.
    for (const part of PCB_PARTS) {
      paint(part.x, part.y, part.hx + 8, part.hy + 8, (i, u, v) => {
        const ox = Math.abs(sdBox(u - part.x, v - part.y, part.hx + 6, part.hy + 6, 1));
        blend(i, 0.92, 0.93, 0.9, coverage((ox - 0.7) * k) * 0.85);
      });
    }
    // Parts: pads always; legs, bodies and terminals only where placed.
    for (let pi = 0; pi < PCB_PARTS.length; pi++) {
      const part = PCB_PARTS[pi];
      const placed = pi !== missing;
      if (part.kind === 'ic') {
        for (const row of [-1, 1]) {
          for (let q = 0; q < IC_PINS; q++) {
            const [px, py] = pinCentre(q, row);
            paint(px, py + row * 1.5, 4, 7, (i, u, v) => {
              blend(i, 0.82, 0.8, 0.74, coverage(sdBox(u - px, v - py - row * 1.5, 2.6, 5, 0.8) * k));
              if (placed) {
                const pv = 0.7 + 0.25 * Math.exp(-((u - px + 0.6) ** 2) / 0.8);
                blend(i, pv, pv, pv * 1.02, coverage(sdBox(u - px, v - py, 1.8, 4.5, 0.5) * k));
              }
            });
          }
        }
        if (placed) {
          paint(part.x, part.y, part.hx + 1, part.hy + 1, (i, u, v) => {
            const lu = u - part.x;
            const lv = v - part.y;
            const bsdf = sdBox(lu, lv, part.hx, part.hy, 1.5);
            const body = coverage(bsdf * k);
            if (body <= 0) return;
            const bv = 0.1 + 0.04 * smoothstep(0, -3, bsdf) * (lu < 0 ? 1 : 0.5) + 0.015 * n.at(u * 0.8, v * 0.8);
            const dot = coverage((Math.sqrt((lu + part.hx - 6) ** 2 + (lv - part.hy + 6) ** 2) - 2.2) * k) * 0.5;
            blend(i, bv + dot * 0.2, bv + dot * 0.2, bv + dot * 0.22, body);
            // Laser-etched marking: two faint grey lines.
            const mark = Math.max(coverage((Math.abs(lv + 3) - 1) * k) * (Math.abs(lu) < 20 ? 1 : 0), coverage((Math.abs(lv - 4) - 0.8) * k) * (Math.abs(lu) < 12 ? 1 : 0)) * body * 0.35;
            blend(i, 0.5, 0.5, 0.52, mark);
          });
        }
      } else {
        const ha = part.vertical ? part.hy : part.hx;
        const hb = part.vertical ? part.hx : part.hy;
        paint(part.x, part.y, part.hx + 6, part.hy + 6, (i, u, v) => {
          const lu = u - part.x;
          const lv = v - part.y;
          const au = part.vertical ? lv : lu;
          const av = part.vertical ? lu : lv;
          blend(i, 0.8, 0.78, 0.72, coverage(Math.min(sdBox(au - ha, av, 3.5, hb + 1.2, 0.6), sdBox(au + ha, av, 3.5, hb + 1.2, 0.6)) * k));
          if (!placed) return;
          const body = coverage(sdBox(au, av, ha, hb, part.kind === 'crystal' ? 3 : 1) * k);
          if (body <= 0) return;
          const shade = 0.85 + 0.3 * smoothstep(hb, -hb, av + au * 0.1);
          const base = PART_COLOURS[part.kind];
          const term = smoothstep(ha - 4, ha - 3.5, Math.abs(au)) * (part.kind === 'crystal' ? 0 : 1);
          const dome = part.kind === 'led' ? Math.exp(-(au * au + av * av) / 6) * 0.4 : 0;
          blend(i, mix(base[0] * shade, 0.82, term) + dome, mix(base[1] * shade, 0.82, term) + dome * 0.6, mix(base[2] * shade, 0.8, term) + dome * 0.2, body);
        });
      }
    }
    if (bridge) {
      const bn = new ValueNoise(bridge.seed);
      const [ax, ay] = pinCentre(bridge.pin, bridge.row);
      const [bx] = pinCentre(bridge.pin + 1, bridge.row);
      const by = ay + bridge.row * 1.5;
      paint((ax + bx) / 2, by, IC_PITCH, 6, (i, u, v) => {
        segmentDistance(u, v, ax, by, bx, by, tmp);
        const blob = coverage((tmp[0] - 2.6 - 1.6 * (bn.at(u * 0.5, v * 0.5) - 0.5)) * k);
        const hl = 0.72 + 0.3 * Math.exp(-((u - (ax + bx) / 2 + 1) ** 2 + (v - by) ** 2) / 4);
        blend(i, hl, hl, hl * 1.02, blob);
      });
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'missing_component',
      description: 'Missing component: one part (chip, resistor, capacitor, crystal or LED) was never placed; its bare tinned pads show. Made by re-rendering without that part.',
      apply(c) {
        return c.rerender({ missing: c.rng.int(PCB_PARTS.length) });
      },
    },
    {
      name: 'solder_bridge',
      description: 'Solder bridge: a shiny irregular solder blob shorting two neighbouring chip pins. Made by re-rendering with the blob.',
      apply(c) {
        return c.rerender({ bridge: { pin: c.rng.int(IC_PINS - 1), row: c.rng.bool() ? -1 : 1, seed: Math.floor(c.rng.uniform() * 1e9) } });
      },
    },
    {
      name: 'scratch',
      description: 'Scratch through the solder mask exposing bright copper/laminate: thin light groove 20-90 px long, 0.6-1.6 px half-width, on the board.',
      apply: paintedAt((img, x, y, k, c) => {
        paintScratch(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(20, 90) * k, halfWidth: c.rng.range(0.6, 1.6) * k, tone: 'light', strength: c.rng.range(0.55, 1), support: c.support });
      }, 0.1),
    },
  ],
});

// ================================================================= button ===

interface ButtonParams {
  cx: number;
  cy: number;
  R: number;
  rot: number;
  color: Rgb;
  bg: Rgb;
  weave: number;
  seeds: number[];
}

interface ButtonMods {
  cut?: { x: number; y: number; r: number; seed: number };
  /** Index (0-3) of a sewing hole that was not drilled. */
  noHole?: number;
}

const button = defineClass<ButtonParams, ButtonMods>({
  name: 'button',
  kind: 'object',
  description: 'Ivory four-hole sewing button on navy cloth: raised rim, dished centre, drilled holes showing the cloth, faint marbling and gloss; varies in position, any rotation, size, shade and cloth weave.',
  sample(rng) {
    return {
      cx: 128 + rng.range(-12, 12),
      cy: 128 + rng.range(-12, 12),
      R: rng.range(68, 74),
      rot: rng.range(0, Math.PI / 2),
      color: jitterRgb(rng, [0.88, 0.82, 0.68], 0.05, 0.015),
      bg: jitterRgb(rng, [0.13, 0.16, 0.3], 0.12, 0.05),
      weave: rng.range(2.6, 3.2),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size, mods) {
    const k = unit(size);
    const img = createRgbImage(size, size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const n = new ValueNoise(p.seeds[0]);
    const bn = new ValueNoise(p.seeds[1]);
    const cut = mods?.cut;
    const cn = cut ? new ValueNoise(cut.seed) : null;
    const holes: Array<[number, number]> = [];
    for (let h = 0; h < 4; h++) {
      const a = p.rot + Math.PI / 4 + (h * Math.PI) / 2;
      holes.push([p.cx + Math.cos(a) * p.R * 0.27, p.cy + Math.sin(a) * p.R * 0.27]);
    }
    const hr = p.R * 0.085;
    const cutSdf = (X: number, Y: number): number => (cut && cn ? blobSdf(X, Y, cut.x, cut.y, cut.r, 0.4, cn, 2.2 / cut.r) : 1e9);
    const bgTex = coarseField(size, 8, (x, y) => 0.94 + 0.12 * bn.fbm(x / k / 40, y / k / 40, 3));
    const bound2 = (p.R + 12) ** 2;
    const plastic = coarseField(size, 4, (x, y) => 0.95 + 0.08 * n.fbm(x / k / 20, y / k / 20, 3));
    const outline = (X: number, Y: number): number => Math.max(hypot2(X - p.cx, Y - p.cy) - p.R, -cutSdf(X, Y));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        const i = y * size + x;
        // Cloth: fine plain weave plus fibre noise.
        const wv = 0.85 + 0.15 * Math.sin(X * p.weave) * Math.sin(Y * p.weave) + 0.12 * (bn.at(X * 0.8, Y * 0.8) - 0.5);
        // Far from the object there is neither object nor shadow: skip the SDFs.
        const far = (X - p.cx) * (X - p.cx) + (Y - p.cy) * (Y - p.cy) > bound2;
        const sh = far ? 0 : shadowFrom(outline(X - 3, Y - 4), 5, 0.5);
        const cloth = wv * bgTex[i] * (1 - sh);
        let r = p.bg[0] * cloth;
        let g = p.bg[1] * cloth;
        let b = p.bg[2] * cloth;
        const os = far ? 1e9 : outline(X, Y);
        const cov = coverage(os * k);
        if (cov > 0) {
          const dx = X - p.cx;
          const dy = Y - p.cy;
          const rr = hypot2(dx, dy);
          const rho = rr / p.R;
          const radial = (dx * LX + dy * LY) / (rr + 1e-6);
          // Height profile slope: rim rises then falls (torus), the dish slopes down to the centre.
          let slope: number;
          if (rho > 0.78) slope = Math.cos((Math.PI * (rho - 0.78)) / 0.22) * 1.3;
          else slope = (rho / 0.78) * 0.5;
          let v = 0.82 - 0.3 * slope * radial;
          v += 0.25 * Math.pow(Math.max(0, -slope * radial), 6);
          v *= plastic[i];
          let cr = p.color[0] * v;
          let cg = p.color[1] * v;
          let cb = p.color[2] * v;
          // Sewing holes: cloth seen through, inner wall lit on the far side.
          for (let h = 0; h < 4; h++) {
            if (h === mods?.noHole) continue;
            const hx = X - holes[h][0];
            const hy = Y - holes[h][1];
            const hd = hypot2(hx, hy);
            if (hd > hr + 3) continue;
            const wall = coverage((hd - hr) * k);
            const through = coverage((hypot2(hx + 1.2, hy + 1.2) - hr) * k) * wall;
            const wallShade = 0.45 + 0.35 * ((hx * -LX + hy * -LY) / (hd + 1e-6));
            cr = mix(mix(cr, p.color[0] * wallShade * 0.7, wall), p.bg[0] * 0.5, through);
            cg = mix(mix(cg, p.color[1] * wallShade * 0.7, wall), p.bg[1] * 0.5, through);
            cb = mix(mix(cb, p.color[2] * wallShade * 0.7, wall), p.bg[2] * 0.5, through);
          }
          if (cut) {
            const cs = cutSdf(X, Y);
            const frac = (1 - smoothstep(0, 3, cs)) * 0.9;
            cr = mix(cr, p.color[0] * (1.05 + 0.15 * n.at(X, Y)), frac);
            cg = mix(cg, p.color[1] * (1.05 + 0.15 * n.at(X, Y)), frac);
            cb = mix(cb, p.color[2] * (1.02 + 0.15 * n.at(X, Y)), frac);
          }
          // Thin dark contour where the side wall drops away.
          const edge = 1 - 0.35 * smoothstep(-1.5, 0, os);
          r = mix(r, cr * edge, cov);
          g = mix(g, cg * edge, cov);
          b = mix(b, cb * edge, cov);
          support[i] = cov * (1 - smoothstep(-3, -1, os));
        }
        put(d, i, r, g, b);
      }
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'chipped',
      description: 'Chipped edge: a ragged piece (radius 8-20 px) broken off the rim (cloth and shadow show) with a lighter fracture surface. Made by re-rendering with a cut SDF.',
      apply(c) {
        const p = c.params;
        const a = c.rng.range(0, Math.PI * 2);
        const rad = p.R * c.rng.range(1.0, 1.12);
        return c.rerender({ cut: { x: p.cx + Math.cos(a) * rad, y: p.cy + Math.sin(a) * rad, r: c.rng.range(8, 20), seed: Math.floor(c.rng.uniform() * 1e9) } });
      },
    },
    {
      name: 'crack',
      description: 'Crack running in from the rim: dark branching hairline, 20-70 px long, 0.5-1.2 px half-width, confined to the button.',
      apply(c) {
        const img = c.canvas();
        const p = c.params;
        const k = unit(c.size);
        const a = c.rng.range(0, Math.PI * 2);
        const rr = p.R * c.rng.range(0.55, 0.85);
        const [x, y] = toPixel(p.cx, p.cy, 0, Math.cos(a) * rr, Math.sin(a) * rr, k);
        paintCrack(img, c.rng, { x, y, angle: a + Math.PI + c.rng.range(-0.5, 0.5), length: c.rng.range(20, 70) * k, halfWidth: c.rng.range(0.5, 1.2) * k, strength: c.rng.range(0.6, 1), support: c.support });
        return img;
      },
    },
    {
      name: 'missing_hole',
      description: 'Missing hole: one of the four sewing holes was not drilled (logical/structural anomaly). Made by re-rendering without that hole.',
      apply(c) {
        return c.rerender({ noHole: c.rng.int(4) });
      },
    },
  ],
});

export const OBJECT_CLASSES: readonly ProceduralClass[] = [bottleTop, hexNut, screw, capsule, washer, pcb, button];
