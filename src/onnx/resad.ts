/**
 * A trained ResAD model as one ONNX graph: preprocessed images and the
 * class's reference pool in, anomaly maps and image scores out.
 *
 * Inputs
 * - `images` [batch, S, S, 3]: RGB in [0,1], resized / cropped to the model's
 *   imageSize S (the backbone's normalisation is inside the graph);
 * - `pool0..pool{L-1}` [M_l, C_l]: the reference pool of the class, i.e. the
 *   `features{l}` output of the K reference images, concatenated. A new class
 *   needs no new model: run the references once (any 1-row pool, e.g. zeros,
 *   will do for that run), concatenate, then score.
 *
 * Outputs: `anomaly_map` [batch, S, S], `image_score` [batch] (the map's
 * maximum), and per level `features{l}` [batch*h*w, C] (locally averaged
 * backbone features), `residual{l}` [batch*h*w, C], `distance{l}` ||r'||
 * [batch, h*w] and `logp{l}` (log p / C) [batch, h*w], for checks.
 *
 * How the pieces map (the tfjs path in src/resad/model.ts is the reference):
 * - nearest neighbour: argmax over 2 q.p - ||p||^2 (l2) or over unit-row dot
 *   products (cosine), then Gather; ties resolve to the first index as in tfjs;
 * - constraintor: Conv with its BatchNorm folded in (+ Relu), NCHW;
 * - flows: the condition's share of the first subnet layer (position code x
 *   W1[len1:] + b1) is a per-level constant computed at export; the 0.1
 *   subnet output scale is folded into W2;
 * - map: bilinear upsampling (align corners) and the Gaussian blur (scipy
 *   'reflect' borders) are both linear and separable, so each level's
 *   contribution is A_h . s . A_w^T with A built at export by running the
 *   tfjs path's own 1-D resize and blur on unit impulses.
 */
import type { ResADModel, ScoringOverride } from '../resad/model';
import { positionalEncoding2dValues } from '../flow/positional-encoding';
import { addMatched, addResidual } from '../converter/onnx-matching';
import type { ResidualCodebook } from '../converter/residual-codebook';
import { LOG_2PI } from '../flow/conditional-flow';
import { BATCH_NORM_EPS } from '../constraintor/layers';
import type { ConstraintorKind } from '../constraintor/kinds';
import { gaussianBlur, resizeBilinear } from '../scoring/anomaly-map';
import type { LevelScoreStats } from '../scoring/anomaly-map';
import type { ResADConfig } from '../resad/config';
import type { Backbone } from '../backbones/types';
import { addBackbone, convKernel } from '../backbones/onnx-export';
import { OnnxGraph } from '../util/onnx-graph';

/** Metadata key holding the JSON description of an exported model. */
export const ONNX_METADATA_KEY = 'resad';

/** What every exported file says about itself (metadata `resad`, JSON). */
export interface OnnxModelInfoBase {
  format: 'resad-onnx';
  version: 1;
  backbone: string;
  imageSize: number;
  resizeMode: ResADConfig['resizeMode'];
  /** Input contract: RGB, [0,1], NHWC; the backbone's normalisation is applied inside. */
  input: { layout: 'NHWC'; range: [0, 1]; normalization: { scale: number; mean: number[]; std: number[] } };
  /** The pool inputs / features outputs, one per entry (ResAD: the backbone levels; PatchCore: one embedding). */
  levels: Array<{ name: string; channels: number; stride: number; height: number; width: number }>;
  scoreSigma: number;
}

/** A ResAD model. */
export interface ResADOnnxInfo extends OnnxModelInfoBase {
  kind: 'resad';
  scoring: ResADConfig['scoring'];
  levelWeights: number[];
  featurePooling: number;
  residual: ResADConfig['residual'];
  matchMetric: ResADConfig['matchMetric'];
  /** Per-level statistics of the training normals the scores are standardised with (null for 'paper' scoring). */
  scoreStats: LevelScoreStats[] | null;
  /** The full training config, for reproducibility. */
  config: ResADConfig;
}

/** The training-free PatchCore baseline (memory bank = the pool input). */
export interface PatchCoreOnnxInfo extends OnnxModelInfoBase {
  kind: 'patchcore';
  /** The baseline's resolved options, as results files record them. */
  method: Record<string, unknown>;
}

export type OnnxModelInfo = ResADOnnxInfo | PatchCoreOnnxInfo;

/** The input contract of a backbone, for the metadata. */
export function inputInfo(backbone: Backbone): OnnxModelInfoBase['input'] {
  const n = backbone.inputNormalization;
  return { layout: 'NHWC', range: [0, 1], normalization: { scale: n.scale, mean: [...n.mean], std: [...n.std] } };
}

