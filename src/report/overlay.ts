/**
 * Anomaly-map overlays for people: the map coloured with a jet colormap,
 * blended over the image, with the ground-truth outline in white.
 *
 * ```ts
 * const rgb = overlayAnomalyMap(image, map, { range: [lo, hi], mask });
 * await writePng('overlay.png', rgb);
 * ```
 */
import type { BinaryMask, RgbImage } from '../data/image';
import type { ScoreMap } from '../scoring/anomaly-map';

/** Matplotlib-style jet colormap, t in [0, 1]. */
export function jet(t: number): [number, number, number] {
  const c = (x: number): number => Math.max(0, Math.min(1, x));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

export interface OverlayOptions {
  /** Map values mapped to the colormap's ends (e.g. shared across a class so images compare). */
  range: readonly [number, number];
  /** Map opacity. Default 0.5. */
  alpha?: number;
  /** Ground truth drawn as an outline. */
  mask?: BinaryMask;
}

export function overlayAnomalyMap(image: RgbImage, map: ScoreMap, options: OverlayOptions): RgbImage {
  if (map.width !== image.width || map.height !== image.height) {
    throw new Error(`overlayAnomalyMap: map ${map.width}x${map.height} does not match image ${image.width}x${image.height}`);
  }
  const [lo, hi] = options.range;
  const span = hi > lo ? hi - lo : 1;
  const alpha = options.alpha ?? 0.5;
  const out = new Float32Array(image.data.length);
  const { width: w, height: h } = image;
  const mask = options.mask;
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = jet(Math.max(0, Math.min(1, (map.data[i] - lo) / span)));
    out[3 * i] = (1 - alpha) * image.data[3 * i] + alpha * r;
    out[3 * i + 1] = (1 - alpha) * image.data[3 * i + 1] + alpha * g;
    out[3 * i + 2] = (1 - alpha) * image.data[3 * i + 2] + alpha * b;
    if (mask && mask.data[i]) {
      const x = i % w;
      const y = (i - x) / w;
      const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 || !mask.data[i - 1] || !mask.data[i + 1] || !mask.data[i - w] || !mask.data[i + w];
      if (edge) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = 1;
    }
  }
  return { width: w, height: h, data: out };
}

/** Lowest and highest value over several maps (for a shared colour scale). */
export function mapRange(maps: readonly ScoreMap[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of maps) for (let i = 0; i < m.data.length; i++) {
    if (m.data[i] < lo) lo = m.data[i];
    if (m.data[i] > hi) hi = m.data[i];
  }
  return [lo, hi];
}
