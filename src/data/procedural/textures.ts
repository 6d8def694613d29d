/**
 * Texture classes of the procedural dataset: surfaces that fill the frame
 * (like MVTec's carpet, grid, leather, tile, wood). Each normal image varies
 * in phase, scale, orientation and colour within tight ranges so a class stays
 * recognisable while K references still matter.
 *
 * All geometry is written in "256 px units" (u = pixel / (size / 256)), so a
 * class looks the same at any output size, only sharper or blurrier.
 */
import type { RgbImage } from '../image';
import { createRgbImage } from '../image';
import { paintColorSpot, paintCrack, paintDent, paintFibre, paintGlue, paintHole, paintParticles, paintScratch, paintStain } from './defects';
import { DefectContext, ProceduralClass, defineClass } from './types';
import * as noiseLib from './noise';
import * as raster from './raster';
import * as shared from './shared';
import type { Rgb } from './raster';

// Per-pixel helpers are bound to local constants: under tsx (esbuild's
// CommonJS output) every call through an import is a live-binding getter,
// which profiling showed to cost ~20 % of render time in these loops.
const { ValueNoise, cellular, hash2, hash2i } = noiseLib;
const { blobSdf, coarseField, coverage, jitterRgb, mix, sdBox, smoothstep } = raster;
const { paintedAt, put, seeds, unit } = shared;

function image(size: number): RgbImage {
  return createRgbImage(size, size);
}

/** A [min, max) range drawn uniformly (in 256 px units where it is a size). */
type MinMax = readonly [number, number];

/**
 * Textile defect shared by fabric and carpet: a stray thread in one of
 * `colors`, at a random spot, with the class's length, half-width and curl
 * ranges. Draw order (colour, angle, length, width, curl) is fixed: it is
 * part of what a seed means.
 */
function strayThread<P, M>(colors: readonly Rgb[], length: MinMax, halfWidth: MinMax, curl: MinMax): (c: DefectContext<P, M>) => RgbImage {
  return paintedAt<P, M>((img, x, y, k, c) => {
    const color = c.rng.pick<Rgb>(colors);
    paintFibre(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(length[0], length[1]) * k, halfWidth: c.rng.range(halfWidth[0], halfWidth[1]) * k, color, curl: c.rng.range(curl[0], curl[1]) });
  });
}

/** Textile defect shared by fabric and carpet: a spot re-dyed in one of `colors`, keeping the shading. */
function dyeSpot<P, M>(colors: readonly Rgb[], radius: MinMax): (c: DefectContext<P, M>) => RgbImage {
  return paintedAt<P, M>((img, x, y, k, c) => {
    const color = c.rng.pick<Rgb>(colors);
    paintColorSpot(img, c.rng, { x, y, radius: c.rng.range(radius[0], radius[1]) * k, color, strength: c.rng.range(0.5, 0.95) });
  });
}

// ================================================================ fabric ===

interface FabricParams {
  angle: number;
  pitch: number;
  phaseA: number;
  phaseB: number;
  warp: Rgb;
  weft: Rgb;
  seeds: number[];
}

/** Denim-like 2/1 twill: indigo warp over white weft, diagonal ribs. */
const fabric = defineClass<FabricParams, null>({
  name: 'fabric',
  kind: 'texture',
  description: 'Indigo 2/1 twill (denim-like) weave with yarn slubs and fibre detail; varies in thread pitch, weave phase, small rotation and dye shade.',
  sample(rng) {
    return {
      angle: rng.range(-0.07, 0.07),
      pitch: rng.range(5.2, 6.0),
      phaseA: rng.range(0, 100),
      phaseB: rng.range(0, 100),
      warp: jitterRgb(rng, [0.17, 0.25, 0.45], 0.08, 0.04),
      weft: jitterRgb(rng, [0.7, 0.7, 0.68], 0.06, 0.02),
      seeds: seeds(rng, 3),
    };
  },
  render(p, size) {
    const img = image(size);
    const d = img.data;
    const k = unit(size);
    const n = new ValueNoise(p.seeds[0]);
    const fib = new ValueNoise(p.seeds[1]);
    const mot = new ValueNoise(p.seeds[2]);
    const ca = Math.cos(p.angle);
    const sa = Math.sin(p.angle);
    const mottle = coarseField(size, 8, (x, y) => 0.92 + 0.16 * mot.fbm(x / k / 70, y / k / 70, 3));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k - 128;
        const Y = (y + 0.5) / k - 128;
        const u = (X * ca + Y * sa) / p.pitch + p.phaseA;
        const v = (-X * sa + Y * ca) / p.pitch + p.phaseB;
        const i = Math.floor(u);
        const j = Math.floor(v);
        const fu = u - i;
        const fv = v - j;
        // Yarn thickness varies slowly along each thread (slubs).
        const hwW = 0.4 + 0.1 * (n.at(i * 3.1, v * 0.12) - 0.5);
        const hwF = 0.4 + 0.1 * (n.at(u * 0.12 + 40, j * 3.7) - 0.5);
        const dW = Math.abs(fu - 0.5) / hwW;
        const dF = Math.abs(fv - 0.5) / hwF;
        const warpTop = (((i + j) % 3) + 3) % 3 !== 0;
        const fibW = fib.at(u * 5, v * 0.6);
        const fibF = fib.at(u * 0.6 + 70, v * 5);
        const slub = 0.9 + 0.2 * n.at(i * 1.7 + 9, v * 0.05);
        const shW = Math.sqrt(Math.max(0, 1 - dW * dW));
        const shF = Math.sqrt(Math.max(0, 1 - dF * dF));
        // Ring-dyed indigo: fibre noise reveals lighter undyed core here and there.
        const wl = smoothstep(0.55, 0.85, fibW) * 0.35;
        const wr = mix(p.warp[0], 0.55, wl) * (0.5 + 0.55 * shW) * slub;
        const wg = mix(p.warp[1], 0.6, wl) * (0.5 + 0.55 * shW) * slub;
        const wb = mix(p.warp[2], 0.72, wl) * (0.5 + 0.55 * shW) * slub;
        const fs = (0.55 + 0.45 * shF) * (0.85 + 0.25 * fibF);
        const fr = p.weft[0] * fs;
        const fg = p.weft[1] * fs;
        const fb = p.weft[2] * fs;
        // Yarn is fuzzy: edges ramp over ~1.6 px instead of 1.
        const cW = coverage((dW - 1) * hwW * p.pitch * k, 1.6);
        const cF = coverage((dF - 1) * hwF * p.pitch * k, 1.6);
        const gap = 0.3;
        let r: number;
        let g: number;
        let b: number;
        if (warpTop) {
          // Under-thread is in the shadow of the top one.
          r = mix(p.warp[0] * gap, fr * 0.5, cF);
          g = mix(p.warp[1] * gap, fg * 0.5, cF);
          b = mix(p.warp[2] * gap, fb * 0.5, cF);
          r = mix(r, wr, cW);
          g = mix(g, wg, cW);
          b = mix(b, wb, cW);
        } else {
          r = mix(p.warp[0] * gap, wr * 0.6, cW);
          g = mix(p.warp[1] * gap, wg * 0.6, cW);
          b = mix(p.warp[2] * gap, wb * 0.6, cW);
          // Weft floats are short and sit lower than the warp: partly shaded.
          r = mix(r, fr * 0.85, cF);
          g = mix(g, fg * 0.85, cF);
          b = mix(b, fb * 0.88, cF);
        }
        const m = mottle[y * size + x];
        put(d, y * size + x, r * m, g * m, b * m);
      }
    }
    return { image: img, support: null };
  },
  defects: [
    {
      name: 'hole',
      description: 'Torn hole: irregular blob showing the dark backing, frayed darker rim and torn white weft fibres across it; radius 5-16 px.',
      apply: paintedAt((img, x, y, k, c) => {
        paintHole(img, c.rng, { x, y, radius: c.rng.range(5, 16) * k, inner: [0.1, 0.1, 0.12], backing: true, fibres: [0.75, 0.75, 0.72] });
      }),
    },
    {
      name: 'stain',
      description: 'Oil or coffee stain: soft irregular darkening with a yellow-brown tint and a drying ring; radius 8-34 px, opacity 0.35-0.9 (some faint).',
      apply: paintedAt((img, x, y, k, c) => {
        const oil = c.rng.bool();
        paintStain(img, c.rng, {
          x,
          y,
          radius: c.rng.range(8, 34) * k,
          tint: oil ? [0.45, 0.45, 0.4] : [0.85, 0.6, 0.3],
          strength: c.rng.range(0.35, 0.9),
          ring: oil ? 0 : 0.5,
          stretch: c.rng.range(1, 1.6),
          angle: c.rng.range(0, Math.PI),
        });
      }),
    },
    {
      name: 'thread',
      description: 'Loose foreign thread or hair lying on the weave (red, white, black or yellow), 25-110 px long, 0.6-1.4 px half-width, with a faint shadow.',
      apply: strayThread(
        [
          [0.75, 0.12, 0.1],
          [0.92, 0.9, 0.85],
          [0.05, 0.05, 0.05],
          [0.85, 0.7, 0.15],
        ],
        [25, 110],
        [0.6, 1.4],
        [0.05, 0.25],
      ),
    },
    {
      name: 'color',
      description: 'Bleach or dye spot: region re-coloured (bleached pale blue, rust or green) keeping the weave shading; radius 6-26 px.',
      apply: dyeSpot(
        [
          [0.55, 0.7, 0.9],
          [0.7, 0.35, 0.15],
          [0.25, 0.55, 0.3],
        ],
        [6, 26],
      ),
    },
  ],
});

