/**
 * Synthetic anomalies with exact masks, for training on known classes that
 * have only normal images (RESAD_SPEC §7: "where a training set has no
 * anomalies, synthesise them"). Pure functions on `RgbImage`: no file IO, all
 * randomness from the `Rng` passed in, so a (seed, image) pair always gives
 * the same anomaly.
 *
 * Kinds:
 * - `cutpaste` (Li et al., "CutPaste", CVPR 2021): a rectangle (area fraction
 *   and log-uniform aspect ratio from options) is cut from the image, or from
 *   another image given as `source`, colour-jittered (brightness, contrast,
 *   saturation; random order, as torchvision's ColorJitter) and pasted at an
 *   independent random location.
 * - `cutpaste-scar`: the same with a thin strip (width 2-16 px, length 10-25 px
 *   by default, as in the paper) rotated by -45..45 degrees.
 * - `perlin` (Zavrtanik et al., "DRAEM", ICCV 2021): a thresholded Perlin-noise
 *   blob (random scale 2^[0..6] per axis, optionally rotated) into which a
 *   texture is blended with opacity beta: out = (1 - beta) * img + beta * tex.
 *   The texture is the `texture` image (resized bilinearly if its size differs)
 *   or, if none is given, a procedural fractal-noise texture; it is then
 *   altered by 3 random point-wise ops (DRAEM's augmenters, minus geometry).
 * - `mixed`: one of the three, picked by (optional) weights.
 *
 * Mask invariant (tested): with `tol = changeTolerance` (default 1/255),
 * - every pixel with mask 0 is bit-identical to the input;
 * - with `refineMask` (default true) every pixel with mask 1 differs from the
 *   input by >= tol in some channel. A change of 1/255 survives 8-bit
 *   quantisation, so the mask is exactly "the pixels whose alteration is
 *   visible in a saved PNG". Footprint pixels whose change would be below tol
 *   (e.g. black background pasted onto black background) are reverted to the
 *   input, not labelled anomalous: labelling them would teach the model that
 *   normal-looking pixels are anomalies.
 * - with `refineMask: false` the mask is the whole footprint (rectangle, strip
 *   or blob); an attempt is still retried while under `minChangedFraction` of
 *   it changed visibly.
 * An attempt is accepted when at least `minChangedFraction` (default 0.5) of
 * its footprint changed visibly. After `maxAttempts` (default 10) the attempt
 * with the most visibly changed pixels is returned; if none changed any pixel
 * (e.g. a uniform image and no colour jitter) the function throws. So the mask
 * is never empty.
 *
 * ```ts
 * const rng = new Rng(seed).fork(`anomaly:${index}`);
 * const { image, mask, kind } = synthesizeAnomaly(normal, rng, { kind: 'mixed', texture: other });
 * ```
 */
import { BinaryMask, RgbImage, createMask } from './image';
import { Perlin2D, fractalNoise, perlinNoiseGrid, randomPerlinScales } from './perlin';
import { Rng } from '../util/rng';

export type AnomalyKind = 'cutpaste' | 'cutpaste-scar' | 'perlin';
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['cutpaste', 'cutpaste-scar', 'perlin'];

export interface SyntheticAnomaly {
  /** A new image; the input is never modified. */
  image: RgbImage;
  /** 1 exactly where the image was altered (see the module comment). */
  mask: BinaryMask;
  kind: AnomalyKind;
  /** Attempts used; 1 when the first draw was accepted. */
  attempts: number;
}

/** Options every kind shares. */
export interface AnomalyCommonOptions {
  /** Smallest per-pixel change (max over channels) that counts as an alteration. Default 1/255. */
  changeTolerance?: number;
  /** Mask = visibly changed pixels only, sub-tolerance changes reverted (default true). */
  refineMask?: boolean;
  /** Retry while fewer than this fraction of the footprint changed visibly. Default 0.5. */
  minChangedFraction?: number;
  /** Attempts before giving up on `minChangedFraction`. Default 10. */
  maxAttempts?: number;
}

