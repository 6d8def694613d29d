/**
 * The stages of one training step (trainer.ts runs them; bench/train-step.ts
 * times them one by one): assemble the batch (references, matching,
 * residuals) -> ResAD++ codebook -> constraintor with the OCC loss -> each
 * level's flow on random position chunks (ML, BG-SPP) -> optimiser steps.
 */
import * as tf from '@tensorflow/tfjs';
import { occLossLevels } from '../constraintor/index';
import { ConditionalFlow, flowLoss, flowLossFromLatent, FlowLossOptions } from '../flow/index';
import { FusedFlowGrad } from '../flow/onnx-flow-grad';
import { onnxKernelsActive } from '../engine/onnx-kernels';
import { Rng } from '../util/rng';
import { concatFloat32 } from '../util/float32';
import { ReferencePool } from '../converter/index';
import { OnnxMatcher } from '../converter/onnx-matching';
import { onOnnxRuntime } from '../engine/onnxruntime';
import { Adam } from './adam';
import { ResADModel } from './model';
import { batchFeatures, TrainingSet } from './training-set';

/**
 * A step's batch: each image's residuals against K references drawn from its
 * own class, and the anomaly masks per level, flattened over the batch in the
 * residuals' row order.
 */
export async function assembleBatch(
  model: ResADModel,
  set: TrainingSet,
  batch: readonly number[],
  rng: Rng,
  matcher: OnnxMatcher | null,
): Promise<{ residuals: tf.Tensor4D[]; masks: Float32Array[] }> {
  const refs = batch.map((i) => trainingReferences(model, set, i, rng));
  const residuals = await batchResiduals(model, set, batch, refs, matcher);
  return { residuals, masks: batchMasks(set, batch) };
}

/** Anomaly flags of a batch per level, flattened in the residuals' row order. */
export function batchMasks(set: TrainingSet, batch: readonly number[]): Float32Array[] {
  return set.levelShapes.map(([h, w], l) => {
    const flat = new Float32Array(h * w * batch.length);
    batch.forEach((i, b) => flat.set(set.images[i].levelMasks[l], b * h * w));
    return flat;
  });
}

/**
 * The constraintor's OCC update with its own optimiser (none: it does not
 * train, occLoss 0); returns its training-mode output for the flows, which
 * the caller disposes.
 */
export function constraintorStep(model: ResADModel, residuals: tf.Tensor4D[], masks: Float32Array[], cOpt: Adam | null): { constrained: tf.Tensor4D[]; occLoss: number } {
  if (cOpt === null) return { constrained: model.constraintor.apply(residuals, true), occLoss: 0 };
  const cfg = model.config;
  let constrained: tf.Tensor4D[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const out = model.constraintor.apply(residuals, true);
    // The flows train on this same output: kept past the closure rather than computed twice.
    constrained = out.map((t) => tf.keep(t));
    const res = occLossLevels(out, residuals, masks, { variant: cfg.occ === 'off' ? 'paper' : cfg.occ, pushMargin: cfg.occPushMargin, levelReduction: cfg.occLevels ?? 'mean' });
    return res.loss;
  }, model.constraintorVariables);
  const occLoss = value.dataSync()[0];
  cOpt.step(grads);
  tf.dispose([value, grads]);
  return { constrained, occLoss };
}

/**
 * Flow updates fused into two onnxruntime runs each (src/flow/onnx-flow-grad.ts),
 * one pair of sessions per flow and row count, built on first use. Only on
 * the wasm backend with the onnxruntime kernels on (the same switch,
 * RESAD_ONNX_KERNELS): native TensorFlow runs the tfjs graph fast itself.
 */
export class FusedFlowUpdates {
  private readonly cache = new Map<ConditionalFlow, Map<number, FusedFlowGrad>>();

  /** An instance when the fused updates can run here, else null with the reason. */
  static create(): { value: FusedFlowUpdates; why: '' } | { value: null; why: string } {
    if (tf.getBackend() !== 'wasm') return { value: null, why: `backend ${tf.getBackend()}` };
    // The kernels are registered only where onnxruntime-node's synchronous binding loads.
    if (onnxKernelsActive().length === 0) return { value: null, why: 'onnxruntime kernels off' };
    return { value: new FusedFlowUpdates(), why: '' };
  }

