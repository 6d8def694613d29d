/**
 * Exports one leave-one-class-out fold of the quality benchmark as plain
 * arrays, so that scripts/reference_official.py `run` trains and evaluates
 * the official ResAD++ code on exactly resad's inputs: the same backbone
 * features (resad's backbone, its local averaging included), the same
 * training images with the same real and synthetic anomalies and per-level
 * masks, the same K-shot references of the held-out class per seed, the test
 * images with their masks at the scoring resolution, and resad's schedule.
 *
 *   npx tsx scripts/export-reference-inputs.ts --fold ball_screw --out runs/reference/ball_screw [--set KEY=JSON ...]
 *
 * Writes (float32 / uint8, little-endian, row-major, NHWC per level):
 *   meta.json            config, level shapes, image lists, reference indices per seed
 *   train_features.f32   [train images, sum_l h_l w_l C_l]
 *   train_masks.f32      [train images, sum_l h_l w_l] anomaly flags per level
 *   test_features.f32    [test images, sum_l h_l w_l C_l]
 *   test_masks.u8        [test images, S, S]
 *   ref_features.f32     [reference images, sum_l h_l w_l C_l] (every seed's draws, deduplicated)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/index';
import { discoverQualityFolds, qualityFoldSamples } from '../src/experiments/quality';
import { CPU_CONFIG, validateConfig } from '../src/resad/config';
import { applyOverrides } from '../bench/quality';
import { ResADModel } from '../src/resad/model';
import { prepareTrainingSet, disposeTrainingSet } from '../src/resad/training-set';
import { drawReferences } from '../src/data/references';
import { loadSample, preprocess } from '../src/data/transforms';
import { Progress } from '../src/util/progress';

function args(): { fold: string; out: string; set: string[]; seeds: number[]; shots: number } {
  const a = process.argv.slice(2);
  const get = (k: string): string | undefined => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const fold = get('--fold');
  const out = get('--out');
  if (!fold || !out) throw new Error('usage: export-reference-inputs.ts --fold NAME --out DIR [--set KEY=JSON ...] [--seeds 0,1,2] [--shots 4]');
  const set = a.flatMap((v, i) => (a[i - 1] === '--set' ? [v] : []));
  return { fold, out, set, seeds: (get('--seeds') ?? '0,1,2').split(',').map(Number), shots: Number(get('--shots') ?? 4) };
}

/** Appends Float32Arrays to a file without holding them all. */
class F32Writer {
  private readonly fd: number;
  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }
  write(parts: readonly Float32Array[]): void {
    for (const p of parts) fs.writeSync(this.fd, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

async function main(): Promise<void> {
  const opt = args();
  const config = validateConfig(applyOverrides(CPU_CONFIG, opt.set));
  await initEngine({ quiet: true });
  const found = discoverQualityFolds({ config, procedural: false }).find((f) => f.name === opt.fold);
  if (!found) throw new Error(`--fold ${opt.fold}: no such real fold (is ../shared/datasets there?)`);
  // The images in the order the benchmark's runner trains and tests on them.
  const fold = { name: found.name, ...(await qualityFoldSamples(found)) };
  fs.mkdirSync(opt.out, { recursive: true });
  const model = await ResADModel.create(config);
  const set = await prepareTrainingSet(model, fold.train, {});
  const trainFeatures = new F32Writer(path.join(opt.out, 'train_features.f32'));
  const trainMasks = new F32Writer(path.join(opt.out, 'train_masks.f32'));
  for (const im of set.images) {
    trainFeatures.write(im.features);
    trainMasks.write(im.levelMasks);
  }
  trainFeatures.close();
  trainMasks.close();
  const train = set.images.map((im) => ({ className: im.className, anomalous: im.anomalous, source: im.source }));
  const levelShapes = set.levelShapes;
  disposeTrainingSet(set);

  const featuresOf = async (images: Parameters<ResADModel['extract']>[0]): Promise<Float32Array[]> => {
    const levels = model.extract(images);
    try {
      return levels.map((t) => t.dataSync() as Float32Array);
    } finally {
      tf.dispose(levels);
    }
  };
  const size = config.imageSize;
  const test: Array<{ className: string; label: number; file: string; hasMask: boolean }> = [];
  const testFeatures = new F32Writer(path.join(opt.out, 'test_features.f32'));
  const masks = fs.openSync(path.join(opt.out, 'test_masks.u8'), 'w');
  const progress = new Progress('test features', fold.test.length);
  for (const s of fold.test) {
    const loaded = await loadSample(s, model.preprocess);
    testFeatures.write(await featuresOf([loaded.image]));
    const m = Uint8Array.from(loaded.mask.data, (v) => (v ? 1 : 0));
    if (m.length !== size * size) throw new Error(`${s.imagePath}: mask of ${m.length} values, expected ${size * size}`);
    fs.writeSync(masks, m);
    test.push({ className: s.className, label: s.label, file: s.imagePath, hasMask: s.maskPaths.length > 0 });
    progress.tick();
  }
  testFeatures.close();
  fs.closeSync(masks);

  const refFiles: string[] = [];
  const seeds: Record<string, Record<string, number[]>> = {};
  for (const seed of opt.seeds) {
    const refs = drawReferences(fold.referencePool, { shots: opt.shots, seed });
    seeds[seed] = {};
    for (const [cls, files] of Object.entries(refs.classes)) {
      seeds[seed][cls] = files.map((f) => {
        if (!refFiles.includes(f)) refFiles.push(f);
        return refFiles.indexOf(f);
      });
    }
  }
  const refFeatures = new F32Writer(path.join(opt.out, 'ref_features.f32'));
  for (const f of refFiles) refFeatures.write(await featuresOf([await preprocess(f, model.preprocess)]));
  refFeatures.close();

  const meta = { fold: fold.name, backbone: model.backbone.name, config, levelShapes, imageSize: size, train, test, referenceFiles: refFiles, seeds, shots: opt.shots };
  fs.writeFileSync(path.join(opt.out, 'meta.json.tmp'), JSON.stringify(meta, null, 1));
  fs.renameSync(path.join(opt.out, 'meta.json.tmp'), path.join(opt.out, 'meta.json'));
  console.error(`wrote ${opt.out}: ${train.length} training, ${test.length} test, ${refFiles.length} reference images`);
  model.dispose();
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
