/**
 * Evaluation of any few-shot detector, beside the metrics it reports: the
 * `FewShotScorer` contract (ResAD, the baselines and the onnxruntime path
 * implement it), the per-class loop `evaluateFewShot` and its result type.
 * Nothing here knows which method scores.
 *
 * ```ts
 * import { evaluateFewShot, formatResultsTable } from './evaluation';
 * const result = await evaluateFewShot(scorer, samples, referenceSet);
 * console.log(formatResultsTable(result));
 * ```
 */
export * from './few-shot';
