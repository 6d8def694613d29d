/**
 * The images ResAD trains on, prepared once: every normal image of the known
 * classes (train + test, as the paper), their real anomalies with masks, and
 * synthetic CutPaste/Perlin anomalies where a class has none (config.anomalies).
 * The backbone is frozen, so each image's features are computed once (on
 * onnxruntime when it is installed: backbones/extractor.ts) and cached in
 * memory; training then only pays for matching, the constraintor and the
 * flows. The cache is plain Float32Arrays, not tensors: a ResNet50 at 224 px
 * holds 5.6 MB per image, and a training set of a thousand images would not
 * fit the 4 GB address space of the WebAssembly backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../data/sample';
import { loadSample, PreprocessedImage } from '../data/transforms';
import type { BinaryMask } from '../data/image';
import { synthesizeAnomaly } from '../data/synthetic-anomalies';
import { maskToLevel } from '../constraintor/index';
import { Rng } from '../util/rng';
import { Progress } from '../util/progress';
import { ResADModel } from './model';
import { frozenExtractor } from '../backbones/extractor';

export interface TrainingImage {
  className: string;
  /** Where it came from: a file, or `synthetic:<kind>:<source file>`. */
  source: string;
  anomalous: boolean;
  /** Backbone features, one [h, w, C] block per level (shape in TrainingSet.levelShapes). */
  features: Float32Array[];
  /** Anomaly flags per level on that level's grid (h * w values, 0/1). */
  levelMasks: Float32Array[];
}

export interface TrainingSet {
  images: TrainingImage[];
  /** Indices of the normal images of each class: the reference candidates. */
  normalsByClass: Map<string, number[]>;
  counts: { normals: number; realAnomalies: number; syntheticAnomalies: number; classes: number };
  /** [h, w, C] of every level's feature map. */
  levelShapes: Array<[number, number, number]>;
  /** Bytes held by the cached features. */
  featureBytes: number;
}

const EXTRACT_BATCH = 8;

function maskTensorLevels(mask: BinaryMask, levels: Array<[number, number]>): Float32Array[] {
  return tf.tidy(() => {
    const m = tf.tensor3d(Float32Array.from(mask.data), [1, mask.height, mask.width]);
    return levels.map(([h, w]) => maskToLevel(m, h, w).dataSync() as Float32Array);
  });
}

/** Loads, synthesises and featurises the training images of `samples` (known classes). */
export async function prepareTrainingSet(model: ResADModel, samples: readonly Sample[], options: { quiet?: boolean; inference?: string } = {}): Promise<TrainingSet> {
  const cfg = model.config;
  const rng = new Rng(cfg.seed).fork('training-set');
  const normals = samples.filter((s) => s.label === 0);
  const anomalies = cfg.anomalies === 'synthetic' ? [] : samples.filter((s) => s.label === 1 && s.maskPaths.length > 0);
  if (normals.length === 0) throw new Error('prepareTrainingSet: the training data has no normal images');

  const pending: Array<{ className: string; source: string; anomalous: boolean; image: PreprocessedImage; mask: BinaryMask | null }> = [];
  const load = new Progress('loading training images', normals.length + anomalies.length, { quiet: options.quiet });
  for (const s of [...normals, ...anomalies]) {
    const loaded = await loadSample(s, model.preprocess);
    pending.push({ className: s.className, source: s.imagePath, anomalous: s.label === 1, image: loaded.image, mask: s.label === 1 ? loaded.mask : null });
    load.tick();
  }

  const classes = [...new Set(normals.map((s) => s.className))].sort();
  const realByClass = new Set(anomalies.map((s) => s.className));
  let synthetic = 0;
  for (const cls of classes) {
    if (cfg.anomalies === 'real' || (cfg.anomalies === 'auto' && realByClass.has(cls))) continue;
    const pool = pending.filter((p) => p.className === cls && !p.anomalous);
    const crng = rng.fork(cls);
    for (let i = 0; i < cfg.syntheticPerClass; i++) {
      const base = crng.pick(pool);
      const img = { width: base.image.width, height: base.image.height, data: base.image.data };
      const other = crng.pick(pool).image;
      const made = synthesizeAnomaly(img, crng, { kind: 'mixed', source: { width: other.width, height: other.height, data: other.data } });
      pending.push({
        className: cls,
        source: `synthetic:${made.kind}:${base.source}`,
        anomalous: true,
        image: { width: made.image.width, height: made.image.height, data: made.image.data, normalized: false },
        mask: made.mask,
      });
      synthetic++;
    }
  }

  const images: TrainingImage[] = [];
  let levelShapes: Array<[number, number, number]> = [];
  const extractor = await frozenExtractor(model.backbone, options.inference);
  if (!options.quiet) console.error(extractor.description);
  const feat = new Progress('extracting features', pending.length, { quiet: options.quiet });
  let featureBytes = 0;
  try {
    for (let start = 0; start < pending.length; start += EXTRACT_BATCH) {
      const batch = pending.slice(start, start + EXTRACT_BATCH);
      const levels = await model.extractWith(extractor, batch.map((p) => p.image));
      const sizes = levels.map((t) => [t.shape[1], t.shape[2]] as [number, number]);
      levelShapes = levels.map((t) => [t.shape[1], t.shape[2], t.shape[3]]);
      const data = levels.map((t) => t.dataSync() as Float32Array);
      tf.dispose(levels);
      batch.forEach((p, i) => {
        const features = data.map((d) => {
          const per = d.length / batch.length;
          return d.slice(i * per, (i + 1) * per);
        });
        featureBytes += features.reduce((s, f) => s + f.byteLength, 0);
        images.push({
          className: p.className,
          source: p.source,
          anomalous: p.anomalous,
          features,
          levelMasks: p.mask ? maskTensorLevels(p.mask, sizes) : sizes.map(([h, w]) => new Float32Array(h * w)),
        });
      });
      feat.tick(batch.length);
    }
  } finally {
    await extractor.release();
  }

  const normalsByClass = new Map<string, number[]>();
  images.forEach((im, i) => {
    if (im.anomalous) return;
    const list = normalsByClass.get(im.className) ?? [];
    list.push(i);
    normalsByClass.set(im.className, list);
  });
  for (const [cls, list] of normalsByClass) {
    if (list.length < 2) throw new Error(`prepareTrainingSet: class ${cls} has ${list.length} normal image(s); training needs at least 2 (references exclude the image itself)`);
  }
  return {
    images,
    normalsByClass,
    counts: { normals: normals.length, realAnomalies: anomalies.length, syntheticAnomalies: synthetic, classes: classes.length },
    levelShapes,
    featureBytes,
  };
}

/** The cached features of `indices`, stacked: one [indices.length, h, w, C] tensor per level. */
export function batchFeatures(set: TrainingSet, indices: readonly number[]): tf.Tensor4D[] {
  return set.levelShapes.map(([h, w, c], l) => {
    const per = h * w * c;
    const data = new Float32Array(per * indices.length);
    indices.forEach((i, b) => data.set(set.images[i].features[l], b * per));
    return tf.tensor4d(data, [indices.length, h, w, c]);
  });
}

/** Drops the cached features (they are plain arrays: this only lets them be collected early). */
export function disposeTrainingSet(set: TrainingSet): void {
  for (const im of set.images) im.features = [];
}
