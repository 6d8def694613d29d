/**
 * In-memory rendering API of the procedural dataset: the class catalogue,
 * `renderNormal` and `renderDefect` (image + exact mask).
 *
 * How a defect image is made, and why its mask is exact:
 *  1. one number is drawn from the caller's rng; it seeds every sub-stream
 *     (scene, defect, camera), so `renderNormal` and `renderDefect` called on
 *     the same rng state draw the very same normal scene and camera;
 *  2. the clean scene is rendered, the defect is painted on a copy (or the
 *     scene is rendered again with modified geometry);
 *  3. mask = pixels where the defective scene differs from the clean scene
 *     by more than half an 8-bit step (then a 3x3 closing fills pinholes);
 *     every pixel outside the mask is copied back from the clean scene;
 *  4. the per-pixel camera finish (lighting, noise) is applied.
 * Hence outside the mask the defect image is bit-identical to the normal
 * image from the same rng state, and inside it the defect changed the scene.
 *
 * ```ts
 * const img = renderNormal('hex_nut', new Rng(1), 256);
 * const { image, mask } = renderDefect('hex_nut', 'chipped', new Rng(1), 256);
 * ```
 */
import type { BinaryMask, RgbImage } from '../image';
import { createMask } from '../image';
import { Rng } from '../../util/rng';
import { applyFinish, sampleFinish } from './finish';
import { OBJECT_CLASSES } from './objects';
import { TEXTURE_CLASSES } from './textures';
import type { ProceduralClass, SyntheticClassInfo } from './types';

/** Bump whenever any rendered pixel can change, so cached datasets are regenerated. */
export const GENERATOR_VERSION = 1;

const CLASSES: readonly ProceduralClass[] = [...TEXTURE_CLASSES, ...OBJECT_CLASSES];
const BY_NAME = new Map(CLASSES.map((c) => [c.info.name, c] as const));

/** Catalogue of every procedural class: name, kind, description and defect types. */
export const SYNTHETIC_CLASSES: readonly SyntheticClassInfo[] = CLASSES.map((c) => c.info);

/** Names of all procedural classes, textures first. */
export const SYNTHETIC_CLASS_NAMES: readonly string[] = SYNTHETIC_CLASSES.map((c) => c.name);

export function getSyntheticClass(name: string): SyntheticClassInfo {
  return lookup(name).info;
}

function lookup(name: string): ProceduralClass {
  const c = BY_NAME.get(name);
  if (!c) throw new Error(`procedural: unknown class "${name}" (known: ${SYNTHETIC_CLASS_NAMES.join(', ')})`);
  return c;
}

/** Minimum/maximum defect area as a fraction of the image (a defect outside this is re-drawn). */
export const DEFECT_AREA_RANGE = { min: 0.0003, max: 0.3 } as const;

/** Scene change (max over channels) that counts as "changed": half an 8-bit step. */
const CHANGE_THRESHOLD = 0.5 / 255;
const MAX_ATTEMPTS = 12;

interface Streams {
  scene: Rng;
  finish: Rng;
  base: Rng;
}

function streams(rng: Rng): Streams {
  // One draw from the caller's stream seeds everything, so the caller's rng
  // advances by exactly one step per image whatever the class does.
  const base = new Rng(Math.floor(rng.uniform() * 4294967296));
  return { scene: base.fork('scene'), finish: base.fork('finish'), base };
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 16 || size > 4096) throw new Error(`procedural: size must be an integer in [16, 4096], got ${size}`);
}

/** A normal (defect-free) image of `className`. Advances `rng` by one draw. */
export function renderNormal(className: string, rng: Rng, size = 256): RgbImage {
  checkSize(size);
  const cls = lookup(className);
  const s = streams(rng);
  const inst = cls.instance(s.scene, size);
  return applyFinish(inst.scene, sampleFinish(s.finish));
}

