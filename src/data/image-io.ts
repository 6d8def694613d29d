/**
 * Image and mask file IO: decode PNG / JPEG / TIFF (via sharp) and BMP (own
 * decoder, since libvips in sharp has no BMP loader and BTAD ships BMPs) into
 * the toolkit's plain `RgbImage` / `BinaryMask`, and write PNGs atomically.
 *
 * Conventions, chosen to match what a PIL-based PyTorch pipeline sees after
 * `Image.open(p).convert('RGB')`:
 * - grey is replicated to R = G = B; an alpha channel is dropped, NOT composited
 *   over a background (PIL's convert('RGB') also just drops it);
 * - 8-bit samples are divided by 255, 16-bit samples by 65535;
 * - no EXIF auto-rotation (PIL does not rotate on open either).
 * Every failure throws an Error naming the file and what was wrong.
 *
 * ```ts
 * const img = await readImage('bottle/test/broken_large/000.png'); // RgbImage in [0,1]
 * const gt = await readMask(['bottle/ground_truth/broken_large/000_mask.png'], { size: img });
 * const none = await readMask([], { size: img });                     // normal image: all zero
 * await writePng('out/vis.png', img);
 * ```
 */
import * as fs from 'fs';
import sharp from 'sharp';
import type { BinaryMask, RgbImage } from './image';
import { createMask } from './image';
import { writeFileAtomic } from '../util/atomic-write';

/** Width and height in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/** Decoded samples before conversion: interleaved, 1-4 channels, 8- or 16-bit. */
interface RawPixels {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: number;
  data: Uint8Array | Uint16Array;
  maxValue: 255 | 65535;
}

// ---------------------------------------------------------------------------
// Reading

async function readBytes(file: string, what: string): Promise<Buffer> {
  try {
    return await fs.promises.readFile(file);
  } catch (err) {
    throw fileError(file, what, err);
  }
}

function fileError(file: string, what: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new Error(`${what}: file not found: "${file}"`, { cause: err });
  if (code === 'EISDIR') return new Error(`${what}: "${file}" is a directory, not an image file`, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new Error(`${what}: cannot read "${file}": ${msg}`, { cause: err });
}

function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d; // "BM"
}

async function decodeRaw(bytes: Uint8Array, file: string, what: string): Promise<RawPixels> {
  if (bytes.length === 0) throw new Error(`${what}: "${file}" is empty (0 bytes)`);
  if (isBmp(bytes)) return decodeBmp(bytes, file, what);
  try {
    const meta = await sharp(bytes).metadata();
    if (meta.depth === 'ushort') {
      // sharp's default pipeline casts to 8-bit sRGB; asking for rgb16 keeps
      // all 16 bits (grey is replicated, alpha kept as the 4th channel).
      const { data, info } = await sharp(bytes)
        .toColourspace('rgb16')
        .raw({ depth: 'ushort' })
        .toBuffer({ resolveWithObject: true });
      const samples = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
      return { width: info.width, height: info.height, channels: info.channels, data: samples, maxValue: 65535 };
    }
    if (meta.depth !== undefined && meta.depth !== 'uchar') {
      throw new Error(`${what}: unsupported sample format "${meta.depth}" in "${file}" (only 8- and 16-bit integer images are supported)`);
    }
    const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    return {
      width: info.width,
      height: info.height,
      channels: info.channels,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      maxValue: 255,
    };
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(`${what}:`)) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    if (/unsupported image format/i.test(msg)) {
      throw new Error(`${what}: unsupported image format in "${file}" (supported: PNG, JPEG, TIFF, BMP)`, { cause: err });
    }
    throw new Error(`${what}: corrupt or truncated image data in "${file}": ${msg.trim()}`, { cause: err });
  }
}

/** Decode an encoded image held in memory; `name` only labels error messages. */
export async function decodeImage(bytes: Uint8Array, name = '<buffer>'): Promise<RgbImage> {
  return rawToRgb(await decodeRaw(bytes, name, 'decodeImage'), name, 'decodeImage');
}

/**
 * Read an image file as RGB in [0, 1]. PNG, JPEG, TIFF (any format sharp
 * decodes) and BMP; 8/16-bit; grey, grey+alpha, RGB, RGBA (alpha dropped).
 */
export async function readImage(file: string): Promise<RgbImage> {
  const bytes = await readBytes(file, 'readImage');
  return rawToRgb(await decodeRaw(bytes, file, 'readImage'), file, 'readImage');
}