// ================================================================== wood ===

interface WoodParams {
  angle: number;
  spacing: number;
  phase: number;
  warp: number;
  early: Rgb;
  late: Rgb;
  seeds: number[];
}

/** Flat-sawn light oak: wavy growth rings, fine pore streaks. */
const wood = defineClass<WoodParams, null>({
  name: 'wood',
  kind: 'texture',
  description: 'Light oak plank: vertical grain with wavy dark latewood bands and fine pore streaks; varies in ring spacing, waviness, phase, tilt and tone.',
  sample(rng) {
    return {
      angle: rng.range(-0.1, 0.1),
      spacing: rng.range(22, 34),
      phase: rng.range(0, 10),
      warp: rng.range(0.7, 1.3),
      early: jitterRgb(rng, [0.82, 0.64, 0.44], 0.06, 0.03),
      late: jitterRgb(rng, [0.6, 0.4, 0.23], 0.08, 0.04),
      seeds: seeds(rng, 3),
    };
  },
  render(p, size) {
    const img = image(size);
    const d = img.data;
    const k = unit(size);
    const wn = new ValueNoise(p.seeds[0]);
    const pn = new ValueNoise(p.seeds[1]);
    const mn = new ValueNoise(p.seeds[2]);
    const ca = Math.cos(p.angle);
    const sa = Math.sin(p.angle);
    const frame = (x: number, y: number): [number, number] => {
      const X = x / k - 128;
      const Y = y / k - 128;
      return [X * ca + Y * sa, -X * sa + Y * ca];
    };
    // Growth rings: a slow, mostly lateral warp (rings meander over the
    // plank's length), in 256 units; gain 0.35 keeps the small wiggles small.
    const warp = coarseField(size, 4, (x, y) => {
      const [a, b] = frame(x, y);
      return (wn.fbm(a / 200, b / 700, 3, 0.35) - 0.5) * 110 * p.warp + (wn.at(a / 60 + 31, b / 260) - 0.5) * 10;
    });
    const mottle = coarseField(size, 8, (x, y) => 0.93 + 0.14 * mn.fbm(x / k / 90, y / k / 90, 3));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        const X = (x + 0.5) / k - 128;
        const Y = (y + 0.5) / k - 128;
        const a = X * ca + Y * sa;
        const b = -X * sa + Y * ca;
        const w = warp[i];
        const t = (a + w) / p.spacing + p.phase;
        const g = t - Math.floor(t);
        // Latewood: darkens through the ring, then ends abruptly at the next ring.
        const late = smoothstep(0.55, 0.93, g) * (1 - smoothstep(0.95, 1, g));
        // Fine grain lines follow the rings (same warp), pores are short dark dashes along the grain.
        const fine = smoothstep(0.55, 0.95, pn.at((a + w) * 0.55, b * 0.02));
        const pores = smoothstep(0.6, 0.9, pn.at((a + w) * 1.1 + 40, b * 0.09));
        const s = mottle[i] * (1 - 0.1 * fine) * (1 - 0.12 * pores);
        const lt = late * 0.8;
        put(d, i, mix(p.early[0], p.late[0], lt) * s, mix(p.early[1], p.late[1], lt) * s, mix(p.early[2], p.late[2], lt) * s);
      }
    }
    return { image: img, support: null };
  },
  defects: [
    {
      name: 'scratch',
      description: 'Scratch across the grain: light (fresh fibres) or dark (dirty) tapered groove, 30-140 px long, 0.6-2 px half-width, opacity 0.4-1.',
      apply: paintedAt((img, x, y, k, c) => {
        paintScratch(img, c.rng, {
          x,
          y,
          angle: c.rng.range(-1.2, 1.2),
          length: c.rng.range(30, 140) * k,
          halfWidth: c.rng.range(0.6, 2) * k,
          tone: c.rng.bool(0.7) ? 'light' : 'dark',
          strength: c.rng.range(0.4, 1),
        });
      }),
    },
    {
      name: 'hole',
      description: 'Worm or drill hole: small dark irregular pit with a crushed rim; radius 2-8 px, 1-3 holes.',
      apply: paintedAt((img, x, y, k, c) => {
        const n = c.rng.intRange(1, 3);
        for (let i = 0; i < n; i++) {
          const r = c.rng.range(2, 8) * k;
          paintHole(img, c.rng, { x: x + c.rng.range(-20, 20) * k * (i > 0 ? 1 : 0), y: y + c.rng.range(-20, 20) * k * (i > 0 ? 1 : 0), radius: Math.max(1.2, r), inner: [0.24, 0.14, 0.07], rough: 0.2, rim: Math.max(1.5, r * 0.6) });
        }
      }),
    },
    {
      name: 'liquid',
      description: 'Dried liquid: darker, more saturated soft region where the wood soaked it up, elongated along the grain; radius 10-36 px, opacity 0.3-0.8.',
      apply: paintedAt((img, x, y, k, c) => {
        paintStain(img, c.rng, {
          x,
          y,
          radius: c.rng.range(10, 36) * k,
          tint: [0.62, 0.5, 0.38],
          strength: c.rng.range(0.3, 0.8),
          ring: 0.35,
          stretch: c.rng.range(0.5, 0.9),
          angle: c.params.angle,
          rough: 0.35,
        });
      }),
    },
  ],
});

