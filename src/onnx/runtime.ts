/**
 * onnxruntime-node, when installed (an optional dependency): sessions from
 * model bytes or files, float32 in and out.
 *
 * Why optional: its package holds a native library per platform; where it is
 * missing (or its install failed), resad runs everything on tfjs.
 */
import type * as ort from 'onnxruntime-node';

export const ORT_PKG = 'onnxruntime-node';

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
