/**
 * Picks and initialises the tfjs compute backend for resad.
 *
 * Why: the fastest engine differs per machine (CUDA build of tfjs-node, native
 * libtensorflow, XNNPACK wasm, pure JS) and the native ones are optional
 * installs, so the choice is made at run time, reported, and can be forced.
 * Order for 'auto': @tensorflow/tfjs-node-gpu -> @tensorflow/tfjs-node (the
 * real one, not the @tensorflow/tfjs that package.json's overrides install
 * under that name for danfojs-node) -> wasm (training kernels patched) -> cpu.
 * Precedence: explicit `backend` option > RESAD_BACKEND env var > 'auto'.
 *
 * ```ts
 * import { initEngine, describeEngine } from './engine';
 * const info = await initEngine();            // or { backend: 'wasm', quiet: true }
 * console.log(info.backend, describeEngine()); // "wasm", "tfjs 4.22.0 wasm (SIMD) ..."
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import * as fs from 'fs';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from './wasm-kernels';
import { ONNX_KERNELS_ENV_VAR, onnxKernelsProblem, onnxKernelsRuntime, registerOnnxKernels, unregisterOnnxKernels } from './onnx-kernels';

/** What a caller may ask for. 'tensorflow-gpu' and 'tensorflow' both run tfjs backend 'tensorflow'. */
export type BackendRequest = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Environment variable that forces a backend when no explicit option is given. */
export const BACKEND_ENV_VAR = 'RESAD_BACKEND';

export interface EngineOptions {
  backend?: BackendRequest;
  /** Do not print the one-line engine report (it goes to stderr). */
  quiet?: boolean;
  /** Register the wasm training kernels when wasm is chosen (default true). */
  patchWasm?: boolean;
  /**
   * On wasm (patched), run the heavy kernels (convs, their gradients, matmuls,
   * big reductions) and training's flow updates on onnxruntime-node when it
   * loads (default true; RESAD_ONNX_KERNELS=0 turns it off when no option is
   * given). See onnx-kernels.ts.
   */
  onnxKernels?: boolean;
}

export interface EngineInfo {
  /** tfjs backend name now active: 'tensorflow' | 'wasm' | 'cpu'. */
  backend: string;
  /** What was asked for after resolving option/env/default. */
  requested: BackendRequest;
  /** Where the request came from. */
  requestSource: 'option' | 'env' | 'default';
  /** npm package that provides the backend. */
  package: string;
  packageVersion: string;
  wasmSimd?: boolean;
  wasmThreads?: boolean;
  /** tfjs-node(-gpu) only: whether TensorFlow placed ops on a CUDA device. */
  gpuDevice?: boolean;
  patchedKernels: string[];
  /** wasm only: kernels whose big cases run on onnxruntime-node (empty: none). */
  onnxKernels: string[];
  /** wasm only: why no kernel runs on onnxruntime, when none does. */
  onnxKernelsOff?: string;
  tfjsVersion: string;
  /** Why earlier candidates in the 'auto' order were skipped. */
  skipped: string[];
}

const NATIVE_GPU_PKG = '@tensorflow/tfjs-node-gpu';
const NATIVE_CPU_PKG = '@tensorflow/tfjs-node';
const WASM_PKG = '@tensorflow/tfjs-backend-wasm';
const CPU_PKG = '@tensorflow/tfjs-backend-cpu';

let current: EngineInfo | undefined;
let pending: Promise<EngineInfo> | undefined;
let pendingKey = '';

class Unavailable extends Error {}

function installHint(request: BackendRequest): string {
  switch (request) {
    case 'tensorflow-gpu':
      return `install it with \`npm install ${NATIVE_GPU_PKG}@${tf.version.tfjs}\` on a Linux machine with CUDA 11.x + cuDNN 8 ` +
        '(its install script downloads libtensorflow, so it needs internet access; if the package is present but its native addon ' +
        `is missing, that download failed: run \`npm rebuild ${NATIVE_GPU_PKG}\` with internet access)`;
    case 'tensorflow':
      return `install it with \`npm install ${NATIVE_CPU_PKG}@${tf.version.tfjs}\` (its install script downloads libtensorflow, so it needs internet access)`;
    case 'wasm':
      return `reinstall ${WASM_PKG}@${tf.version.tfjs} (a regular dependency of resad)`;
    default:
      return 'reinstall @tensorflow/tfjs';
  }
}