function rawToRgb(raw: RawPixels, file: string, what: string): RgbImage {
  const { width, height, channels, data } = raw;
  if (channels < 1 || channels > 4) {
    throw new Error(`${what}: unsupported channel count ${channels} in "${file}" (expected 1-4)`);
  }
  const n = width * height;
  const out = new Float32Array(n * 3);
  const scale = 1 / raw.maxValue;
  // Grey and grey+alpha: the first channel is the intensity; 3/4 channels: RGB first.
  const colour = channels >= 3;
  for (let p = 0, s = 0, d = 0; p < n; p++, s += channels, d += 3) {
    if (colour) {
      out[d] = data[s] * scale;
      out[d + 1] = data[s + 1] * scale;
      out[d + 2] = data[s + 2] * scale;
    } else {
      const v = data[s] * scale;
      out[d] = v;
      out[d + 1] = v;
      out[d + 2] = v;
    }
  }
  return { width, height, data: out };
}

/** Options of {@link readMask}. */
export interface ReadMaskOptions {
  /**
   * Expected size (e.g. the image's own). Every mask must have it; with an
   * empty path list the result is an all-zero mask of this size.
   */
  size?: ImageSize;
}

/**
 * Read ground-truth masks and return their union as a binary mask: a pixel is
 * 1 where any colour channel of any file is > 0 (alpha ignored). "Any channel"
 * rather than a luminance conversion so that a faint pure-blue label (which
 * rounds to 0 in an 8-bit grey conversion) still counts.
 *
 * Normal images have no mask file: pass `[]` together with `options.size` to
 * get an all-zero mask. An empty list without `size` is an error, because the
 * mask's size would be unknown.
 */
export async function readMask(paths: readonly string[], options: ReadMaskOptions = {}): Promise<BinaryMask> {
  const expected = options.size;
  if (expected !== undefined) checkSize(expected, 'readMask: options.size');
  if (paths.length === 0) {
    if (expected === undefined) {
      throw new Error('readMask: empty path list and no options.size: cannot tell the size of the all-zero mask');
    }
    return createMask(expected.width, expected.height);
  }
  let union: BinaryMask | null = null;
  let first = '';
  for (const file of paths) {
    const raw = await decodeRaw(await readBytes(file, 'readMask'), file, 'readMask');
    if (expected !== undefined && (raw.width !== expected.width || raw.height !== expected.height)) {
      throw new Error(
        `readMask: "${file}" is ${raw.width}x${raw.height} but ${expected.width}x${expected.height} was expected`,
      );
    }
    if (union === null) {
      union = createMask(raw.width, raw.height);
      first = file;
    } else if (raw.width !== union.width || raw.height !== union.height) {
      throw new Error(
        `readMask: "${file}" is ${raw.width}x${raw.height} but "${first}" is ${union.width}x${union.height}; masks of one image must have one size`,
      );
    }
    const { channels, data } = raw;
    const colourChannels = channels >= 3 ? 3 : 1;
    const out = union.data;
    for (let p = 0, s = 0; p < out.length; p++, s += channels) {
      if (out[p] === 1) continue;
      for (let c = 0; c < colourChannels; c++) {
        if (data[s + c] > 0) {
          out[p] = 1;
          break;
        }
      }
    }
  }
  return union as BinaryMask;
}

function checkSize(size: ImageSize, label: string): void {
  if (!Number.isInteger(size.width) || !Number.isInteger(size.height) || size.width <= 0 || size.height <= 0) {
    throw new Error(`${label} must have positive integer width and height, got ${size.width}x${size.height}`);
  }
}

/**
 * Width and height from the file header only (no pixel decoding): cheap
 * enough to scan a whole dataset.
 */