type Weights = ReadonlyMap<string, { shape: number[]; values: Float32Array }>;

function weightMap(list: ReadonlyArray<{ name: string; shape: readonly number[]; values: Float32Array }>): Weights {
  return new Map(list.map((w) => [w.name, { shape: [...w.shape], values: w.values }]));
}

function need(weights: Weights, name: string, where: string): { shape: number[]; values: Float32Array } {
  const w = weights.get(name);
  if (!w) throw new Error(`${where}: weight ${name} missing`);
  return w;
}

/** Rows [r0, r1) and columns [c0, c1) of a row-major [rows, cols] matrix. */
function block(values: Float32Array, cols: number, r0: number, r1: number, c0: number, c1: number, scale = 1): Float32Array {
  const out = new Float32Array((r1 - r0) * (c1 - c0));
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[(r - r0) * (c1 - c0) + (c - c0)] = values[r * cols + c] * scale;
  return out;
}

/**
 * [outSize, inSize] matrix of "upsample bilinearly (align corners), then
 * Gaussian-blur with scipy reflect borders" along one axis, built by running
 * the scoring code on unit impulses (so it cannot drift from it).
 */
export function mapOperator(inSize: number, outSize: number, sigma: number, alignCorners = true): Float32Array {
  const a = new Float32Array(outSize * inSize);
  for (let j = 0; j < inSize; j++) {
    const impulse = new Float32Array(inSize);
    impulse[j] = 1;
    const up = resizeBilinear({ width: inSize, height: 1, data: impulse }, outSize, 1, alignCorners);
    const col = gaussianBlur(up, sigma).data;
    for (let i = 0; i < outSize; i++) a[i * inSize + j] = col[i];
  }
  return a;
}

export function transposeMatrix(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}


/**
 * The constraintor of level l in inference mode (BatchNorm with its running
 * statistics, folded into the conv): residual rows [B*h*w, C] in NHWC order
 * -> [B, h*w, C]. `weights` are the constraintor's, under its own names.
 */
export function addConstraintorLevel(g: OnnxGraph, kind: ConstraintorKind, weights: Weights, l: number, r: string, h: number, w: number, c: number): string {
  if (kind === 'none') return g.node('Reshape', [r, g.ints('shape', [-1, h * w, c])]);
  if (kind !== 'conv-bn' && kind !== 'conv-bn-relu') {
    throw new Error(`ONNX export: constraintor '${kind}' is not exported yet (exported: none, conv-bn, conv-bn-relu)`);
  }
  const where = 'ONNX export of the constraintor';
  const name = `l${l + 1}_proj`;
  const kernel = need(weights, `${name}.conv.weight`, where);
  const bias = weights.get(`${name}.conv.bias`);
  const k = kernel.shape[0];
  // BatchNorm (inference) folded into the conv: w' = w a, b' = (b - mean) a + beta, a = gamma / sqrt(var + eps).
  const gamma = need(weights, `${name}.bn.weight`, where).values;
  const beta = need(weights, `${name}.bn.bias`, where).values;
  const mean = need(weights, `${name}.bn.running_mean`, where).values;
  const variance = need(weights, `${name}.bn.running_var`, where).values;
  const folded = convKernel(kernel.values, kernel.shape); // [co, ci, k, k]
  const foldedBias = new Float32Array(c);
  const per = c * k * k;
  for (let o = 0; o < c; o++) {
    const a = gamma[o] / Math.sqrt(variance[o] + BATCH_NORM_EPS);
    for (let i = 0; i < per; i++) folded[o * per + i] *= a;
    foldedBias[o] = ((bias ? bias.values[o] : 0) - mean[o]) * a + beta[o];
  }
  let x = g.node('Transpose', [g.node('Reshape', [r, g.ints('shape', [-1, h, w, c])])], { perm: [0, 3, 1, 2] });
  const p = (k - 1) / 2;
  x = g.node('Conv', [x, g.constant('cw', folded, [c, c, k, k]), g.constant('cb', foldedBias, [c])], { kernel_shape: [k, k], pads: [p, p, p, p] });
  if (kind === 'conv-bn-relu') x = g.node('Relu', [x]);
  return g.node('Reshape', [g.node('Transpose', [x], { perm: [0, 2, 3, 1] }), g.ints('shape', [-1, h * w, c])]);
}

