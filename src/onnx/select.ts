/**
 * Which engine scores: onnxruntime (native speed, forward only) or the tfjs
 * path. Precedence: explicit request > RESAD_INFERENCE > 'auto' (onnxruntime
 * when it loads and the model exports, else tfjs, saying why).
 *
 * ```ts
 * const choice = await resadScorerWith(model, {}, 'auto');
 * console.error(choice.description);     // "inference: onnxruntime-node 1.30.0, 1 thread"
 * await evaluateFewShot(choice.scorer, samples, refs);
 * await choice.release();
 * ```
 */
import { resadScorer } from '../resad/evaluate';
import type { FewShotScorer } from '../evaluation/index';
import type { ResADModel, ScoringOverride } from '../resad/model';
import { INFERENCE_ENV_VAR, INFERENCE_REQUESTS, onnxRuntime, onnxRuntimeName, onnxRuntimeProblem, onnxRuntimeWanted, onOnnxRuntime, resolveInferenceRequest } from '../engine/onnxruntime';
import type { InferenceEngine, InferenceRequest } from '../engine/onnxruntime';

export { INFERENCE_ENV_VAR, INFERENCE_REQUESTS, resolveInferenceRequest };
export type { InferenceEngine, InferenceRequest };

export interface ScorerChoice {
  scorer: FewShotScorer;
  engine: InferenceEngine;
  /** One line for logs and results files. */
  description: string;
  release(): Promise<void>;
}

import { onnxResADScorer, OnnxResADRunner } from './scorer';
import { exportPatchCoreOnnx } from './patchcore';
import { createBaselineScorer } from '../baselines/index';
import type { Backbone } from '../backbones/types';

function ortDescription(): string {
  return `inference: ${onnxRuntimeName()}, 1 thread (the model exported to ONNX in memory)`;
}

/** What `resadScorerWith` will use for an exportable model, as one line (for logs and results files); throws when 'onnx' is forced but missing. */
export function plannedInference(request?: string): string {
  const wanted = onnxRuntimeWanted(request, 'inference');
  return wanted.use ? ortDescription() : `inference: tfjs (${wanted.why})`;
}

/**
 * The onnxruntime runner for a trained model on the requested engine, or
 * null (tfjs) with the reason in `description`.
 */
export async function resadRunnerWith(model: ResADModel, scoring: ScoringOverride = {}, request?: string): Promise<{ runner: OnnxResADRunner | null; description: string }> {
  const { value: runner, why } = await onOnnxRuntime(request, 'this model', () => OnnxResADRunner.fromModel(model, scoring));
  return { runner, description: runner ? ortDescription() : `inference: tfjs (${why})` };
}

/** A scorer for a trained model on the requested engine. */
export async function resadScorerWith(model: ResADModel, scoring: ScoringOverride = {}, request?: string): Promise<ScorerChoice> {
  const { runner, description } = await resadRunnerWith(model, scoring, request);
  if (runner === null) return { scorer: resadScorer(model, scoring), engine: 'tfjs', description, release: async () => undefined };
  return { scorer: onnxResADScorer(runner), engine: 'onnx', description, release: () => runner.release() };
}

/** A scorer for a file written by `resad export` (onnxruntime only). */
export async function onnxFileScorer(file: string): Promise<ScorerChoice & { runner: OnnxResADRunner }> {
  if (onnxRuntime() === null) throw new Error(`${file}: scoring an ONNX file needs ${onnxRuntimeProblem()}`);
  const runner = await OnnxResADRunner.fromFile(file);
  return { runner, scorer: onnxResADScorer(runner), engine: 'onnx', description: `inference: ${onnxRuntimeName()}, 1 thread, on ${file}`, release: () => runner.release() };
}

/**
 * PatchCore (the baseline's defaults) on the requested engine: the exported
 * graph (exportPatchCoreOnnx: the whole bank, 3x3 local average, L2) on
 * onnxruntime, else the tfjs baseline scorer.
 */
export async function patchcoreScorerWith(backbone: Backbone, options: { imageSize: number; resizeMode: 'resize-crop' | 'resize-whole'; sigma: number }, request?: string): Promise<ScorerChoice> {
  const { value: runner, why } = await onOnnxRuntime(request, `PatchCore on ${backbone.name}`, () => OnnxResADRunner.fromBytes(exportPatchCoreOnnx(backbone, options), 'exported PatchCore'));
  if (runner !== null) return { scorer: onnxResADScorer(runner), engine: 'onnx', description: ortDescription(), release: () => runner.release() };
  const scorer = await createBaselineScorer('patchcore', { ...options, backboneInstance: backbone });
  return { scorer, engine: 'tfjs', description: `inference: tfjs (${why})`, release: async () => scorer.dispose() };
}