// ================================================================ marble ===

interface MarbleParams {
  dir: number;
  freq: number;
  turb: number;
  phase: number;
  sharp: number;
  base: Rgb;
  vein: Rgb;
  seeds: number[];
}

/** Polished white marble with soft grey veins and thin dark veinlets. */
const marble = defineClass<MarbleParams, null>({
  name: 'marble',
  kind: 'texture',
  description: 'Polished white Carrara-like marble: soft grey turbulent veins, thin grey veinlets and cloudy mottling; varies in vein direction, density, turbulence and tone.',
  sample(rng) {
    return {
      dir: rng.range(0.35, 1.15),
      freq: rng.range(1.3, 2.2),
      turb: rng.range(2.6, 4),
      phase: rng.range(0, Math.PI * 2),
      sharp: rng.range(8, 16),
      base: jitterRgb(rng, [0.91, 0.9, 0.87], 0.03, 0.01),
      vein: jitterRgb(rng, [0.52, 0.53, 0.56], 0.08, 0.02),
      seeds: seeds(rng, 3),
    };
  },
  render(p, size) {
    const img = image(size);
    const d = img.data;
    const k = unit(size);
    const n1 = new ValueNoise(p.seeds[0]);
    const n2 = new ValueNoise(p.seeds[1]);
    const n3 = new ValueNoise(p.seeds[2]);
    const dx = Math.cos(p.dir);
    const dy = Math.sin(p.dir);
    const S = 256 * k;
    // Turbulence of the two vein systems and the cloudy mottling: smooth, so a 2 px grid suffices.
    const turb1 = coarseField(size, 2, (x, y) => p.turb * (n1.fbm((x / S) * 3, (y / S) * 3, 5) - 0.5) * 2);
    const turb2 = coarseField(size, 2, (x, y) => 5 * (n2.fbm((x / S) * 4 + 3, (y / S) * 4, 5) - 0.5));
    const cloud = coarseField(size, 4, (x, y) => n3.fbm((x / S) * 5, (y / S) * 5, 4));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        const u = (x + 0.5) / S;
        const v = (y + 0.5) / S;
        const t = (u * dx + v * dy) * p.freq * Math.PI * 2 + turb1[i] + p.phase;
        const vein = Math.pow(1 - Math.abs(Math.sin(t)), p.sharp);
        const t2 = (u * -dy + v * dx) * 3.1 * Math.PI + turb2[i] + p.phase * 2;
        const s2 = 1 - Math.abs(Math.sin(t2));
        // Thin secondary veinlets: soft grey, never as dark as a crack.
        const thin = Math.pow(s2, 40);
        const cl = cloud[i];
        const m = 0.96 + 0.06 * cl;
        const a = Math.min(0.7, vein * 0.45 + 0.2 * smoothstep(0.5, 0.8, cl));
        let r = mix(p.base[0] * m, p.vein[0], a);
        let g = mix(p.base[1] * m, p.vein[1], a);
        let b = mix(p.base[2] * m, p.vein[2], a);
        r = mix(r, p.vein[0] * 0.85, thin * 0.4);
        g = mix(g, p.vein[1] * 0.85, thin * 0.4);
        b = mix(b, p.vein[2] * 0.85, thin * 0.4);
        put(d, i, r, g, b);
      }
    }
    return { image: img, support: null };
  },
  defects: [
    {
      name: 'crack',
      description: 'Hairline crack: jagged branching dark line with a faint light lip, 40-150 px long, 0.5-1.4 px half-width, darkness 0.5-1.',
      apply: paintedAt((img, x, y, k, c) => {
        paintCrack(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(40, 150) * k, halfWidth: c.rng.range(0.5, 1.4) * k, strength: c.rng.range(0.5, 1) });
      }, 0.15),
    },
    {
      name: 'chip',
      description: 'Chipped-out piece: irregular recessed region of rough unpolished stone (lighter, grainy) with a shadowed upper-left wall; radius 5-18 px.',
      apply: paintedAt((img, x, y, k, c) => {
        const r = c.rng.range(5, 18) * k;
        const noise = new ValueNoise(Math.floor(c.rng.uniform() * 1e9));
        const S = c.size;
        const d = img.data;
        const x0 = Math.max(0, Math.floor(x - 2 * r - 3));
        const x1 = Math.min(S, Math.ceil(x + 2 * r + 3));
        const y0 = Math.max(0, Math.floor(y - 2 * r - 3));
        const y1 = Math.min(S, Math.ceil(y + 2 * r + 3));
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) {
            const sdf = blobSdf(xx + 0.5, yy + 0.5, x, y, r, 0.45, noise, 2.5 / r);
            const cov = coverage(sdf);
            if (cov <= 0) continue;
            // Fractured stone: lighter and grainy; wall near the rim on the light side is in shadow.
            const ux = (xx + 0.5 - x) / r;
            const uy = (yy + 0.5 - y) / r;
            const wall = smoothstep(-3 * k, 0, sdf) * smoothstep(0.2, -0.8, ux + uy);
            const grain = 0.85 + 0.25 * noise.at(xx * 0.8 / k, yy * 0.8 / k);
            const i = (yy * S + xx) * 3;
            const base = 0.82 * grain * (1 - 0.45 * wall);
            d[i] += (base - d[i]) * cov;
            d[i + 1] += (base * 0.99 - d[i + 1]) * cov;
            d[i + 2] += (base * 0.96 - d[i + 2]) * cov;
          }
        }
      }),
    },
    {
      name: 'stain',
      description: 'Rust or oil stain soaked into the stone: soft orange-brown or grey irregular blotch, radius 8-30 px, opacity 0.3-0.8.',
      apply: paintedAt((img, x, y, k, c) => {
        const rust = c.rng.bool(0.6);
        paintStain(img, c.rng, {
          x,
          y,
          radius: c.rng.range(8, 30) * k,
          tint: rust ? [0.85, 0.6, 0.38] : [0.6, 0.6, 0.58],
          strength: c.rng.range(0.3, 0.8),
          rough: 0.45,
          grain: rust ? 0.3 : 0,
        });
      }),
    },
  ],
});