/** log p(x | position) / C of rows x [B, h*w, C] under level l's flow -> [B, h*w], and the latent z [B, h*w, C]. */
function flowLogp(g: OnnxGraph, model: ResADModel, l: number, x: string, h: number, w: number): { logp: string; z: string } {
  const flow = model.flows[l];
  const { dim: c, condDim, clamp, softClamp } = flow.config;
  const weights = weightMap(flow.getWeights());
  const where = `ONNX export of flow ${l}`;
  const cond = positionalEncoding2dValues(h, w, condDim);
  let logdet: string | null = null;
  let constantLogdet = 0;
  let z = x;
  flow.blocks.forEach((b, i) => {
    const p = `block${i}.`;
    const { len1, len2, hidden } = b;
    const w1 = need(weights, `${p}w1`, where).values; // [len1 + P, hidden]
    const b1 = need(weights, `${p}b1`, where).values;
    const w2 = need(weights, `${p}w2`, where).values; // [hidden, 2 len2]
    const b2 = need(weights, `${p}b2`, where).values;
    // The condition's share of the first layer is fixed per position: cond [hw, P] x W1[len1:] + b1.
    const condTerm = new Float32Array(h * w * hidden);
    for (let q = 0; q < h * w; q++) {
      for (let j = 0; j < hidden; j++) {
        let acc = b1[j];
        for (let k = 0; k < condDim; k++) acc += cond[q * condDim + k] * w1[(len1 + k) * hidden + j];
        condTerm[q * hidden + j] = acc;
      }
    }
    const x1 = g.node('Slice', [z, g.ints('start', [0]), g.ints('end', [len1]), g.ints('axis', [2])]);
    const x2 = g.node('Slice', [z, g.ints('start', [len1]), g.ints('end', [c]), g.ints('axis', [2])]);
    const hid = g.node('Relu', [g.node('Add', [g.node('MatMul', [x1, g.constant('w1', block(w1, hidden, 0, len1, 0, hidden), [len1, hidden])]), g.constant('cond', condTerm, [h * w, hidden])])]);
    const coef = (c0: number, c1: number, tag: string): string =>
      g.node('Add', [g.node('MatMul', [hid, g.constant(`w2${tag}`, block(w2, 2 * len2, 0, hidden, c0, c1, 0.1), [hidden, len2])]), g.constant(`b2${tag}`, block(b2, 2 * len2, 0, 1, c0, c1, 0.1), [len2])]);
    const a = coef(0, len2, 's');
    const shift = coef(len2, 2 * len2, 't');
    let s: string;
    if (softClamp === 'atan') s = g.node('Mul', [g.node('Atan', [g.node('Mul', [a, g.constant('inv_clamp', [1 / clamp], [])])]), g.constant('clamp', [clamp * 0.636], [])]);
    else if (softClamp === 'tanh') s = g.node('Mul', [g.node('Tanh', [a]), g.constant('clamp', [clamp], [])]);
    else s = g.node('Mul', [g.node('Tanh', [g.node('Mul', [a, g.constant('inv_clamp', [1 / clamp], [])])]), g.constant('clamp', [clamp], [])]);
    const y2 = g.node('Add', [g.node('Mul', [x2, g.node('Exp', [s])]), shift]);
    // Global affine: g = 0.2 softplus(gamma / 2), fixed after training.
    const gamma = need(weights, `${p}globalScale`, where).values;
    const scale = Float32Array.from(gamma, (v) => 0.2 * Math.log1p(Math.exp(v / 2)));
    for (const v of scale) constantLogdet += Math.log(v);
    let u = g.node('Add', [g.node('Mul', [g.node('Concat', [x1, y2], { axis: 2 }), g.constant('gscale', scale, [c])]), g.constant('goffset', need(weights, `${p}globalOffset`, where).values, [c])]);
    const perm = weights.get(`${p}perm`);
    if (perm) u = g.node('MatMul', [u, g.constant('perm', perm.values, [c, c])]);
    z = u;
    const sumS = g.node('ReduceSum', [s, g.ints('axes', [2])], { keepdims: 0 });
    logdet = logdet === null ? sumS : g.node('Add', [logdet, sumS]);
  });
  const sq = g.node('ReduceSumSquare', [z], { axes: [2], keepdims: 0 });
  const logp = g.node('Add', [g.node('Mul', [sq, g.constant('mhalf', [-0.5], [])]), g.node('Add', [logdet!, g.constant('const', [constantLogdet - 0.5 * c * LOG_2PI], [])])]);
  return { logp: g.node('Mul', [logp, g.constant('inv_dim', [1 / c], [])]), z };
}

