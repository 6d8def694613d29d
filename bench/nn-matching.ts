/**
 * Timing of nearest-neighbour matching (not a test; run by hand):
 *   npx tsx bench/run.ts nn-matching [wasm|cpu] [level...]
 * Levels of a 224x224 WideResNet50 with K = 4 references:
 *   56: 3136 queries x 12544 refs x C 256;  28: 784 x 3136 x 512;  14: 196 x 784 x 1024.
 * Prints ms per full match (best of a few runs) for several chunk sizes.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { nearestNeighbours, NnMetric } from '../src/converter/nearest-neighbour';
import { ReferencePool } from '../src/converter/reference-pool';

export const description = 'nearest-reference matching at WideResNet50 level sizes, per chunk size';

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const backend = args[0] ?? 'wasm';
  const sides = args.slice(1).map(Number);
  await tf.setBackend(backend);
  await tf.ready();
  const configs: Array<[number, number]> = [
    [56, 256],
    [28, 512],
    [14, 1024],
  ];
  for (const [side, c] of configs) {
    if (sides.length > 0 && !sides.includes(side)) continue;
    const n = side * side;
    const refs = tf.randomNormal([4, side, side, c]) as tf.Tensor4D;
    const q = tf.randomNormal([n, c]) as tf.Tensor2D;
    const pool = ReferencePool.fromFeatures([refs]);
    const m = pool.level(0).size;
    const chunks = backend === 'cpu' ? [n >= 1024 ? 512 : n, n] : [128, 256, 512, 1024, 2048, n].filter((x) => x <= n);
    for (const metric of ['l2', 'cosine'] as NnMetric[]) {
      for (const chunk of [...new Set(chunks)]) {
        const times: number[] = [];
        const reps = backend === 'cpu' ? 1 : 5;
        for (let r = 0; r < reps + 1; r++) {
          const t0 = performance.now();
          const res = nearestNeighbours(q, pool.level(0), { metric, chunkSize: chunk });
          await res.indices.data();
          const t = performance.now() - t0;
          tf.dispose([res.indices, res.matched, res.distances]);
          if (r > 0 || backend === 'cpu') times.push(t); // first run warms caches / builds banks
        }
        // Minimum, not median: the machine is shared, and the minimum is the least disturbed run.
        const med = Math.min(...times);
        const gflop = (2 * n * m * (c + 1)) / 1e9;
        console.log(
          `${backend} ${side}x${side} N=${n} M=${m} C=${c} ${metric} chunk=${chunk} (${((chunk * m * 4) / 2 ** 20).toFixed(0)} MiB block): ${med.toFixed(0)} ms  (${(gflop / (med / 1000)).toFixed(1)} GFLOP/s)`,
        );
      }
    }
    pool.dispose();
    tf.dispose([refs, q]);
  }
  console.log('tensors left:', tf.memory().numTensors);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