// ========================================================= brushed metal ===

interface MetalParams {
  angle: number;
  base: Rgb;
  sheenFreq: number;
  sheenPhase: number;
  sheenAmp: number;
  seeds: number[];
}

/** Brushed stainless steel: fine anisotropic streaks, a broad sheen. */
const brushedMetal = defineClass<MetalParams, null>({
  name: 'brushed_metal',
  kind: 'texture',
  description: 'Brushed stainless steel sheet: fine horizontal anisotropic streaks and a soft sheen band; varies in streak pattern, sheen position, slight tilt and tint.',
  sample(rng) {
    return {
      angle: rng.range(-0.05, 0.05),
      base: jitterRgb(rng, [0.6, 0.61, 0.63], 0.06, 0.01),
      sheenFreq: rng.range(0.6, 1.4),
      sheenPhase: rng.range(0, Math.PI * 2),
      sheenAmp: rng.range(0.04, 0.1),
      seeds: seeds(rng, 3),
    };
  },
  render(p, size) {
    const img = image(size);
    const d = img.data;
    const k = unit(size);
    const n1 = new ValueNoise(p.seeds[0]);
    const n2 = new ValueNoise(p.seeds[1]);
    const n3 = new ValueNoise(p.seeds[2]);
    const ca = Math.cos(p.angle);
    const sa = Math.sin(p.angle);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k - 128;
        const Y = (y + 0.5) / k - 128;
        const a = X * ca + Y * sa;
        const b = -X * sa + Y * ca;
        const streak = 0.45 * n1.at(a * 0.01, b * 0.45) + 0.35 * n1.at(a * 0.025 + 33, b * 1.1) + 0.2 * n2.at(a * 0.06, b * 2.3);
        const line = smoothstep(0.8, 0.95, n3.at(a * 0.004, b * 1.7));
        const sheen = 1 + p.sheenAmp * Math.sin((b / 256) * Math.PI * 2 * p.sheenFreq + p.sheenPhase);
        const s = (0.84 + 0.3 * streak + 0.08 * line) * sheen;
        put(d, y * size + x, p.base[0] * s, p.base[1] * s, p.base[2] * s);
      }
    }
    return { image: img, support: null };
  },
  defects: [
    {
      name: 'scratch',
      description: 'Scratch against the brushing direction: bright or dark tapered groove, 30-160 px long, 0.5-1.8 px half-width, opacity 0.35-1.',
      apply: paintedAt((img, x, y, k, c) => {
        paintScratch(img, c.rng, {
          x,
          y,
          angle: c.params.angle + Math.PI / 2 + c.rng.range(-1.1, 1.1),
          length: c.rng.range(30, 160) * k,
          halfWidth: c.rng.range(0.5, 1.8) * k,
          tone: c.rng.bool(0.6) ? 'light' : 'dark',
          strength: c.rng.range(0.35, 1),
        });
      }),
    },
    {
      name: 'dent',
      description: 'Dent: shallow round depression seen only through its shading (lit wall / shadowed wall), radius 8-28 px, depth 0.15-0.45.',
      apply: paintedAt((img, x, y, k, c) => {
        paintDent(img, { x, y, radius: c.rng.range(8, 28) * k, depth: c.rng.range(0.15, 0.45) });
      }),
    },
    {
      name: 'stain',
      description: 'Oil smear or fingerprint-like film: soft darker, slightly warm irregular region, radius 10-36 px, opacity 0.3-0.75.',
      apply: paintedAt((img, x, y, k, c) => {
        paintStain(img, c.rng, {
          x,
          y,
          radius: c.rng.range(10, 36) * k,
          tint: [0.7, 0.66, 0.58],
          strength: c.rng.range(0.3, 0.75),
          rough: 0.5,
          stretch: c.rng.range(1, 2),
          angle: c.rng.range(0, Math.PI),
        });
      }),
    },
  ],
});

// ============================================================= wire mesh ===

interface MeshParams {
  angle: number;
  pitch: number;
  phaseA: number;
  phaseB: number;
  hw: number;
  bg: Rgb;
  wire: Rgb;
  seeds: number[];
}

interface MeshMods {
  /** A stretch of one wire removed: 'h' wires run along a (index by b), 'v' along b. */
  missing?: { dir: 'h' | 'v'; index: number; from: number; to: number };
  /** Wires pushed sideways by a smooth bump centred at (a, b) in 256 px units (frame coords). */
  bend?: { dir: 'h' | 'v'; a: number; b: number; amp: number; sigma: number };
}