/**
 * ResAD++ EFDM of residual rows r [B*h*w, C] towards their nearest codes
 * (src/converter/residual-codebook.ts): ArgMin over ||e||^2 - 2 r.e, the
 * codes gathered, both sorted per image and channel over the h*w positions
 * (TopK ascending), blended, and scattered back to the input's positions.
 */
function addEfdm(g: OnnxGraph, book: ResidualCodebook, alpha: number, r: string, hw: number): string {
  const { size: k, dim: c } = book;
  const codes = book.codes.dataSync() as Float32Array;
  const minus2T = transposeMatrix(Float32Array.from(codes, (v) => -2 * v), k, c);
  const norms = new Float32Array(k);
  for (let j = 0; j < k; j++) for (let q = 0; q < c; q++) norms[j] += codes[j * c + q] ** 2;
  const nearest = g.node('ArgMin', [g.node('Add', [g.node('MatMul', [r, g.constant('vq_codes_t', minus2T, [c, k])]), g.constant('vq_norms', norms, [k])])], { axis: 1, keepdims: 0 });
  const quantised = g.node('Gather', [g.constant('vq_codes', codes, [k, c]), nearest], { axis: 0 });
  const perImage = (t: string): string => g.node('Reshape', [t, g.ints('shape', [-1, hw, c])]);
  const sortSpec = { axis: 1, largest: 0, sorted: 1 };
  const input = perImage(r);
  const [sortedInput, order] = g.nodeN('TopK', [input, g.ints('k', [hw])], sortSpec, 2);
  const [sortedCodes] = g.nodeN('TopK', [perImage(quantised), g.ints('k', [hw])], sortSpec, 2);
  const blended = g.node('Add', [g.node('Mul', [sortedInput, g.constant('efdm_keep', [alpha], [])]), g.node('Mul', [sortedCodes, g.constant('efdm_move', [1 - alpha], [])])]);
  return g.node('Reshape', [g.node('ScatterElements', [input, order, blended], { axis: 1 }), g.ints('shape', [-1, c])]);
}

/** Position scores of a level in the model's scoring mode, weighted. */
function positionScores(g: OnnxGraph, model: ResADModel, cfg: ResADConfig, l: number, logp: string, distance: string, abnormal: string, weight: number): string {
  const scoring = cfg.scoring;
  if (scoring === 'paper') {
    const s = g.node('Sub', [g.constant('one', [1], []), g.node('Exp', [g.node('Sub', [logp, g.constant('shift', [cfg.logpShift], [])])])]);
    return g.node('Mul', [s, g.constant('w', [weight], [])]);
  }
  const st = model.scoreStats?.[l];
  if (!st) throw new Error(`ONNX export: '${scoring}' scoring needs the score statistics of a trained model (level ${l} has none)`);
  // w ((-logp - m_nll) / s_nll + (d - m_d) / s_d) = a_nll logp + a_d d + b
  let a = 0;
  let bd = 0;
  let b = 0;
  if (scoring === 'nll' || scoring === 'nll+distance' || scoring === 'nll+abnormal') {
    a = -weight / st.nll.std;
    b -= (weight * st.nll.mean) / st.nll.std;
  }
  if (scoring === 'distance' || scoring === 'nll+distance') {
    bd = weight / st.distance.std;
    b -= (weight * st.distance.mean) / st.distance.std;
  }
  let ba = 0;
  if (scoring === 'abnormal' || scoring === 'nll+abnormal') {
    if (!st.abnormal) throw new Error(`ONNX export: '${scoring}' scoring needs the abnormal score's training statistics, which this model predates: train it again`);
    ba = weight / st.abnormal.std;
    b -= (weight * st.abnormal.mean) / st.abnormal.std;
  }
  let s = g.node('Mul', [logp, g.constant('a_nll', [a], [])]);
  if (bd !== 0) s = g.node('Add', [s, g.node('Mul', [distance, g.constant('a_dist', [bd], [])])]);
  if (ba !== 0) s = g.node('Add', [s, g.node('Mul', [abnormal, g.constant('a_abnormal', [ba], [])])]);
  return g.node('Add', [s, g.constant('b', [b], [])]);
}

/**
 * The whole model (see the module doc for inputs and outputs) and what its
 * metadata says; `scoring` overrides the config's scoring fields (they are
 * baked into the graph).
 */
