/**
 * Every knob of a ResAD run in one typed, JSON-serialisable object. Three
 * presets: `PAPER_CONFIG` follows the NeurIPS paper (RESAD_SPEC.md);
 * `CPU_CONFIG` keeps the same method on ImageNet features but shrinks sizes
 * so that a run on two CPU cores takes minutes; `OFFLINE_CPU_CONFIG` is the
 * same schedule on the packaged backbone, for machines without the ImageNet
 * weights (presets.ts picks between the two). Where the paper and the official (ResAD++) code
 * differ, the paper's choice is the default and the code's is an option:
 *
 * | knob            | paper (default)   | official code   |
 * |-----------------|-------------------|-----------------|
 * | residual        | 'diff'  x - x*    | 'sqdiff' (x - x*)^2 |
 * | matchMetric     | 'l2'              | 'cosine'        |
 * | flowBlocks      | 8                 | 10              |
 * | occ             | 'paper' (Eq. 2)   | 'logbarrier'    |
 * | bgsppReduction  | 'sum' (Eq. 5)     | (log barrier)   |
| flowLoss        | 'paper'           | 'resad++'       |
 * | flowSoftClamp   | 'atan' (spec)     | 'tanh' (FrEIA 4e0c6ab AllInOneBlock) |
 * | occLevels       | 'mean'            | 'sum'           |
 * | vqCodes         | absent (none)     | 1536 (ResAD++ codebook) |
 * | efdmAlpha       | absent (off)      | 0.4 (ResAD++ EFDM) |
 * | scoring         | see below         | 'nll+abnormal' (ResAD++ merge, without the test-set maximum) |
 *
 * `RESADPP_OPTIONS` switches all of the official code's choices on at once
 * (the `resad++` and `cpu-resad++` presets); docs/FIDELITY.md compares them
 * with the official code itself.
 */
import { DEFAULT_BACKBONE, DEFAULT_BACKBONE_IMAGE_SIZE, OFFLINE_BACKBONE, OFFLINE_BACKBONE_IMAGE_SIZE } from '../backbones/defaults';
import type { BnGammaInit, ConstraintorKind } from '../constraintor/index';
import type { OccVariant } from '../constraintor/index';
import type { NnMetric, ResidualMode } from '../converter/index';
import type { BgSppReduction, FlowLossKind, SoftClamp } from '../flow/index';
import type { ScoringMode } from '../scoring/anomaly-map';

