/**
 * Camera "finishing" applied to every procedural image after the scene (and
 * any defect) is drawn: exposure and white-balance jitter, a smooth lighting
 * gradient, vignetting and sensor noise.
 *
 * It is strictly per-pixel (a pixel's output depends only on its own scene
 * value, its position and the finishing parameters), which is what keeps the
 * ground-truth masks exact: pixels where the defective scene equals the clean
 * scene come out byte-identical to the normal image.
 */
import type { RgbImage } from '../image';
import { Rng } from '../../util/rng';
import * as noiseLib from './noise';
import * as raster from './raster';
import type { Rgb } from './raster';

// Per-pixel helpers are bound to local constants: under tsx (esbuild's
// CommonJS output) every call through an import is a live-binding getter,
// which profiling showed to cost ~20 % of render time in these loops.
const { hash2i } = noiseLib;
const { clamp01 } = raster;

export interface FinishParams {
  /** Per-channel gain: exposure x white balance. */
  gain: Rgb;
  /** Linear lighting gradient across the frame (fraction per image width/height). */
  gradX: number;
  gradY: number;
  /** Darkening at the corners (fraction). */
  vignette: number;
  /** Sensor noise standard deviation (luminance), in [0, 1] units. */
  noise: number;
  /** Seed of the per-pixel noise field. */
  noiseSeed: number;
}

export function sampleFinish(rng: Rng): FinishParams {
  const exposure = rng.range(0.94, 1.06);
  return {
    gain: [exposure * rng.range(0.985, 1.015), exposure, exposure * rng.range(0.985, 1.015)],
    gradX: rng.range(-0.08, 0.08),
    gradY: rng.range(-0.08, 0.08),
    vignette: rng.range(0.0, 0.1),
    noise: rng.range(0.006, 0.016),
    noiseSeed: Math.floor(rng.uniform() * 0x7fffffff),
  };
}

/** A new image: scene x lighting + noise, clamped to [0, 1]. */
export function applyFinish(scene: RgbImage, f: FinishParams): RgbImage {
  const { width: W, height: H } = scene;
  const src = scene.data;
  const out = new Float32Array(src.length);
  for (let y = 0; y < H; y++) {
    const v = (y + 0.5) / H - 0.5;
    for (let x = 0; x < W; x++) {
      const u = (x + 0.5) / W - 0.5;
      const light = 1 + f.gradX * u + f.gradY * v - f.vignette * 2 * (u * u + v * v);
      const i = y * W + x;
      const o = i * 3;
      // Luminance noise shared by the channels plus weaker chroma noise, like a
      // Bayer sensor after demosaicing. Two hashes per pixel give 8 bytes:
      // 4 summed for the luminance (near-Gaussian), 3 for per-channel chroma.
      const h1 = hash2i(i, 0x2545f491, f.noiseSeed);
      const h2 = hash2i(i, 0x5bd1e995, f.noiseSeed);
      const sum4 = (h1 & 255) + ((h1 >>> 8) & 255) + ((h1 >>> 16) & 255) + (h1 >>> 24);
      // Sum of 4 uniform bytes: mean 510, sd ~147.8.
      const nl = ((sum4 - 510) / 147.8) * f.noise;
      for (let c = 0; c < 3; c++) {
        const s = src[o + c] * f.gain[c] * light;
        // Shot-noise-like: brighter pixels are a little noisier.
        const sigmaScale = 0.6 + 0.6 * Math.sqrt(s > 0 ? s : 0);
        const nc = ((((h2 >>> (c * 8)) & 255) - 127.5) / 73.9) * f.noise * 0.35;
        out[o + c] = clamp01(s + (nl + nc) * sigmaScale);
      }
    }
  }
  return { width: W, height: H, data: out };
}
