/**
 * The training-free PatchCore baseline as one ONNX graph, with the same
 * contract as an exported ResAD model (docs/ONNX.md): `images` and `pool0`
 * (the memory bank: the `features0` rows of the K references) in,
 * `anomaly_map` and `image_score` out. So `resad eval --model pc.onnx` and
 * onnxruntime-web score it like a ResAD export.
 *
 * As src/baselines/patchcore.ts with its defaults: 3x3 local average of the
 * last two levels, the coarser one resized (bilinear, half-pixel centres) to
 * the finer grid and concatenated; patch score = L2 distance to the nearest
 * bank row; image score = the largest patch score; map = bilinear upsampling
 * (align_corners=False) + Gaussian blur. The whole bank is the pool: the
 * greedy coreset and the Eq. 7 reweighting are not exported.
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../backbones/types';
import { lastTwoLevels } from '../baselines/features';
import type { PatchCoreOptions } from '../baselines/patchcore';
import { addBackbone } from '../backbones/onnx-export';
import { OnnxGraph } from '../util/onnx-graph';
import { inputInfo, mapOperator, ONNX_METADATA_KEY, PatchCoreOnnxInfo, transposeMatrix } from './resad';
import { addMatched } from '../converter/onnx-matching';

/** [outSize, inSize] matrix of tfjs's resizeBilinear (half-pixel centres) along one axis, read off unit impulses. */
function resizeOperator(inSize: number, outSize: number): Float32Array {
  return tf.tidy(() => {
    const eye = tf.reshape(tf.eye(inSize), [1, inSize, 1, inSize]) as tf.Tensor4D; // channel c = impulse at row c
    const out = tf.image.resizeBilinear(eye, [outSize, 1], false, true); // [1, outSize, 1, inSize]
    return out.dataSync() as Float32Array;
  });
}

export interface PatchCoreExportOptions {
  imageSize: number;
  sigma?: number;
  resizeMode?: PatchCoreOnnxInfo['resizeMode'];
  patchcore?: PatchCoreOptions;
}

export function exportPatchCoreGraph(backbone: Backbone, options: PatchCoreExportOptions): { graph: OnnxGraph; info: PatchCoreOnnxInfo } {
  const pc = options.patchcore ?? {};
  if ((pc.coresetRatio ?? 1) !== 1 || pc.reweight === true || pc.localPool === false) {
    throw new Error('ONNX export of PatchCore: only the defaults are exported (the whole bank, no reweighting, 3x3 local average)');
  }
  const size = options.imageSize;
  const sigma = options.sigma ?? 4;
  const levels = pc.levels ?? lastTwoLevels(backbone.levels.length);
  const grids = backbone.featureSizes(size, size);
  const [h, w] = grids[levels[0]];
  const channels = levels.reduce((n, l) => n + backbone.levels[l].channels, 0);
  const g = new OnnxGraph(`resad patchcore ${backbone.name} ${size}px`);
  const images = g.input('images', ['batch', size, size, 3]);
  const features = addBackbone(g, backbone, images);
  const parts = levels.map((l) => {
    let f = g.node('AveragePool', [features[l]], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 });
    const [hl, wl] = grids[l];
    if (hl !== h || wl !== w) {
      f = g.node('MatMul', [g.constant('rs_rows', resizeOperator(hl, h), [h, hl]), f]);
      f = g.node('MatMul', [f, g.constant('rs_cols_t', transposeMatrix(resizeOperator(wl, w), w, wl), [wl, w])]);
    }
    return f;
  });
  const embedded = parts.length === 1 ? parts[0] : g.node('Concat', parts, { axis: 1 });
  const q = g.output(g.node('Reshape', [g.node('Transpose', [embedded], { perm: [0, 2, 3, 1] }), g.ints('shape', [-1, channels])]), 'features0', ['rows0', channels]);
  const bank = g.input('pool0', ['pool_rows0', channels]);
  const diff = g.node('Sub', [q, addMatched(g, q, bank, 'l2')]);
  const scores = g.node('Reshape', [g.node('Sqrt', [g.node('ReduceSumSquare', [diff], { axes: [1], keepdims: 0 })]), g.ints('shape', [-1, h, w])]);
  g.output(g.node('ReduceMax', [scores], { axes: [1, 2], keepdims: 0 }), 'image_score', ['batch']);
  const left = g.constant('up_rows', mapOperator(h, size, sigma, false), [size, h]);
  const right = g.constant('up_cols_t', transposeMatrix(mapOperator(w, size, sigma, false), size, w), [w, size]);
  g.output(g.node('MatMul', [g.node('MatMul', [left, scores]), right]), 'anomaly_map', ['batch', size, size]);
  const info: PatchCoreOnnxInfo = {
    format: 'resad-onnx',
    version: 1,
    kind: 'patchcore',
    backbone: backbone.name,
    imageSize: size,
    resizeMode: options.resizeMode ?? 'resize-crop',
    input: inputInfo(backbone),
    levels: [{ name: levels.map((l) => backbone.levels[l].name).join('+'), channels, stride: backbone.levels[levels[0]].stride, height: h, width: w }],
    scoreSigma: sigma,
    method: { method: 'patchcore', levels, localPool: true, coresetRatio: 1, reweight: false, distance: 'l2', upsampling: 'bilinear, align_corners=False' },
  };
  return { graph: g, info };
}

export function exportPatchCoreOnnx(backbone: Backbone, options: PatchCoreExportOptions): Uint8Array {
  const { graph, info } = exportPatchCoreGraph(backbone, options);
  return graph.toBytes({ metadata: { [ONNX_METADATA_KEY]: JSON.stringify(info) }, doc: 'PatchCore (training-free baseline) exported by resad; the resad metadata entry describes inputs and outputs.' });
}
