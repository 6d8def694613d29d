/**
 * The ResAD model: a frozen backbone, the feature converter (residuals
 * against a reference pool), the trainable feature constraintor and one
 * conditional normalizing flow per level (RESAD_SPEC steps 1-6, 9).
 *
 * ```ts
 * const model = await ResADModel.create(CPU_CONFIG);
 * const pool = model.buildPool(referenceImages);          // K normal images of a new class
 * const { maps, scores } = model.predict(testImages, pool); // no retraining
 * pool.dispose(); model.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs';
import { Backbone, createBackbone } from '../backbones/index';
import type { FrozenExtractor } from '../backbones/extractor';
import { Constraintor, createConstraintor } from '../constraintor/index';
import { computeResiduals, matchDistribution, PoolSource, ReferencePool, ResidualCodebook } from '../converter/index';
import { BoundaryEstimator, ConditionalFlow, positionalEncoding2d, standardNormalLogProb } from '../flow/index';
import type { PreprocessConfig, PreprocessedImage } from '../data/transforms';
import { toBatchTensor } from '../data/transforms';
import { anomalyMap, imageScore, LevelScores, LevelScoreStats, ScoreMap } from '../scoring/anomaly-map';
import { ResADConfig, ScoringField, validateConfig } from './config';
import { localAverage } from '../converter/index';

/** A weight as plain data, for checkpoints. */
export interface StoredWeight {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Rows of positions scored by the flow at once during inference (bounds memory). */
const INFERENCE_ROWS = 16384;

/** Scoring settings that can differ from the model's config at prediction time (the weights do not depend on them). */
export type ScoringOverride = Partial<Pick<ResADConfig, ScoringField>>;

export class ResADModel {
  readonly boundaries: BoundaryEstimator[];
  /**
   * Per-level statistics of the negative log-likelihood on normal positions of
   * the training classes, set by training (calibration) and saved with the
   * model: what 'standardized-nll' scoring divides by. Null until trained.
   */
  scoreStats: LevelScoreStats[] | null = null;

  private constructor(
    readonly config: ResADConfig,
    readonly backbone: Backbone,
    readonly constraintor: Constraintor,
    readonly flows: ConditionalFlow[],
    /** ResAD++ residual codebooks, one per level; empty unless config.vqCodes > 0. */
    readonly codebooks: ResidualCodebook[],
  ) {
    this.boundaries = flows.map(() => new BoundaryEstimator({ beta: config.bgsppBeta }));
  }

  /** Builds a fresh (untrained) model; pass `backbone` to share an already loaded one. */
  static async create(config: ResADConfig, options: { backbone?: Backbone } = {}): Promise<ResADModel> {
    validateConfig(config);
    const backbone = options.backbone ?? (await createBackbone(config.backbone, { layers: config.backboneLayers }));
    const channels = backbone.levels.map((l) => l.channels);
    const constraintor = createConstraintor(config.constraintor, channels, config.seed, {
      strides: backbone.levels.map((l) => l.stride),
      bnGammaInit: config.bnGammaInit,
    });
    const flows = channels.map(
      (dim, l) =>
        new ConditionalFlow({
          dim,
          condDim: config.posEncodingDim,
          blocks: config.flowBlocks,
          hiddenRatio: config.flowHiddenRatio,
          softClamp: config.flowSoftClamp ?? 'atan',
          seed: config.seed + 1000 * (l + 1),
        }),
    );
    const codes = config.vqCodes ?? 0;
    const codebooks = codes > 0 ? channels.map((dim, l) => new ResidualCodebook(codes, dim, config.seed + 7000 + l)) : [];
    return new ResADModel(config, backbone, constraintor, flows, codebooks);
  }

  get numLevels(): number {
    return this.flows.length;
  }

  /** Preprocessing the model expects (the backbone normalises internally). */
  get preprocess(): Partial<PreprocessConfig> {
    return { size: this.config.imageSize, mode: this.config.resizeMode, normalize: false };
  }

  /** Backbone features of preprocessed images (with config.featurePooling), one [B, h, w, C] tensor per level. */
  extract(images: readonly PreprocessedImage[]): tf.Tensor4D[] {
    return tf.tidy(() => this.backbone.extract(toBatchTensor(images, this.config.imageSize)).map((f) => localAverage(f, this.config.featurePooling)));
  }

  /** As `extract`, with the backbone run by `extractor` (onnxruntime when available: training's feature cache). */
  async extractWith(extractor: FrozenExtractor, images: readonly PreprocessedImage[]): Promise<tf.Tensor4D[]> {
    const batch = toBatchTensor(images, this.config.imageSize);
    let raw: tf.Tensor4D[];
    try {
      raw = await extractor.extract(batch);
    } finally {
      batch.dispose();
    }
    let pooled: tf.Tensor4D[] = [];
    try {
      pooled = tf.tidy(() => raw.map((f) => localAverage(f, this.config.featurePooling)));
    } finally {
      tf.dispose(raw.filter((f, i) => f !== pooled[i]));
    }
    return pooled;
  }

