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
import type { FewShotScorer } from '../resad/evaluate';
import type { ResADModel, ScoringOverride } from '../resad/model';
import { onnxRuntime, onnxRuntimeProblem, ORT_PKG } from './runtime';
import { onnxResADScorer, OnnxResADRunner } from './scorer';

export const INFERENCE_REQUESTS = ['auto', 'onnx', 'tfjs'] as const;
export type InferenceRequest = (typeof INFERENCE_REQUESTS)[number];
export type InferenceEngine = Exclude<InferenceRequest, 'auto'>;

/** Environment variable that picks the inference engine when no option does. */
export const INFERENCE_ENV_VAR = 'RESAD_INFERENCE';

export interface ScorerChoice {
  scorer: FewShotScorer;
  engine: InferenceEngine;
  /** One line for logs and results files. */
  description: string;
  release(): Promise<void>;
}

/** The request in force: the argument, else RESAD_INFERENCE, else 'auto'; a bad value names where it came from. */
export function resolveInferenceRequest(request?: string): InferenceRequest {
  const env = process.env[INFERENCE_ENV_VAR];
  const [value, origin] = request !== undefined ? [request, '--engine'] : env !== undefined && env.trim() !== '' ? [env.trim(), INFERENCE_ENV_VAR] : ['auto', ''];
  if (!(INFERENCE_REQUESTS as readonly string[]).includes(value)) throw new Error(`${origin}: '${value}' is not an inference engine; use one of ${INFERENCE_REQUESTS.join(', ')}`);
  return value as InferenceRequest;
}

function ortName(): string {
  try {
    return `${ORT_PKG} ${(require(`${ORT_PKG}/package.json`) as { version: string }).version}`;
  } catch {
    return ORT_PKG; // the version is only for the log line
  }
}

function ortDescription(): string {
  return `inference: ${ortName()}, 1 thread (the model exported to ONNX in memory)`;
}

/** The engine an exportable model gets for this request, and the log line; throws when 'onnx' is forced but missing. */
function plan(request?: string): { onnx: boolean; description: string } {
  const wanted = resolveInferenceRequest(request);
  if (wanted === 'tfjs') return { onnx: false, description: 'inference: tfjs (requested)' };
  if (onnxRuntime() === null) {
    if (wanted === 'onnx') throw new Error(`inference engine 'onnx' requested but ${onnxRuntimeProblem()}`);
    return { onnx: false, description: `inference: tfjs (${onnxRuntimeProblem()})` };
  }
  return { onnx: true, description: ortDescription() };
}

/** What `resadScorerWith` will use for an exportable model, as one line (for logs and results files). */
export function plannedInference(request?: string): string {
  return plan(request).description;
}

/**
 * The onnxruntime runner for a trained model on the requested engine, or
 * null (tfjs) with the reason in `description`.
 */
export async function resadRunnerWith(model: ResADModel, scoring: ScoringOverride = {}, request?: string): Promise<{ runner: OnnxResADRunner | null; description: string }> {
  const planned = plan(request);
  if (!planned.onnx) return { runner: null, description: planned.description };
  try {
    return { runner: await OnnxResADRunner.fromModel(model, scoring), description: planned.description };
  } catch (err) {
    if (resolveInferenceRequest(request) === 'onnx') throw err;
    return { runner: null, description: `inference: tfjs (this model does not export to ONNX: ${(err as Error).message})` };
  }
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
  return { runner, scorer: onnxResADScorer(runner), engine: 'onnx', description: `inference: ${ortName()}, 1 thread, on ${file}`, release: () => runner.release() };
}
