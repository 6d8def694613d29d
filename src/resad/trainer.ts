/**
 * Two-stage ResAD training (RESAD_SPEC steps 5-8):
 *
 * - every step, each image gets K references drawn at random from the normal
 *   images of ITS class (never itself) and its residuals are formed;
 * - the constraintor is trained by the OCC loss with its own Adam optimiser;
 * - its output, detached, trains the per-level flows (ML loss, plus BG-SPP
 *   once anomalies join in stage 2) with a second Adam optimiser, on random
 *   mini-batches of `flowBatch` positions per level;
 * - stage 1 (the first `firstStageEpochs` epochs) uses normal images only;
 * - learning rates drop x0.1 at `lrMilestones`;
 * - ResAD++ (config.vqCodes > 0): before the constraintor, each level's
 *   codebook is fitted to the step's normal residual positions with a third
 *   Adam (same learning rate and decay), as the official main.py does.
 *
 * Deviation, documented: the BG-SPP boundary used by a step is the moving
 * average before that step's batch is added (the official code adds the batch
 * first, which needs a second forward pass of the flow).
 *
 * With `outDir`, a checkpoint is written after every epoch and a later call
 * resumes from it; the final model is saved to `outDir` itself, replacing a
 * model already there only once the new one is complete. The config and a
 * fingerprint of the training data (training-identity.ts) are recorded in
 * both, and a checkpoint of another config or other data is never resumed.
 * Callers that must not replace a different finished model check first with
 * inspectModelFolder (as `resad train` does).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Sample } from '../data/sample';
import { Rng } from '../util/rng';
import { Progress } from '../util/progress';
import type { OnnxMatcher } from '../converter/onnx-matching';
import { Adam, AdamState } from './adam';
import type { LevelScoreStats, MeanStd } from '../scoring/anomaly-map';
import { readWeightsFolder, saveModel, writeWeightsFolder, MODEL_FILE } from './checkpoint';
import { CHECKPOINT_DIR, checkpointRecoveryHint, configDifferences, dataDifferences, TrainingDataIdentity, trainingDataIdentity } from './training-identity';
import { ResADModel } from './model';
import { batchFeatures, disposeTrainingSet, prepareTrainingSet, TrainingSet } from './training-set';
import { assembleBatch, codebookStep, constraintorStep, FusedFlowUpdates, levelFlowSteps, poolOf, trainingMatcher, trainingReferences } from './training-step';

export interface EpochReport {
  epoch: number;
  stage: 1 | 2;
  steps: number;
  lr: number;
  occLoss: number;
  /** ResAD++ codebook loss (absent without a codebook). */
  vqLoss?: number;
  mlLoss: number;
  bgsppLoss: number;
  boundaries: Array<number | null>;
  seconds: number;
}

export interface TrainingReport {
  epochs: EpochReport[];
  resumedFromEpoch: number | null;
  seconds: number;
  featureSeconds: number;
  counts: TrainingSet['counts'];
  classes: string[];
}

export interface TrainOptions {
  /** Model folder: checkpoints go to OUT/checkpoint, the final model to OUT. */
  outDir?: string;
  /** Resume from OUT/checkpoint when present (default true). */
  resume?: boolean;
  /** Delete OUT/checkpoint first and start from epoch 1 (`resad train --restart`). */
  restart?: boolean;
  quiet?: boolean;
  /** Engine of the frozen backbone's forward pass (the feature cache): 'auto' (default: onnxruntime when installed), 'onnx' or 'tfjs'. */
  inference?: string;
  onEpoch?: (report: EpochReport) => void;
  /**
   * Awaited after every epoch (and its checkpoint) with the epoch index and the
   * training seconds so far (feature extraction included, time spent in this
   * hook excluded) and the model being trained: learning curves evaluate it here.
   */
  afterEpoch?: (epoch: number, trainingSeconds: number, model: ResADModel) => Promise<void> | void;
}

interface CheckpointExtra {
  [key: string]: unknown;
  /** Absent in checkpoints written before the training data was recorded. */
  data?: TrainingDataIdentity;
  epoch: number;
  history: EpochReport[];
  constraintorAdam: { steps: number[] };
  flowAdam: { steps: number[] };
  /** ResAD++ only. */
  codebookAdam?: { steps: number[] };
}

