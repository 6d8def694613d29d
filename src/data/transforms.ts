/**
 * The paper's input preprocessing (ResAD, "Pipeline" step 1): resize the
 * shorter side to S with bicubic, centre-crop S x S, ImageNet mean/std; masks
 * take the same geometry with nearest neighbour and stay binary.
 *
 * Why a TypeScript resampler instead of sharp: the reference pipeline is
 * torchvision's Resize(S, BICUBIC) on a PIL image, i.e. Pillow's separable
 * bicubic (a = -0.5, support widened by the scale when downsampling, 8-bit
 * fixed-point arithmetic with rounding after each pass). libvips' cubic kernel
 * differs in weights and rounding. Re-implementing Pillow's algorithm makes
 * the default (`precision: 'uint8'`) bit-exact with torchvision (checked
 * against Pillow-generated fixtures in test/data/transforms.test.ts);
 * `precision: 'float'` keeps full precision (e.g. for 16-bit inputs).
 * Geometry follows torchvision too: long side = int(S * long / short), crop
 * offsets round half to even (Python's round).
 *
 * ```ts
 * const x = await preprocess('bottle/test/good/000.png');           // 224x224, normalised HWC
 * const s = await loadSample(sample);                               // image + mask, both 224x224
 * const batch = toBatchTensor([x, s.image], 224);                    // tf.Tensor4D [2,224,224,3]
 * const wide = await preprocess(img, { size: 256, mode: 'resize-whole' }); // keep edges of non-square data
 * const vis = denormalize(x);                                        // RgbImage in [0,1] for display
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import type { BinaryMask, RgbImage } from './image';
import { createMask } from './image';
import type { Sample } from './sample';
import type { ImageSize } from './image-io';
import { readImage, readMask } from './image-io';

/** 'resize-crop': shorter side to S, then centre crop (paper). 'resize-whole': whole image to S x S (keeps the edges of non-square images). */
export type ResizeMode = 'resize-crop' | 'resize-whole';

/**
 * 'uint8': Pillow's 8-bit fixed-point resampling (bit-exact to torchvision on PIL).
 * 'float': the same weights in double precision, no rounding (within ~1/255 of 'uint8').
 */
export type ResamplePrecision = 'uint8' | 'float';

export type Triple = readonly [number, number, number];

export interface PreprocessConfig {
  /** S: target of the resize (shorter side in 'resize-crop', both sides in 'resize-whole'). */
  size: number;
  /** Side of the centre crop taken after the resize; defaults to `size`. */
  cropSize?: number;
  mode: ResizeMode;
  /** Apply (x - mean) / std per channel. */
  normalize: boolean;
  mean: Triple;
  std: Triple;
  precision: ResamplePrecision;
}

export const IMAGENET_MEAN: Triple = [0.485, 0.456, 0.406];
export const IMAGENET_STD: Triple = [0.229, 0.224, 0.225];

/** The paper's setting: 224, resize shorter side + centre crop, ImageNet normalisation. */
export const DEFAULT_PREPROCESS: Readonly<PreprocessConfig> = Object.freeze({
  size: 224,
  mode: 'resize-crop',
  normalize: true,
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  precision: 'uint8',
});

/** A preprocessed image: HWC RGB, normalised when `normalized` is true (then not in [0,1]). */
export interface PreprocessedImage {
  width: number;
  height: number;
  data: Float32Array;
  normalized: boolean;
}

/** Where the output comes from: resize to resizeWidth x resizeHeight, then crop at (cropLeft, cropTop). */
export interface PreprocessGeometry {
  sourceWidth: number;
  sourceHeight: number;
  resizeWidth: number;
  resizeHeight: number;
  cropLeft: number;
  cropTop: number;
  /** Output width and height. */
  width: number;
  height: number;
}

/** A rectangle in pixels. */
export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

// ---------------------------------------------------------------------------
// Configuration

/** A config with every option filled in (cropSize included). */
export type ResolvedPreprocessConfig = Required<PreprocessConfig>;