/** Plain-woven dark steel wire cloth over a light background. */
const wireMesh = defineClass<MeshParams, MeshMods>({
  name: 'wire_mesh',
  kind: 'texture',
  description: 'Plain-woven dark steel wire cloth (square openings, over/under crossings with cylindrical shading) over a light grey backing with cast shadows; varies in pitch, phase, slight rotation and tone.',
  sample(rng) {
    const pitch = rng.range(18, 21);
    return {
      angle: rng.range(-0.05, 0.05),
      pitch,
      phaseA: rng.range(0, pitch),
      phaseB: rng.range(0, pitch),
      hw: pitch * rng.range(0.19, 0.22),
      bg: jitterRgb(rng, [0.74, 0.74, 0.72], 0.06, 0.01),
      wire: jitterRgb(rng, [0.3, 0.31, 0.33], 0.1, 0.02),
      seeds: seeds(rng, 2),
    };
  },
  render(p, size, mods) {
    const img = image(size);
    const d = img.data;
    const k = unit(size);
    const bgn = new ValueNoise(p.seeds[0]);
    const wn = new ValueNoise(p.seeds[1]);
    const ca = Math.cos(p.angle);
    const sa = Math.sin(p.angle);
    const P = p.pitch;
    const miss = mods?.missing;
    const bend = mods?.bend;
    const sh = 3.2; // shadow offset in 256 units
    // Coverage and height of one wire family at frame coords (a, b); writes [cov, dist/hw, height].
    const wireAt = (dir: 'h' | 'v', a: number, b: number, out: Float64Array): void => {
      // Along / across coordinates for this family.
      let across = dir === 'h' ? b : a;
      const along = dir === 'h' ? a : b;
      if (bend && bend.dir === dir) {
        // Compact bump (1 - r^2/R^2)^2, zero beyond R: the bend is local, like a poke, not a wave.
        const da = a - bend.a;
        const db = b - bend.b;
        const q = 1 - (da * da + db * db) / (bend.sigma * bend.sigma);
        if (q > 0) across -= bend.amp * q * q;
      }
      const idx = Math.round(across / P);
      const dist = across - idx * P;
      let cov = coverage((Math.abs(dist) - p.hw) * k);
      if (miss && miss.dir === dir && miss.index === idx) {
        // Broken ends are ragged, not straight cuts.
        const jag = (wn.at(across * 0.6, along * 0.05) - 0.5) * 3;
        const inGap = smoothstep(miss.from + jag - 0.6, miss.from + jag + 0.6, along) * smoothstep(miss.to + jag + 0.6, miss.to + jag - 0.6, along);
        cov *= 1 - inGap;
      }
      const other = Math.round(along / P);
      // Over/under: each wire alternates height between crossings.
      const par = (((idx + other) % 2) + 2) % 2;
      const h = Math.cos((Math.PI * along) / P - Math.PI * other) * (par === 0 ? 1 : -1) * (dir === 'h' ? 1 : -1);
      out[0] = cov;
      out[1] = dist / p.hw;
      out[2] = h;
    };
    const bgTex = coarseField(size, 8, (x, y) => 0.93 + 0.1 * bgn.fbm(x / k / 40, y / k / 40, 3));
    const H = new Float64Array(3);
    const V = new Float64Array(3);
    const HS = new Float64Array(3);
    const VS = new Float64Array(3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k - 128;
        const Y = (y + 0.5) / k - 128;
        const a = X * ca + Y * sa + p.phaseA;
        const b = -X * sa + Y * ca + p.phaseB;
        wireAt('h', a, b, H);
        wireAt('v', a, b, V);
        wireAt('h', a - sh, b - sh, HS);
        wireAt('v', a - sh, b - sh, VS);
        const shadow = Math.max(HS[0], VS[0]) * 0.4;
        const bgs = bgTex[y * size + x] * (1 - shadow);
        let r = p.bg[0] * bgs;
        let g = p.bg[1] * bgs;
        let bb = p.bg[2] * bgs;
        // Draw the lower wire first, then the upper one.
        const hTop = H[2] >= V[2];
        for (let pass = 0; pass < 2; pass++) {
          const w = (pass === 0) === hTop ? V : H;
          if (w[0] <= 0) continue;
          const nrm = Math.max(-1, Math.min(1, w[1]));
          const cyl = Math.sqrt(1 - nrm * nrm);
          const spec = Math.exp(-((nrm + 0.35) * (nrm + 0.35)) / 0.05) * 0.35;
          const s = (0.45 + 0.6 * cyl - 0.15 * nrm) * (0.72 + 0.28 * (w[2] + 1) * 0.5) * (0.92 + 0.16 * wn.at(x * 0.3, y * 0.3));
          r = mix(r, p.wire[0] * s + spec, w[0]);
          g = mix(g, p.wire[1] * s + spec, w[0]);
          bb = mix(bb, p.wire[2] * s + spec, w[0]);
        }
        put(d, y * size + x, r, g, bb);
      }
    }
    return { image: img, support: null };
  },
  defects: [
    {
      name: 'broken',
      description: 'Broken wire: a stretch of one wire (1-2.5 openings long) is missing, with ragged ends; the backing shows through. Made by re-rendering without that wire piece.',
      apply(c) {
        const p = c.params;
        const dir = c.rng.bool() ? 'h' : 'v';
        // A wire near the centre, a gap starting somewhere between two crossings.
        const index = Math.round(c.rng.range(-70, 70) / p.pitch + (dir === 'h' ? p.phaseB : p.phaseA) / p.pitch);
        const base = (dir === 'h' ? p.phaseA : p.phaseB) + c.rng.range(-80, 80);
        const len = p.pitch * c.rng.range(1.0, 2.5);
        return c.rerender({ missing: { dir, index, from: base, to: base + len } });
      },
    },
    {
      name: 'bent',
      description: 'Bent wires: one or two neighbouring wires pushed sideways by a smooth compact bump (0.3-0.7 of the pitch, radius 1.2-2.4 pitches). Made by warping the wire coordinates.',
      apply(c) {
        const p = c.params;
        return c.rerender({
          bend: {
            dir: c.rng.bool() ? 'h' : 'v',
            a: p.phaseA + c.rng.range(-80, 80),
            b: p.phaseB + c.rng.range(-80, 80),
            amp: p.pitch * c.rng.range(0.3, 0.7) * (c.rng.bool() ? 1 : -1),
            sigma: p.pitch * c.rng.range(1.2, 2.4),
          },
        });
      },
    },
    {
      name: 'contamination',
      description: 'Foreign matter caught in the mesh: a cluster of 1-6 metal chips, rust-brown grains or white glue grains (radius 1.5-6 px), or a fibre.',
      apply: paintedAt((img, x, y, k, c) => {
        if (c.rng.bool(0.3)) {
          paintFibre(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(30, 90) * k, halfWidth: c.rng.range(0.6, 1.2) * k, color: [0.88, 0.86, 0.8], curl: 0.2 });
        } else {
          const colors = c.rng.pick<Rgb[]>([
            [[0.55, 0.55, 0.57], [0.75, 0.75, 0.78]],
            [[0.45, 0.25, 0.12], [0.55, 0.32, 0.15]],
            [[0.95, 0.94, 0.9]],
          ]);
          paintParticles(img, c.rng, { x, y, spread: c.rng.range(3, 14) * k, count: c.rng.intRange(1, 6), rMin: 1.5 * k, rMax: c.rng.range(2.5, 6) * k, colors });
        }
      }),
    },
  ],
});

