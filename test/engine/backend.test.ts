/**
 * Backend selection on this machine: no tfjs-node-gpu, and under the name
 * @tensorflow/tfjs-node at most the @tensorflow/tfjs alias that package.json
 * gives danfojs-node, so 'auto' must land on wasm (patched) and forcing a
 * native backend must fail with an actionable message.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { aliasedPackageProblem } from '../../src/engine/backend';
import {
  BACKEND_ENV_VAR, WASM_TRAINING_KERNELS, currentEngine, describeEngine, initEngine, resetEngine,
  ONNX_KERNELS, ONNX_KERNELS_ENV_VAR, onnxKernelsActive, onnxKernelsProblem, onnxKernelsRuntime,
} from '../../src/engine/index';

describe('engine: backend selection', () => {
  let previousBackend = '';
  let previousEnv: string | undefined;

  before(() => {
    previousBackend = tf.getBackend() ?? '';
    previousEnv = process.env[BACKEND_ENV_VAR];
    delete process.env[BACKEND_ENV_VAR];
  });
  beforeEach(() => resetEngine());
  after(async () => {
    if (previousEnv === undefined) delete process.env[BACKEND_ENV_VAR];
    else process.env[BACKEND_ENV_VAR] = previousEnv;
    resetEngine();
    // Leave wasm patched (what initEngine gives everyone), then the backend others had.
    await initEngine({ backend: 'wasm', quiet: true });
    resetEngine();
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  it("'auto' skips the missing GPU package and tfjs-node (absent or danfo's alias), picks patched wasm, and is idempotent", async () => {
    const info = await initEngine({ quiet: true });
    assert.equal(info.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.requested, 'auto');
    assert.equal(info.requestSource, 'default');
    assert.equal(info.package, '@tensorflow/tfjs-backend-wasm');
    assert.deepEqual(info.patchedKernels, [...WASM_TRAINING_KERNELS]);
    assert.equal(info.wasmSimd, true, 'this machine runs the SIMD build');
    assert.equal(info.tfjsVersion, tf.version.tfjs);
    assert.equal(info.skipped.length, 2);
    assert.match(info.skipped[0], /tfjs-node-gpu/);
    assert.match(info.skipped[1], /tfjs-node (could not be loaded|here is @tensorflow\/tfjs@)/);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null);
    const again = await initEngine();
    assert.equal(again, info, 'second call returns the same EngineInfo object');
    assert.equal(currentEngine(), info);
  });

  it('concurrent first calls share one initialisation', async () => {
    const [a, b] = await Promise.all([initEngine({ quiet: true }), initEngine({ quiet: true })]);
    assert.equal(a, b);
  });

  it("forced 'cpu' works and reports cpu", async () => {
    const info = await initEngine({ backend: 'cpu', quiet: true });
    assert.equal(info.backend, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.equal(info.requestSource, 'option');
    assert.deepEqual(info.patchedKernels, []);
    assert.equal(tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]), 6);
  });

  it("forced 'tensorflow' without the native package throws a clear error", async () => {
    await assert.rejects(initEngine({ backend: 'tensorflow', quiet: true }), (err: Error) => {
      assert.match(err.message, /backend 'tensorflow'/);
      assert.match(err.message, /tfjs-node (could not be loaded|here is @tensorflow\/tfjs@.*not the native TensorFlow binding)/);
      assert.match(err.message, /RESAD_BACKEND/);
      assert.match(err.message, /npm install @tensorflow\/tfjs-node@/);
      return true;
    });
    assert.equal(currentEngine(), undefined, 'a failed init leaves no cached engine');
  });

  it("forced 'tensorflow-gpu' without the package names it and how to install it", async () => {
    await assert.rejects(initEngine({ backend: 'tensorflow-gpu', quiet: true }), /tfjs-node-gpu.*could not be loaded.*npm install @tensorflow\/tfjs-node-gpu@.*CUDA/s);
  });

  it('RESAD_BACKEND forces a backend; an explicit option wins over it; bad values are rejected', async () => {
    try {
      process.env[BACKEND_ENV_VAR] = 'cpu';
      const info = await initEngine({ quiet: true });
      assert.equal(info.backend, 'cpu');
      assert.equal(info.requestSource, 'env');
      resetEngine();
      const opt = await initEngine({ backend: 'wasm', quiet: true });
      assert.equal(opt.backend, 'wasm');
      assert.equal(opt.requestSource, 'option');
      resetEngine();
      process.env[BACKEND_ENV_VAR] = 'tensorflow';
      await assert.rejects(initEngine({ quiet: true }), /RESAD_BACKEND=tensorflow/);
      process.env[BACKEND_ENV_VAR] = 'gpu-please';
      await assert.rejects(initEngine({ quiet: true }), /RESAD_BACKEND 'gpu-please' is not a backend; use one of auto, tensorflow-gpu, tensorflow, wasm, cpu/);
    } finally {
      delete process.env[BACKEND_ENV_VAR];
    }
  });

  it('patchWasm: false leaves stock wasm; a later explicit call switches and re-patches', async () => {
    const plain = await initEngine({ backend: 'wasm', patchWasm: false, quiet: true });
    assert.deepEqual(plain.patchedKernels, []);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm'), undefined);
    assert.equal(await initEngine(), plain, 'no option: keep what runs');
    const patched = await initEngine({ backend: 'wasm', quiet: true });
    assert.notEqual(patched, plain);
    assert.deepEqual(patched.patchedKernels, [...WASM_TRAINING_KERNELS]);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null);
  });

  it('onnxruntime kernels: on by default where onnxruntime-node loads, off by option or RESAD_ONNX_KERNELS=0, never on unpatched wasm', async function () {
    if (onnxKernelsProblem() !== null) this.skip();
    const on = await initEngine({ backend: 'wasm', quiet: true });
    assert.deepEqual(on.onnxKernels, [...ONNX_KERNELS]);
    assert.equal(on.onnxKernelsOff, undefined);
    const off = await initEngine({ backend: 'wasm', onnxKernels: false, quiet: true });
    assert.deepEqual(off.onnxKernels, []);
    assert.equal(off.onnxKernelsOff, 'off by option');
    assert.deepEqual(onnxKernelsActive(), []);
    assert.equal(await initEngine(), off, 'no option: keep what runs');
    process.env[ONNX_KERNELS_ENV_VAR] = '0';
    try {
      resetEngine(); // the variable is read when the engine is chosen
      const envOff = await initEngine({ backend: 'wasm', quiet: true });
      assert.deepEqual(envOff.onnxKernels, []);
      assert.equal(envOff.onnxKernelsOff, `${ONNX_KERNELS_ENV_VAR}=0`);
      assert.match(describeEngine(envOff), /convs and matmuls on wasm \(RESAD_ONNX_KERNELS=0\)/);
    } finally {
      delete process.env[ONNX_KERNELS_ENV_VAR];
    }
    const unpatched = await initEngine({ backend: 'wasm', patchWasm: false, quiet: true });
    assert.deepEqual(unpatched.onnxKernels, []);
    assert.equal(unpatched.onnxKernelsOff, 'wasm unpatched');
    assert.deepEqual((await initEngine({ backend: 'wasm', quiet: true })).onnxKernels, [...ONNX_KERNELS]);
  });

  it('re-activates its backend if something switched tfjs away', async () => {
    const info = await initEngine({ backend: 'wasm', quiet: true });
    await tf.setBackend('cpu');
    assert.equal(await initEngine(), info);
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('prints exactly one line unless quiet, and describeEngine() says what runs', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await initEngine({ backend: 'wasm' });
      await initEngine({ backend: 'wasm' });
    } finally {
      process.stderr.write = write;
    }
    assert.equal(lines.length, 1);
    const onnx = onnxKernelsProblem() === null ? `convs, matmuls and flow updates on onnxruntime-node ${onnxKernelsRuntime()}` : 'convs and matmuls on wasm \(.*\)';
    assert.match(lines[0], new RegExp(`^\\[resad\\] engine: tfjs 4\\.22\\.0 on wasm \\(@tensorflow/tfjs-backend-wasm 4\\.22\\.0, SIMD, 1 thread, 9 training kernels patched, ${onnx.replace(/\./g, '\\.')}; forced by option\\)\\n$`));
    assert.equal(describeEngine(), lines[0].replace('[resad] engine: ', '').trim());
  });

  describe('the native CPU package stays installable next to danfojs-node', () => {
    it('names a package installed under another name (the danfo alias) and accepts the real one', () => {
      assert.match(aliasedPackageProblem('@tensorflow/tfjs-node', { name: '@tensorflow/tfjs', version: '4.22.0' }) ?? '', /@tensorflow\/tfjs-node here is @tensorflow\/tfjs@4\.22\.0 .*danfojs-node.*not the native/);
      assert.equal(aliasedPackageProblem('@tensorflow/tfjs-node', { name: '@tensorflow/tfjs-node', version: '4.22.0' }), null);
      assert.equal(aliasedPackageProblem('@tensorflow/tfjs-node', null), null, 'absent: require() reports it');
    });

    it("package.json overrides @tensorflow/tfjs-node for danfojs-node only (a top-level override would replace the user's own install)", () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { overrides?: Record<string, unknown> };
      const overrides = pkg.overrides ?? {};
      assert.equal(overrides['@tensorflow/tfjs-node'], undefined);
      const danfo = overrides['danfojs-node'] as Record<string, unknown> | undefined;
      assert.match(String(danfo?.['@tensorflow/tfjs-node']), /^npm:@tensorflow\/tfjs@/);
    });
  });
});
