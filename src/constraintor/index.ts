/**
 * Feature Constraintor and its abnormal-invariant OCC loss (ResAD paper §3.2,
 * spec steps 4-5).
 *
 * ```ts
 * import { createConstraintor, occLossLevels } from './constraintor';
 * const c = createConstraintor('conv-bn-relu', [256, 512, 1024], 0);
 * const loss = occLossLevels(c.apply(residuals, true), residuals, masks).loss;
 * ```
 */
export * from './layers';
export * from './blocks';
export * from './constraintor';
export * from './occ-loss';