/** Merge with DEFAULT_PREPROCESS and validate; errors name the offending option. */
export function resolvePreprocessConfig(config: Partial<PreprocessConfig> = {}): ResolvedPreprocessConfig {
  const c = { ...DEFAULT_PREPROCESS, ...stripUndefined(config) };
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`PreprocessConfig.${name} must be a positive integer, got ${v}`);
  };
  positiveInt('size', c.size);
  const cropSize = c.cropSize ?? c.size;
  positiveInt('cropSize', cropSize);
  if (c.mode !== 'resize-crop' && c.mode !== 'resize-whole') {
    throw new Error(`PreprocessConfig.mode must be 'resize-crop' or 'resize-whole', got ${JSON.stringify(c.mode)}`);
  }
  if (c.precision !== 'uint8' && c.precision !== 'float') {
    throw new Error(`PreprocessConfig.precision must be 'uint8' or 'float', got ${JSON.stringify(c.precision)}`);
  }
  checkTriple('mean', c.mean, false);
  checkTriple('std', c.std, true);
  return { ...c, cropSize };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function checkTriple(name: string, t: Triple, nonZero: boolean): void {
  if (!Array.isArray(t) || t.length !== 3 || !t.every((v) => Number.isFinite(v) && (!nonZero || v !== 0))) {
    throw new Error(`PreprocessConfig.${name} must be 3 finite${nonZero ? ' non-zero' : ''} numbers, got ${JSON.stringify(t)}`);
  }
}

/** Python's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** The resize and crop that preprocessing applies to a width x height image (also maps maps back). */
export function preprocessGeometry(width: number, height: number, config: Partial<PreprocessConfig> = {}): PreprocessGeometry {
  const c = resolvePreprocessConfig(config);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`preprocessGeometry: invalid image size ${width}x${height}`);
  }
  let resizeWidth: number;
  let resizeHeight: number;
  if (c.mode === 'resize-whole') {
    resizeWidth = c.size;
    resizeHeight = c.size;
  } else if (width <= height) {
    // torchvision: new_long = int(size * long / short), the short side gets exactly `size`.
    resizeWidth = c.size;
    resizeHeight = Math.trunc((c.size * height) / width);
  } else {
    resizeHeight = c.size;
    resizeWidth = Math.trunc((c.size * width) / height);
  }
  const crop = c.cropSize;
  if (crop > resizeWidth || crop > resizeHeight) {
    throw new Error(
      `PreprocessConfig.cropSize (${crop}) is larger than the resized image ${resizeWidth}x${resizeHeight} (size ${c.size}, mode ${c.mode})`,
    );
  }
  return {
    sourceWidth: width,
    sourceHeight: height,
    resizeWidth,
    resizeHeight,
    cropLeft: roundHalfEven((resizeWidth - crop) / 2),
    cropTop: roundHalfEven((resizeHeight - crop) / 2),
    width: crop,
    height: crop,
  };
}

// ---------------------------------------------------------------------------
// Pillow-compatible bicubic resampling

