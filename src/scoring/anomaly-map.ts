/**
 * From per-level log-likelihoods to an anomaly map and an image score
 * (ResAD paper Eq. 7, RESAD_SPEC step 9):
 *
 *   s_l = 1 - exp(logp_l / C_l - c)          per level, per position
 *   S   = gaussian_sigma4( sum_l upsample_bilinear(s_l) )
 *   image score = max(S)
 *
 * The official code subtracts the maximum logp over the whole test set of a
 * class before exp(), which makes every score depend on the other test
 * images. Here the shift `c` is a fixed number chosen before testing
 * (default 0; the logp is already normalised by C_l, whose upper bound is
 * -0.919 = log N(0;0,1)), so one image's score never depends on another's.
 *
 * ```ts
 * const map = anomalyMap([{ logp: l1, width: 56, height: 56 }, ...], { width: 224, height: 224 });
 * const score = imageScore(map);
 * ```
 */

/** A 2-D float map, row-major. */
export interface ScoreMap {
  width: number;
  height: number;
  data: Float32Array;
}

export interface AnomalyMapOptions {
  width: number;
  height: number;
  /** Constant subtracted from the normalised logp before exp (not data dependent). Default 0. */
  logpShift?: number;
  /** Gaussian smoothing sigma in output pixels; 0 disables. Paper: 4. */
  sigma?: number;
  /** Bilinear sampling convention of the upsampling; the official code uses align_corners=True. */
  alignCorners?: boolean;
}

/** s = 1 - exp(logp - shift), elementwise. */
export function likelihoodToScore(logpNormalised: Float32Array, shift = 0): Float32Array {
  const out = new Float32Array(logpNormalised.length);
  for (let i = 0; i < out.length; i++) out[i] = 1 - Math.exp(logpNormalised[i] - shift);
  return out;
}

/** Bilinear resize of a single-channel map (PyTorch F.interpolate semantics for both corner conventions). */
export function resizeBilinear(map: ScoreMap, width: number, height: number, alignCorners = true): ScoreMap {
  const { width: w, height: h, data } = map;
  const out = new Float32Array(width * height);
  const coord = (i: number, inSize: number, outSize: number): number => {
    if (alignCorners) return outSize > 1 ? (i * (inSize - 1)) / (outSize - 1) : 0;
    return Math.max(0, ((i + 0.5) * inSize) / outSize - 0.5);
  };
  for (let y = 0; y < height; y++) {
    const sy = coord(y, h, height);
    const y0 = Math.min(h - 1, Math.floor(sy));
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = coord(x, w, width);
      const x0 = Math.min(w - 1, Math.floor(sx));
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const top = data[y0 * w + x0] * (1 - fx) + data[y0 * w + x1] * fx;
      const bottom = data[y1 * w + x0] * (1 - fx) + data[y1 * w + x1] * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return { width, height, data: out };
}

function gaussianKernel(sigma: number, truncate: number): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** scipy.ndimage's default 'reflect' boundary: (d c b a | a b c d | d c b a). */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - 1 - j;
  return j;
}

/**
 * Separable Gaussian filter equal to scipy.ndimage.gaussian_filter(map, sigma)
 * (truncate 4.0, mode 'reflect'), as the official evaluation uses.
 */
export function gaussianBlur(map: ScoreMap, sigma: number, truncate = 4): ScoreMap {
  if (!(sigma > 0)) return { width: map.width, height: map.height, data: map.data.slice() };
  const { width: w, height: h } = map;
  const k = gaussianKernel(sigma, truncate);
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) acc += k[t + r] * map.data[row + reflectIndex(x + t, w)];
      tmp[row + x] = acc;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = -r; t <= r; t++) acc += k[t + r] * tmp[reflectIndex(y + t, h) * w + x];
      out[y * w + x] = acc;
    }
  }
  return { width: w, height: h, data: out };
}

/** One level's normalised log-likelihoods (logp / C_l) on its own grid. */
export interface LevelLogLikelihood {
  width: number;
  height: number;
  logp: Float32Array;
}

/** The full Eq. 7 path for one image. */
export function anomalyMap(levels: readonly LevelLogLikelihood[], options: AnomalyMapOptions): ScoreMap {
  if (levels.length === 0) throw new Error('anomalyMap: no feature levels given');
  const { width, height, logpShift = 0, sigma = 4, alignCorners = true } = options;
  const sum = new Float32Array(width * height);
  for (const level of levels) {
    if (level.logp.length !== level.width * level.height) {
      throw new Error(`anomalyMap: level of ${level.width}x${level.height} has ${level.logp.length} values`);
    }
    const scores = likelihoodToScore(level.logp, logpShift);
    const up = resizeBilinear({ width: level.width, height: level.height, data: scores }, width, height, alignCorners);
    for (let i = 0; i < sum.length; i++) sum[i] += up.data[i];
  }
  return gaussianBlur({ width, height, data: sum }, sigma);
}

/** Image-level anomaly score: the maximum of the map (paper). */
export function imageScore(map: ScoreMap): number {
  let m = -Infinity;
  for (let i = 0; i < map.data.length; i++) if (map.data[i] > m) m = map.data[i];
  return m;
}
