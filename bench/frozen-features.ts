/**
 * What a training step spends outside the trained parts, on tfjs-wasm and on
 * onnxruntime (issue 17): the frozen backbone's features for a batch of 8
 * images and the nearest-reference matching of that batch (each image
 * against 4 references), for each ImageNet backbone whose weights are found,
 * at 224 px. CPU time of this process (one thread each), best of 3 after a
 * warm-up, and the ratio onnxruntime / tfjs in the same run.
 *
 * ```sh
 * npx tsx bench/run.ts frozen-features [--size 224] [--batch 8]
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs, optionString } from '../src/cli/args';
import { initEngine } from '../src/engine/index';
import { createBackbone, frozenExtractor, MOBILENETV2_IMAGENET, RESNET50_V2 } from '../src/backbones/index';
import { findWeights } from '../src/backbones/weights/index';
import { OnnxMatcher } from '../src/converter/onnx-matching';
import { ReferencePool } from '../src/converter/reference-pool';
import { nearestNeighbours } from '../src/converter/nearest-neighbour';
import { onnxRuntime } from '../src/engine/onnxruntime';

export const description = 'frozen backbone features + matching of one training batch: tfjs-wasm vs onnxruntime (ImageNet backbones, when their weights are found)';

const REFERENCES = 4;

async function cpuMs(run: () => Promise<void>, reps = 3): Promise<number> {
  await run(); // warm-up: kernels, sessions, caches
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.cpuUsage();
    await run();
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<{ failed: number }> {
  const args = parseArgs(argv, { size: { value: 'PX', description: 'image side (default 224)' }, batch: { value: 'N', description: 'images per batch (default 8)' } });
  const size = Number(optionString(args, 'size', '224'));
  const batch = Number(optionString(args, 'batch', '8'));
  await initEngine({ backend: 'wasm', quiet: true });
  if (onnxRuntime() === null) {
    console.log('frozen-features: onnxruntime-node is not installed; nothing to compare');
    return { failed: 0 };
  }
  const rows: string[][] = [];
  for (const name of [MOBILENETV2_IMAGENET, RESNET50_V2]) {
    if (findWeights(name) === null) {
      console.log(`frozen-features: ${name} skipped (no weights found: npx resad weights get ${name})`);
      continue;
    }
    const backbone = await createBackbone(name);
    const images = tf.randomUniform([batch, size, size, 3]) as tf.Tensor4D;
    const refImages = tf.randomUniform([REFERENCES, size, size, 3]) as tf.Tensor4D;
    const onnx = await frozenExtractor(backbone, 'onnx');
    const tfjsFeatures = await cpuMs(async () => tf.dispose(backbone.extract(images)));
    const onnxFeatures = await cpuMs(async () => tf.dispose(await onnx.extract(images)));

    const query = backbone.extract(images);
    const refs = backbone.extract(refImages);
    const pool = ReferencePool.fromFeatures(refs);
    const tfjsMatch = await cpuMs(async () => {
      for (let l = 0; l < query.length; l++) {
        const [n, h, w, c] = query[l].shape;
        const rows = query[l].reshape([n * h * w, c]) as tf.Tensor2D;
        const res = nearestNeighbours(rows, pool.level(l), { metric: 'l2' });
        const residual = tf.sub(rows, res.matched);
        await residual.data();
        tf.dispose([rows, res.indices, res.matched, res.distances, residual]);
      }
    });
    const matcher = await OnnxMatcher.create(backbone.levels.map((l) => l.channels), { metric: 'l2', mode: 'diff' });
    const perImage = query.map((q) => {
      const [n, h, w, c] = q.shape;
      const data = q.dataSync() as Float32Array;
      return Array.from({ length: n }, (_, b) => data.subarray(b * h * w * c, (b + 1) * h * w * c));
    });
    const pools = refs.map((r) => r.dataSync() as Float32Array);
    const onnxMatch = await cpuMs(async () => {
      for (let b = 0; b < batch; b++) await matcher.residuals(perImage.map((lv) => lv[b]), pools);
    });
    await matcher.release();
    await onnx.release();
    pool.dispose();
    tf.dispose([images, refImages, ...query, ...refs]);
    backbone.dispose();
    const fmt = (ms: number): string => ms.toFixed(0);
    rows.push([name, 'features', fmt(tfjsFeatures), fmt(onnxFeatures), (onnxFeatures / tfjsFeatures).toFixed(2)]);
    rows.push([name, 'matching', fmt(tfjsMatch), fmt(onnxMatch), (onnxMatch / tfjsMatch).toFixed(2)]);
    rows.push([name, 'both', fmt(tfjsFeatures + tfjsMatch), fmt(onnxFeatures + onnxMatch), ((onnxFeatures + onnxMatch) / (tfjsFeatures + tfjsMatch)).toFixed(2)]);
  }
  if (rows.length > 0) {
    console.log(`\none training batch (${batch} images, ${size} px, ${REFERENCES} references each), CPU ms, best of 3:`);
    console.log('| backbone | part | tfjs-wasm | onnxruntime | ratio |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  }
  console.log(`tensors left: ${tf.memory().numTensors}`);
  return { failed: 0 };
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