  /** Reference pool of a class from its K preprocessed normal images. */
  buildPool(referenceImages: readonly PreprocessedImage[]): ReferencePool {
    if (referenceImages.length === 0) throw new Error('buildPool: no reference images');
    const features = this.extract(referenceImages);
    try {
      return ReferencePool.fromFeatures(features);
    } finally {
      tf.dispose(features);
    }
  }

  /** Residual features (the converter), honouring config.residual and config.matchMetric. */
  residuals(features: readonly tf.Tensor4D[], pools: PoolSource): tf.Tensor4D[] {
    return computeResiduals(features, pools, { mode: this.config.residual, metric: this.config.matchMetric });
  }

  /**
   * ResAD++ EFDM (inference only): each level's residuals matched towards
   * their quantised version (src/converter/residual-codebook.ts). Returns the
   * input itself when config.efdmAlpha is absent or 1; otherwise new tensors
   * (the input is left to the caller).
   */
  alignResiduals(residuals: tf.Tensor4D[]): tf.Tensor4D[] {
    const alpha = this.config.efdmAlpha ?? 1;
    if (alpha >= 1) return residuals;
    return residuals.map((r, l) => {
      const values = r.dataSync() as Float32Array;
      const [b, h, w, c] = r.shape;
      return tf.tensor4d(matchDistribution(values, this.codebooks[l].quantize(values), [b, h, w, c], alpha), r.shape);
    });
  }

  /** Position codes of one level tiled over a batch: [B*h*w, P]. */
  conditionFor(batch: number, height: number, width: number): tf.Tensor2D {
    return tf.tidy(() => {
      const pos = positionalEncoding2d(height, width, this.config.posEncodingDim);
      return (batch === 1 ? tf.clone(pos) : tf.tile(pos, [batch, 1])) as tf.Tensor2D;
    });
  }

  /**
   * Per-dimension log-likelihood (logp / C_l) of every position of every level,
   * for constrained features [B, h, w, C]: result[level] is [B * h * w] in NHW order.
   */
  logLikelihoods(constrained: readonly tf.Tensor4D[]): Float32Array[] {
    return this.flowOutputs(constrained).logps;
  }

  /**
   * logp / C_l and the ResAD++ abnormal probability softmax([logp, logp_a] / C)[1]
   * = sigmoid(mean(z) - 1/2) of every position of every level ([B * h * w], NHW order).
   */
  flowOutputs(constrained: readonly tf.Tensor4D[]): { logps: Float32Array[]; abnormal: Float32Array[] } {
    const logps: Float32Array[] = [];
    const abnormal: Float32Array[] = [];
    constrained.forEach((feat, l) => {
      const [b, h, w, c] = feat.shape;
      const rows = b * h * w;
      const logpOut = new Float32Array(rows);
      const abnormalOut = new Float32Array(rows);
      const x = tf.reshape(feat, [rows, c]) as tf.Tensor2D;
      const cond = this.conditionFor(b, h, w);
      for (let start = 0; start < rows; start += INFERENCE_ROWS) {
        const size = Math.min(INFERENCE_ROWS, rows - start);
        const [logp, a] = tf.tidy(() => {
          const { z, logdet } = this.flows[l].forward(tf.slice(x, [start, 0], [size, c]), tf.slice(cond, [start, 0], [size, -1]));
          return [tf.div(tf.add(standardNormalLogProb(z), logdet), c), tf.sigmoid(tf.sub(tf.mean(z, 1), 0.5))];
        });
        logpOut.set(logp.dataSync(), start);
        abnormalOut.set(a.dataSync(), start);
        tf.dispose([logp, a]);
      }
      tf.dispose([x, cond]);
      logps.push(logpOut);
      abnormal.push(abnormalOut);
    });
    return { logps, abnormal };
  }

  /**
   * Per-level outputs for backbone features and their pools: residuals ->
   * (ResAD++: EFDM) -> constraintor (inference mode) -> flows. `logps[l]` are
   * the normalised log-likelihoods, `distances[l]` the norms ||r'|| and
   * `abnormal[l]` the abnormal-density probabilities of every position, all
   * [B * h * w] in NHW order; `shapes[l]` is [B, h, w].
   */
  levelOutputs(
    features: readonly tf.Tensor4D[],
    pools: PoolSource,
  ): { logps: Float32Array[]; distances: Float32Array[]; abnormal: Float32Array[]; shapes: Array<[number, number, number]> } {
    const raw = this.residuals(features, pools);
    let residuals: tf.Tensor4D[];
    try {
      residuals = this.alignResiduals(raw);
    } catch (err) {
      tf.dispose(raw);
      throw err;
    }
    if (residuals !== raw) tf.dispose(raw);
    const constrained = this.constraintor.apply(residuals, false);
    tf.dispose(residuals);
    try {
      const distances = constrained.map((t) => {
        const n = tf.tidy(() => tf.sqrt(tf.sum(tf.square(t), 3)));
        const values = n.dataSync() as Float32Array;
        n.dispose();
        return values;
      });
      return { ...this.flowOutputs(constrained), distances, shapes: constrained.map((t) => [t.shape[0], t.shape[1], t.shape[2]]) };
    } finally {
      tf.dispose(constrained);
    }
  }

