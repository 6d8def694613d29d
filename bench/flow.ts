/**
 * Timing of one logProb + gradient (all trainable variables) of the spec-sized
 * flow: N = 8192 vectors, C = 256, P = 256, 8 blocks. Not a test (too heavy for
 * the shared CI cores); run by hand:
 *
 *   npx tsx bench/run.ts flow [wasm|cpu] [N] [blocks] [repeats]
 */
import * as tf from '@tensorflow/tfjs';
import { ConditionalFlow } from '../src/flow/conditional-flow';
import { positionalEncoding2d } from '../src/flow/positional-encoding';
import { Rng } from '../src/util/rng';

export const description = 'one flow logProb + gradient at the paper size (8192 x 256, 8 blocks)';

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const backend = args[0] ?? 'wasm';
  const n = Number(args[1] ?? 8192);
  const blocks = Number(args[2] ?? 8);
  const repeats = Number(args[3] ?? 2);
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backend);
  await tf.ready();
  const dim = 256;
  const rng = new Rng(0);
  const xv = new Float32Array(n * dim);
  for (let i = 0; i < xv.length; i++) xv[i] = rng.normal();
  const x = tf.tensor2d(xv, [n, dim]);
  // Condition rows from a 64x128 map's encoding (8192 positions).
  const pe = positionalEncoding2d(64, Math.ceil(n / 64));
  const cond = tf.slice(pe, [0, 0], [n, 256]);
  const flow = new ConditionalFlow({ dim, condDim: 256, blocks, seed: 1 });
  const vars = flow.trainableVariables;
  for (let r = 0; r < repeats + 1; r++) {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(flow.logProbPerDim(x, cond))) as tf.Scalar, vars);
    const loss = value.dataSync()[0];
    await Promise.all(Object.values(grads).map((g) => g.data()));
    const ms = performance.now() - t0;
    tf.dispose([value, ...Object.values(grads)]);
    const t1 = performance.now();
    const lp = flow.logProb(x, cond);
    await lp.data();
    const fwd = performance.now() - t1;
    lp.dispose();
    console.log(`${backend} N=${n} C=${dim} blocks=${blocks} ${r === 0 ? '(warm-up) ' : ''}logProb+grad ${ms.toFixed(0)} ms, logProb only ${fwd.toFixed(0)} ms, loss ${loss.toFixed(4)}, tensors ${tf.memory().numTensors}`);
  }
  tf.dispose([x, pe, cond]);
  flow.dispose();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
