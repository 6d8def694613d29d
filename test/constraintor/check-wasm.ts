/**
 * By-hand check (not a test): every constraintor variant trains on the wasm
 * backend with src/engine's training kernels, and its gradients equal the cpu
 * backend's. Also times one forward+backward at WideResNet50 sizes
 * (56/28/14, C = 256/512/1024, batch 1).
 *   npx tsx test/constraintor/check-wasm.ts [--time]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/engine/wasm-kernels';
import { CONSTRAINTOR_KINDS, ConstraintorKind, createConstraintor } from '../../src/constraintor/constraintor';
import { occLossLevels } from '../../src/constraintor/occ-loss';
import { Rng } from '../../src/util/rng';

function gradsOn(kind: ConstraintorKind, channels: number[], sizes: number[]): { loss: number; grads: Float32Array[] } {
  const rng = new Rng(3);
  const x = channels.map((c, l) => {
    const n = 2 * sizes[l] * sizes[l] * c;
    return tf.tensor4d(Float32Array.from({ length: n }, () => rng.normal(0, 1)), [2, sizes[l], sizes[l], c]);
  });
  const masks = sizes.map((s) => Array.from({ length: 2 * s * s }, (_, i) => (i % 7 === 0 ? 1 : 0)));
  const c = createConstraintor(kind, channels, 1);
  const { value, grads } = tf.variableGrads(() => occLossLevels(c.apply(x, true), x, masks).loss, c.trainableVariables);
  const out = { loss: value.dataSync()[0], grads: c.trainableVariables.map((v) => Float32Array.from(grads[v.name].dataSync())) };
  tf.dispose([value, ...Object.values(grads), ...x]);
  c.dispose();
  return out;
}

async function main(): Promise<void> {
  const channels = [8, 16, 32];
  const sizes = [8, 4, 2];
  const ref = new Map<string, { loss: number; grads: Float32Array[] }>();
  await tf.setBackend('cpu');
  for (const kind of CONSTRAINTOR_KINDS) if (kind !== 'none') ref.set(kind, gradsOn(kind, channels, sizes));
  await tf.setBackend('wasm');
  await tf.ready();
  console.log('patched:', registerWasmTrainingKernels().join(', '));
  for (const kind of CONSTRAINTOR_KINDS) {
    if (kind === 'none') continue;
    try {
      const w = gradsOn(kind, channels, sizes);
      const r = ref.get(kind)!;
      let worst = 0;
      const globalMax = Math.max(...r.grads.map((g) => Math.max(...Array.from(g, Math.abs))));
      w.grads.forEach((g, i) => {
        // Floor: conv biases right before a training-mode BN have ~1e-8 (theoretically 0) gradients.
        const scale = Math.max(1e-3 * globalMax, ...Array.from(r.grads[i], Math.abs));
        for (let j = 0; j < g.length; j++) worst = Math.max(worst, Math.abs(g[j] - r.grads[i][j]) / scale);
      });
      console.log(`${kind}: wasm loss ${w.loss.toFixed(6)} cpu ${r.loss.toFixed(6)}; max grad diff / max|grad| = ${worst.toExponential(2)}`);
    } catch (e) {
      console.log(`${kind}: FAILED on wasm: ${(e as Error).message}`);
    }
  }
  if (process.argv.includes('--time')) {
    const big = [256, 512, 1024];
    const bigSizes = [56, 28, 14];
    const x = big.map((c, l) => tf.randomNormal([1, bigSizes[l], bigSizes[l], c]) as tf.Tensor4D);
    for (const kind of ['conv-bn-relu', 'multi-scale-fusion', 'msf+basic-block'] as ConstraintorKind[]) {
      const c = createConstraintor(kind, big, 0);
      const opt = tf.train.adam(1e-5);
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        opt.minimize(() => occLossLevels(c.apply(x, true), x, null).loss, false, c.trainableVariables);
        await c.trainableVariables[0].data();
        times.push(performance.now() - t0);
      }
      const fwd: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const y = c.apply(x, false);
        await y[0].data();
        tf.dispose(y);
        fwd.push(performance.now() - t0);
      }
      console.log(`${kind} (batch 1, 56/28/14): train step ${Math.min(...times.slice(1)).toFixed(0)} ms, eval forward ${Math.min(...fwd).toFixed(0)} ms`);
      opt.dispose();
      c.dispose();
    }
    tf.dispose(x);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
