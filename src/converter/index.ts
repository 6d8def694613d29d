/**
 * Feature Converter (ResAD paper §3.1, spec steps 2-3): reference pools of the
 * few-shot normal images, nearest-neighbour matching and residual features.
 *
 * ```ts
 * import { ReferencePool, computeResiduals } from './converter';
 * const pool = ReferencePool.fromFeatures(refFeatures);          // per level [K, H, W, C]
 * const residuals = computeResiduals(features, pool);             // paper: r = x - x*, L2 matching
 * ```
 */
export * from './reference-pool';
export * from './nearest-neighbour';
export * from './residual';
export * from './local-context';
export * from './residual-codebook';