/** Maximum relative change of each ColorJitter factor: a factor is drawn from [1 - d, 1 + d]. */
export interface ColorJitterOptions {
  brightness: number;
  contrast: number;
  saturation: number;
}

/** CutPaste's own setting (torchvision ColorJitter 0.1; hue is not implemented). */
export const DEFAULT_JITTER: Readonly<ColorJitterOptions> = { brightness: 0.1, contrast: 0.1, saturation: 0.1 };

export interface CutPasteOptions extends AnomalyCommonOptions {
  /** Patch area as a fraction of the image area, [min, max]. Default [0.02, 0.15] (CutPaste). */
  areaFraction?: [number, number];
  /** Patch width / height, drawn log-uniformly from [min, max]. Default [0.3, 1/0.3]. */
  aspectRatio?: [number, number];
  /** Colour jitter of the patch, or false for none. Default DEFAULT_JITTER. */
  jitter?: Partial<ColorJitterOptions> | false;
  /** Image the patch is cut from (any size). Default: the image itself. */
  source?: RgbImage;
}

export interface CutPasteScarOptions extends AnomalyCommonOptions {
  /** Strip width in pixels, [min, max]. Default [2, 16] (CutPaste). */
  width?: [number, number];
  /** Strip length in pixels, [min, max]. Default [10, 25] (CutPaste). */
  length?: [number, number];
  /** Rotation in degrees, [min, max]. Default [-45, 45]. */
  angleDeg?: [number, number];
  jitter?: Partial<ColorJitterOptions> | false;
  source?: RgbImage;
}

export interface PerlinAnomalyOptions extends AnomalyCommonOptions {
  /** Texture source (any size; resized bilinearly). Default: a procedural texture. */
  texture?: RgbImage;
  /** Texture opacity beta, [min, max]. Default [0.2, 1.0] (DRAEM's beta in [0, 0.8) weights the image). */
  opacity?: [number, number];
  /**
   * Blob = pixels where sqrt(2) * noise > threshold. The sqrt(2) maps the noise
   * onto [-1, 1], as DRAEM's rand_perlin_2d does, so its 0.5 means the same here.
   * Default 0.5.
   */
  threshold?: number;
  /** Exponents e of the per-axis scale 2^e, inclusive. Default [0, 6]. */
  scaleExp?: [number, number];
  /** Rotate the noise by an angle in [-90, 90] degrees (DRAEM). Default true. */
  rotate?: boolean;
  /** Blob area as a fraction of the image, [min, max]. Default [0.002, 0.5]. */
  areaFraction?: [number, number];
  /**
   * Noise fields tried per attempt before falling back to the `k` largest
   * noise values of the last field (k = blob area clamped to `areaFraction`),
   * which is never empty. Default 20.
   */
  maxMaskAttempts?: number;
  /** Apply 3 random point-wise ops to the texture (DRAEM). Default true. */
  augmentTexture?: boolean;
}

export interface SynthesizeOptions extends AnomalyCommonOptions {
  kind: AnomalyKind | 'mixed';
  /** Texture for `perlin` (e.g. another image, or a DTD texture). */
  texture?: RgbImage;
  /** Patch source for `cutpaste` and `cutpaste-scar` (e.g. another normal image). */
  source?: RgbImage;
  cutpaste?: CutPasteOptions;
  scar?: CutPasteScarOptions;
  perlin?: PerlinAnomalyOptions;
  /** Relative weights for `mixed`. Default 1 each. */
  mixWeights?: Partial<Record<AnomalyKind, number>>;
}

// ---------------------------------------------------------------------------
// Validation helpers: errors name the function and the option.

function assertImage(fn: string, name: string, image: RgbImage): void {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`${fn}: ${name} must have positive integer width/height, got ${width}x${height}`);
  }
  if (!(data instanceof Float32Array) || data.length !== width * height * 3) {
    throw new Error(`${fn}: ${name} data must be a Float32Array of width*height*3 = ${width * height * 3} values, got ${data.length}`);
  }
}

