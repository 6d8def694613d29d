/**
 * ResAD as a few-shot scorer: per class, the reference pool built from its K
 * normal images; per batch, the model's anomaly maps and image scores. The
 * loop, the metrics and the result type are every method's (evaluation/).
 *
 * ```ts
 * const result = await evaluateResAD(model, testSamples, referenceSet);
 * console.log(formatResultsTable(result));
 * ```
 */
import type { Sample } from '../data/sample';
import type { ReferenceSet } from '../data/references';
import { evaluateFewShot, EvaluateOptions, EvaluationResult, FewShotScorer } from '../evaluation/index';
import { ResADModel, ScoringOverride } from './model';

/** ResAD as a FewShotScorer. */
export function resadScorer(model: ResADModel, scoring: ScoringOverride = {}): FewShotScorer {
  return {
    imageSize: model.config.imageSize,
    preprocess: model.preprocess,
    prepareClass(references) {
      const pool = model.buildPool(references);
      return { score: (images) => model.predict(images, pool, scoring), release: () => pool.dispose() };
    },
  };
}

/** evaluateFewShot with ResAD as the scorer. */
export async function evaluateResAD(model: ResADModel, samples: readonly Sample[], references: ReferenceSet, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  return evaluateFewShot(resadScorer(model), samples, references, options);
}