export interface ResADConfig {
  /** Backbone registry name (see src/backbones). */
  backbone: string;
  /** Optional layer names overriding the backbone's default levels. */
  backboneLayers?: string[];
  /** Square input side after preprocessing. Paper: 224. */
  imageSize: number;
  /** 'resize-crop' (paper: shorter side to S, centre crop) or 'resize-whole'. */
  resizeMode: 'resize-crop' | 'resize-whole';
  /**
   * Local context of each backbone feature before matching: 1 (paper: the raw
   * feature) or an odd k > 1 (k x k average with zero padding counted, as
   * PatchCore's "locally aware patch features" with k = 3).
   */
  featurePooling: number;
  residual: ResidualMode;
  matchMetric: NnMetric;
  constraintor: ConstraintorKind;
  /** Initial gamma of the constraintor's output BatchNorm: 'one' (PyTorch) or 'unit-norm' (1/sqrt(C): output norms start near the sphere). */
  bnGammaInit: BnGammaInit;
  /** OCC loss on the constraintor; 'off' trains no constraintor weights (ablation "loss off"). */
  occ: OccVariant | 'off';
  /** OCC push-out margin m: anomalies are pushed to sqrt(||r'|| + 1) - 1 >= m (0 = off). */
  occPushMargin: number;
  flowBlocks: number;
  /**
   * Bound on the coupling log-scale (src/flow/coupling-block.ts): absent or
   * 'atan' (the spec's clamp * 0.636 * atan(a / clamp)); 'tanh' is what the
   * FrEIA commit the official code pins computes (clamp * tanh(a)).
   */
  flowSoftClamp?: SoftClamp;
  /** How the OCC loss combines levels: absent or 'mean' (spec), 'sum' (official main.py). */
  occLevels?: 'mean' | 'sum';
  /** Subnet hidden width = ratio x input width. Paper: 2. */
  flowHiddenRatio: number;
  /** Positional-encoding dimension of the flow condition. Paper: 256. */
  posEncodingDim: number;
  /** Feature vectors per flow step per level (paper N_batch = 8192). */
  flowBatch: number;
  /**
   * Flow steps per level per image batch: null (paper and code) walks every
   * position of the batch in flowBatch chunks; a number caps it, training
   * the flow on a random subset of positions to save time.
   */
  flowChunksPerStep: number | null;
  /**
   * 'paper': ML on normals + BG-SPP (Eq. 4-5). 'resad++': the official code's
   * log-sigmoid ML, an N(1, I) Gaussian for anomalies, a focal loss and the
   * log-barrier BG-SPP (src/flow/flow-loss.ts).
   */
  flowLoss: FlowLossKind;
  bgsppWeight: number;
  bgsppBeta: number;
  bgsppTau: number;
  bgsppReduction: BgSppReduction;
  lr: number;
  weightDecay: number;
  epochs: number;
  /**
   * Training steps per epoch: null (paper) walks every image once; a number
   * caps an epoch at that many random batches, so that training time does not
   * grow with the dataset (the CPU preset's time budget).
   */
  stepsPerEpoch: number | null;
  /** Epoch indices where the learning rate is multiplied by 0.1 (paper: 70, 90 of 100). */
  lrMilestones: number[];
  /** Images per training step. Paper: 32. */
  batchSize: number;
  /** Epochs of stage 1 (normal images only) before anomalies join. Code: 10 of 100. */
  firstStageEpochs: number;
  /** Reference images drawn per training image, every step (same class, never the image itself). */
  trainShots: number;
  /**
   * Anomalies for stage 2: 'real' uses the known classes' anomalous images with
   * masks; 'synthetic' makes CutPaste/Perlin anomalies from their normals;
   * 'auto' uses real ones where a class has them and synthetic ones elsewhere.
   */
  anomalies: 'auto' | 'real' | 'synthetic';
  /** Synthetic anomalies made per class when needed. */
  syntheticPerClass: number;
  /** Gaussian smoothing sigma of the anomaly map, in pixels at imageSize. Paper: 4. */
  scoreSigma: number;
  /**
   * Position scores (src/scoring/anomaly-map.ts): 'paper' (Eq. 7,
   * 1 - exp(logp / C - c)); 'nll' (-logp / C), 'distance' (||r'||, the OCC
   * score) or 'nll+distance', each standardised per level with statistics of
   * the training normals stored in the model (cannot saturate, every level on
   * one scale).
   */
  scoring: ScoringMode;
  /** Weight of each level in the summed map (null: 1 each); 0 drops a level. */
  levelWeights: number[] | null;
  /** 'paper' scoring only: constant c in s = 1 - exp(logp / C - c); fixed, never taken from test data. */
  logpShift: number;
  /**
   * ResAD++ (OPTION, official code models/vq.py): codes per level of a
   * codebook trained on normal residuals (own Adam, same learning rate).
   * Absent or 0: none (the paper). Official: 1536. Optional so that configs
   * saved before it existed are the same config.
   */
  vqCodes?: number;
  /** ResAD++: beta of the codebook loss (official 0.25). */
  vqBeta?: number;
  /**
   * ResAD++ EFDM at inference (utils.applying_EFDM): the share of a test
   * residual's own per-channel distribution kept when it is matched towards
   * its quantised version. Absent or 1: off. Official `fdm_alpha` 0.4. Needs vqCodes.
   */
  efdmAlpha?: number;
  seed: number;
}

export const PAPER_CONFIG: ResADConfig = {
  backbone: 'wide_resnet50_2',
  imageSize: 224,
  resizeMode: 'resize-crop',
  featurePooling: 1,
  residual: 'diff',
  matchMetric: 'l2',
  constraintor: 'conv-bn-relu',
  bnGammaInit: 'one',
  occ: 'paper',
  occPushMargin: 0,
  flowBlocks: 8,
  flowHiddenRatio: 2,
  posEncodingDim: 256,
  flowBatch: 8192,
  flowChunksPerStep: null,
  flowLoss: 'paper',
  bgsppWeight: 1,
  bgsppBeta: 0.05,
  bgsppTau: 0.1,
  bgsppReduction: 'sum',
  lr: 1e-5,
  weightDecay: 5e-4,
  epochs: 100,
  stepsPerEpoch: null,
  lrMilestones: [70, 90],
  batchSize: 32,
  firstStageEpochs: 10,
  trainShots: 4,
  anomalies: 'auto',
  syntheticPerClass: 20,
  scoreSigma: 4,
  scoring: 'paper',
  levelWeights: null,
  logpShift: 0,
  seed: 42,
};

