/**
 * In-memory image types shared by IO, transforms, synthetic anomalies and the
 * procedural dataset. Plain typed arrays (no tensors) so data code runs
 * without a tfjs backend and stays easy to test.
 */

/** RGB image, row-major HWC, values in [0, 1]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** Binary mask, row-major, values 0 or 1. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

export function createRgbImage(width: number, height: number, fill = 0): RgbImage {
  return { width, height, data: new Float32Array(width * height * 3).fill(fill) };
}

export function createMask(width: number, height: number): BinaryMask {
  return { width, height, data: new Uint8Array(width * height) };
}

export function cloneImage(image: RgbImage): RgbImage {
  return { width: image.width, height: image.height, data: image.data.slice() };
}

export function maskArea(mask: BinaryMask): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i];
  return n;
}