// ================================================================ carpet ===

interface CarpetParams {
  cell: number;
  offX: number;
  offY: number;
  base: Rgb;
  seeds: number[];
}

/** Cut-pile wool carpet: dense tufts with fibre noise. */
const carpet = defineClass<CarpetParams, null>({
  name: 'carpet',
  kind: 'texture',
  description: 'Burgundy loop-pile wool carpet: tufts in near-regular rows, strands radiating from each tuft, dark crevices, per-tuft shade and fibre fuzz; varies in tuft size, phase and dye shade.',
  sample(rng) {
    return {
      cell: rng.range(6.6, 7.6),
      offX: rng.range(0, 100),
      offY: rng.range(0, 100),
      base: jitterRgb(rng, [0.6, 0.19, 0.17], 0.08, 0.04),
      seeds: seeds(rng, 3),
    };
  },
  render(p, size) {
    const img = image(size);
    const d = img.data;
    const k = unit(size);
    const fn = new ValueNoise(p.seeds[1]);
    const mn = new ValueNoise(p.seeds[2]);
    const cs = p.seeds[0];
    const cell = new Float64Array(5);
    const mottle = coarseField(size, 8, (x, y) => 0.93 + 0.14 * mn.fbm(x / k / 80, y / k / 80, 3));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        // Tufts sit on a nearly regular grid (rows of the tufting machine).
        cellular(X / p.cell + p.offX, Y / p.cell + p.offY, cs, cell, 0.45);
        const r = cell[0];
        const dome = 1 - smoothstep(0.0, 0.75, r);
        // Strands radiate from each tuft's centre; their phase differs per tuft.
        const strands = 0.5 + 0.5 * Math.sin(Math.atan2(cell[4], cell[3]) * 9 + cell[2] * 40 + r * 6);
        const crevice = smoothstep(0.0, 0.35, cell[1] - cell[0]);
        const fuzz = fn.at(X * 0.8, Y * 0.8);
        const lit = 1 - 0.3 * ((cell[3] * -0.6 + cell[4] * -0.8) / (r + 0.25));
        const shade = (0.35 + 0.7 * dome) * (0.55 + 0.45 * crevice) * (0.72 + 0.35 * strands * dome) * (0.85 + 0.3 * fuzz) * (0.88 + 0.24 * cell[2]) * lit;
        const s = shade * mottle[y * size + x];
        put(d, y * size + x, p.base[0] * s * 1.05, p.base[1] * s, p.base[2] * s);
      }
    }
    return { image: img, support: null };
  },
  defects: [
    {
      name: 'hole',
      description: 'Hole where tufts are torn out: irregular dark region with crushed rim and a few stray fibres; radius 4-16 px.',
      apply: paintedAt((img, x, y, k, c) => {
        paintHole(img, c.rng, { x, y, radius: c.rng.range(4, 16) * k, inner: [0.2, 0.13, 0.1], backing: true, fibres: [c.params.base[0] * 0.9, c.params.base[1] * 0.9, c.params.base[2] * 0.9], rough: 0.4 });
      }),
    },
    {
      name: 'thread',
      description: 'Stray thread in a contrasting colour (white, black, green, yellow) lying on the pile, 30-120 px, 0.7-1.6 px half-width.',
      apply: strayThread(
        [
          [0.9, 0.88, 0.82],
          [0.06, 0.05, 0.05],
          [0.2, 0.5, 0.25],
          [0.85, 0.75, 0.2],
        ],
        [30, 120],
        [0.7, 1.6],
        [0.1, 0.3],
      ),
    },
    {
      name: 'color',
      description: 'Colour stain: tufts re-dyed (blue, green, bleached pink or brown) keeping the pile shading; radius 6-24 px.',
      apply: dyeSpot(
        [
          [0.25, 0.35, 0.75],
          [0.3, 0.6, 0.3],
          [0.85, 0.6, 0.65],
          [0.4, 0.3, 0.15],
        ],
        [6, 24],
      ),
    },
  ],
});

// =============================================================== leather ===

interface LeatherParams {
  cell: number;
  offX: number;
  offY: number;
  base: Rgb;
  seeds: number[];
}

