/**
 * Helpers shared by the texture and object classes (textures.ts,
 * objects.ts): per-image seeds, the 256-unit scale, the clamped pixel write
 * of every render loop, and the common shape of a defect painted at one spot.
 *
 * Callers bind these to local constants like the raster helpers (see the
 * note at the top of textures.ts), since `put` runs once per pixel.
 */
import type { RgbImage } from '../image';
import { Rng } from '../../util/rng';
import * as raster from './raster';
import type { DefectContext } from './types';

const { clamp01 } = raster;

/** Seeds for the per-image noise fields (drawn once per image). */
export function seeds(rng: Rng, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.floor(rng.uniform() * 0x7fffffff));
  return out;
}

/** Scale factor from 256 px units to pixels. */
export function unit(size: number): number {
  return size / 256;
}

/** Writes pixel `i` of an RGB buffer, clamped to [0, 1]. */
export function put(d: Float32Array, i: number, r: number, g: number, b: number): void {
  const o = i * 3;
  d[o] = clamp01(r);
  d[o + 1] = clamp01(g);
  d[o + 2] = clamp01(b);
}

/**
 * The `apply` of a defect painted at one random spot: a copy of the clean
 * scene, a spot at least `marginFrac * size` px from the border (the context's
 * default margin when omitted), then `paint` with the 256-unit scale `k`.
 * The spot is drawn from the defect stream before anything `paint` draws,
 * which is the order every painted defect has always used (changing it would
 * change the images of a given seed).
 */
export function paintedAt<P, M>(
  paint: (img: RgbImage, x: number, y: number, k: number, c: DefectContext<P, M>) => void,
  marginFrac?: number,
): (c: DefectContext<P, M>) => RgbImage {
  return (c) => {
    const img = c.canvas();
    const k = unit(c.size);
    const [x, y] = c.spot(marginFrac === undefined ? undefined : c.size * marginFrac);
    paint(img, x, y, k, c);
    return img;
  };
}
