/**
 * 2-D projections of feature vectors for plots: exact t-SNE (tsne.ts) or UMAP
 * (umap-js, seeded with an Rng stream so plots reproduce), after an optional
 * stratified, seeded subsample so each label keeps its share of the points.
 *
 * ```ts
 * const p = project(vectors, { method: 'umap', seed: 0, maxPoints: 1500, labels });
 * showPlot({ data: [{ x: p.x, y: p.y, mode: 'markers', type: 'scatter', text: p.indices.map((i) => labels[i]) }] });
 * ```
 */
import { UMAP } from 'umap-js';
import { Rng } from '../util/rng';
import { Embedding2d, toRows, tsne, TsneOptions } from './tsne';

export type ProjectionMethod = 'tsne' | 'umap';
export type PointLabel = string | number | boolean;

export interface ProjectOptions {
  method: ProjectionMethod;
  seed?: number;
  /** Keep at most this many points (stratified by `labels`). Default: all. */
  maxPoints?: number;
  /** One label per point, for stratified subsampling. */
  labels?: readonly PointLabel[];
  /** t-SNE knobs (perplexity, iterations, ...). */
  tsne?: Omit<TsneOptions, 'seed'>;
  /** UMAP knobs; defaults nNeighbors 15 (capped at N - 1), minDist 0.1. */
  umap?: { nNeighbors?: number; minDist?: number; nEpochs?: number; spread?: number };
}

export interface Projection extends Embedding2d {
  method: ProjectionMethod;
  /** indices[k] is the input index of output point k (ascending). */
  indices: number[];
}

/**
 * Indices of at most `maxPoints` points, each label keeping its share
 * (largest-remainder rounding, at least one per label when room allows),
 * drawn with a stream per label so adding a label does not reshuffle the others.
 */
export function stratifiedSubsample(count: number, maxPoints: number, labels?: readonly PointLabel[], seed = 0): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (!(maxPoints >= 1)) throw new Error(`stratifiedSubsample: maxPoints must be >= 1, got ${maxPoints}`);
  if (count <= maxPoints) return all;
  const rng = new Rng(seed);
  if (!labels) return rng.sample(all, maxPoints).sort((a, b) => a - b);
  if (labels.length !== count) throw new Error(`stratifiedSubsample: ${labels.length} labels for ${count} points`);
  const groups = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const key = `${typeof l}:${String(l)}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const keys = [...groups.keys()].sort();
  const sizes = keys.map((k) => (groups.get(k) as number[]).length);
  // One point per label first (a rare defect class must stay visible), then the rest in proportion to
  // what each label has left, by largest remainder (ties: key order).
  const quota: number[] = sizes.map(() => (keys.length <= maxPoints ? 1 : 0));
  const base = quota.reduce((a, b) => a + b, 0);
  const spare = sizes.map((n, i) => n - quota[i]);
  const totalSpare = spare.reduce((a, b) => a + b, 0);
  const exact = spare.map((n) => (totalSpare > 0 ? (n * (maxPoints - base)) / totalSpare : 0));
  exact.forEach((e, i) => (quota[i] += Math.floor(e)));
  let left = maxPoints - quota.reduce((a, b) => a + b, 0);
  const order = keys.map((_, i) => i).sort((a, b) => exact[b] - Math.floor(exact[b]) - (exact[a] - Math.floor(exact[a])) || a - b);
  for (let r = 0; left > 0 && r < order.length * 2; r++) {
    const i = order[r % order.length];
    if (quota[i] < sizes[i]) {
      quota[i]++;
      left--;
    }
  }
  if (keys.length > maxPoints) {
    // More labels than points: one point each from a seeded choice of labels.
    const chosen = new Set(rng.fork('labels').sample(keys.map((_, i) => i), maxPoints));
    keys.forEach((_, i) => (quota[i] = chosen.has(i) ? 1 : 0));
  }
  const out: number[] = [];
  keys.forEach((k, i) => out.push(...rng.fork(k).sample(groups.get(k) as number[], quota[i])));
  return out.sort((a, b) => a - b);
}

/** UMAP to 2-D with umap-js, its randomness from an Rng stream. */
export function umap2d(points: ReadonlyArray<ArrayLike<number>>, seed = 0, options: ProjectOptions['umap'] = {}): Embedding2d {
  const rows = toRows(points).map((r) => Array.from(r));
  const n = rows.length;
  if (n < 3) return { x: rows.map((_, i) => i), y: rows.map(() => 0) };
  const rng = new Rng(seed);
  const model = new UMAP({
    nComponents: 2,
    nNeighbors: Math.max(2, Math.min(options.nNeighbors ?? 15, n - 1)),
    minDist: options.minDist ?? 0.1,
    spread: options.spread ?? 1,
    nEpochs: options.nEpochs,
    random: () => rng.uniform(),
  });
  const emb = model.fit(rows);
  return { x: emb.map((p) => p[0]), y: emb.map((p) => p[1]) };
}

/** Subsample (optional), then t-SNE or UMAP to 2-D. */
export function project(points: ReadonlyArray<ArrayLike<number>>, options: ProjectOptions): Projection {
  const seed = options.seed ?? 0;
  const indices = options.maxPoints !== undefined ? stratifiedSubsample(points.length, options.maxPoints, options.labels, seed) : points.map((_, i) => i);
  const kept = indices.map((i) => points[i]);
  // Separate streams: the subsample must not change when only the method changes.
  const methodSeed = new Rng(seed).fork(options.method).seed;
  let emb: Embedding2d;
  if (options.method === 'tsne') emb = tsne(kept, { ...options.tsne, seed: methodSeed });
  else if (options.method === 'umap') emb = umap2d(kept, methodSeed, options.umap);
  else throw new Error(`project: unknown method ${String(options.method)} (tsne | umap)`);
  return { method: options.method, indices, x: emb.x, y: emb.y };
}