/** Pebble-grain cowhide: smooth polygonal cells separated by fine creases. */
const leather = defineClass<LeatherParams, null>({
  name: 'leather',
  kind: 'texture',
  description: 'Cognac pebble-grain leather: irregular rounded pebbles separated by soft darker valleys, micro-grain and a soft sheen; varies in cell size, phase, mottling and tone.',
  sample(rng) {
    return {
      cell: rng.range(8, 9.5),
      offX: rng.range(0, 100),
      offY: rng.range(0, 100),
      base: jitterRgb(rng, [0.5, 0.3, 0.16], 0.07, 0.03),
      seeds: seeds(rng, 3),
    };
  },
  render(p, size) {
    const img = image(size);
    const d = img.data;
    const k = unit(size);
    const mn = new ValueNoise(p.seeds[1]);
    const cell = new Float64Array(5);
    const fine = new Float64Array(5);
    const mottle = coarseField(size, 4, (x, y) => 0.9 + 0.2 * mn.fbm(x / k / 60, y / k / 60, 4));
    const warpX = coarseField(size, 2, (x, y) => mn.fbm(x / k / 9 + 50, y / k / 9, 2));
    const warpY = coarseField(size, 2, (x, y) => mn.fbm(x / k / 9, y / k / 9 + 50, 2));
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k;
        const Y = (y + 0.5) / k;
        // Domain warp: pebbles of real hide are irregular blobs, not polygons.
        const wx = X + (warpX[y * size + x] - 0.5) * p.cell * 0.9;
        const wy = Y + (warpY[y * size + x] - 0.5) * p.cell * 0.9;
        cellular(wx / p.cell + p.offX, wy / p.cell + p.offY, p.seeds[0], cell, 0.95);
        cellular(X / (p.cell * 0.35) + p.offY, Y / (p.cell * 0.35) + p.offX, p.seeds[2], fine, 0.95);
        // Soft valleys between rounded pebbles (not sharp lines: leather creases are rounded).
        const crease = 1 - smoothstep(0.0, 0.4, cell[1] - cell[0]);
        const micro = 1 - smoothstep(0.0, 0.15, fine[1] - fine[0]);
        const bump = Math.sqrt(Math.max(0, 1 - cell[0] * cell[0] * 1.1));
        // Pebble lit from the upper-left: the side facing the light is brighter.
        const lit = -(cell[3] * -0.6 + cell[4] * -0.8) / (cell[0] + 0.25);
        const s = mottle[y * size + x] * (0.84 + 0.16 * bump + 0.1 * lit) * (1 - 0.22 * crease) * (1 - 0.07 * micro) * (0.97 + 0.06 * cell[2]);
        const sheen = 0.04 * bump * bump * bump * bump;
        put(d, y * size + x, p.base[0] * s + sheen, p.base[1] * s + sheen, p.base[2] * s + sheen);
      }
    }
    return { image: img, support: null };
  },
  defects: [
    {
      name: 'cut',
      description: 'Knife cut: thin dark slit with lighter raw-hide lips, straight-ish, 20-90 px long, 0.5-1.3 px half-width.',
      apply: paintedAt((img, x, y, k, c) => {
        const angle = c.rng.range(0, Math.PI);
        const length = c.rng.range(20, 90) * k;
        // Raw lips first (light), then the dark slit on top.
        paintScratch(img, c.rng, { x, y, angle, length, halfWidth: c.rng.range(1.6, 2.6) * k, tone: 'light', strength: 0.35, bend: 0.04 });
        paintScratch(img, c.rng, { x, y, angle, length: length * 0.92, halfWidth: c.rng.range(0.5, 1.3) * k, tone: 'dark', strength: 1, bend: 0.04 });
      }),
    },
    {
      name: 'poke',
      description: 'Pokes: 1-4 small punctured holes with dark interior and pushed-in rim, radius 1.5-4 px.',
      apply: paintedAt((img, x, y, k, c) => {
        const n = c.rng.intRange(1, 4);
        for (let i = 0; i < n; i++) {
          const ox = i === 0 ? 0 : c.rng.range(-12, 12) * k;
          const oy = i === 0 ? 0 : c.rng.range(-12, 12) * k;
          paintHole(img, c.rng, { x: x + ox, y: y + oy, radius: Math.max(1.1, c.rng.range(1.5, 4) * k), inner: [0.08, 0.04, 0.02], rough: 0.15, rim: 2 * k });
        }
      }),
    },
    {
      name: 'glue',
      description: 'Glue drop: translucent glossy blob (clear-yellowish or white) with a specular highlight and darker edge, radius 5-18 px.',
      apply: paintedAt((img, x, y, k, c) => {
        const white = c.rng.bool(0.4);
        paintGlue(img, c.rng, { x, y, radius: c.rng.range(5, 18) * k, color: white ? [0.85, 0.82, 0.75] : [0.62, 0.45, 0.2], opacity: white ? c.rng.range(0.4, 0.7) : c.rng.range(0.3, 0.55) });
      }),
    },
  ],
});

// ================================================================= tiles ===

interface TileParams {
  angle: number;
  pitch: number;
  offA: number;
  offB: number;
  grout: number;
  glaze: Rgb;
  groutColor: Rgb;
  hiA: number;
  hiB: number;
  seeds: number[];
}

interface TileMods {
  /** Chipped-off glaze region (pixel coords) revealing the clay body. */
  chip?: { x: number; y: number; r: number; seed: number };
  /** One tile displaced / rotated (tile indices, offsets in 256 units, radians). */
  shift?: { i: number; j: number; da: number; db: number; rot: number };
}