  get(flow: ConditionalFlow, rows: number): FusedFlowGrad {
    let byRows = this.cache.get(flow);
    if (!byRows) this.cache.set(flow, (byRows = new Map()));
    let fused = byRows.get(rows);
    if (!fused) byRows.set(rows, (fused = FusedFlowGrad.create(flow, rows)));
    return fused;
  }

  dispose(): void {
    for (const byRows of this.cache.values()) for (const f of byRows.values()) f.dispose();
    this.cache.clear();
  }
}

/**
 * The flow updates of level `l` on the (detached) constraintor output:
 * random mini-batches of `flowBatch` positions; returns the loss parts of
 * each update, in order.
 */
export function levelFlowSteps(model: ResADModel, l: number, constrained: tf.Tensor4D, masks: Float32Array, stage: 1 | 2, rng: Rng, fOpt: Adam, fused: FusedFlowUpdates | null = null): Array<{ ml: number; bgspp: number }> {
  const cfg = model.config;
  const [b, h, w, c] = constrained.shape;
  const rows = b * h * w;
  const perm = rng.shuffle(Array.from({ length: rows }, (_, i) => i));
  const chunk = Math.min(cfg.flowBatch, rows);
  const allChunks = Math.max(1, Math.floor(rows / cfg.flowBatch));
  const chunks = cfg.flowChunksPerStep === null ? allChunks : Math.min(allChunks, cfg.flowChunksPerStep);
  const x = tf.reshape(constrained, [rows, c]) as tf.Tensor2D;
  // One image's position codes: a row's code is that of its position within its image (row mod h*w).
  const positions = model.conditionFor(1, h, w);
  try {
    return Array.from({ length: chunks }, (_, k) => flowStep(model, l, x, positions, perm.slice(k * chunk, (k + 1) * chunk), masks, stage, fOpt, fused));
  } finally {
    tf.dispose([x, positions]);
  }
}

/**
 * One update of level `l`'s flow on the positions `idx` (ML, plus BG-SPP in
 * stage 2 when they hold an anomaly and the boundary exists), then that
 * level's boundary moves with their logp. With `fused`, the flow's forward
 * and backward run on onnxruntime and only the loss is differentiated by tfjs.
 */
export function flowStep(model: ResADModel, l: number, x: tf.Tensor2D, positions: tf.Tensor2D, idx: readonly number[], masks: Float32Array, stage: 1 | 2, fOpt: Adam, fused: FusedFlowUpdates | null = null): { ml: number; bgspp: number } {
  const cfg = model.config;
  const flags = Float32Array.from(idx, (i) => masks[i]);
  const boundary = model.boundaries[l].value;
  const useBgspp = stage === 2 && flags.some((f) => f > 0.5) && cfg.bgsppWeight > 0;
  const options: FlowLossOptions = {
    kind: cfg.flowLoss,
    bgspp: useBgspp && boundary !== null ? { boundary, tau: cfg.bgsppTau, weight: cfg.bgsppWeight, reduction: cfg.bgsppReduction } : null,
  };
  const idxT = tf.tensor1d(Int32Array.from(idx), 'int32');
  const perImage = positions.shape[0];
  const posT = tf.tensor1d(Int32Array.from(idx, (i) => i % perImage), 'int32');
  const xb = tf.gather(x, idxT) as tf.Tensor2D;
  const cb = tf.gather(positions, posT) as tf.Tensor2D;
  const flagT = tf.tensor1d(flags);
  // The gradient functions hand back only the total: the parts are read while their scope still holds them.
  let read: { ml: number; bgspp: number; logp: Float32Array } = { ml: 0, bgspp: 0, logp: new Float32Array(0) };
  const readParts = (loss: ReturnType<typeof flowLoss>): tf.Scalar => {
    read = { ml: loss.ml.dataSync()[0], bgspp: loss.bgspp === undefined ? 0 : loss.bgspp.dataSync()[0], logp: loss.logp.dataSync() as Float32Array };
    return loss.total;
  };
  try {
    if (fused) {
      const flowGrad = fused.get(model.flows[l], idx.length);
      const { z, logdet } = flowGrad.forward(xb, cb);
      const { value, grads } = tf.valueAndGrads((zz: tf.Tensor, ld: tf.Tensor) => readParts(flowLossFromLatent(zz as tf.Tensor2D, ld as tf.Tensor1D, flagT, options)))([z, logdet]);
      const weightGrads = flowGrad.weightGrads(xb, cb, grads[0] as tf.Tensor2D, grads[1] as tf.Tensor1D);
      fOpt.step(weightGrads);
      tf.dispose([z, logdet, value, ...grads, weightGrads]);
    } else {
      const { value, grads } = tf.variableGrads(() => readParts(flowLoss(model.flows[l], xb, cb, flagT, options)), model.flows[l].trainableVariables);
      fOpt.step(grads);
      tf.dispose([value, grads]);
    }
  } finally {
    tf.dispose([idxT, posT, xb, cb, flagT]);
  }
  model.boundaries[l].updateFromValues(read.logp, flags);
  return { ml: read.ml, bgspp: read.bgspp };
}