export function exportResADGraph(model: ResADModel, scoring: ScoringOverride = {}): { graph: OnnxGraph; info: ResADOnnxInfo } {
  const cfg = { ...model.config, ...scoring };
  const size = cfg.imageSize;
  const bb = model.backbone;
  const grids = bb.featureSizes(size, size);
  const levelWeights = cfg.levelWeights ?? model.flows.map(() => 1);
  const g = new OnnxGraph(`resad ${bb.name} ${size}px`);
  const images = g.input('images', ['batch', size, size, 3]);
  const features = addBackbone(g, bb, images);
  const constraintorWeights = weightMap(model.constraintor.getWeights());
  let total: string | null = null;
  features.forEach((f, l) => {
    const [h, w] = grids[l];
    const c = bb.levels[l].channels;
    const k = cfg.featurePooling;
    const pooled = k === 1 ? f : g.node('AveragePool', [f], { kernel_shape: [k, k], strides: [1, 1], pads: [(k - 1) / 2, (k - 1) / 2, (k - 1) / 2, (k - 1) / 2], count_include_pad: 1 });
    const q = g.output(g.node('Reshape', [g.node('Transpose', [pooled], { perm: [0, 2, 3, 1] }), g.ints('shape', [-1, c])]), `features${l}`, [`rows${l}`, c]);
    const pool = g.input(`pool${l}`, [`pool_rows${l}`, c]);
    let r: string;
    if (cfg.residual === 'none') r = q;
    else {
      r = addResidual(g, q, addMatched(g, q, pool, cfg.matchMetric), cfg.residual);
    }
    g.output(r, `residual${l}`, [`rows${l}`, c]);
    if ((cfg.efdmAlpha ?? 1) < 1) r = addEfdm(g, model.codebooks[l], cfg.efdmAlpha!, r, h * w);
    const constrained = addConstraintorLevel(g, model.config.constraintor, constraintorWeights, l, r, h, w, c);
    const distance = g.output(g.node('Sqrt', [g.node('ReduceSumSquare', [constrained], { axes: [2], keepdims: 0 })]), `distance${l}`, ['batch', h * w]);
    const flowOut = flowLogp(g, model, l, constrained, h, w);
    const logp = g.output(flowOut.logp, `logp${l}`, ['batch', h * w]);
    // ResAD++'s abnormal-density probability: softmax([logp, logp_a] / C)[1] = sigmoid(mean(z) - 1/2).
    const abnormal = g.output(g.node('Sigmoid', [g.node('Sub', [g.node('ReduceMean', [flowOut.z], { axes: [2], keepdims: 0 }), g.constant('half', [0.5], [])])]), `abnormal${l}`, ['batch', h * w]);
    if (levelWeights[l] === 0) return;
    const scores = g.node('Reshape', [positionScores(g, model, cfg, l, logp, distance, abnormal, levelWeights[l]), g.ints('shape', [-1, h, w])]);
    const left = g.constant('up_rows', mapOperator(h, size, cfg.scoreSigma), [size, h]);
    const right = g.constant('up_cols_t', transposeMatrix(mapOperator(w, size, cfg.scoreSigma), size, w), [w, size]);
    const map = g.node('MatMul', [g.node('MatMul', [left, scores]), right]);
    total = total === null ? map : g.node('Add', [total, map]);
  });
  if (total === null) throw new Error('ONNX export: every level weight is 0');
  g.output(total, 'anomaly_map', ['batch', size, size]);
  g.output(g.node('ReduceMax', ['anomaly_map'], { axes: [1, 2], keepdims: 0 }), 'image_score', ['batch']);
  const info: ResADOnnxInfo = {
    format: 'resad-onnx',
    version: 1,
    kind: 'resad',
    backbone: bb.name,
    imageSize: size,
    resizeMode: cfg.resizeMode,
    input: inputInfo(bb),
    levels: bb.levels.map((lv, l) => ({ name: lv.name, channels: lv.channels, stride: lv.stride, height: grids[l][0], width: grids[l][1] })),
    scoring: cfg.scoring,
    scoreSigma: cfg.scoreSigma,
    levelWeights,
    featurePooling: cfg.featurePooling,
    residual: cfg.residual,
    matchMetric: cfg.matchMetric,
    scoreStats: model.scoreStats,
    config: cfg,
  };
  return { graph: g, info };
}

/** The model file's bytes, with its description in the metadata. */
export function exportResADOnnx(model: ResADModel, scoring: ScoringOverride = {}, doc = 'ResAD (Yao et al., NeurIPS 2024) exported by resad'): Uint8Array {
  const { graph, info } = exportResADGraph(model, scoring);
  return graph.toBytes({ metadata: { [ONNX_METADATA_KEY]: JSON.stringify(info) }, doc: `${doc}; the resad metadata entry describes inputs and outputs.` });
}