export interface DefectRender {
  image: RgbImage;
  /** 1 where the defect changed the image; outside it the image equals the normal from the same rng state. */
  mask: BinaryMask;
}

/**
 * A defective image of `className` with defect `defectType`, and its exact
 * mask. Advances `rng` by one draw (same as renderNormal).
 */
export function renderDefect(className: string, defectType: string, rng: Rng, size = 256): DefectRender {
  checkSize(size);
  const cls = lookup(className);
  if (!cls.info.defects.some((d) => d.name === defectType)) {
    throw new Error(`procedural: class "${className}" has no defect "${defectType}" (has: ${cls.info.defects.map((d) => d.name).join(', ')})`);
  }
  const s = streams(rng);
  const inst = cls.instance(s.scene, size);
  const finish = sampleFinish(s.finish);
  const n = size * size;
  const minArea = Math.max(4, Math.round(n * DEFECT_AREA_RANGE.min));
  const maxArea = Math.floor(n * DEFECT_AREA_RANGE.max);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const defective = inst.applyDefect(defectType, s.base.fork(`defect:${attempt}`));
    const mask = changedMask(inst.scene, defective);
    let area = 0;
    for (let i = 0; i < n; i++) area += mask.data[i];
    if (area < minArea || area > maxArea) continue;
    // Outside the mask, the clean scene; inside, the defective one.
    const composed = inst.scene.data.slice();
    const dd = defective.data;
    for (let i = 0; i < n; i++) {
      if (mask.data[i]) {
        composed[i * 3] = dd[i * 3];
        composed[i * 3 + 1] = dd[i * 3 + 1];
        composed[i * 3 + 2] = dd[i * 3 + 2];
      }
    }
    return { image: applyFinish({ width: size, height: size, data: composed }, finish), mask };
  }
  throw new Error(`procedural: could not place defect "${defectType}" on "${className}" at size ${size} in ${MAX_ATTEMPTS} attempts`);
}

/** Pixels whose colour changed by more than the threshold, closed with a 3x3 square. */
function changedMask(clean: RgbImage, defective: RgbImage): BinaryMask {
  const { width: W, height: H } = clean;
  const a = clean.data;
  const b = defective.data;
  const raw = new Uint8Array(W * H);
  for (let i = 0; i < W * H; i++) {
    const o = i * 3;
    const d = Math.max(Math.abs(a[o] - b[o]), Math.abs(a[o + 1] - b[o + 1]), Math.abs(a[o + 2] - b[o + 2]));
    raw[i] = d > CHANGE_THRESHOLD ? 1 : 0;
  }
  // Closing (dilate, then erode; outside the image counts as set) fills
  // one-pixel pinholes where a defect happened to match the surface colour.
  // A 3x3 square is separable: a row pass then a column pass.
  const dil = morph3(morph3(raw, W, H, true, true), W, H, true, false);
  const ero = morph3(morph3(dil, W, H, false, true), W, H, false, false);
  const mask = createMask(W, H);
  // Closing never removes changed pixels.
  for (let i = 0; i < W * H; i++) mask.data[i] = ero[i] | raw[i];
  return mask;
}

/** One 1-D pass of a 3-wide max (dilate) or min (erode); out-of-image neighbours are ignored. */
function morph3(src: Uint8Array, W: number, H: number, dilate: boolean, rows: boolean): Uint8Array {
  const out = new Uint8Array(W * H);
  const step = rows ? 1 : W;
  const len = rows ? W : H;
  const lines = rows ? H : W;
  for (let l = 0; l < lines; l++) {
    const base = rows ? l * W : l;
    for (let t = 0; t < len; t++) {
      const i = base + t * step;
      let v = src[i];
      if (dilate) {
        if (t > 0) v |= src[i - step];
        if (t < len - 1) v |= src[i + step];
      } else {
        if (t > 0) v &= src[i - step];
        if (t < len - 1) v &= src[i + step];
      }
      out[i] = v;
    }
  }
  return out;
}
