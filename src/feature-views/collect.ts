/**
 * Feature vectors for the paper's Fig. 3: at every position of a level, the
 * initial (backbone) feature, its residual against the class's few-shot
 * reference pool (converter) and the constrained feature (constraintor, eval
 * mode), with the class and normal/anomalous label (the ground-truth mask
 * brought to the level's grid by maskToLevel). Projected with project.ts,
 * initial features cluster by class while residuals / constrained features of
 * normal positions share one region across classes: the class-generalizable
 * effect ResAD is built on.
 *
 * Reference images are included too: their residuals are taken against the
 * OTHER references of their class (as during training, never itself), so a
 * class with one reference contributes no reference rows.
 *
 * ```ts
 * const sets = collectFeatureVectors(model, { samples: loaded, references: { marble: refs }, positionsPerImage: 64, seed: 0 });
 * const p = project(sets[0].constrained, { method: 'umap', labels: sets[0].meta.map((m) => m.className) });
 * showTable(featureNormStats(sets[0], 'residual'));
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { maskToLevel } from '../constraintor/index';
import type { BinaryMask } from '../data/image';
import type { PreprocessedImage } from '../data/transforms';
import type { ResADModel } from '../resad/model';
import { Rng } from '../util/rng';

/** One image to collect from: what loadSample gives (className from sample), or the bare pieces. */
export interface FeatureSource {
  className: string;
  image: PreprocessedImage;
  /** Ground truth at the image's size; absent = all normal. */
  mask?: BinaryMask;
}

export type FeatureStage = 'initial' | 'residual' | 'constrained';
export const FEATURE_STAGES: readonly FeatureStage[] = ['initial', 'residual', 'constrained'];

export interface PositionMeta {
  className: string;
  /** Mask value at the position on the level's grid (nearest). */
  anomalous: boolean;
  source: 'sample' | 'reference';
  /** Index into `samples`, or into the class's reference list. */
  image: number;
  row: number;
  col: number;
}

/** Row k of initial / residual / constrained and meta[k] describe the same position. */
export interface LevelFeatureSet {
  level: number;
  channels: number;
  height: number;
  width: number;
  initial: Float32Array[];
  residual: Float32Array[];
  constrained: Float32Array[];
  meta: PositionMeta[];
}

export interface CollectOptions {
  samples: ReadonlyArray<FeatureSource | { sample: { className: string }; image: PreprocessedImage; mask: BinaryMask }>;
  /** Few-shot normal references per class; every sample's class needs an entry. */
  references: Readonly<Record<string, readonly PreprocessedImage[]>>;
  /** Levels to collect (default all). */
  levels?: readonly number[];
  /** Positions kept per image and level (seeded; anomalous ones first). Default all. */
  positionsPerImage?: number;
  /** Include reference images (default true). */
  includeReferences?: boolean;
  seed?: number;
}

function sourceOf(s: CollectOptions['samples'][number]): FeatureSource {
  return 'sample' in s ? { className: s.sample.className, image: s.image, mask: s.mask } : s;
}

/** Which positions of an image to keep: all anomalous first (up to the cap), then normal ones, seeded. */
function choosePositions(flags: Float32Array, cap: number | undefined, rng: Rng): number[] {
  const all = Array.from({ length: flags.length }, (_, i) => i);
  if (cap === undefined || cap >= flags.length) return all;
  const anomalous = all.filter((i) => flags[i] > 0.5);
  const normal = all.filter((i) => flags[i] <= 0.5);
  const a = rng.sample(anomalous, Math.min(anomalous.length, cap));
  const b = rng.sample(normal, Math.min(normal.length, cap - a.length));
  return [...a, ...b].sort((x, y) => x - y);
}