  /** Anomaly maps (imageSize x imageSize) and image scores; `pools` is one pool or one per image. */
  predict(images: readonly PreprocessedImage[], pools: PoolSource, scoring: ScoringOverride = {}): { maps: ScoreMap[]; scores: number[] } {
    const features = this.extract(images);
    let out;
    try {
      out = this.levelOutputs(features, pools);
    } finally {
      tf.dispose(features);
    }
    const { logps, distances, abnormal, shapes } = out;
    const cfg = { ...this.config, ...scoring };
    if (cfg.scoring !== 'paper' && this.scoreStats === null) {
      throw new Error(`ResADModel.predict: '${cfg.scoring}' scoring needs the score statistics measured at the end of training; train the model (or load a trained one)`);
    }
    const size = cfg.imageSize;
    const maps = images.map((_, i) => {
      const levels: LevelScores[] = shapes.map(([, h, w], l) => ({
        width: w,
        height: h,
        logp: logps[l].subarray(i * h * w, (i + 1) * h * w),
        distance: distances[l].subarray(i * h * w, (i + 1) * h * w),
        abnormal: abnormal[l].subarray(i * h * w, (i + 1) * h * w),
      }));
      return anomalyMap(levels, {
        width: size,
        height: size,
        sigma: cfg.scoreSigma,
        scoring: cfg.scoring,
        stats: this.scoreStats ?? undefined,
        weights: cfg.levelWeights ?? undefined,
        logpShift: cfg.logpShift,
      });
    });
    return { maps, scores: maps.map(imageScore) };
  }

  /** All trained state: constraintor (incl. BatchNorm statistics), flows and (ResAD++) codebooks. */
  getWeights(): StoredWeight[] {
    const out: StoredWeight[] = this.constraintor.getWeights().map((w) => ({ name: `constraintor/${w.name}`, shape: [...w.shape], values: w.values }));
    this.flows.forEach((flow, l) => {
      for (const w of flow.getWeights()) out.push({ name: `flow${l}/${w.name}`, shape: [...w.shape], values: w.values });
    });
    this.codebooks.forEach((book, l) => out.push({ name: `vq${l}/codes`, shape: [...book.codes.shape], values: book.codes.dataSync() as Float32Array }));
    return out;
  }

  setWeights(weights: readonly StoredWeight[]): void {
    const strip = (prefix: string): StoredWeight[] =>
      weights.filter((w) => w.name.startsWith(prefix)).map((w) => ({ ...w, name: w.name.slice(prefix.length) }));
    const known = new Set(['constraintor/', ...this.flows.map((_, l) => `flow${l}/`), ...this.codebooks.map((_, l) => `vq${l}/codes`)]);
    const unknown = weights.find((w) => ![...known].some((p) => w.name.startsWith(p)));
    if (unknown) throw new Error(`ResADModel.setWeights: unexpected weight ${unknown.name}`);
    this.constraintor.setWeights(strip('constraintor/'));
    this.flows.forEach((flow, l) => flow.setWeights(strip(`flow${l}/`)));
    this.codebooks.forEach((book, l) => {
      const w = weights.find((x) => x.name === `vq${l}/codes`);
      if (!w) throw new Error(`ResADModel.setWeights: weight vq${l}/codes missing`);
      if (w.values.length !== book.codes.size) throw new Error(`ResADModel.setWeights: vq${l}/codes has ${w.values.length} values, expected ${book.codes.size}`);
      tf.tidy(() => book.codes.assign(tf.tensor2d(w.values, book.codes.shape)));
    });
  }

  /** Trainable variables of the constraintor and of the flows (separate optimisers, as the paper). */
  get constraintorVariables(): tf.Variable[] {
    return this.constraintor.trainableVariables;
  }

  get flowVariables(): tf.Variable[] {
    return this.flows.flatMap((f) => f.trainableVariables);
  }

  dispose(options: { keepBackbone?: boolean } = {}): void {
    this.constraintor.dispose();
    for (const f of this.flows) f.dispose();
    for (const b of this.codebooks) b.dispose();
    if (!options.keepBackbone) this.backbone.dispose();
  }
}