export async function imageSize(file: string): Promise<ImageSize> {
  // The whole file is read rather than handing sharp the path: libvips caches
  // loads by file name, which could report a stale size for a rewritten file.
  // Only the header is parsed, so this stays cheap.
  const bytes = await readBytes(file, 'imageSize');
  if (bytes.length === 0) throw new Error(`imageSize: "${file}" is empty (0 bytes)`);
  if (isBmp(bytes)) {
    const h = parseBmpHeader(bytes, file, 'imageSize', false);
    return { width: h.width, height: h.height };
  }
  try {
    const meta = await sharp(bytes).metadata();
    if (meta.width === undefined || meta.height === undefined) throw new Error('no width/height in header');
    return { width: meta.width, height: meta.height };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/unsupported image format/i.test(msg)) {
      throw new Error(`imageSize: unsupported image format in "${file}" (supported: PNG, JPEG, TIFF, BMP)`, { cause: err });
    }
    throw new Error(`imageSize: cannot read the header of "${file}": ${msg.trim()}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------
// BMP

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bitsPerPixel: number;
  compression: number;
  pixelOffset: number;
  headerSize: number;
  colorsUsed: number;
  /** R, G, B bit masks (bitfields, or the implicit ones of 16/32-bit BI_RGB). */
  masks: [number, number, number] | null;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const COMPRESSION_NAMES: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'JPEG', 5: 'PNG' };

function parseBmpHeader(b: Uint8Array, file: string, what: string, full: boolean): BmpHeader {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const corrupt = (detail: string): Error => new Error(`${what}: corrupt BMP "${file}": ${detail}`);
  if (b.length < 26) throw corrupt(`file too short for a BMP header (${b.length} bytes)`);
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  let width: number;
  let height: number;
  let bitsPerPixel: number;
  let compression = BI_RGB;
  let colorsUsed = 0;
  if (headerSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit unsigned sizes, always bottom-up.
    width = view.getUint16(18, true);
    height = view.getUint16(20, true);
    bitsPerPixel = view.getUint16(24, true);
  } else if (headerSize >= 40) {
    if (b.length < 14 + 40) throw corrupt(`file too short for its ${headerSize}-byte info header`);
    width = view.getInt32(18, true);
    height = view.getInt32(22, true);
    bitsPerPixel = view.getUint16(28, true);
    compression = view.getUint32(30, true);
    colorsUsed = view.getUint32(46, true);
  } else {
    throw corrupt(`unknown DIB header size ${headerSize}`);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0) throw corrupt(`invalid size ${width}x${height}`);
  if (!full) return { width, height, topDown, bitsPerPixel, compression, pixelOffset, headerSize, colorsUsed, masks: null };

  if (compression in COMPRESSION_NAMES) {
    throw new Error(`${what}: unsupported BMP compression ${COMPRESSION_NAMES[compression]} in "${file}" (only uncompressed BMPs are supported)`);
  }
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw corrupt(`unknown compression code ${compression}`);
  }
  let masks: [number, number, number] | null = null;
  if (compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS) {
    if (bitsPerPixel !== 16 && bitsPerPixel !== 32) throw corrupt(`bitfields with ${bitsPerPixel} bits per pixel`);
    // V2+ headers hold the masks inside; a plain 40-byte header is followed by them.
    const at = 14 + 40;
    if (b.length < at + 12) throw corrupt('file too short for its colour masks');
    masks = [view.getUint32(at, true), view.getUint32(at + 4, true), view.getUint32(at + 8, true)];
  } else if (bitsPerPixel === 16) {
    masks = [0x7c00, 0x03e0, 0x001f];
  } else if (bitsPerPixel === 32) {
    masks = [0x00ff0000, 0x0000ff00, 0x000000ff];
  }
  if (![1, 4, 8, 16, 24, 32].includes(bitsPerPixel)) {
    throw new Error(`${what}: unsupported BMP bit depth ${bitsPerPixel} in "${file}" (supported: 1, 4, 8, 16, 24, 32)`);
  }
  return { width, height, topDown, bitsPerPixel, compression, pixelOffset, headerSize, colorsUsed, masks };
}

/** Shift and value range of one bitfield mask, so a field scales to 0..255. */
function fieldOf(mask: number): { shift: number; max: number } {
  if (mask === 0) return { shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  return { shift, max: mask >>> shift };
}

/**
 * Uncompressed BMP -> 8-bit RGB. Handles BITMAPCOREHEADER/INFOHEADER/V4/V5,
 * 1/4/8-bit palettes, 16-bit (5-5-5 or bitfields), 24-bit and 32-bit (BGRX or
 * bitfields; alpha dropped like for other formats), bottom-up and top-down.
 */
function decodeBmp(b: Uint8Array, file: string, what: string): RawPixels {
  const h = parseBmpHeader(b, file, what, true);
  const corrupt = (detail: string): Error => new Error(`${what}: corrupt BMP "${file}": ${detail}`);
  const { width, height, bitsPerPixel: bpp } = h;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (h.pixelOffset + stride * height > b.length) {
    throw corrupt(`truncated pixel data (needs ${h.pixelOffset + stride * height} bytes, file has ${b.length})`);
  }
  const out = new Uint8Array(width * height * 3);

  let palette: Uint8Array | null = null;
  let paletteSize = 0;
  if (bpp <= 8) {
    const entryBytes = h.headerSize === 12 ? 3 : 4;
    paletteSize = h.colorsUsed > 0 ? h.colorsUsed : 1 << bpp;
    const at = 14 + h.headerSize;
    if (paletteSize > 1 << bpp || at + paletteSize * entryBytes > h.pixelOffset) {
      throw corrupt(`palette of ${paletteSize} entries does not fit before the pixel data`);
    }
    palette = new Uint8Array(paletteSize * 3);
    for (let i = 0; i < paletteSize; i++) {
      const e = at + i * entryBytes; // stored B, G, R(, reserved)
      palette[i * 3] = b[e + 2];
      palette[i * 3 + 1] = b[e + 1];
      palette[i * 3 + 2] = b[e];
    }
  }
  const fields = h.masks?.map(fieldOf);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);

  for (let y = 0; y < height; y++) {
    const row = h.pixelOffset + (h.topDown ? y : height - 1 - y) * stride;
    let d = y * width * 3;
    for (let x = 0; x < width; x++, d += 3) {
      if (palette !== null) {
        const bitPos = x * bpp;
        const byte = b[row + (bitPos >>> 3)];
        // Pixels are packed most-significant bits first.
        const index = (byte >>> (8 - bpp - (bitPos & 7))) & ((1 << bpp) - 1);
        if (index >= paletteSize) throw corrupt(`palette index ${index} at (${x}, ${y}) beyond the ${paletteSize}-entry palette`);
        out[d] = palette[index * 3];
        out[d + 1] = palette[index * 3 + 1];
        out[d + 2] = palette[index * 3 + 2];
      } else if (bpp === 24) {
        const s = row + x * 3;
        out[d] = b[s + 2];
        out[d + 1] = b[s + 1];
        out[d + 2] = b[s];
      } else {
        const px = bpp === 16 ? view.getUint16(row + x * 2, true) : view.getUint32(row + x * 4, true);
        for (let c = 0; c < 3; c++) {
          const f = fields![c];
          const mask = h.masks![c];
          out[d + c] = f.max === 0 ? 0 : Math.round((((px & mask) >>> f.shift) * 255) / f.max);
        }
      }
    }
  }
  return { width, height, channels: 3, data: out, maxValue: 255 };
}

// ---------------------------------------------------------------------------
// Writing (atomic: temp file + rename, so readers never see half a PNG)

/** Options of {@link writePng}. */
export interface WritePngOptions {
  /** 8 (default) or 16 bits per sample; 16 keeps float detail for round trips. */
  bitDepth?: 8 | 16;
}

function checkData(file: string, what: string, width: number, height: number, length: number, channels: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`${what}: cannot write "${file}": invalid size ${width}x${height}`);
  }
  if (length !== width * height * channels) {
    throw new Error(
      `${what}: cannot write "${file}": data has ${length} values, expected ${width}x${height}x${channels} = ${width * height * channels}`,
    );
  }
}

function toUint8(v: number): number {
  // NaN becomes 0 through the typed-array store, and values outside [0,1] clip.
  return Math.round(Math.min(1, Math.max(0, v)) * 255);
}

/** Write an RGB image (values clipped to [0, 1]) as PNG. */
export async function writePng(file: string, image: RgbImage, options: WritePngOptions = {}): Promise<void> {
  const { width, height, data } = image;
  checkData(file, 'writePng', width, height, data.length, 3);
  const bitDepth = options.bitDepth ?? 8;
  let png: Buffer;
  if (bitDepth === 16) {
    const samples = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) samples[i] = Math.round(Math.min(1, Math.max(0, data[i])) * 65535);
    png = await sharp(samples, { raw: { width, height, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  } else if (bitDepth === 8) {
    const samples = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) samples[i] = toUint8(data[i]);
    png = await sharp(samples, { raw: { width, height, channels: 3 } }).png().toBuffer();
  } else {
    throw new Error(`writePng: cannot write "${file}": options.bitDepth must be 8 or 16, got ${String(bitDepth)}`);
  }
  await writeFileAtomic(file, png);
}

/** Write a binary mask as an 8-bit grey PNG with values 0 / 255 (MVTec convention). */
export async function writeMaskPng(file: string, mask: BinaryMask): Promise<void> {
  const { width, height, data } = mask;
  checkData(file, 'writeMaskPng', width, height, data.length, 1);
  const samples = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) samples[i] = data[i] ? 255 : 0;
  await writeFileAtomic(file, await greyPng(samples, width, height));
}

/** A single-channel float map (e.g. an anomaly map) with its size. */
export interface GreyMap {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

/**
 * Write a single-channel map as an 8-bit grey PNG, mapping `range` (default
 * [0, 1]) linearly to 0..255 and clipping outside it.
 */
export async function writeGreyPng(file: string, map: GreyMap, range: readonly [number, number] = [0, 1]): Promise<void> {
  const { width, height, data } = map;
  checkData(file, 'writeGreyPng', width, height, data.length, 1);
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
    throw new Error(`writeGreyPng: cannot write "${file}": range must be finite with max > min, got [${lo}, ${hi}]`);
  }
  const samples = new Uint8Array(data.length);
  const scale = 1 / (hi - lo);
  for (let i = 0; i < data.length; i++) samples[i] = toUint8((data[i] - lo) * scale);
  await writeFileAtomic(file, await greyPng(samples, width, height));
}

function greyPng(samples: Uint8Array, width: number, height: number): Promise<Buffer> {
  // Without 'b-w' sharp would expand one channel to a 3-channel sRGB PNG.
  return sharp(samples, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}