/** Pillow's bicubic kernel (a = -0.5), written in Pillow's operation order so doubles round alike. */
function bicubicKernel(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coeffs {
  ksize: number;
  /** Per output index: first input index and tap count. */
  bounds: Int32Array;
  weights: Float64Array;
}

/** Pillow's precompute_coeffs (Resample.c) for the full input range [0, inSize). */
function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const support0 = 2.0;
  const scale = inSize / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale; // widen the kernel only when downsampling (antialias)
  const support = support0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const base = xx * ksize;
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubicKernel((x + xmin - center + 0.5) * ss);
      weights[base + x] = w;
      ww += w;
    }
    if (ww !== 0.0) for (let x = 0; x < xmax; x++) weights[base + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

const PRECISION_BITS = 32 - 8 - 2;
const FIXED_ONE = 1 << PRECISION_BITS;
const FIXED_HALF = 1 << (PRECISION_BITS - 1);

/** Pillow's normalize_coeffs_8bpc: weights to 22-bit fixed point, rounded away from zero (kept as exact doubles). */
function fixedWeights(w: Float64Array): Float64Array {
  const out = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = w[i] < 0 ? Math.trunc(-0.5 + w[i] * FIXED_ONE) : Math.trunc(0.5 + w[i] * FIXED_ONE);
  return out;
}

export interface ResizeOptions {
  /** Default 'uint8' (Pillow-exact for 8-bit sources). */
  precision?: ResamplePrecision;
  /**
   * Compute only this part of the resized image (e.g. the centre crop). The
   * values equal those of the full resize followed by a crop; it just skips
   * work outside the region.
   */
  region?: CropBox;
}

function checkRegion(region: CropBox, width: number, height: number, what: string): void {
  const { left, top } = region;
  if (
    ![left, top, region.width, region.height].every(Number.isInteger) ||
    left < 0 || top < 0 || region.width <= 0 || region.height <= 0 ||
    left + region.width > width || top + region.height > height
  ) {
    throw new Error(`${what}: region ${JSON.stringify(region)} is not inside the ${width}x${height} output`);
  }
}

/**
 * Resize an RGB image to width x height with Pillow's BICUBIC (antialiased
 * when downsampling), horizontal pass first as in Pillow.
 */
export function resizeBicubic(image: RgbImage, width: number, height: number, options: ResizeOptions = {}): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`resizeBicubic: invalid target size ${width}x${height}`);
  }
  const precision = options.precision ?? 'uint8';
  if (precision !== 'uint8' && precision !== 'float') {
    throw new Error(`resizeBicubic: options.precision must be 'uint8' or 'float', got ${JSON.stringify(precision)}`);
  }
  const region = options.region ?? { left: 0, top: 0, width, height };
  checkRegion(region, width, height, 'resizeBicubic');
  const inW = image.width;
  const inH = image.height;
  if (image.data.length !== inW * inH * 3) {
    throw new Error(`resizeBicubic: image data has ${image.data.length} values, expected ${inW}x${inH}x3`);
  }
  const quantize = precision === 'uint8';

  // Source samples. 'uint8' holds the integers 0..255 a PIL "RGB" image holds;
  // both modes use Float32Array (exact for those integers) so the hot loops
  // below see one array type and stay monomorphic.
  let src: Float32Array;
  if (quantize) {
    src = new Float32Array(image.data.length);
    for (let i = 0; i < src.length; i++) src[i] = Math.round(Math.min(1, Math.max(0, image.data[i])) * 255);
  } else {
    src = image.data;
  }

  const horiz = width !== inW ? precomputeCoeffs(inW, width) : null;
  const vert = height !== inH ? precomputeCoeffs(inH, height) : null;

  // Input rows the vertical pass reads for the requested output rows.
  let rowFirst = region.top;
  let rowLast = region.top + region.height;
  if (vert !== null) {
    rowFirst = vert.bounds[region.top * 2];
    const lastOut = region.top + region.height - 1;
    rowLast = vert.bounds[lastOut * 2] + vert.bounds[lastOut * 2 + 1];
  }

  // Horizontal pass: rows [rowFirst, rowLast) x the region's output columns;
  // a "tap" steps one pixel, lines are source rows.
  let tmp: Float32Array;
  if (horiz === null) {
    tmp = new Float32Array(region.width * (rowLast - rowFirst) * 3);
    for (let y = rowFirst; y < rowLast; y++) {
      const s = (y * inW + region.left) * 3;
      tmp.set(src.subarray(s, s + region.width * 3), (y - rowFirst) * region.width * 3);
    }
  } else {
    tmp = resamplePass(src, horiz, quantize, region.left, region.width, rowFirst, rowLast - rowFirst, 3, inW * 3, 3, region.width * 3);
  }

  // Vertical pass: the region's output rows, read down the columns of tmp.
  let out: Float32Array;
  if (vert === null) {
    out = tmp;
  } else {
    const rowStride = region.width * 3;
    // Along the vertical axis a "tap" steps one row; output rows are the outer loop.
    out = resamplePass(tmp, vert, quantize, region.top, region.height, 0, region.width, rowStride, 3, rowStride, 3, rowFirst);
  }
  if (quantize) {
    for (let i = 0; i < out.length; i++) out[i] /= 255;
  } else if (vert === null) {
    for (let i = 0; i < out.length; i++) out[i] = out[i] < 0 ? 0 : out[i] > 1 ? 1 : out[i];
  }
  return { width: region.width, height: region.height, data: out };
}

/**
 * One separable pass along an axis. Output index o in [o0, o0 + nOut) takes
 * taps along the axis (step `tapStride`); `nLines` independent lines run across
 * it (step `lineStride` in the source). The output is laid out as
 * [o - o0] * outAxisStride + line * outLineStride. `boundsShift` rebases tap
 * indices when the source holds only rows from `boundsShift` on.
 * 'uint8' reproduces Pillow's ImagingResample 8bpc: 22-bit fixed-point weights,
 * +half, floor, clip to 0..255 after every pass; 'float' clips to [0, 1].
 */