/**
 * One ResAD++ codebook update: each level's codebook fitted to the normal
 * positions of the batch's residuals (before the constraintor, as the
 * official code); returns the summed loss over levels.
 */
export function codebookStep(model: ResADModel, residuals: readonly tf.Tensor4D[], masks: readonly Float32Array[], codebookAdam: Adam): number {
  const beta = model.config.vqBeta ?? 0.25;
  const grads: tf.NamedTensorMap = {};
  let loss = 0;
  model.codebooks.forEach((book, l) => {
    const values = residuals[l].dataSync() as Float32Array;
    const c = book.dim;
    const normal = masks[l].reduce((n, m) => n + (m > 0.5 ? 0 : 1), 0);
    const rows = new Float32Array(normal * c);
    let k = 0;
    masks[l].forEach((m, i) => {
      if (m > 0.5) return;
      rows.set(values.subarray(i * c, (i + 1) * c), k * c);
      k++;
    });
    const out = book.lossAndGradient(rows, beta);
    loss += out.loss;
    grads[book.codes.name] = out.grad;
  });
  codebookAdam.step(grads);
  tf.dispose(Object.values(grads));
  return loss;
}


/** K references of the image's own class, never the image itself (indices into the set). */
export function trainingReferences(model: ResADModel, set: TrainingSet, image: number, rng: Rng): number[] {
  const own = set.images[image];
  const choices = set.normalsByClass.get(own.className)!.filter((j) => j !== image);
  return rng.sample(choices, Math.min(model.config.trainShots, choices.length));
}

export function poolOf(set: TrainingSet, refs: readonly number[]): ReferencePool {
  const stacked = batchFeatures(set, refs);
  try {
    return ReferencePool.fromFeatures(stacked);
  } finally {
    tf.dispose(stacked);
  }
}

/**
 * Matching needs no gradient (nothing upstream of the residual trains):
 * onnxruntime does it when it can; null means tfjs.
 */
export async function trainingMatcher(model: ResADModel, request: string | undefined, quiet: boolean): Promise<OnnxMatcher | null> {
  const cfg = model.config;
  const residual = cfg.residual;
  const { value: matcher, why } =
    residual === 'none'
      ? { value: null, why: 'no residual' }
      : await onOnnxRuntime(request, 'training residuals', () => OnnxMatcher.create(model.backbone.levels.map((l) => l.channels), { metric: cfg.matchMetric, mode: residual }));
  if (!quiet) console.error(`matching: ${matcher ? 'onnxruntime, 1 thread' : `tfjs (${why})`}`);
  return matcher;
}

/** Residuals of a batch, each image against its own references: on onnxruntime when `matcher` is given, else tfjs. */
export async function batchResiduals(model: ResADModel, set: TrainingSet, batch: readonly number[], refs: readonly number[][], matcher: OnnxMatcher | null): Promise<tf.Tensor4D[]> {
  if (matcher === null) {
    const features = batchFeatures(set, batch);
    const pools = refs.map((r) => poolOf(set, r));
    try {
      return model.residuals(features, pools);
    } finally {
      tf.dispose(features);
      for (const p of pools) p.dispose();
    }
  }
  const out = set.levelShapes.map(([h, w, c]) => new Float32Array(batch.length * h * w * c));
  for (let b = 0; b < batch.length; b++) {
    const pools = set.levelShapes.map((_, l) => concatFloat32(refs[b].map((j) => set.images[j].features[l])));
    const r = await matcher.residuals(set.images[batch[b]].features, pools);
    r.forEach((values, l) => out[l].set(values, b * values.length));
  }
  return set.levelShapes.map(([h, w, c], l) => tf.tensor4d(out[l], [batch.length, h, w, c]));
}