function adamWeights(prefix: string, state: AdamState): Array<{ name: string; shape: number[]; values: Float32Array }> {
  return state.m.flatMap((m, i) => [
    { name: `${prefix}/m/${i}`, shape: [m.length], values: m },
    { name: `${prefix}/v/${i}`, shape: [m.length], values: state.v[i] },
  ]);
}

function adamFrom(prefix: string, steps: number[], weights: Map<string, Float32Array>): AdamState {
  const get = (k: string): Float32Array => {
    const v = weights.get(k);
    if (!v) throw new Error(`checkpoint: missing optimiser state ${k}`);
    return v;
  };
  return { steps, m: steps.map((_, i) => get(`${prefix}/m/${i}`)), v: steps.map((_, i) => get(`${prefix}/v/${i}`)) };
}

function lrAt(model: ResADModel, epoch: number): number {
  const drops = model.config.lrMilestones.filter((m) => epoch >= m).length;
  return model.config.lr * Math.pow(0.1, drops);
}

/** Trains `model` in place on the known classes in `samples` (train + test images, with masks). */
export async function trainResAD(model: ResADModel, samples: readonly Sample[], options: TrainOptions = {}): Promise<TrainingReport> {
  const cfg = model.config;
  const started = Date.now();
  let hookMs = 0;
  let calibratedAfter = -1;
  const cOpt = new Adam(model.constraintorVariables, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const fOpt = new Adam(model.flowVariables, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const vOpt = new Adam(model.codebooks.map((b) => b.codes), { lr: cfg.lr, weightDecay: cfg.weightDecay });
  const history: EpochReport[] = [];
  let firstEpoch = 0;
  let resumedFromEpoch: number | null = null;
  const ckptDir = options.outDir ? path.join(options.outDir, CHECKPOINT_DIR) : null;
  const data = trainingDataIdentity(samples);

  if (ckptDir && options.restart) fs.rmSync(ckptDir, { recursive: true, force: true });
  if (ckptDir && options.resume !== false && fs.existsSync(path.join(ckptDir, MODEL_FILE))) {
    const { file, weights } = readWeightsFolder<CheckpointExtra>(ckptDir, { recovery: checkpointRecoveryHint('library') });
    const differences = [...configDifferences(file.config, cfg), ...(file.extra.data ? dataDifferences(file.extra.data, data) : [])];
    if (differences.length > 0) {
      throw new Error(`${ckptDir}: checkpoint of a training with a different config or data (${differences.join('; ')}); ${checkpointRecoveryHint('library')}, or use another output folder`);
    }
    const byName = new Map(weights.map((w) => [w.name, w.values]));
    model.setWeights(weights.filter((w) => !w.name.startsWith('adam-')));
    file.boundaries.forEach((b, l) => model.boundaries[l].setState(b));
    cOpt.setState(adamFrom('adam-c', file.extra.constraintorAdam.steps, byName));
    fOpt.setState(adamFrom('adam-f', file.extra.flowAdam.steps, byName));
    if (file.extra.codebookAdam) vOpt.setState(adamFrom('adam-v', file.extra.codebookAdam.steps, byName));
    history.push(...file.extra.history);
    firstEpoch = file.extra.epoch + 1;
    resumedFromEpoch = file.extra.epoch;
    if (!options.quiet) console.error(`resuming from ${ckptDir} after epoch ${file.extra.epoch + 1}/${cfg.epochs}`);
  }

  let set: TrainingSet | null = null;
  let matcher: OnnxMatcher | null = null;
  let fused: FusedFlowUpdates | null = null;
  let featureSeconds = 0;
  try {
    const featStart = Date.now();
    set = await prepareTrainingSet(model, samples, { quiet: options.quiet, inference: options.inference });
    featureSeconds = (Date.now() - featStart) / 1000;
    if (!options.quiet) {
      const c = set.counts;
      console.error(
        `training set: ${c.classes} classes, ${c.normals} normal, ${c.realAnomalies} real + ${c.syntheticAnomalies} synthetic anomalous images; ` +
          `cached features ${(set.featureBytes / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    matcher = await trainingMatcher(model, options.inference, options.quiet ?? false);
    const fusedChoice = FusedFlowUpdates.create();
    fused = fusedChoice.value;
    if (!options.quiet) console.error(`flow updates: ${fused ? 'fused on onnxruntime, 1 thread' : `tfjs (${fusedChoice.why})`}`);
    for (let epoch = firstEpoch; epoch < cfg.epochs; epoch++) {
      const report = await runEpoch(model, set, matcher, fused, epoch, { constraintor: cOpt, flow: fOpt, codebook: vOpt }, options.quiet ?? false);
      history.push(report);
      options.onEpoch?.(report);
      if (!options.quiet) {
        console.error(
          `epoch ${epoch + 1}/${cfg.epochs} stage ${report.stage}: occ ${report.occLoss.toFixed(4)}${report.vqLoss !== undefined ? ` vq ${report.vqLoss.toFixed(4)}` : ''} ml ${report.mlLoss.toFixed(4)} ` +
            `bgspp ${report.bgsppLoss.toFixed(4)} lr ${report.lr.toExponential(1)} (${report.seconds.toFixed(1)} s)`,
        );
      }
      if (ckptDir) {
        const cState = cOpt.getState();
        const fState = fOpt.getState();
        const vState = vOpt.getState();
        writeWeightsFolder<CheckpointExtra>(ckptDir, [...model.getWeights(), ...adamWeights('adam-c', cState), ...adamWeights('adam-f', fState), ...adamWeights('adam-v', vState)], {
          config: cfg,
          levels: model.backbone.levels.map((l) => ({ ...l })),
          boundaries: model.boundaries.map((b) => b.getState()),
          scoreStats: null,
          extra: { data, epoch, history, constraintorAdam: { steps: cState.steps }, flowAdam: { steps: fState.steps }, codebookAdam: { steps: vState.steps } },
        });
      }
      if (options.afterEpoch) {
        const hookStart = Date.now();
        // The hook evaluates the model as it is now: give it this epoch's score statistics.
        model.scoreStats = calibrateScoreStats(model, set);
        calibratedAfter = epoch;
        await options.afterEpoch(epoch, (hookStart - started - hookMs) / 1000, model);
        hookMs += Date.now() - hookStart;
      }
    }
    // Seeded, so statistics already measured after the last epoch are what this would give again.
    if (calibratedAfter !== cfg.epochs - 1) model.scoreStats = calibrateScoreStats(model, set);
  } finally {
    await matcher?.release();
    fused?.dispose();
    if (set) disposeTrainingSet(set);
    cOpt.dispose();
    fOpt.dispose();
    vOpt.dispose();
  }
  const result: TrainingReport = {
    epochs: history,
    resumedFromEpoch,
    seconds: (Date.now() - started - hookMs) / 1000,
    featureSeconds,
    counts: set.counts,
    classes: [...set.normalsByClass.keys()].sort(),
  };
  if (options.outDir) {
    saveModel(options.outDir, model, { training: result, data });
    if (ckptDir) fs.rmSync(ckptDir, { recursive: true, force: true });
  }
  return result;
}

interface Optimisers {
  constraintor: Adam;
  flow: Adam;
  codebook: Adam;
}

/** One epoch; each step: assemble the batch -> codebook (ResAD++) -> constraintor -> flows, level by level. */
async function runEpoch(model: ResADModel, set: TrainingSet, matcher: OnnxMatcher | null, fused: FusedFlowUpdates | null, epoch: number, opt: Optimisers, quiet: boolean): Promise<EpochReport> {
  const cfg = model.config;
  const t0 = Date.now();
  const stage: 1 | 2 = epoch < cfg.firstStageEpochs ? 1 : 2;
  const lr = lrAt(model, epoch);
  for (const o of [opt.constraintor, opt.flow, opt.codebook]) o.lr = lr;
  const rng = new Rng(cfg.seed).fork(`epoch${epoch}`);
  const candidates = set.images.map((_, i) => i).filter((i) => stage === 2 || !set.images[i].anomalous);
  const order = rng.shuffle(candidates);
  const fullPass = Math.max(1, Math.floor(order.length / cfg.batchSize));
  const steps = cfg.stepsPerEpoch === null ? fullPass : Math.min(fullPass, cfg.stepsPerEpoch);
  const progress = new Progress(`epoch ${epoch + 1}/${cfg.epochs}`, steps, { quiet });
  let occSum = 0;
  let vqSum = 0;
  let mlSum = 0;
  let bgSum = 0;
  let flowSteps = 0;
  const trainConstraintor = cfg.occ !== 'off' && model.constraintorVariables.length > 0;

  for (let s = 0; s < steps; s++) {
    const { residuals, masks } = await assembleBatch(model, set, order.slice(s * cfg.batchSize, (s + 1) * cfg.batchSize), rng, matcher);
    if (model.codebooks.length > 0) vqSum += codebookStep(model, residuals, masks, opt.codebook);
    const { constrained, occLoss } = constraintorStep(model, residuals, masks, trainConstraintor ? opt.constraintor : null);
    tf.dispose(residuals);
    occSum += occLoss;
    for (let l = 0; l < model.numLevels; l++) {
      // Summed update by update, in order: the report's float sums stay what they were.
      for (const part of levelFlowSteps(model, l, constrained[l], masks[l], stage, rng, opt.flow, fused)) {
        mlSum += part.ml;
        bgSum += part.bgspp;
        flowSteps++;
      }
    }
    tf.dispose(constrained);
    progress.tick(1, `ml ${(mlSum / Math.max(1, flowSteps)).toFixed(3)}`);
  }
  return {
    epoch,
    stage,
    steps,
    lr,
    occLoss: trainConstraintor ? occSum / steps : 0,
    ...(model.codebooks.length > 0 ? { vqLoss: vqSum / steps } : {}),
    mlLoss: mlSum / Math.max(1, flowSteps),
    bgsppLoss: bgSum / Math.max(1, flowSteps),
    boundaries: model.boundaries.map((b) => b.value),
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Normal training images used to measure the per-level score statistics. */
export const CALIBRATION_IMAGES = 64;

/**
 * Per-level mean and standard deviation of -logp / C, of ||r'|| and of the
 * abnormal-density probability on normal
 * training images, each scored against K references of its own class (never
 * itself), exactly as a test image is scored: what the standardised scoring
 * modes use. Images are spread evenly over the known classes; draws are seeded.
 */
export function calibrateScoreStats(model: ResADModel, set: TrainingSet, imagesWanted = CALIBRATION_IMAGES): LevelScoreStats[] {
  const rng = new Rng(model.config.seed).fork('score-calibration');
  const classes = [...set.normalsByClass.keys()].sort();
  const queues = classes.map((c) => rng.shuffle(set.normalsByClass.get(c)!.slice()));
  const picks: number[] = [];
  const total = queues.reduce((s, q) => s + q.length, 0);
  for (let round = 0; picks.length < Math.min(imagesWanted, total); round++) {
    for (const q of queues) if (round < q.length && picks.length < imagesWanted) picks.push(q[round]);
  }
  const levels = model.numLevels;
  const nll = Array.from({ length: levels }, () => new RunningMoments());
  const distance = Array.from({ length: levels }, () => new RunningMoments());
  const abnormal = Array.from({ length: levels }, () => new RunningMoments());
  const batch = Math.max(1, model.config.batchSize);
  for (let start = 0; start < picks.length; start += batch) {
    const chunk = picks.slice(start, start + batch);
    const features = batchFeatures(set, chunk);
    const pools = chunk.map((i) => poolOf(set, trainingReferences(model, set, i, rng)));
    try {
      const out = model.levelOutputs(features, pools);
      out.logps.forEach((values, l) => nll[l].addAll(values, -1));
      out.distances.forEach((values, l) => distance[l].addAll(values, 1));
      out.abnormal.forEach((values, l) => abnormal[l].addAll(values, 1));
    } finally {
      tf.dispose(features);
      for (const p of pools) p.dispose();
    }
  }
  return Array.from({ length: levels }, (_, l) => ({ nll: nll[l].result(), distance: distance[l].result(), abnormal: abnormal[l].result() }));
}

/** Mean and standard deviation accumulated in float64. */
class RunningMoments {
  private sum = 0;
  private squares = 0;
  private count = 0;

  addAll(values: Float32Array, sign: 1 | -1): void {
    for (let i = 0; i < values.length; i++) {
      const v = sign * values[i];
      this.sum += v;
      this.squares += v * v;
    }
    this.count += values.length;
  }

  result(): MeanStd {
    const mean = this.sum / this.count;
    const sd = Math.sqrt(Math.max(0, this.squares / this.count - mean * mean));
    // A degenerate level (constant values) keeps unit scale rather than dividing by 0.
    return { mean, std: sd > 1e-6 ? sd : 1 };
  }
}
