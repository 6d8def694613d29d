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
import type { PreprocessGeometry } from '../data/transforms';
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

/** Brightness of image pixels the map does not cover (NaN in the map), so unscored parts read as such. */
const UNSCORED_BRIGHTNESS = 0.5;

/** Map values the overlay does not colour (NaN: outside the scored region) show the image at half brightness. */
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
    const v = map.data[i];
    if (Number.isNaN(v)) {
      out[3 * i] = UNSCORED_BRIGHTNESS * image.data[3 * i];
      out[3 * i + 1] = UNSCORED_BRIGHTNESS * image.data[3 * i + 1];
      out[3 * i + 2] = UNSCORED_BRIGHTNESS * image.data[3 * i + 2];
      continue;
    }
    const [r, g, b] = jet(Math.max(0, Math.min(1, (v - lo) / span)));
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

/** Default cap on the longer side of written maps and overlays (`resad predict --max-size`): a 2048 px PNG is ~10 MB, and the map itself has model resolution. */
export const DEFAULT_MAX_OUTPUT_SIZE = 2048;

/**
 * A model-resolution map placed onto a width x height picture of the whole
 * source image (any scale of it, e.g. the original resolution): bilinear
 * between map pixel centres, NaN outside the region preprocessing kept (the
 * centre crop of 'resize-crop' on non-square images), since the model never
 * saw those pixels.
 */
export function mapToSourceGeometry(map: ScoreMap, geometry: PreprocessGeometry, width: number, height: number): ScoreMap {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`mapToSourceGeometry: invalid output size ${width}x${height}`);
  }
  const { width: mw, height: mh, data } = map;
  const out = new Float32Array(width * height);
  // Output pixel centre -> resized-image coordinate -> crop coordinate -> map pixel (centres at +0.5).
  const axis = (n: number, resized: number, crop0: number, cropSize: number, mapSize: number): { i0: Int32Array; i1: Int32Array; f: Float32Array; inside: Uint8Array } => {
    const i0 = new Int32Array(n);
    const i1 = new Int32Array(n);
    const f = new Float32Array(n);
    const inside = new Uint8Array(n);
    for (let o = 0; o < n; o++) {
      const c = ((o + 0.5) * resized) / n - crop0;
      if (c < 0 || c >= cropSize) continue;
      inside[o] = 1;
      const m = Math.min(mapSize - 1, Math.max(0, (c * mapSize) / cropSize - 0.5));
      i0[o] = Math.floor(m);
      i1[o] = Math.min(mapSize - 1, i0[o] + 1);
      f[o] = m - i0[o];
    }
    return { i0, i1, f, inside };
  };
  const xs = axis(width, geometry.resizeWidth, geometry.cropLeft, geometry.width, mw);
  const ys = axis(height, geometry.resizeHeight, geometry.cropTop, geometry.height, mh);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    if (!ys.inside[y]) {
      out.fill(NaN, row, row + width);
      continue;
    }
    const r0 = ys.i0[y] * mw;
    const r1 = ys.i1[y] * mw;
    const fy = ys.f[y];
    for (let x = 0; x < width; x++) {
      if (!xs.inside[x]) {
        out[row + x] = NaN;
        continue;
      }
      const x0 = xs.i0[x];
      const x1 = xs.i1[x];
      const fx = xs.f[x];
      const top = data[r0 + x0] * (1 - fx) + data[r0 + x1] * fx;
      const bottom = data[r1 + x0] * (1 - fx) + data[r1 + x1] * fx;
      out[row + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return { width, height, data: out };
}
