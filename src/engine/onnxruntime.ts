/**
 * onnxruntime-node, when installed (an optional dependency): sessions from
 * model bytes or files, float32 in and out.
 *
 * Why optional: its package holds a native library per platform; where it is
 * missing (or its install failed), resad runs everything on tfjs.
 */
import type * as ort from 'onnxruntime-node';

export const ORT_PKG = 'onnxruntime-node';

/** Which engine runs forward-only work (scoring, pools, training's frozen features): 'auto' = onnxruntime when it loads. */
export const INFERENCE_REQUESTS = ['auto', 'onnx', 'tfjs'] as const;
export type InferenceRequest = (typeof INFERENCE_REQUESTS)[number];
export type InferenceEngine = Exclude<InferenceRequest, 'auto'>;

/** Environment variable that picks the inference engine when no option does. */
export const INFERENCE_ENV_VAR = 'RESAD_INFERENCE';

/** The request in force and where it came from: the argument (the CLI's --inference), else RESAD_INFERENCE, else 'auto'. */
function inferenceRequestSource(request?: string): { value: string; origin: 'option' | 'env' | 'default' } {
  const env = process.env[INFERENCE_ENV_VAR];
  if (request !== undefined) return { value: request, origin: 'option' };
  if (env !== undefined && env.trim() !== '') return { value: env.trim(), origin: 'env' };
  return { value: 'auto', origin: 'default' };
}

/** The request in force: the argument, else RESAD_INFERENCE, else 'auto'; a bad value names where it came from. */
export function resolveInferenceRequest(request?: string): InferenceRequest {
  const { value, origin } = inferenceRequestSource(request);
  if (!(INFERENCE_REQUESTS as readonly string[]).includes(value)) {
    throw new Error(`${origin === 'env' ? INFERENCE_ENV_VAR : '--inference'}: '${value}' is not an inference engine; use one of ${INFERENCE_REQUESTS.join(', ')}`);
  }
  return value as InferenceRequest;
}

let loaded: typeof ort | null | undefined;
let loadError = '';

/** The onnxruntime-node module, or null when it cannot be loaded (`onnxRuntimeProblem()` says why). */
export function onnxRuntime(): typeof ort | null {
  if (loaded === undefined) {
    try {
      // Dynamic require: optional dependency, and loading it costs ~100 ms that --help must not pay.
      loaded = require(ORT_PKG) as typeof ort;
    } catch (err) {
      loaded = null;
      loadError = (err as Error).message.split('\n')[0];
    }
  }
  return loaded;
}

export function onnxRuntimeProblem(): string | null {
  return onnxRuntime() === null ? `${ORT_PKG} could not be loaded (${loadError}); install it with \`npm install ${ORT_PKG}\`` : null;
}

/**
 * Whether forward-only work runs on onnxruntime for this request: 'tfjs'
 * never, 'onnx' always (an error when it cannot load), 'auto' when it loads.
 * `why` says why not, for log lines.
 */
export function onnxRuntimeWanted(request?: string, what = 'onnxruntime'): { use: boolean; why: string } {
  const wanted = resolveInferenceRequest(request);
  if (wanted === 'tfjs') return { use: false, why: 'requested' };
  const problem = onnxRuntimeProblem();
  if (problem !== null) {
    if (wanted === 'onnx') throw new Error(`${what}: inference 'onnx' requested but ${problem}`);
    return { use: false, why: problem };
  }
  return { use: true, why: '' };
}

/** onnxruntime-node and its version, e.g. "onnxruntime-node 1.30.0" (the name alone when the version cannot be read). */
export function onnxRuntimeName(): string {
  try {
    return `${ORT_PKG} ${(require(`${ORT_PKG}/package.json`) as { version: string }).version}`;
  } catch {
    return ORT_PKG;
  }
}

/**
 * What scores here for `request`, and why, in one line (`resad engine`):
 * the decision is onnxRuntimeWanted's, the reason names the request's source
 * (--inference, RESAD_INFERENCE or the default). Throws as onnxRuntimeWanted
 * does when 'onnx' is forced and onnxruntime cannot load.
 */
export function explainInference(request?: string): string {
  const wanted = onnxRuntimeWanted(request, 'inference');
  const { value, origin } = inferenceRequestSource(request);
  const source = origin === 'option' ? `--inference ${value}` : origin === 'env' ? `${INFERENCE_ENV_VAR}=${value}` : 'auto, the default';
  if (!wanted.use) return `inference: tfjs (${value === 'tfjs' ? source : `${source}: ${wanted.why}`})`;
  const auto = value === 'auto' ? `: ${ORT_PKG} loads; a model that does not export to ONNX scores on tfjs, saying why` : '';
  return `inference: ${onnxRuntimeName()} (${source}${auto})`;
}

/**
 * `create()` on onnxruntime when the request allows it, else null with the
 * reason: 'tfjs' never tries, 'auto' falls back to tfjs when onnxruntime is
 * missing or `create` fails (the model does not export, ...), 'onnx' throws.
 */
export async function onOnnxRuntime<T>(request: string | undefined, what: string, create: () => Promise<T>): Promise<{ value: T; why: '' } | { value: null; why: string }> {
  const wanted = onnxRuntimeWanted(request, what);
  if (!wanted.use) return { value: null, why: wanted.why };
  try {
    return { value: await create(), why: '' };
  } catch (err) {
    if (resolveInferenceRequest(request) === 'onnx') throw err;
    return { value: null, why: `${what} does not run on onnxruntime: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** The runtime or a clear error for callers that need it. */
export function requireOnnxRuntime(what: string): typeof ort {
  const rt = onnxRuntime();
  if (rt === null) throw new Error(`${what}: ${onnxRuntimeProblem()}`);
  return rt;
}

/** A float32 tensor as ONNX Runtime wants it. */
export interface FloatTensor {
  data: Float32Array;
  dims: number[];
}

/** A loaded ONNX model with float32 inputs and outputs. */
export class OnnxSession {
  private constructor(private readonly session: ort.InferenceSession, private readonly rt: typeof ort) {}

  /** Single-threaded by default: resad's processes share a machine's cores (e.g. two benchmark folds). */
  static async create(model: Uint8Array | string, options: { threads?: number } = {}): Promise<OnnxSession> {
    const rt = requireOnnxRuntime('ONNX session');
    const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: options.threads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
    const session = typeof model === 'string' ? await rt.InferenceSession.create(model, sessionOptions) : await rt.InferenceSession.create(model, sessionOptions);
    return new OnnxSession(session, rt);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, FloatTensor>): Promise<Record<string, FloatTensor>> {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new this.rt.Tensor('float32', t.data, t.dims);
    const results = await this.session.run(inputs);
    const out: Record<string, FloatTensor> = {};
    for (const [name, t] of Object.entries(results)) {
      out[name] = { data: t.data as Float32Array, dims: [...t.dims] };
      t.dispose();
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