/** Glazed ceramic wall tiles with grout lines. */
const tiles = defineClass<TileParams, TileMods>({
  name: 'tiles',
  kind: 'texture',
  description: 'Glossy teal ceramic wall tiles (about 3 x 3 visible) with light sanded grout, bevelled edges, speckles, per-tile shade and a soft window reflection; varies in tile size, grid offset, slight rotation, tint and reflection position.',
  sample(rng) {
    const pitch = rng.range(78, 88);
    return {
      angle: rng.range(-0.035, 0.035),
      pitch,
      offA: rng.range(0, pitch),
      offB: rng.range(0, pitch),
      grout: rng.range(2.2, 3.2),
      glaze: jitterRgb(rng, [0.27, 0.58, 0.56], 0.06, 0.03),
      groutColor: jitterRgb(rng, [0.8, 0.78, 0.73], 0.04, 0.01),
      hiA: rng.range(-90, 90),
      hiB: rng.range(-90, 90),
      seeds: seeds(rng, 3),
    };
  },
  render(p, size, mods) {
    const img = image(size);
    const support = new Float32Array(size * size);
    const d = img.data;
    const k = unit(size);
    const gn = new ValueNoise(p.seeds[0]);
    const mn = new ValueNoise(p.seeds[1]);
    const ca = Math.cos(p.angle);
    const sa = Math.sin(p.angle);
    const P = p.pitch;
    const half = P / 2 - p.grout;
    const shift = mods?.shift;
    const chip = mods?.chip;
    const chipNoise = chip ? new ValueNoise(chip.seed) : null;
    const bevel = 3.5;
    const mott = coarseField(size, 4, (x, y) => {
      const X = x / k - 128;
      const Y = y / k - 128;
      return 0.95 + 0.08 * mn.fbm((X * ca + Y * sa + p.offA) / 30, (-X * sa + Y * ca + p.offB) / 30, 3);
    });
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const X = (x + 0.5) / k - 128;
        const Y = (y + 0.5) / k - 128;
        const a = X * ca + Y * sa + p.offA;
        const b = -X * sa + Y * ca + p.offB;
        let ti = Math.floor(a / P);
        let tj = Math.floor(b / P);
        let lx = a - (ti + 0.5) * P;
        let ly = b - (tj + 0.5) * P;
        let sdf = sdBox(lx, ly, half, half, 3);
        if (shift) {
          if (ti === shift.i && tj === shift.j) sdf = 1e9;
          const cx = (shift.i + 0.5) * P + shift.da;
          const cy = (shift.j + 0.5) * P + shift.db;
          const c = Math.cos(shift.rot);
          const s = Math.sin(shift.rot);
          const qx = (a - cx) * c + (b - cy) * s;
          const qy = -(a - cx) * s + (b - cy) * c;
          const sd2 = sdBox(qx, qy, half, half, 3);
          if (sd2 < sdf) {
            sdf = sd2;
            ti = shift.i;
            tj = shift.j;
            lx = qx;
            ly = qy;
          }
        }
        const i = y * size + x;
        // Grout: sanded, darker in the recess next to the tile edges.
        const gsand = 0.88 + 0.2 * gn.at(X * 0.8, Y * 0.8);
        const recess = 0.7 + 0.3 * smoothstep(0, p.grout * 1.2, sdf);
        let r = p.groutColor[0] * gsand * recess;
        let g = p.groutColor[1] * gsand * recess;
        let bl = p.groutColor[2] * gsand * recess;
        const cov = coverage(sdf * k);
        if (cov > 0) {
          const tint = 0.94 + 0.1 * hash2(ti, tj, p.seeds[2]);

          // Dark speckles in the glaze.
          const sx = Math.floor(a * 0.5);
          const sy = Math.floor(b * 0.5);
          const spk = (hash2i(sx, sy, p.seeds[2] ^ 77) & 1023) < 6 ? 0.75 : 1;
          // Bevel: the rounded rim is lit on the upper-left, shaded on the lower-right.
          const e = smoothstep(-bevel, 0, sdf);
          const side = Math.abs(lx) > Math.abs(ly) ? Math.sign(lx) : Math.sign(ly);
          const bev = 1 - 0.22 * e * side - 0.1 * e;
          const hx = a - p.offA - p.hiA;
          const hy = b - p.offB - p.hiB;
          const hi = 0.12 * Math.exp(-(hx * hx + hy * hy * 0.4) / (2 * 45 * 45));
          const s = tint * mott[i] * spk * bev;
          let tr = p.glaze[0] * s + hi;
          let tg = p.glaze[1] * s + hi;
          let tb = p.glaze[2] * s + hi;
          if (chip && chipNoise) {
            const cs = blobSdf(x + 0.5, y + 0.5, chip.x, chip.y, chip.r, 0.45, chipNoise, 2.2 / chip.r);
            const cc = coverage(cs);
            if (cc > 0) {
              // Exposed clay body, recessed: shadow along the upper-left wall of the chip.
              const wall = smoothstep(-2.5 * k, 0, cs) * smoothstep(0.3, -0.7, (x + 0.5 - chip.x + y + 0.5 - chip.y) / chip.r);
              const clay = (0.8 + 0.3 * chipNoise.at(x * 0.9 / k, y * 0.9 / k)) * (1 - 0.45 * wall);
              tr = mix(tr, 0.74 * clay, cc);
              tg = mix(tg, 0.6 * clay, cc);
              tb = mix(tb, 0.5 * clay, cc);
            }
          }
          r = mix(r, tr, cov);
          g = mix(g, tg, cov);
          bl = mix(bl, tb, cov);
        }
        support[i] = coverage((sdf + 2) * k);
        put(d, i, r, g, bl);
      }
    }
    return { image: img, support };
  },
  defects: [
    {
      name: 'crack',
      description: 'Crack in the glaze of one tile: branching dark hairline, 30-120 px long, 0.5-1.2 px half-width, limited to the tile it starts on.',
      apply: paintedAt((img, x, y, k, c) => {
        // Restrict the crack to the tile under (x, y): cracks stop at the grout joint.
        const sup = tileSupport(c.params, c.size, x, y);
        paintCrack(img, c.rng, { x, y, angle: c.rng.range(0, Math.PI * 2), length: c.rng.range(30, 120) * k, halfWidth: c.rng.range(0.5, 1.2) * k, strength: c.rng.range(0.55, 1), support: sup });
      }, 0.12),
    },
    {
      name: 'missing_piece',
      description: 'Missing piece: glaze chipped off near a tile edge or corner, exposing the recessed terracotta body with a shadowed wall; radius 5-20 px. Made by re-rendering the tile with the chip region.',
      apply(c) {
        const p = c.params;
        const k = unit(c.size);
        // Put the chip on a tile edge: pick a tile near the centre, then a point on its rim.
        const [sx, sy] = c.spot(c.size * 0.15);
        const ca = Math.cos(p.angle);
        const sa = Math.sin(p.angle);
        const X = sx / k - 128;
        const Y = sy / k - 128;
        const a = X * ca + Y * sa + p.offA;
        const b = -X * sa + Y * ca + p.offB;
        const ti = Math.floor(a / p.pitch);
        const tj = Math.floor(b / p.pitch);
        const h = p.pitch / 2 - p.grout;
        const side = c.rng.int(4);
        const t = c.rng.range(-h, h);
        const la = side === 0 ? -h : side === 1 ? h : t;
        const lb = side === 2 ? -h : side === 3 ? h : t;
        const ea = (ti + 0.5) * p.pitch + la - p.offA;
        const eb = (tj + 0.5) * p.pitch + lb - p.offB;
        const ex = (ea * ca - eb * sa + 128) * k;
        const ey = (ea * sa + eb * ca + 128) * k;
        return c.rerender({ chip: { x: ex, y: ey, r: c.rng.range(5, 20) * k, seed: Math.floor(c.rng.uniform() * 1e9) } });
      },
    },
    {
      name: 'misaligned',
      description: 'Misaligned tile: one tile shifted by 2-5 px and/or rotated by 1-3 degrees, so its grout joints become uneven. Made by re-rendering with that tile displaced.',
      apply(c) {
        const p = c.params;
        const i = Math.floor((p.offA + c.rng.range(-60, 60)) / p.pitch);
        const j = Math.floor((p.offB + c.rng.range(-60, 60)) / p.pitch);
        const mag = c.rng.range(2, 5);
        const dir = c.rng.range(0, Math.PI * 2);
        const rot = c.rng.range(1, 3) * (Math.PI / 180) * (c.rng.bool() ? 1 : -1);
        return c.rerender({ shift: { i, j, da: Math.cos(dir) * mag, db: Math.sin(dir) * mag, rot } });
      },
    },
  ],
});

/** Coverage of the single (unshifted) tile containing pixel (px, py). */
function tileSupport(p: TileParams, size: number, px: number, py: number): Float32Array {
  const k = unit(size);
  const ca = Math.cos(p.angle);
  const sa = Math.sin(p.angle);
  const frame = (x: number, y: number): [number, number] => {
    const X = x / k - 128;
    const Y = y / k - 128;
    return [X * ca + Y * sa + p.offA, -X * sa + Y * ca + p.offB];
  };
  const [a0, b0] = frame(px, py);
  const ti = Math.floor(a0 / p.pitch);
  const tj = Math.floor(b0 / p.pitch);
  const half = p.pitch / 2 - p.grout;
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const [a, b] = frame(x + 0.5, y + 0.5);
      const sdf = sdBox(a - (ti + 0.5) * p.pitch, b - (tj + 0.5) * p.pitch, half, half, 3);
      out[y * size + x] = coverage((sdf + 1.5) * k);
    }
  }
  return out;
}

export const TEXTURE_CLASSES: readonly ProceduralClass[] = [fabric, wood, marble, brushedMetal, wireMesh, carpet, leather, tiles];

