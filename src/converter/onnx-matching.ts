/**
 * The Feature Converter as an ONNX graph: nearest reference of every query
 * feature (L2 or cosine) and the residual, on onnxruntime. Used by training
 * (every step matches a batch against freshly drawn references; nothing
 * upstream of the residual trains, so no gradient is needed here) and, via
 * `addMatched`, by the exported ResAD and PatchCore graphs.
 *
 * Why: at 224 px the stride-4 level matches 3136 positions against 12544
 * reference features per image; onnxruntime does that matMul at several
 * times tfjs-wasm's speed (docs/ENGINE.md).
 *
 * Same computation as nearest-neighbour.ts + residual.ts: L2 as
 * argmax (2 q.p - ||p||^2), cosine on unit vectors (norm floored at
 * NORMALIZE_EPS), x* = the un-normalised pool row; diff / sqdiff / none.
 * Only exact ties (equal similarity) may pick another of the tied rows.
 *
 * ```ts
 * const m = await OnnxMatcher.create([256, 512, 1024], { metric: 'l2', mode: 'diff' });
 * const r = await m.residuals([q0, q1, q2], [p0, p1, p2]);   // per level: query rows [N, C] and pool rows [M, C], flat
 * await m.release();
 * ```
 */
import { OnnxGraph } from '../util/onnx-graph';
import { OnnxSession } from '../engine/onnxruntime';
import { NORMALIZE_EPS } from './reference-pool';
import type { NnMetric } from './nearest-neighbour';
import type { ResidualMode } from './residual';

/** Adds x* (the nearest pool row of every query row) to a graph: q [N, C], pool [M, C] -> [N, C]. */
export function addMatched(g: OnnxGraph, q: string, pool: string, metric: NnMetric): string {
  if (metric === 'cosine') {
    const unit = (x: string): string => g.node('Div', [x, g.node('Max', [g.node('ReduceL2', [x], { axes: [1], keepdims: 1 }), g.constant('eps', [NORMALIZE_EPS], [])])]);
    const sim = g.node('MatMul', [unit(q), g.node('Transpose', [unit(pool)], { perm: [1, 0] })]);
    return g.node('Gather', [pool, g.node('ArgMax', [sim], { axis: 1, keepdims: 0 })], { axis: 0 });
  }
  // argmin ||q - p||^2 = argmax 2 q.p - ||p||^2 (||q||^2 is the same for every p).
  const dots = g.node('MatMul', [q, g.node('Transpose', [pool], { perm: [1, 0] })]);
  const norms = g.node('Transpose', [g.node('ReduceSumSquare', [pool], { axes: [1], keepdims: 1 })], { perm: [1, 0] });
  const sim = g.node('Sub', [g.node('Mul', [dots, g.constant('two', [2], [])]), norms]);
  return g.node('Gather', [pool, g.node('ArgMax', [sim], { axis: 1, keepdims: 0 })], { axis: 0 });
}

/** The residual of q and its match, as the converter forms it. */
export function addResidual(g: OnnxGraph, q: string, match: string, mode: Exclude<ResidualMode, 'none'>): string {
  const diff = g.node('Sub', [q, match]);
  return mode === 'sqdiff' ? g.node('Mul', [diff, diff]) : diff;
}

export class OnnxMatcher {
  private constructor(private readonly session: OnnxSession, readonly channels: readonly number[]) {}

  /** One session for every level: inputs q0, pool0, q1, pool1, ...; outputs r0, r1, ... */
  static async create(channels: readonly number[], options: { metric: NnMetric; mode: Exclude<ResidualMode, 'none'> }): Promise<OnnxMatcher> {
    const g = new OnnxGraph('resad converter');
    channels.forEach((c, l) => {
      const q = g.input(`q${l}`, [`rows${l}`, c]);
      const pool = g.input(`pool${l}`, [`pool_rows${l}`, c]);
      g.output(addResidual(g, q, addMatched(g, q, pool, options.metric), options.mode), `r${l}`, [`rows${l}`, c]);
    });
    return new OnnxMatcher(await OnnxSession.create(g.toBytes()), channels);
  }

  /** Residual rows of each level for the query rows `queries[l]` against the pool rows `pools[l]` (flat, C per row). */
  async residuals(queries: readonly Float32Array[], pools: readonly Float32Array[]): Promise<Float32Array[]> {
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
    this.channels.forEach((c, l) => {
      feeds[`q${l}`] = { data: queries[l], dims: [queries[l].length / c, c] };
      feeds[`pool${l}`] = { data: pools[l], dims: [pools[l].length / c, c] };
    });
    const out = await this.session.run(feeds);
    return this.channels.map((_, l) => out[`r${l}`].data);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