function unavailableError(request: BackendRequest, source: EngineInfo['requestSource'], reason: string): Error {
  const via = source === 'env' ? `${BACKEND_ENV_VAR}=${request}` : `{ backend: '${request}' }`;
  return new Error(
    `resad engine: backend '${request}' was requested (${via}) but is not available: ${reason}. ` +
    `To use it, ${installHint(request)}. Or choose another with ${BACKEND_ENV_VAR}=auto|wasm|cpu (or the backend option).`,
  );
}

function parseRequest(value: string, origin: string): BackendRequest {
  const v = value.trim().toLowerCase() as BackendRequest;
  if (!BACKEND_REQUESTS.includes(v)) {
    throw new Error(`resad engine: ${origin} '${value}' is not a backend; use one of ${BACKEND_REQUESTS.join(', ')}`);
  }
  return v;
}

function resolveRequest(options: EngineOptions): { request: BackendRequest; source: EngineInfo['requestSource'] } {
  if (options.backend != null) return { request: parseRequest(options.backend, 'option backend'), source: 'option' };
  const env = process.env[BACKEND_ENV_VAR];
  if (env != null && env.trim() !== '') return { request: parseRequest(env, BACKEND_ENV_VAR), source: 'env' };
  return { request: 'auto', source: 'default' };
}

function packageVersion(pkg: string, fallback: string): string {
  try {
    const main = require.resolve(pkg);
    let dir = path.dirname(main);
    for (let i = 0; i < 4; i++) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file)) {
        const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (json.name === pkg && json.version) return json.version;
      }
      dir = path.dirname(dir);
    }
  } catch {
    // a version we cannot read is not worth failing over
  }
  return fallback;
}

/**
 * Why the package found under a native package's name is not that package,
 * or null. package.json's overrides give danfojs-node `@tensorflow/tfjs` under
 * the name `@tensorflow/tfjs-node` (the real one needs a libtensorflow
 * download); npm may hoist that alias to the top level, where `require` finds it.
 */
export function aliasedPackageProblem(pkg: string, manifest: { name?: string; version?: string } | null): string | null {
  if (manifest === null || manifest.name === undefined || manifest.name === pkg) return null;
  return `${pkg} here is ${manifest.name}@${manifest.version ?? '?'} installed under that name for danfojs-node (package.json "overrides"), not the native TensorFlow binding`;
}

function installedManifest(pkg: string): { name?: string; version?: string } | null {
  try {
    return JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { name?: string; version?: string };
  } catch {
    return null; // not installed: require() below says so
  }
}

/**
 * Loads a native tfjs-node package and makes sure it registered backend
 * 'tensorflow' in *our* tfjs instance: the danfojs-node alias or a copy bound
 * to another tfjs-core would not.
 */
async function loadNative(pkg: string): Promise<{ gpuDevice?: boolean }> {
  const aliased = aliasedPackageProblem(pkg, installedManifest(pkg));
  if (aliased !== null) throw new Unavailable(aliased);
  try {
    // Dynamic require: the native packages are optional and absent at compile time.
    require(pkg);
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw new Unavailable(`${pkg} could not be loaded (${msg})`);
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new Unavailable(`${pkg} loaded but did not register backend 'tensorflow' with this @tensorflow/tfjs ${tf.version.tfjs} (version mismatch?)`);
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new Unavailable(`${pkg} loaded but backend 'tensorflow' failed to initialise`);
  }
  const be = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return { gpuDevice: typeof be.isUsingGpuDevice === 'boolean' ? be.isUsingGpuDevice : undefined };
}

let wasmPathsSet = false;

