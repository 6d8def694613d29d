/**
 * From per-level outputs of the model to an anomaly map and an image score
 * (ResAD paper Eq. 7, RESAD_SPEC step 9). Position scores per level l:
 *
 *   'paper' (Eq. 7):   s_l = 1 - exp(logp_l / C_l - c)
 *   'nll':             s_l = (-logp_l / C_l - mu_l) / sigma_l
 *   'distance':        s_l = (||r'_l|| - mu'_l) / sigma'_l
 *   'nll+distance':    the sum of the two above
 *   'abnormal':        (a_l - mu''_l) / sigma''_l, a_l = softmax([logp_l, logp_a,l] / C_l)[1]
 *   'nll+abnormal':    'nll' + 'abnormal' (ResAD++'s merge, see below)
 *
 * then, for every mode:
 *   S = gaussian_sigma4( sum_l w_l * upsample_bilinear(s_l) ),  image score = max(S)
 *
 * logp is the flow's log-likelihood of the constrained residual r' (paper);
 * ||r'|| is its distance to the OCC hypersphere's centre, the one-class score
 * the constraintor's loss (Eq. 2, Deep-SVDD style) trains for. mu and sigma
 * are each level's mean and standard deviation of that quantity on normal
 * positions of the KNOWN classes, measured after training and stored in the
 * model (never taken from test data).
 *
 * Why not Eq. 7 by default: it saturates. In float32, 1 - exp(x) is exactly 1
 * for x < ~-16.6, so strongly anomalous positions (and image maxima) tie at
 * the number of levels, and the level with the widest logp range decides the
 * sum. Standardised negative log-likelihoods stay in log space (no ties) and
 * put every level on one scale; `w_l` (config `levelWeights`) weighs or drops
 * levels.
 *
 * The official code subtracts the maximum logp over the whole test set of a
 * class before exp() in Eq. 7, which makes every score depend on the other
 * test images. Here the shift `c` is a fixed number chosen before testing
 * (default 0), so one image's score never depends on another's.
 *
 * ResAD++ (the official code, validate.py) adds a second density in latent
 * space for anomalies, N(1, I), and scores each position by its softmax
 * probability against the normal one. With both log-likelihoods divided by
 * C the logdet cancels: a = sigmoid(mean_c(z) - 1/2), a fixed projection of
 * the flow's latent. Its merge averages that map with the Eq. 7 map
 * normalised by the test-set maximum; 'nll+abnormal' adds the two maps on the
 * training normals' scale instead.
 *
 * ```ts
 * const map = anomalyMap([{ logp: l1, distance: d1, width: 56, height: 56 }, ...], { width: 224, height: 224, scoring: 'nll', stats });
 * const score = imageScore(map);
 * ```
 */

/** A 2-D float map, row-major. */
export interface ScoreMap {
  width: number;
  height: number;
  data: Float32Array;
}

/** How per-level model outputs become position scores (see module doc). */
export type ScoringMode = 'paper' | 'nll' | 'distance' | 'nll+distance' | 'abnormal' | 'nll+abnormal';
export const SCORING_MODES: readonly ScoringMode[] = ['paper', 'nll', 'distance', 'nll+distance', 'abnormal', 'nll+abnormal'];

/** Location and spread of a quantity on normal training positions. */
export interface MeanStd {
  mean: number;
  std: number;
}

/** One level's statistics on normal training positions: -logp / C, ||r'|| and the abnormal-density probability. */
export interface LevelScoreStats {
  nll: MeanStd;
  distance: MeanStd;
  /** Absent in models trained before the abnormal score existed ('abnormal' modes then need a retraining). */
  abnormal?: MeanStd;
}

export interface AnomalyMapOptions {
  width: number;
  height: number;
  /** Default 'nll'. Every mode but 'paper' needs `stats`. */
  scoring?: ScoringMode;
  /** One entry per level. */
  stats?: readonly LevelScoreStats[];
  /** Per-level weights w_l (default 1 each); 0 drops a level. */
  weights?: readonly number[];
  /** 'paper' only: constant subtracted from the normalised logp before exp (not data dependent). Default 0. */
  logpShift?: number;
  /** Gaussian smoothing sigma in output pixels; 0 disables. Paper: 4. */
  sigma?: number;
  /** Bilinear sampling convention of the upsampling; the official code uses align_corners=True. */
  alignCorners?: boolean;
}

