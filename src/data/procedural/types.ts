/**
 * How a procedural class is described and how its defects are applied.
 *
 * A class is written as a `ClassSpec<P, M>`:
 *  - `sample(rng, size)` draws the per-image parameters P (pose, colour,
 *    texture phase...), which is where within-class variation lives;
 *  - `render(P, size, mods)` draws the clean scene (before lighting and sensor
 *    noise). `mods` (class-specific type M) changes the geometry for
 *    structural defects: a chipped corner, a missing component, a bent wire;
 *  - each defect either paints on a copy of the clean scene (stains,
 *    scratches) or calls `rerender(mods)`.
 *
 * `defineClass` erases P and M behind a closure so the catalogue can hold
 * classes of different parameter types without `any`.
 *
 * The exact-mask rule is enforced outside the classes (render.ts): the mask is
 * where the defective scene differs from the clean one, and every pixel
 * outside it is copied from the clean scene, so a defect can never leak.
 */
import type { RgbImage } from '../image';
import { cloneImage } from '../image';
import { Rng } from '../../util/rng';

export type SyntheticKind = 'texture' | 'object';

/** Catalogue entry of one defect type. */
export interface SyntheticDefectInfo {
  /** Folder name under test/ and ground_truth/. */
  name: string;
  /** How the defect looks and how it is made. */
  description: string;
}

/** Catalogue entry of one procedural class. */
export interface SyntheticClassInfo {
  name: string;
  kind: SyntheticKind;
  /** What a normal image looks like and how it varies. */
  description: string;
  defects: readonly SyntheticDefectInfo[];
}

/** The clean scene: image plus, for objects, the coverage of the object's surface. */
export interface Rendered {
  image: RgbImage;
  /** Per-pixel coverage in [0, 1] of the surface defects may land on; null = whole image (textures). */
  support: Float32Array | null;
}

export interface DefectContext<P, M> {
  readonly params: P;
  readonly size: number;
  /** Random stream reserved for this defect (independent of the scene's). */
  readonly rng: Rng;
  /** Clean scene; do not modify it (use `canvas()`). */
  readonly scene: RgbImage;
  readonly support: Float32Array | null;
  /** A fresh copy of the clean scene to paint on. */
  canvas(): RgbImage;
  /** The scene rendered again with geometry modifications. */
  rerender(mods: M): RgbImage;
  /**
   * A random pixel position (pixel centre) at least `margin` px from the image
   * border where the support is >= `minSupport` (anywhere for textures).
   */
  spot(margin?: number, minSupport?: number): [number, number];
}

export interface DefectSpec<P, M> {
  name: string;
  description: string;
  apply(ctx: DefectContext<P, M>): RgbImage;
}

export interface ClassSpec<P, M> {
  name: string;
  kind: SyntheticKind;
  description: string;
  sample(rng: Rng, size: number): P;
  render(params: P, size: number, mods: M | null): Rendered;
  defects: ReadonlyArray<DefectSpec<P, M>>;
}

/** One sampled image of a class, with its defects bound to it. */
export interface ClassInstance {
  readonly scene: RgbImage;
  readonly support: Float32Array | null;
  /** The defective clean scene (before the mask rule and finishing). */
  applyDefect(defect: string, rng: Rng): RgbImage;
}

/** A type-erased class: catalogue info plus a way to sample instances. */
export interface ProceduralClass {
  readonly info: SyntheticClassInfo;
  instance(rng: Rng, size: number): ClassInstance;
}

export function defineClass<P, M>(spec: ClassSpec<P, M>): ProceduralClass {
  const info: SyntheticClassInfo = {
    name: spec.name,
    kind: spec.kind,
    description: spec.description,
    defects: spec.defects.map((d) => ({ name: d.name, description: d.description })),
  };
  return {
    info,
    instance(rng: Rng, size: number): ClassInstance {
      const params = spec.sample(rng, size);
      const { image: scene, support } = spec.render(params, size, null);
      return {
        scene,
        support,
        applyDefect(defect: string, drng: Rng): RgbImage {
          const d = spec.defects.find((x) => x.name === defect);
          if (!d) {
            throw new Error(`procedural: class "${spec.name}" has no defect "${defect}" (has: ${spec.defects.map((x) => x.name).join(', ')})`);
          }
          const ctx: DefectContext<P, M> = {
            params,
            size,
            rng: drng,
            scene,
            support,
            canvas: () => cloneImage(scene),
            rerender: (mods: M) => spec.render(params, size, mods).image,
            spot: (margin = size * 0.08, minSupport = 0.999) => pickSpot(drng, size, support, margin, minSupport),
          };
          return d.apply(ctx);
        },
      };
    },
  };
}

function pickSpot(rng: Rng, size: number, support: Float32Array | null, margin: number, minSupport: number): [number, number] {
  const lo = Math.max(0, margin);
  const hi = Math.max(lo + 1, size - margin);
  if (support) {
    // Rejection sampling: objects cover a large share of the frame, so this ends fast.
    for (let k = 0; k < 400; k++) {
      const x = rng.range(lo, hi);
      const y = rng.range(lo, hi);
      if (support[Math.floor(y) * size + Math.floor(x)] >= minSupport) return [x, y];
    }
    // Fallback: the best-supported pixel on a coarse grid.
    let best = 0;
    let bx = size / 2;
    let by = size / 2;
    for (let y = 0; y < size; y += 2) {
      for (let x = 0; x < size; x += 2) {
        const s = support[y * size + x];
        if (s > best) {
          best = s;
          bx = x + 0.5;
          by = y + 0.5;
        }
      }
    }
    return [bx, by];
  }
  return [rng.range(lo, hi), rng.range(lo, hi)];
}