function resamplePass(
  src: Float32Array,
  coeffs: Coeffs,
  quantize: boolean,
  o0: number,
  nOut: number,
  line0: number,
  nLines: number,
  tapStride: number,
  lineStride: number,
  outAxisStride: number,
  outLineStride: number,
  boundsShift = 0,
): Float32Array {
  const { ksize, bounds } = coeffs;
  const k = quantize ? fixedWeights(coeffs.weights) : coeffs.weights;
  const out = new Float32Array(nOut * nLines * 3);
  const hi = quantize ? 255 : 1;
  const bias = quantize ? FIXED_HALF : 0;
  for (let o = 0; o < nOut; o++) {
    const oo = o0 + o;
    const first = bounds[oo * 2] - boundsShift;
    const n = bounds[oo * 2 + 1];
    const kb = oo * ksize;
    for (let l = 0; l < nLines; l++) {
      let p = (line0 + l) * lineStride + first * tapStride;
      let s0 = bias;
      let s1 = bias;
      let s2 = bias;
      for (let t = 0; t < n; t++, p += tapStride) {
        const w = k[kb + t];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
      }
      if (quantize) {
        // Pillow's clip8 on its int32 accumulator: arithmetic shift right by 22
        // (floor), then clamp. `>>` truncates to int32 exactly as C's int does.
        s0 = s0 >> PRECISION_BITS;
        s1 = s1 >> PRECISION_BITS;
        s2 = s2 >> PRECISION_BITS;
      }
      const d = o * outAxisStride + l * outLineStride;
      out[d] = s0 < 0 ? 0 : s0 > hi ? hi : s0;
      out[d + 1] = s1 < 0 ? 0 : s1 > hi ? hi : s1;
      out[d + 2] = s2 < 0 ? 0 : s2 > hi ? hi : s2;
    }
  }
  return out;
}

/**
 * Nearest-neighbour resize of a mask, as Pillow's NEAREST (ImagingScaleAffine:
 * source index = floor of the accumulated (i + 0.5) * in/out). Stays binary.
 */
export function resizeMaskNearest(mask: BinaryMask, width: number, height: number, region?: CropBox): BinaryMask {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`resizeMaskNearest: invalid target size ${width}x${height}`);
  }
  const r = region ?? { left: 0, top: 0, width, height };
  checkRegion(r, width, height, 'resizeMaskNearest');
  if (mask.data.length !== mask.width * mask.height) {
    throw new Error(`resizeMaskNearest: mask data has ${mask.data.length} values, expected ${mask.width}x${mask.height}`);
  }
  // Accumulate exactly like Pillow (xo += a0) so boundary cases pick the same pixel.
  const table = (inSize: number, outSize: number): Int32Array => {
    const t = new Int32Array(outSize);
    const a = inSize / outSize;
    let o = a * 0.5;
    for (let i = 0; i < outSize; i++, o += a) t[i] = Math.min(inSize - 1, Math.trunc(o));
    return t;
  };
  const xs = table(mask.width, width);
  const ys = table(mask.height, height);
  const out = createMask(r.width, r.height);
  for (let y = 0; y < r.height; y++) {
    const srcRow = ys[r.top + y] * mask.width;
    for (let x = 0; x < r.width; x++) out.data[y * r.width + x] = mask.data[srcRow + xs[r.left + x]] ? 1 : 0;
  }
  return out;
}

/** Copy a rectangle out of an RGB image. */
export function cropImage(image: RgbImage, box: CropBox): RgbImage {
  checkRegion(box, image.width, image.height, 'cropImage');
  const out = new Float32Array(box.width * box.height * 3);
  for (let y = 0; y < box.height; y++) {
    const s = ((box.top + y) * image.width + box.left) * 3;
    out.set(image.data.subarray(s, s + box.width * 3), y * box.width * 3);
  }
  return { width: box.width, height: box.height, data: out };
}