/** (sign * v - mean) / std, elementwise, added into `out`. */
function addStandardized(out: Float32Array, values: Float32Array, stats: MeanStd, sign: 1 | -1): void {
  const inv = 1 / stats.std;
  for (let i = 0; i < out.length; i++) out[i] += (sign * values[i] - stats.mean) * inv;
}

/** Position scores of one level in the given mode (see module doc). */
export function positionScores(level: LevelScores, scoring: ScoringMode, stats?: LevelScoreStats, logpShift = 0): Float32Array {
  if (scoring === 'paper') return likelihoodToScore(level.logp, logpShift);
  if (!stats) throw new Error(`positionScores: '${scoring}' scoring needs the level's training statistics`);
  const out = new Float32Array(level.logp.length);
  if (scoring === 'nll' || scoring === 'nll+distance' || scoring === 'nll+abnormal') addStandardized(out, level.logp, stats.nll, -1);
  if (scoring === 'distance' || scoring === 'nll+distance') {
    if (!level.distance) throw new Error(`positionScores: '${scoring}' scoring needs the constrained residual norms of the level`);
    addStandardized(out, level.distance, stats.distance, 1);
  }
  if (scoring === 'abnormal' || scoring === 'nll+abnormal') {
    if (!level.abnormal) throw new Error(`positionScores: '${scoring}' scoring needs the abnormal-density probabilities of the level`);
    if (!stats.abnormal) throw new Error(`positionScores: '${scoring}' scoring needs the abnormal score's training statistics, which this model predates: train it again`);
    addStandardized(out, level.abnormal, stats.abnormal, 1);
  }
  return out;
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

/** One level's outputs on its own grid: normalised log-likelihoods (logp / C_l) and, for the other modes, ||r'|| and the abnormal probability. */
export interface LevelScores {
  width: number;
  height: number;
  logp: Float32Array;
  distance?: Float32Array;
  abnormal?: Float32Array;
}

/** The full map for one image (see module doc). */
export function anomalyMap(levels: readonly LevelScores[], options: AnomalyMapOptions): ScoreMap {
  if (levels.length === 0) throw new Error('anomalyMap: no feature levels given');
  const { width, height, logpShift = 0, sigma = 4, alignCorners = true, scoring = 'nll', stats, weights } = options;
  if (!SCORING_MODES.includes(scoring)) throw new Error(`anomalyMap: unknown scoring '${String(scoring)}' (${SCORING_MODES.join(', ')})`);
  if (scoring !== 'paper') {
    if (!stats || stats.length !== levels.length) {
      throw new Error(`anomalyMap: '${scoring}' scoring needs training statistics for each of the ${levels.length} levels, got ${stats ? stats.length : 'none'}`);
    }
    stats.forEach((st, l) => {
      for (const [name, m] of [['nll', st.nll], ['distance', st.distance], ...(st.abnormal ? [['abnormal', st.abnormal] as const] : [])] as const) {
        if (!(m.std > 0) || !Number.isFinite(m.mean)) throw new Error(`anomalyMap: level ${l} ${name} statistics need a finite mean and std > 0, got ${m.mean} / ${m.std}`);
      }
    });
  }
  if (weights && weights.length !== levels.length) throw new Error(`anomalyMap: ${weights.length} level weights for ${levels.length} levels`);
  const sum = new Float32Array(width * height);
  levels.forEach((level, l) => {
    if (level.logp.length !== level.width * level.height || (level.distance && level.distance.length !== level.logp.length) || (level.abnormal && level.abnormal.length !== level.logp.length)) {
      throw new Error(`anomalyMap: level of ${level.width}x${level.height} has ${level.logp.length} values`);
    }
    const w = weights ? weights[l] : 1;
    if (w === 0) return;
    const scores = positionScores(level, scoring, stats?.[l], logpShift);
    const up = resizeBilinear({ width: level.width, height: level.height, data: scores }, width, height, alignCorners);
    for (let i = 0; i < sum.length; i++) sum[i] += w * up.data[i];
  });
  return gaussianBlur({ width, height, data: sum }, sigma);
}

/** Image-level anomaly score: the maximum of the map (paper). */
export function imageScore(map: ScoreMap): number {
  let m = -Infinity;
  for (let i = 0; i < map.data.length; i++) if (map.data[i] > m) m = map.data[i];
  return m;
}