/** Initial, residual and constrained per-position vectors (one set per level). Disposes every tensor it makes. */
export function collectFeatureVectors(model: ResADModel, options: CollectOptions): LevelFeatureSet[] {
  const levels = options.levels ?? model.backbone.levels.map((_, l) => l);
  const rng = new Rng(options.seed ?? 0);
  const size = model.config.imageSize;
  const sets = new Map<number, LevelFeatureSet>();
  const sources = options.samples.map(sourceOf);
  const byClass = new Map<string, number[]>();
  sources.forEach((s, i) => byClass.set(s.className, [...(byClass.get(s.className) ?? []), i]));

  /** Runs backbone -> converter -> constraintor on `images` against a pool of `poolImages`, appends rows. */
  const run = (images: PreprocessedImage[], masks: Array<BinaryMask | undefined>, poolImages: readonly PreprocessedImage[], meta: (i: number) => Omit<PositionMeta, 'row' | 'col' | 'anomalous'>): void => {
    const pool = model.buildPool(poolImages);
    const features = model.extract(images);
    const residuals = model.residuals(features, pool);
    const constrained = model.constraintor.apply(residuals, false);
    const maskT = tf.tidy(() => {
      const data = new Float32Array(images.length * size * size);
      masks.forEach((m, i) => {
        if (!m) return;
        if (m.width !== size || m.height !== size) throw new Error(`collectFeatureVectors: mask ${m.width}x${m.height}, expected ${size}x${size} (preprocess masks with the model's settings)`);
        for (let k = 0; k < m.data.length; k++) data[i * size * size + k] = m.data[k];
      });
      return tf.tensor3d(data, [images.length, size, size]);
    });
    try {
      for (const l of levels) {
        const [b, h, w, c] = features[l].shape;
        const flags = maskToLevel(maskT, h, w);
        const [fi, fr, fc, fm] = [features[l].dataSync(), residuals[l].dataSync(), constrained[l].dataSync(), flags.dataSync()] as Float32Array[];
        flags.dispose();
        let set = sets.get(l);
        if (!set) {
          set = { level: l, channels: c, height: h, width: w, initial: [], residual: [], constrained: [], meta: [] };
          sets.set(l, set);
        }
        for (let i = 0; i < b; i++) {
          const imgFlags = fm.subarray(i * h * w, (i + 1) * h * w);
          const m = meta(i);
          // A stream per (level, image): the choice does not depend on which other levels/classes are collected.
          const stream = rng.fork(`${l}:${m.source}:${m.className}:${m.image}`);
          for (const p of choosePositions(imgFlags, options.positionsPerImage, stream)) {
            const off = (i * h * w + p) * c;
            set.initial.push(fi.slice(off, off + c));
            set.residual.push(fr.slice(off, off + c));
            set.constrained.push(fc.slice(off, off + c));
            set.meta.push({ ...m, anomalous: imgFlags[p] > 0.5, row: Math.floor(p / w), col: p % w });
          }
        }
      }
    } finally {
      pool.dispose();
      tf.dispose([features, residuals, constrained, maskT]);
    }
  };

  for (const [className, idx] of [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const refs = options.references[className];
    if (!refs || refs.length === 0) throw new Error(`collectFeatureVectors: no references for class "${className}"`);
    run(idx.map((i) => sources[i].image), idx.map((i) => sources[i].mask), refs, (i) => ({ className, source: 'sample', image: idx[i] }));
    if (options.includeReferences !== false && refs.length > 1) {
      refs.forEach((ref, r) => run([ref], [undefined], refs.filter((_, k) => k !== r), () => ({ className, source: 'reference', image: r })));
    }
  }
  return [...sets.values()].sort((a, b) => a.level - b.level);
}

export interface NormStatsRow {
  className: string;
  group: 'normal' | 'anomalous';
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** L2 norms of one stage's vectors per (class, normal/anomalous): how far features sit from the origin / the pool. */
export function featureNormStats(set: LevelFeatureSet, stage: FeatureStage): NormStatsRow[] {
  const vectors = set[stage];
  const acc = new Map<string, number[]>();
  vectors.forEach((v, k) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * v[i];
    const key = `${set.meta[k].className}\u0000${set.meta[k].anomalous ? 'anomalous' : 'normal'}`;
    const list = acc.get(key);
    if (list) list.push(Math.sqrt(s));
    else acc.set(key, [Math.sqrt(s)]);
  });
  return [...acc.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, norms]) => {
      const [className, group] = key.split('\u0000') as [string, 'normal' | 'anomalous'];
      const mean = norms.reduce((a, b) => a + b, 0) / norms.length;
      const std = Math.sqrt(norms.reduce((a, b) => a + (b - mean) * (b - mean), 0) / norms.length);
      let min = Infinity;
      let max = -Infinity;
      for (const x of norms) {
        if (x < min) min = x;
        if (x > max) max = x;
      }
      return { className, group, count: norms.length, mean, std, min, max };
    });
}

/**
 * One row per class: mean norm of normal and anomalous vectors for each stage
 * and their ratio (anomalous / normal; how far anomalies stand out), the
 * compact view of featureNormStats.
 */
export function featureNormTable(set: LevelFeatureSet, stages: readonly FeatureStage[] = FEATURE_STAGES): Array<Record<string, string | number | null>> {
  const rows = new Map<string, Record<string, string | number | null>>();
  for (const stage of stages) {
    const stats = featureNormStats(set, stage);
    for (const s of stats) {
      const row = rows.get(s.className) ?? { class: s.className };
      row[`${stage} · ${s.group}`] = s.mean;
      rows.set(s.className, row);
    }
    for (const row of rows.values()) {
      const normal = row[`${stage} · normal`];
      const anomalous = row[`${stage} · anomalous`];
      row[`${stage} · ratio`] = typeof normal === 'number' && typeof anomalous === 'number' && normal > 0 ? anomalous / normal : null;
    }
  }
  const columns = ['class', ...stages.flatMap((st) => [`${st} · normal`, `${st} · anomalous`, `${st} · ratio`])];
  return [...rows.values()].map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? null])));
}