async function loadWasm(): Promise<{ simd: boolean; threads: boolean }> {
  if (!wasmPathsSet) {
    // Point the loader at the package's dist folder explicitly: the default
    // (relative to the bundled script) breaks once resad is bundled or run from dist/.
    try {
      const dist = path.dirname(require.resolve(WASM_PKG));
      if (fs.existsSync(path.join(dist, 'tfjs-backend-wasm.wasm'))) wasmBackend.setWasmPaths(dist + path.sep);
    } catch {
      // fall back to the package default
    }
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend('wasm'))) throw new Unavailable(`${WASM_PKG} failed to initialise`);
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) && wasmBackend.getThreadsCount() > 1;
  return { simd, threads };
}

async function loadCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Unavailable('the pure-JS cpu backend failed to initialise');
  // Our own report line already says "cpu"; tfjs would add a multi-line banner on first use.
  const be = tf.backend() as unknown as { firstUse?: boolean };
  if (typeof be.firstUse === 'boolean') be.firstUse = false;
}

/** Whether onnxruntime kernels are wanted: the option, else RESAD_ONNX_KERNELS (0/false/off = no), else yes. */
function onnxKernelsWanted(option: boolean | undefined): { want: boolean; why: string } {
  if (option !== undefined) return { want: option, why: option ? '' : 'off by option' };
  const env = (process.env[ONNX_KERNELS_ENV_VAR] ?? '').trim().toLowerCase();
  if (['0', 'false', 'off', 'no'].includes(env)) return { want: false, why: `${ONNX_KERNELS_ENV_VAR}=${env}` };
  return { want: true, why: '' };
}

async function select(request: BackendRequest, source: EngineInfo['requestSource'], patch: boolean, onnx: boolean | undefined): Promise<EngineInfo> {
  const skipped: string[] = [];
  const base = { requested: request, requestSource: source, tfjsVersion: tf.version.tfjs, skipped };
  const candidates: BackendRequest[] = request === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [request];
  for (const cand of candidates) {
    try {
      if (cand === 'tensorflow-gpu' || cand === 'tensorflow') {
        const pkg = cand === 'tensorflow-gpu' ? NATIVE_GPU_PKG : NATIVE_CPU_PKG;
        const { gpuDevice } = await loadNative(pkg);
        unregisterOnnxKernels();
        return { ...base, backend: 'tensorflow', package: pkg, packageVersion: packageVersion(pkg, 'unknown'), gpuDevice, patchedKernels: [], onnxKernels: [] };
      }
      if (cand === 'wasm') {
        const { simd, threads } = await loadWasm();
        // The onnxruntime wrappers sit on top of the wasm kernels: take them off before changing what is below.
        unregisterOnnxKernels();
        let patchedKernels: string[] = [];
        if (patch) patchedKernels = registerWasmTrainingKernels();
        else unregisterWasmTrainingKernels();
        const wanted = onnxKernelsWanted(onnx);
        const onnxKernels = patch && wanted.want ? registerOnnxKernels() : [];
        const onnxKernelsOff = onnxKernels.length > 0 ? undefined : !patch ? 'wasm unpatched' : !wanted.want ? wanted.why : (onnxKernelsProblem() ?? 'unknown');
        return { ...base, backend: 'wasm', package: WASM_PKG, packageVersion: wasmBackend.version_wasm, wasmSimd: simd, wasmThreads: threads, patchedKernels, onnxKernels, ...(onnxKernelsOff ? { onnxKernelsOff } : {}) };
      }
      await loadCpu();
      unregisterOnnxKernels();
      return { ...base, backend: 'cpu', package: CPU_PKG, packageVersion: tf.version['tfjs-backend-cpu'] ?? tf.version.tfjs, patchedKernels: [], onnxKernels: [] };
    } catch (err) {
      if (!(err instanceof Unavailable)) throw err;
      if (request !== 'auto') throw unavailableError(request, source, err.message);
      skipped.push(`${cand}: ${err.message}`);
    }
  }
  throw new Error(`resad engine: no backend could be initialised (${skipped.join('; ')})`);
}

