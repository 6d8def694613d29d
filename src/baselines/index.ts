/**
 * Training-free few-shot baselines that use the same K references as ResAD
 * (RESAD_SPEC "Baselines that need no training and share the references"):
 * PatchCore (Roth et al. 2022), SPADE (Cohen & Hoshen 2020), PaDiM (Defard
 * et al. 2020), each a `FewShotScorer` for `evaluateFewShot`. See
 * docs/BASELINES.md for what each computes and measured numbers.
 *
 * ```ts
 * import { createBaselineScorer } from './baselines';
 * const scorer = await createBaselineScorer('padim');           // the cpu preset's backbone and size (ImageNet MobileNetV2, 224 px; packaged fallback offline)
 * const result = await evaluateFewShot(scorer, samples, referenceSet);
 * scorer.dispose();
 * ```
 */
export * from './types';
export * from './features';
export * from './coreset';
export * from './patchcore';
export * from './spade';
export * from './padim';
export * from './scorer';