/** Copy a rectangle out of a mask. */
export function cropMask(mask: BinaryMask, box: CropBox): BinaryMask {
  checkRegion(box, mask.width, mask.height, 'cropMask');
  const out = createMask(box.width, box.height);
  for (let y = 0; y < box.height; y++) {
    const s = (box.top + y) * mask.width + box.left;
    out.data.set(mask.data.subarray(s, s + box.width), y * box.width);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Normalisation

/** (x - mean) / std per channel, HWC. */
export function normalizeImage(image: RgbImage, mean: Triple = IMAGENET_MEAN, std: Triple = IMAGENET_STD): Float32Array {
  const d = image.data;
  const out = new Float32Array(d.length);
  const m0 = mean[0], m1 = mean[1], m2 = mean[2];
  const i0 = 1 / std[0], i1 = 1 / std[1], i2 = 1 / std[2];
  for (let i = 0; i < d.length; i += 3) {
    out[i] = (d[i] - m0) * i0;
    out[i + 1] = (d[i + 1] - m1) * i1;
    out[i + 2] = (d[i + 2] - m2) * i2;
  }
  return out;
}

/**
 * Undo the normalisation for display: x * std + mean, clipped to [0, 1].
 * Images with `normalized: false` are only clipped.
 */
export function denormalize(
  image: { width: number; height: number; data: Float32Array; normalized?: boolean },
  config: Partial<PreprocessConfig> = {},
): RgbImage {
  const c = resolvePreprocessConfig(config);
  const { width, height, data } = image;
  if (data.length !== width * height * 3) {
    throw new Error(`denormalize: data has ${data.length} values, expected ${width}x${height}x3`);
  }
  const undo = (image.normalized ?? c.normalize) === true;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const ch = i % 3;
    const v = undo ? data[i] * c.std[ch] + c.mean[ch] : data[i];
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return { width, height, data: out };
}

// ---------------------------------------------------------------------------
// Pipeline

/** Geometry + optional normalisation on an in-memory image (no IO). */
export function preprocessImage(image: RgbImage, config: Partial<PreprocessConfig> = {}): PreprocessedImage {
  const c = resolvePreprocessConfig(config);
  const g = preprocessGeometry(image.width, image.height, c);
  const resized = resizeBicubic(image, g.resizeWidth, g.resizeHeight, {
    precision: c.precision,
    region: { left: g.cropLeft, top: g.cropTop, width: g.width, height: g.height },
  });
  if (!c.normalize) return { width: g.width, height: g.height, data: resized.data, normalized: false };
  return { width: g.width, height: g.height, data: normalizeImage(resized, c.mean, c.std), normalized: true };
}

/** Read (when given a path) and preprocess one image. */
export async function preprocess(input: string | RgbImage, config: Partial<PreprocessConfig> = {}): Promise<PreprocessedImage> {
  const c = resolvePreprocessConfig(config); // validate before any IO
  const image = typeof input === 'string' ? await readImage(input) : input;
  return preprocessImage(image, c);
}

/** Same geometry as {@link preprocessImage} for a mask of the image's size, nearest neighbour. */
export function preprocessMask(mask: BinaryMask, config: Partial<PreprocessConfig> = {}): BinaryMask {
  const g = preprocessGeometry(mask.width, mask.height, config);
  return resizeMaskNearest(mask, g.resizeWidth, g.resizeHeight, {
    left: g.cropLeft,
    top: g.cropTop,
    width: g.width,
    height: g.height,
  });
}

/** An image and its ground truth, both at the preprocessed geometry. */
export interface LoadedSample {
  sample: Sample;
  image: PreprocessedImage;
  /** Binary, same width/height as `image`; all zero for normal images. */
  mask: BinaryMask;
  /** False for an anomalous sample without mask files (its all-zero mask is not ground truth). */
  hasMask: boolean;
  /** Size of the image file, before preprocessing. */
  originalSize: ImageSize;
  geometry: PreprocessGeometry;
}

/**
 * Load a Sample's image and the union of its masks (which must have the
 * image's size) and bring both to the preprocessed geometry.
 */
export async function loadSample(sample: Sample, config: Partial<PreprocessConfig> = {}): Promise<LoadedSample> {
  const c = resolvePreprocessConfig(config);
  const raw = await readImage(sample.imagePath);
  const originalSize = { width: raw.width, height: raw.height };
  const geometry = preprocessGeometry(raw.width, raw.height, c);
  const fullMask = await readMask(sample.maskPaths, { size: originalSize });
  return {
    sample,
    image: preprocessImage(raw, c),
    mask: preprocessMask(fullMask, c),
    hasMask: sample.label === 0 || sample.maskPaths.length > 0,
    originalSize,
    geometry,
  };
}

/**
 * Stack preprocessed HWC images into an NHWC float32 tensor. `size` is the
 * side of square images or { width, height }. Uses the current tfjs backend,
 * which the caller must have initialised (`await tf.ready()`).
 */
export function toBatchTensor(images: ReadonlyArray<Float32Array | PreprocessedImage>, size: number | ImageSize): tf.Tensor4D {
  const { width, height } = typeof size === 'number' ? { width: size, height: size } : size;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`toBatchTensor: invalid size ${JSON.stringify(size)}`);
  }
  if (images.length === 0) throw new Error('toBatchTensor: empty image list');
  const per = width * height * 3;
  const all = new Float32Array(per * images.length);
  images.forEach((img, i) => {
    const data = img instanceof Float32Array ? img : img.data;
    if (!(img instanceof Float32Array) && (img.width !== width || img.height !== height)) {
      throw new Error(`toBatchTensor: image ${i} is ${img.width}x${img.height}, expected ${width}x${height}`);
    }
    if (data.length !== per) {
      throw new Error(`toBatchTensor: image ${i} has ${data.length} values, expected ${width}x${height}x3 = ${per}`);
    }
    all.set(data, i * per);
  });
  return tf.tensor4d(all, [images.length, height, width, 3], 'float32');
}