/**
 * Same method, CPU-sized, on the packaged (offline) backbone: nsfwjs's
 * MobileNetV2 at 160 px, 4 coupling blocks, a 64-d position code and a
 * larger learning rate so that a few epochs converge (3 epochs of 25 steps,
 * under 10 minutes on 2 cores). Image size and epochs were chosen on the
 * quality benchmark (docs/QUALITY.md). What `cpu` falls back to when the
 * ImageNet weights are not on the machine (presets.ts).
 */
export const OFFLINE_CPU_CONFIG: ResADConfig = {
  ...PAPER_CONFIG,
  backbone: OFFLINE_BACKBONE,
  imageSize: OFFLINE_BACKBONE_IMAGE_SIZE,
  flowBlocks: 4,
  posEncodingDim: 64,
  flowBatch: 2048,
  flowChunksPerStep: 1,
  bgsppReduction: 'mean',
  constraintor: 'conv-bn',
  bnGammaInit: 'unit-norm',
  occ: 'mse-cos',
  featurePooling: 3,
  scoring: 'nll+distance',
  lr: 2e-4,
  epochs: 3,
  stepsPerEpoch: 25,
  lrMilestones: [],
  batchSize: 8,
  firstStageEpochs: 1,
  syntheticPerClass: 8,
};

/**
 * The CPU preset: the same schedule on ImageNet features, chosen on the
 * quality benchmark within a training of at most 10 minutes on 2 cores
 * (docs/QUALITY.md). Needs the backbone's weights (`resad weights get`);
 * without them `availablePreset('cpu')` gives OFFLINE_CPU_CONFIG.
 */
export const CPU_CONFIG: ResADConfig = {
  ...OFFLINE_CPU_CONFIG,
  backbone: DEFAULT_BACKBONE,
  imageSize: DEFAULT_BACKBONE_IMAGE_SIZE,
  scoring: 'distance',
};

/**
 * The official code's method (ResAD++, IJCV 2026) on top of any config: its
 * residual and matching, conv + BN + ReLU constraintor with gamma 1, the
 * log-barrier OCC loss, its flow losses, the residual codebook with EFDM at
 * inference and the merged normal / abnormal score. Sizes and schedule stay
 * the base config's, so a comparison with the paper's ResAD is at the same budget.
 */
export const RESADPP_OPTIONS = {
  residual: 'sqdiff',
  matchMetric: 'cosine',
  constraintor: 'conv-bn-relu',
  bnGammaInit: 'one',
  occ: 'logbarrier',
  occLevels: 'sum',
  flowLoss: 'resad++',
  flowSoftClamp: 'tanh',
  vqCodes: 1536,
  vqBeta: 0.25,
  efdmAlpha: 0.4,
  scoring: 'nll+abnormal',
} as const satisfies Partial<ResADConfig>;

/** `config` with the ResAD++ options switched on. */
export function withResADPlusPlus(config: ResADConfig): ResADConfig {
  return { ...config, ...RESADPP_OPTIONS };
}

/** ResAD++ as the official code trains it (10 coupling blocks), on the paper's backbone. */
export const RESADPP_CONFIG: ResADConfig = { ...withResADPlusPlus(PAPER_CONFIG), flowBlocks: 10 };

/** Config fields that only shape how a trained model scores (a model can be re-scored with other values, no retraining). */
export const SCORING_FIELDS = ['scoring', 'levelWeights', 'scoreSigma', 'logpShift'] as const;
export type ScoringField = (typeof SCORING_FIELDS)[number];

/** Only the scoring fields of `config` (what a saved model can be re-scored with). */
export function scoringFields(config: Partial<ResADConfig>): Partial<Pick<ResADConfig, ScoringField>> {
  const out: Record<string, unknown> = {};
  for (const key of SCORING_FIELDS) if (key in config) out[key] = config[key];
  return out as Partial<Pick<ResADConfig, ScoringField>>;
}

/** The config without its scoring fields: what the weights depend on (model folders are keyed by it). */
export function weightsConfig(config: ResADConfig): Omit<ResADConfig, ScoringField> {
  const out: Record<string, unknown> = { ...config };
  for (const key of SCORING_FIELDS) delete out[key];
  return out as Omit<ResADConfig, ScoringField>;
}

/**
 * The paper's configuration on ImageNet ResNet50-v2 (ONNX model zoo), the
 * nearest backbone to the paper's WideResNet50-2 that `resad weights get`
 * offers with a published hash (same levels: 256 / 512 / 1024 channels at
 * strides 4 / 8 / 16). Numbers from it are labelled as such, never as the paper's.
 */