function checkRange(fn: string, name: string, range: [number, number], lo: number, hi: number): [number, number] {
  if (!Array.isArray(range) || range.length !== 2) {
    throw new Error(`${fn}: option ${name} must be a [min, max] pair`);
  }
  const [a, b] = range;
  if (!(Number.isFinite(a) && Number.isFinite(b) && lo <= a && a <= b && b <= hi)) {
    throw new Error(`${fn}: option ${name} = [${a}, ${b}] must satisfy ${lo} <= min <= max <= ${hi}`);
  }
  return [a, b];
}

interface ResolvedCommon {
  tol: number;
  refine: boolean;
  minChangedFraction: number;
  maxAttempts: number;
}

function resolveCommon(fn: string, o: AnomalyCommonOptions): ResolvedCommon {
  const tol = o.changeTolerance ?? 1 / 255;
  if (!(tol > 0 && tol <= 1)) throw new Error(`${fn}: option changeTolerance must be in (0, 1], got ${tol}`);
  const minChangedFraction = o.minChangedFraction ?? 0.5;
  if (!(minChangedFraction >= 0 && minChangedFraction <= 1)) {
    throw new Error(`${fn}: option minChangedFraction must be in [0, 1], got ${minChangedFraction}`);
  }
  const maxAttempts = o.maxAttempts ?? 10;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new Error(`${fn}: option maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }
  return { tol, refine: o.refineMask ?? true, minChangedFraction, maxAttempts };
}

function resolveJitter(fn: string, jitter: Partial<ColorJitterOptions> | false | undefined): ColorJitterOptions | null {
  if (jitter === false) return null;
  const j = { ...DEFAULT_JITTER, ...(jitter ?? {}) };
  for (const key of ['brightness', 'contrast', 'saturation'] as const) {
    const v = j[key];
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new Error(`${fn}: option jitter.${key} must be in [0, 1], got ${v}`);
  }
  return j;
}

// ---------------------------------------------------------------------------
// Shared machinery: a kind proposes new colours for a set of pixels (its
// footprint); `applyFootprint` writes them and builds the exact mask.

interface Footprint {
  /** Pixel indices (y * width + x), each at most once. */
  indices: Int32Array;
  /** Proposed RGB per footprint pixel, 3 values each. */
  colors: Float32Array;
}

interface Applied {
  image: RgbImage;
  mask: BinaryMask;
  visible: number;
  footprintArea: number;
}

function applyFootprint(input: RgbImage, fp: Footprint, c: ResolvedCommon): Applied {
  const out = input.data.slice();
  const mask = createMask(input.width, input.height);
  const src = input.data;
  const { indices, colors } = fp;
  let visible = 0;
  for (let k = 0; k < indices.length; k++) {
    const p = indices[k];
    const o = p * 3;
    // Clamp, then round to float32 exactly as stored, so the change measured
    // here is the change a reader of the output sees.
    const r = Math.fround(clamp01(colors[k * 3]));
    const g = Math.fround(clamp01(colors[k * 3 + 1]));
    const b = Math.fround(clamp01(colors[k * 3 + 2]));
    const d = Math.max(Math.abs(r - src[o]), Math.abs(g - src[o + 1]), Math.abs(b - src[o + 2]));
    const isVisible = d >= c.tol;
    if (isVisible) visible++;
    if (c.refine && !isVisible) continue; // keep the input pixel bit-identical
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = b;
    mask.data[p] = 1;
  }
  return { image: { width: input.width, height: input.height, data: out }, mask, visible, footprintArea: indices.length };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Runs `propose` until an attempt changes enough of its footprint (see module comment). */
function withRetries(
  fn: string,
  kind: AnomalyKind,
  input: RgbImage,
  rng: Rng,
  c: ResolvedCommon,
  propose: (rng: Rng) => Footprint | null,
): SyntheticAnomaly {
  let best: Applied | null = null;
  let proposed = 0;
  for (let attempt = 1; attempt <= c.maxAttempts; attempt++) {
    const fp = propose(rng);
    if (fp === null || fp.indices.length === 0) continue;
    proposed++;
    const applied = applyFootprint(input, fp, c);
    if (applied.visible > 0 && applied.visible >= c.minChangedFraction * applied.footprintArea) {
      return { image: applied.image, mask: applied.mask, kind, attempts: attempt };
    }
    if (applied.visible > 0 && (best === null || applied.visible > best.visible)) best = applied;
  }
  if (best !== null) return { image: best.image, mask: best.mask, kind, attempts: c.maxAttempts };
  if (proposed === 0) {
    throw new Error(
      `${fn}: could not place a ${kind} footprint in ${c.maxAttempts} attempts on a ${input.width}x${input.height} image: ` +
        'the size options (areaFraction/aspectRatio, width/length) do not fit the image or the patch source',
    );
  }
  throw new Error(
    `${fn}: no visible alteration (change >= changeTolerance ${c.tol}) in ${c.maxAttempts} attempts ` +
      `on a ${input.width}x${input.height} image; the image (or patch source) may be uniform`,
  );
}

/** Copies a w x h patch (top-left sx, sy) out of an image, 3 floats per pixel. */
function extractPatch(image: RgbImage, sx: number, sy: number, w: number, h: number): Float32Array {
  const patch = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const from = ((sy + y) * image.width + sx) * 3;
    patch.set(image.data.subarray(from, from + w * 3), y * w * 3);
  }
  return patch;
}

/** ColorJitter on a patch, in place; factors and order drawn from rng; clamps after each op as torchvision does. */
function jitterPatch(patch: Float32Array, rng: Rng, j: ColorJitterOptions): void {
  const factor = (d: number): number => rng.range(Math.max(0, 1 - d), 1 + d);
  const ops = rng.shuffle([0, 1, 2]);
  const n = patch.length / 3;
  for (const op of ops) {
    if (op === 0) {
      const f = factor(j.brightness);
      for (let i = 0; i < patch.length; i++) patch[i] = clamp01(patch[i] * f);
    } else if (op === 1) {
      const f = factor(j.contrast);
      let mean = 0;
      for (let i = 0; i < n; i++) mean += gray(patch, i);
      mean /= n;
      for (let i = 0; i < patch.length; i++) patch[i] = clamp01((patch[i] - mean) * f + mean);
    } else {
      const f = factor(j.saturation);
      for (let i = 0; i < n; i++) {
        const g = gray(patch, i);
        for (let ch = 0; ch < 3; ch++) patch[i * 3 + ch] = clamp01(g + (patch[i * 3 + ch] - g) * f);
      }
    }
  }
}

/** ITU-R 601 luma, as torchvision's rgb_to_grayscale. */
function gray(data: Float32Array, i: number): number {
  return 0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2];
}

// ---------------------------------------------------------------------------
// CutPaste

/** CutPaste: a jittered rectangle from `source` (default: the image) pasted at a random place. */
export function cutPaste(image: RgbImage, rng: Rng, options: CutPasteOptions = {}): SyntheticAnomaly {
  const fn = 'cutPaste';
  assertImage(fn, 'image', image);
  const source = options.source ?? image;
  if (options.source) assertImage(fn, 'option source', options.source);
  const c = resolveCommon(fn, options);
  const [a0, a1] = checkRange(fn, 'areaFraction', options.areaFraction ?? [0.02, 0.15], 0, 1);
  if (a1 <= 0) throw new Error(`${fn}: option areaFraction max must be > 0`);
  const [r0, r1] = checkRange(fn, 'aspectRatio', options.aspectRatio ?? [0.3, 1 / 0.3], 1e-6, 1e6);
  const jitter = resolveJitter(fn, options.jitter);
  const { width: W, height: H } = image;
  const total = W * H;
  const maxW = Math.min(W, source.width);
  const maxH = Math.min(H, source.height);

  return withRetries(fn, 'cutpaste', image, rng, c, (r) => {
    const area = r.range(a0, a1) * total;
    const aspect = Math.exp(r.range(Math.log(r0), Math.log(r1)));
    const w = Math.round(Math.sqrt(area * aspect));
    if (w < 1 || w > maxW) return null;
    // Whole-pixel sides: pick h so that w * h is inside the area bounds when
    // any h is, then reject whatever still breaks a bound, so both the area
    // and the aspect bounds hold exactly.
    const hLo = Math.max(1, Math.ceil((a0 * total) / w));
    const hHi = Math.min(maxH, Math.floor((a1 * total) / w));
    if (hLo > hHi) return null;
    const h = Math.min(hHi, Math.max(hLo, Math.round(area / w)));
    if (w / h < r0 || w / h > r1) return null;
    const sx = r.int(source.width - w + 1);
    const sy = r.int(source.height - h + 1);
    const dx = r.int(W - w + 1);
    const dy = r.int(H - h + 1);
    const patch = extractPatch(source, sx, sy, w, h);
    if (jitter) jitterPatch(patch, r, jitter);
    const indices = new Int32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) indices[y * w + x] = (dy + y) * W + dx + x;
    return { indices, colors: patch };
  });
}

/** CutPaste-scar: a thin jittered strip, rotated, pasted at a random place. */
export function cutPasteScar(image: RgbImage, rng: Rng, options: CutPasteScarOptions = {}): SyntheticAnomaly {
  const fn = 'cutPasteScar';
  assertImage(fn, 'image', image);
  const source = options.source ?? image;
  if (options.source) assertImage(fn, 'option source', options.source);
  const c = resolveCommon(fn, options);
  const [w0, w1] = checkRange(fn, 'width', options.width ?? [2, 16], 1, 1e6);
  const [l0, l1] = checkRange(fn, 'length', options.length ?? [10, 25], 1, 1e6);
  const [t0, t1] = checkRange(fn, 'angleDeg', options.angleDeg ?? [-45, 45], -360, 360);
  const jitter = resolveJitter(fn, options.jitter);
  const { width: W, height: H } = image;

  return withRetries(fn, 'cutpaste-scar', image, rng, c, (r) => {
    const sw = r.range(w0, w1);
    const sl = r.range(l0, l1);
    const theta = (r.range(t0, t1) * Math.PI) / 180;
    // The strip is cut upright (width along x, length along y) and rotated when pasted.
    const pw = Math.ceil(sw);
    const ph = Math.ceil(sl);
    if (pw > source.width || ph > source.height) return null;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const ex = Math.abs(cos) * (sw / 2) + Math.abs(sin) * (sl / 2);
    const ey = Math.abs(sin) * (sw / 2) + Math.abs(cos) * (sl / 2);
    if (2 * ex > W || 2 * ey > H) return null;
    const sx = r.int(source.width - pw + 1);
    const sy = r.int(source.height - ph + 1);
    const cx = r.range(ex, W - ex);
    const cy = r.range(ey, H - ey);
    const patch = extractPatch(source, sx, sy, pw, ph);
    if (jitter) jitterPatch(patch, r, jitter);

    const xa = Math.max(0, Math.floor(cx - ex));
    const xb = Math.min(W - 1, Math.ceil(cx + ex));
    const ya = Math.max(0, Math.floor(cy - ey));
    const yb = Math.min(H - 1, Math.ceil(cy + ey));
    const idx: number[] = [];
    const col: number[] = [];
    for (let y = ya; y <= yb; y++) {
      const dy = y + 0.5 - cy;
      for (let x = xa; x <= xb; x++) {
        const dx = x + 0.5 - cx;
        // Pixel centre in strip coordinates (inverse rotation); inside test on
        // the centre rasterises the strip without anti-aliasing, so every
        // pixel is either fully pasted or untouched.
        const u = cos * dx + sin * dy;
        const v = -sin * dx + cos * dy;
        if (Math.abs(u) >= sw / 2 || Math.abs(v) >= sl / 2) continue;
        const px = Math.min(pw - 1, Math.floor(u + sw / 2));
        const py = Math.min(ph - 1, Math.floor(v + sl / 2));
        const q = (py * pw + px) * 3;
        idx.push(y * W + x);
        col.push(patch[q], patch[q + 1], patch[q + 2]);
      }
    }
    return { indices: Int32Array.from(idx), colors: Float32Array.from(col) };
  });
}

// ---------------------------------------------------------------------------
// Perlin-noise texture patches (DRAEM)

/** Point-wise texture ops (DRAEM's augmenters without the geometric ones). */
type PointOp = (v: number) => number;

function randomPointOps(rng: Rng): PointOp[] {
  const makers: Array<() => PointOp> = [
    () => {
      const m = rng.range(0.8, 1.2);
      return (v) => v * m;
    },
    () => {
      const g = rng.range(0.5, 2.0);
      return (v) => Math.pow(Math.max(0, v), g);
    },
    () => (v) => 1 - v,
    () => {
      const t = rng.range(32 / 255, 128 / 255);
      return (v) => (v >= t ? 1 - v : v);
    },
    () => {
      const levels = 2 ** rng.intRange(4, 7);
      return (v) => Math.floor(clamp01(v) * (levels - 0.001)) / (levels - 1);
    },
  ];
  return rng.sample(makers, 3).map((make) => make());
}

type TextureFn = (x: number, y: number, out: Float64Array) => void;

/** Bilinear read of `tex` stretched over a W x H image (exact copy when sizes match). */
function imageTexture(tex: RgbImage, W: number, H: number): TextureFn {
  const { width: tw, height: th, data } = tex;
  if (tw === W && th === H) {
    return (x, y, out) => {
      const o = (y * W + x) * 3;
      out[0] = data[o];
      out[1] = data[o + 1];
      out[2] = data[o + 2];
    };
  }
  const fx = tw / W;
  const fy = th / H;
  return (x, y, out) => {
    const sx = Math.min(tw - 1, Math.max(0, (x + 0.5) * fx - 0.5));
    const sy = Math.min(th - 1, Math.max(0, (y + 0.5) * fy - 0.5));
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const x1 = Math.min(tw - 1, x0 + 1);
    const y1 = Math.min(th - 1, y0 + 1);
    const ax = sx - x0;
    const ay = sy - y0;
    for (let ch = 0; ch < 3; ch++) {
      const top = data[(y0 * tw + x0) * 3 + ch] * (1 - ax) + data[(y0 * tw + x1) * 3 + ch] * ax;
      const bottom = data[(y1 * tw + x0) * 3 + ch] * (1 - ax) + data[(y1 * tw + x1) * 3 + ch] * ax;
      out[ch] = top * (1 - ay) + bottom * ay;
    }
  };
}

/**
 * Procedural texture: two random colours mixed by fractal noise, plus a fine
 * grain. Evaluated only at masked pixels, which keeps `perlin` fast.
 */
function proceduralTexture(rng: Rng, W: number, H: number): TextureFn {
  const noise = new Perlin2D(rng);
  const c1 = [rng.uniform(), rng.uniform(), rng.uniform()];
  const c2 = [rng.uniform(), rng.uniform(), rng.uniform()];
  const freq = 2 ** rng.intRange(2, 5);
  const sx = freq / W;
  const sy = (freq * rng.range(0.5, 2)) / H;
  const grain = rng.range(0, 0.15);
  const gain = rng.range(1.5, 3);
  return (x, y, out) => {
    const t = clamp01(0.5 + gain * fractalNoise(noise, x * sx, y * sy, 3));
    // The grain reads the same noise far from the colour field's region, at 8x frequency.
    const n = grain * noise.noise(x * sx * 8 + 101.7, y * sy * 8 + 57.3);
    for (let ch = 0; ch < 3; ch++) out[ch] = c1[ch] * (1 - t) + c2[ch] * t + n;
  };
}

/** Ascending indices of the k largest values (ties at the cut taken in index order, so deterministic). */
function topK(field: Float32Array, k: number): Int32Array {
  // A typed-array sort of the values (no comparator callback) finds the cut
  // value several times faster than sorting indices by value.
  const cut = field.slice().sort()[field.length - k];
  let above = 0;
  for (let i = 0; i < field.length; i++) if (field[i] > cut) above++;
  let ties = k - above;
  const out = new Int32Array(k);
  let n = 0;
  for (let i = 0; i < field.length; i++) {
    if (field[i] > cut || (field[i] === cut && ties-- > 0)) out[n++] = i;
  }
  return out;
}

/** Perlin-noise blob with a blended texture (DRAEM). */
export function perlinAnomaly(image: RgbImage, rng: Rng, options: PerlinAnomalyOptions = {}): SyntheticAnomaly {
  const fn = 'perlinAnomaly';
  assertImage(fn, 'image', image);
  if (options.texture) assertImage(fn, 'option texture', options.texture);
  const c = resolveCommon(fn, options);
  const [o0, o1] = checkRange(fn, 'opacity', options.opacity ?? [0.2, 1.0], 0, 1);
  const [e0, e1] = checkRange(fn, 'scaleExp', options.scaleExp ?? [0, 6], 0, 7);
  if (!Number.isInteger(e0) || !Number.isInteger(e1)) throw new Error(`${fn}: option scaleExp must hold integers, got [${e0}, ${e1}]`);
  const [f0, f1] = checkRange(fn, 'areaFraction', options.areaFraction ?? [0.002, 0.5], 0, 1);
  const threshold = options.threshold ?? 0.5;
  if (!(Number.isFinite(threshold) && Math.abs(threshold) < 1)) {
    throw new Error(`${fn}: option threshold must be in (-1, 1) (the normalised noise range), got ${threshold}`);
  }
  const rawThreshold = threshold / Math.SQRT2;
  const maxMaskAttempts = options.maxMaskAttempts ?? 20;
  if (!(Number.isInteger(maxMaskAttempts) && maxMaskAttempts >= 1)) {
    throw new Error(`${fn}: option maxMaskAttempts must be an integer >= 1, got ${maxMaskAttempts}`);
  }
  const rotate = options.rotate ?? true;
  const augment = options.augmentTexture ?? true;
  const { width: W, height: H } = image;
  const total = W * H;
  // At least one pixel, whatever the configured fraction: the mask is never empty.
  const minArea = Math.max(1, Math.ceil(f0 * total));
  const maxArea = Math.max(minArea, Math.floor(f1 * total));

  const blob = (r: Rng): Int32Array => {
    let field: Float32Array | null = null;
    let count = 0;
    for (let m = 0; m < maxMaskAttempts; m++) {
      const noise = new Perlin2D(r);
      const { scaleX, scaleY } = randomPerlinScales(r, e0, e1);
      const angleDeg = rotate ? r.range(-90, 90) : 0;
      field = perlinNoiseGrid(W, H, noise, { scaleX, scaleY, angleDeg });
      count = 0;
      for (let i = 0; i < total; i++) if (field[i] > rawThreshold) count++;
      if (count >= minArea && count <= maxArea) {
        const idx = new Int32Array(count);
        let k = 0;
        for (let i = 0; i < total; i++) if (field[i] > rawThreshold) idx[k++] = i;
        return idx;
      }
    }
    // Fallback: the superlevel set of the last field with an in-bounds area.
    return topK(field as Float32Array, Math.min(maxArea, Math.max(minArea, count)));
  };

  return withRetries(fn, 'perlin', image, rng, c, (r) => {
    const indices = blob(r);
    const beta = r.range(o0, o1);
    const tex = options.texture ? imageTexture(options.texture, W, H) : proceduralTexture(r, W, H);
    const ops = augment ? randomPointOps(r) : [];
    const colors = new Float32Array(indices.length * 3);
    const t = new Float64Array(3);
    const src = image.data;
    for (let k = 0; k < indices.length; k++) {
      const p = indices[k];
      tex(p % W, (p - (p % W)) / W, t);
      for (let ch = 0; ch < 3; ch++) {
        let v = clamp01(t[ch]);
        for (const op of ops) v = clamp01(op(v));
        colors[k * 3 + ch] = (1 - beta) * src[p * 3 + ch] + beta * v;
      }
    }
    return { indices, colors };
  });
}

// ---------------------------------------------------------------------------
// Dispatcher

/**
 * One synthetic anomaly of the requested kind (`mixed`: kind drawn from
 * `mixWeights` first). Shared options (`changeTolerance`, ...) apply to every
 * kind; the per-kind objects override them.
 */
export function synthesizeAnomaly(image: RgbImage, rng: Rng, options: SynthesizeOptions): SyntheticAnomaly {
  const common: AnomalyCommonOptions = {
    changeTolerance: options.changeTolerance,
    refineMask: options.refineMask,
    minChangedFraction: options.minChangedFraction,
    maxAttempts: options.maxAttempts,
  };
  for (const key of Object.keys(common) as Array<keyof AnomalyCommonOptions>) {
    if (common[key] === undefined) delete common[key];
  }
  let kind: AnomalyKind;
  if (options.kind === 'mixed') {
    const weights = ANOMALY_KINDS.map((k) => options.mixWeights?.[k] ?? 1);
    const sum = weights.reduce((a, b) => a + b, 0);
    if (!weights.every((w) => Number.isFinite(w) && w >= 0) || !(sum > 0)) {
      throw new Error(`synthesizeAnomaly: option mixWeights must be >= 0 with a positive sum, got ${JSON.stringify(options.mixWeights)}`);
    }
    let u = rng.uniform() * sum;
    kind = ANOMALY_KINDS[ANOMALY_KINDS.length - 1];
    for (let i = 0; i < weights.length; i++) {
      if (u < weights[i]) {
        kind = ANOMALY_KINDS[i];
        break;
      }
      u -= weights[i];
    }
  } else if ((ANOMALY_KINDS as readonly string[]).includes(options.kind)) {
    kind = options.kind;
  } else {
    throw new Error(`synthesizeAnomaly: option kind must be one of ${[...ANOMALY_KINDS, 'mixed'].join(', ')}, got '${String(options.kind)}'`);
  }
  switch (kind) {
    case 'cutpaste':
      return cutPaste(image, rng, { source: options.source, ...common, ...options.cutpaste });
    case 'cutpaste-scar':
      return cutPasteScar(image, rng, { source: options.source, ...common, ...options.scar });
    case 'perlin':
      return perlinAnomaly(image, rng, { texture: options.texture, ...common, ...options.perlin });
  }
}

// ---------------------------------------------------------------------------
// Checking

export interface MaskCheck {
  /** Pixels with mask 0 that are not bit-identical to the input (the invariant says 0). */
  changedOutside: number;
  /** Pixels with mask 1. */
  maskArea: number;
  /** Pixels with mask 1 whose change is >= tolerance in some channel. */
  visibleInside: number;
  /** visibleInside / maskArea (1 with refineMask; 0 for an empty mask). */
  visibleFraction: number;
}

/**
 * Measures the mask invariant of a synthetic anomaly against its input: use
 * it in tests, or to audit masks produced elsewhere.
 */
export function checkAnomalyMask(input: RgbImage, output: RgbImage, mask: BinaryMask, tolerance = 1 / 255): MaskCheck {
  if (input.width !== output.width || input.height !== output.height || mask.width !== input.width || mask.height !== input.height) {
    throw new Error(
      `checkAnomalyMask: sizes differ: input ${input.width}x${input.height}, output ${output.width}x${output.height}, mask ${mask.width}x${mask.height}`,
    );
  }
  let changedOutside = 0;
  let area = 0;
  let visibleInside = 0;
  const a = input.data;
  const b = output.data;
  for (let p = 0; p < mask.data.length; p++) {
    const o = p * 3;
    if (mask.data[p] === 0) {
      // Object.is distinguishes -0/NaN too: "bit-identical" in the float32 sense.
      if (!Object.is(a[o], b[o]) || !Object.is(a[o + 1], b[o + 1]) || !Object.is(a[o + 2], b[o + 2])) changedOutside++;
    } else {
      area++;
      const d = Math.max(Math.abs(a[o] - b[o]), Math.abs(a[o + 1] - b[o + 1]), Math.abs(a[o + 2] - b[o + 2]));
      if (d >= tolerance) visibleInside++;
    }
  }
  return { changedOutside, maskArea: area, visibleInside, visibleFraction: area === 0 ? 0 : visibleInside / area };
}