/** One line for logs and run records, e.g. "tfjs 4.22.0 on wasm (@tensorflow/tfjs-backend-wasm 4.22.0, SIMD, 1 thread, 9 training kernels patched, convs, matmuls and flow updates on onnxruntime-node 1.30.0; auto)". */
export function describeEngine(info: EngineInfo | undefined = current): string {
  if (info == null) return `tfjs ${tf.version.tfjs} on ${tf.getBackend() ?? 'no backend'} (not initialised by resad)`;
  const details: string[] = [`${info.package} ${info.packageVersion}`];
  if (info.backend === 'wasm') {
    details.push(info.wasmSimd ? 'SIMD' : 'no SIMD', info.wasmThreads ? 'threads' : '1 thread');
    details.push(info.patchedKernels.length > 0 ? `${info.patchedKernels.length} training kernels patched` : 'unpatched');
    details.push(info.onnxKernels.length > 0 ? `convs, matmuls and flow updates on onnxruntime-node ${onnxKernelsRuntime()}` : `convs and matmuls on wasm (${info.onnxKernelsOff ?? 'off'})`);
  }
  if (info.gpuDevice !== undefined) details.push(info.gpuDevice ? 'CUDA device' : 'no CUDA device');
  if (info.backend === 'cpu') details.push('pure JS, slow');
  const req = info.requested === 'auto' ? 'auto' : `forced by ${info.requestSource === 'env' ? BACKEND_ENV_VAR : 'option'}`;
  return `tfjs ${info.tfjsVersion} on ${info.backend} (${details.join(', ')}; ${req})`;
}

/**
 * Initialises the backend once and returns what runs. Later calls without a
 * `backend` option return the same EngineInfo object (re-activating its backend
 * if someone switched tfjs away); a later call with a different explicit
 * `backend` switches. Throws, naming the backend, RESAD_BACKEND and the
 * install command, when a forced backend is unavailable.
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  let request: BackendRequest;
  let source: EngineInfo['requestSource'];
  let patch = options.patchWasm !== false;
  let onnx = options.onnxKernels;
  if (current != null) {
    request = options.backend != null ? parseRequest(options.backend, 'option backend') : current.requested;
    source = options.backend != null ? 'option' : current.requestSource;
    const currentlyPatched = current.patchedKernels.length > 0;
    // Without an explicit backend the caller means "whatever runs": keep its patch state too.
    if (options.backend == null && options.patchWasm == null) patch = current.backend === 'wasm' ? currentlyPatched : true;
    // Likewise the onnxruntime kernels: only an explicit, different (and possible) choice re-selects.
    const currentOnnx = current.onnxKernels.length > 0;
    const sameOnnx = current.backend !== 'wasm' || onnx === undefined || onnx === currentOnnx || (onnx && onnxKernelsProblem() !== null);
    const samePatch = (current.backend !== 'wasm' || patch === currentlyPatched) && sameOnnx;
    if (request === current.requested && samePatch) {
      if (tf.getBackend() !== current.backend) await tf.setBackend(current.backend);
      return current;
    }
  } else {
    ({ request, source } = resolveRequest(options));
  }
  const key = `${request}|${patch}|${String(onnx)}`;
  if (pending != null && pendingKey === key) return pending;
  pendingKey = key;
  const run = select(request, source, patch, onnx).then((info) => {
    current = info;
    if (!options.quiet) process.stderr.write(`[resad] engine: ${describeEngine(info)}\n`);
    return info;
  });
  pending = run;
  const clear = () => {
    if (pending === run) {
      pending = undefined;
      pendingKey = '';
    }
  };
  run.then(clear, clear);
  return run;
}

/** The EngineInfo of the last successful initEngine, if any. */
export function currentEngine(): EngineInfo | undefined {
  return current;
}

/** Forgets the cached choice so the next initEngine decides again (tests, notebooks switching engines). Does not change the active tfjs backend. */
export function resetEngine(): void {
  current = undefined;
}