export const PAPER_RESNET50_V2_CONFIG: ResADConfig = { ...PAPER_CONFIG, backbone: 'resnet50_v2' };

/** ResAD++ at the `cpu` preset's sizes and schedule (its offline twin: OFFLINE_CPU_RESADPP_CONFIG). */
export const CPU_RESADPP_CONFIG: ResADConfig = withResADPlusPlus(CPU_CONFIG);
export const OFFLINE_CPU_RESADPP_CONFIG: ResADConfig = withResADPlusPlus(OFFLINE_CPU_CONFIG);

export const CONFIG_PRESETS: Readonly<Record<string, ResADConfig>> = {
  paper: PAPER_CONFIG,
  'paper-resnet50_v2': PAPER_RESNET50_V2_CONFIG,
  cpu: CPU_CONFIG,
  'cpu-offline': OFFLINE_CPU_CONFIG,
  'resad++': RESADPP_CONFIG,
  'cpu-resad++': CPU_RESADPP_CONFIG,
};

/** Checks a config and names the first bad field. */
export function validateConfig(config: ResADConfig): ResADConfig {
  const positiveInt = (key: keyof ResADConfig): void => {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`ResAD config: ${key} must be a positive integer, got ${String(v)}`);
  };
  (['imageSize', 'flowBlocks', 'posEncodingDim', 'flowBatch', 'epochs', 'batchSize', 'trainShots'] as const).forEach(positiveInt);
  if (!(Number.isInteger(config.featurePooling) && config.featurePooling >= 1 && config.featurePooling % 2 === 1)) {
    throw new Error(`ResAD config: featurePooling must be an odd positive integer (1 = none), got ${String(config.featurePooling)}`);
  }
  if (config.stepsPerEpoch !== null && !(Number.isInteger(config.stepsPerEpoch) && config.stepsPerEpoch >= 1)) {
    throw new Error(`ResAD config: stepsPerEpoch must be null or a positive integer, got ${String(config.stepsPerEpoch)}`);
  }
  if (config.levelWeights !== null && !(Array.isArray(config.levelWeights) && config.levelWeights.every((w) => Number.isFinite(w) && w >= 0) && config.levelWeights.some((w) => w > 0))) {
    throw new Error(`ResAD config: levelWeights must be null or non-negative numbers with at least one > 0, got ${JSON.stringify(config.levelWeights)}`);
  }
  if (!(config.occPushMargin >= 0)) throw new Error(`ResAD config: occPushMargin must be >= 0, got ${String(config.occPushMargin)}`);
  if (config.posEncodingDim % 4 !== 0) throw new Error(`ResAD config: posEncodingDim must be a multiple of 4, got ${config.posEncodingDim}`);
  if (!(config.lr > 0)) throw new Error(`ResAD config: lr must be > 0, got ${config.lr}`);
  if (!(config.firstStageEpochs >= 0)) throw new Error(`ResAD config: firstStageEpochs must be >= 0`);
  if (!(config.bgsppBeta >= 0 && config.bgsppBeta < 1)) throw new Error(`ResAD config: bgsppBeta must be in [0, 1)`);
  if (config.flowSoftClamp !== undefined && !['atan', 'tanh', 'tanh-scaled'].includes(config.flowSoftClamp)) {
    throw new Error(`ResAD config: flowSoftClamp must be 'atan', 'tanh' or 'tanh-scaled', got ${String(config.flowSoftClamp)}`);
  }
  if (config.occLevels !== undefined && config.occLevels !== 'mean' && config.occLevels !== 'sum') throw new Error(`ResAD config: occLevels must be 'mean' or 'sum', got ${String(config.occLevels)}`);
  const codes = config.vqCodes ?? 0;
  if (!(Number.isInteger(codes) && codes >= 0)) throw new Error(`ResAD config: vqCodes must be absent or a non-negative integer, got ${String(config.vqCodes)}`);
  if (!((config.vqBeta ?? 0.25) >= 0)) throw new Error(`ResAD config: vqBeta must be >= 0, got ${String(config.vqBeta)}`);
  const alpha = config.efdmAlpha ?? 1;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`ResAD config: efdmAlpha must be in [0, 1] (1 = off), got ${String(config.efdmAlpha)}`);
  if (alpha < 1 && codes === 0) throw new Error(`ResAD config: efdmAlpha ${alpha} matches residuals towards the codebook, so it needs vqCodes > 0`);
  return config;
}
