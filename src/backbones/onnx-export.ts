/**
 * ONNX graphs of backbones: the Keras layers models (the packaged
 * MobileNetV2, `layers:PATH` models) layer by layer, tfjs graph models node
 * by node, and the ConvNet programs (ResNets, ResNet50-v2, the ImageNet
 * MobileNetV2) op by op; NHWC [0,1] images in,
 * one NHWC feature map per level out, the backbone's input normalisation
 * inside, so the ONNX model is a drop-in for `Backbone.extract`.
 *
 * Why NHWC at the edges: callers (the converter, the flows' inputs) hold NHWC
 * maps; inside, ONNX convolutions are NCHW, so the graph transposes once in
 * and once per level out.
 */
import * as tf from '@tensorflow/tfjs';
import { graphModelOf, layersModelOf } from './tfjs-models';
import type { GraphNodeJson } from './tfjs-models';
import { convNetOf } from './convnet';
import type { ConvNetActivation, ConvNetProgram } from './convnet';
import type { Backbone } from './types';
import { OnnxGraph, float } from '../util/onnx-graph';

/** Keras layer classes the exporter knows. */
export const EXPORTABLE_LAYER_CLASSES = [
  'InputLayer', 'ZeroPadding2D', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'Activation', 'Add', 'Concatenate', 'MaxPooling2D', 'AveragePooling2D',
] as const;

interface LayerConfig {
  padding?: string | number[][];
  strides?: number[];
  dilationRate?: number[];
  kernelSize?: number[];
  useBias?: boolean;
  activation?: string;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  axis?: number | number[];
  maxValue?: number | null;
  negativeSlope?: number;
  threshold?: number;
  poolSize?: number[];
  dataFormat?: string;
}

/** Weights of a layer by their short name ('kernel', 'gamma', ...). */
function weightsByName(layer: tf.layers.Layer): Map<string, { values: Float32Array; shape: number[] }> {
  const values = layer.getWeights();
  const out = new Map<string, { values: Float32Array; shape: number[] }>();
  layer.weights.forEach((w, i) => {
    const short = (w.originalName ?? w.name).split('/').pop()!.replace(/_\d+$/, '');
    out.set(short, { values: values[i].dataSync() as Float32Array, shape: values[i].shape });
  });
  return out;
}

/** [kh, kw, in, out] (Keras / tfjs) -> [out, in, kh, kw] (ONNX). */
export function convKernel(k: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o];
  }
  return out;
}

/** Depthwise [kh, kw, in, mult] -> grouped [in * mult, 1, kh, kw]; output channel c * mult + m, as TensorFlow orders it. */
function depthwiseKernel(k: Float32Array, [kh, kw, cin, mult]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < cin; c++) for (let m = 0; m < mult; m++) {
    out[((c * mult + m) * kh + y) * kw + x] = k[((y * kw + x) * cin + c) * mult + m];
  }
  return out;
}

function activation(g: OnnxGraph, x: string, name: string | undefined, where: string): string {
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return g.node('Relu', [x]);
    case 'relu6':
      return g.node('Clip', [x, g.constant('zero', [0], []), g.constant('six', [6], [])]);
    case 'sigmoid':
      return g.node('Sigmoid', [x]);
    default:
      throw new Error(`${where}: activation '${name}' is not exported to ONNX (known: linear, relu, relu6, sigmoid)`);
  }
}

function convPads(cfg: LayerConfig): { auto_pad?: string; pads?: number[] } {
  // TensorFlow's SAME puts the odd extra pixel after, which is ONNX's SAME_UPPER.
  return cfg.padding === 'same' ? { auto_pad: 'SAME_UPPER' } : { pads: [0, 0, 0, 0] };
}

/** Adds one Keras layer; returns its output value name. */
function addLayer(g: OnnxGraph, layer: tf.layers.Layer, inputs: string[], where: string): string {
  const cls = layer.getClassName();
  const cfg = layer.getConfig() as LayerConfig;
  const at = `${where}: layer ${layer.name} (${cls})`;
  if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') throw new Error(`${at}: only channels-last models are exported`);
  const [x] = inputs;
  switch (cls) {
    case 'ZeroPadding2D': {
      const p = cfg.padding as number[][];
      return g.node('Pad', [x, g.ints('pads', [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]])], { mode: 'constant' });
    }
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const w = weightsByName(layer);
      const depthwise = cls === 'DepthwiseConv2D';
      const k = w.get(depthwise ? 'depthwise_kernel' : 'kernel');
      if (!k) throw new Error(`${at}: no kernel weight`);
      const [kh, kw, cin, cout] = k.shape;
      const weight = depthwise ? g.constant('w', depthwiseKernel(k.values, k.shape), [cin * cout, 1, kh, kw]) : g.constant('w', convKernel(k.values, k.shape), [cout, cin, kh, kw]);
      const ins = [x, weight];
      const bias = w.get('bias');
      if (cfg.useBias !== false && bias) ins.push(g.constant('b', bias.values, bias.shape));
      const y = g.node('Conv', ins, {
        kernel_shape: [kh, kw],
        strides: cfg.strides ?? [1, 1],
        dilations: cfg.dilationRate ?? [1, 1],
        group: depthwise ? cin : 1,
        ...convPads(cfg),
      });
      return activation(g, y, cfg.activation, at);
    }
    case 'BatchNormalization': {
      const axis = Array.isArray(cfg.axis) ? cfg.axis[0] : cfg.axis;
      if (axis !== -1 && axis !== 3) throw new Error(`${at}: only channel-axis BatchNormalization is exported (axis ${String(axis)})`);
      const w = weightsByName(layer);
      const mean = w.get('moving_mean')!;
      const n = mean.values.length;
      const gamma = cfg.scale === false ? new Float32Array(n).fill(1) : w.get('gamma')!.values;
      const beta = cfg.center === false ? new Float32Array(n) : w.get('beta')!.values;
      return g.node('BatchNormalization', [x, g.constant('gamma', gamma, [n]), g.constant('beta', beta, [n]), g.constant('mean', mean.values, [n]), g.constant('var', w.get('moving_variance')!.values, [n])], {
        epsilon: float(cfg.epsilon ?? 1e-3),
      });
    }
    case 'ReLU': {
      if ((cfg.negativeSlope ?? 0) !== 0 || (cfg.threshold ?? 0) !== 0) throw new Error(`${at}: ReLU with a negative slope or threshold is not exported`);
      if (cfg.maxValue == null) return g.node('Relu', [x]);
      return g.node('Clip', [x, g.constant('zero', [0], []), g.constant('max', [cfg.maxValue], [])]);
    }
    case 'Activation':
      return activation(g, x, cfg.activation, at);
    case 'Add':
      return inputs.slice(1).reduce((acc, v) => g.node('Add', [acc, v]), x);
    case 'Concatenate': {
      const axis = (cfg as { axis?: number }).axis ?? -1;
      if (axis !== -1 && axis !== 3) throw new Error(`${at}: only channel concatenation is exported (axis ${axis})`);
      return g.node('Concat', inputs, { axis: 1 });
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const pool = cfg.poolSize ?? [2, 2];
      const attrs = { kernel_shape: pool, strides: cfg.strides ?? pool, ...convPads(cfg) };
      // Keras averages over the real pixels only at 'same' borders: count_include_pad 0.
      return cls === 'MaxPooling2D' ? g.node('MaxPool', [x], attrs) : g.node('AveragePool', [x], { ...attrs, count_include_pad: 0 });
    }
    default:
      throw new Error(`${at}: not exported to ONNX (known layer classes: ${EXPORTABLE_LAYER_CLASSES.join(', ')})`);
  }
}

/** NHWC [0,1] images -> the backbone's normalised NCHW input. */
function normalisedInput(g: OnnxGraph, backbone: Backbone, images: string): string {
  const n = backbone.inputNormalization;
  let x = g.node('Transpose', [images], { perm: [0, 3, 1, 2] });
  const identity = n.scale === 1 && n.mean.every((m) => m === 0) && n.std.every((s) => s === 1);
  if (!identity) {
    x = g.node('Mul', [x, g.constant('in_scale', n.std.map((s) => n.scale / s), [1, 3, 1, 1])]);
    x = g.node('Add', [x, g.constant('in_shift', n.mean.map((m, i) => -m / n.std[i]), [1, 3, 1, 1])]);
  }
  return x;
}

/** A ConvNetProgram (the ResNets, ResNet50-v2, the ImageNet MobileNetV2): one ONNX node group per op. */
function addConvNet(g: OnnxGraph, program: ConvNetProgram, x: string): string[] {
  const act = (v: string, a: ConvNetActivation): string =>
    a === 'relu' ? g.node('Relu', [v]) : a === 'relu6' ? g.node('Clip', [v, g.constant('zero', [0], []), g.constant('six', [6], [])]) : v;
  const values = [x];
  for (const op of program.ops) {
    switch (op.op) {
      case 'conv': {
        const [kh, kw, cin, cout] = op.filter.shape;
        const hwio = op.filter.dataSync() as Float32Array;
        // Depthwise filters are [kh, kw, C, 1]: as a grouped conv they are [C, 1, kh, kw].
        const weight = op.depthwise ? g.constant('w', convKernel(hwio, [kh, kw, 1, cin]), [cin, 1, kh, kw]) : g.constant('w', convKernel(hwio, [kh, kw, cin, cout]), [cout, cin, kh, kw]);
        const y = g.node('Conv', [values[op.input], weight, g.constant('b', op.bias.dataSync() as Float32Array, [op.bias.size])], {
          kernel_shape: [kh, kw],
          strides: [op.stride, op.stride],
          pads: [op.pad, op.pad, op.pad, op.pad],
          group: op.depthwise ? cin : 1,
        });
        values.push(act(y, op.activation));
        break;
      }
      case 'affine': {
        const n = op.scale.size;
        const y = g.node('Add', [g.node('Mul', [values[op.input], g.constant('scale', op.scale.dataSync() as Float32Array, [1, n, 1, 1])]), g.constant('shift', op.shift.dataSync() as Float32Array, [1, n, 1, 1])]);
        values.push(act(y, op.activation));
        break;
      }
      case 'maxpool':
        values.push(g.node('MaxPool', [values[op.input]], { kernel_shape: [op.size, op.size], strides: [op.stride, op.stride], pads: [op.pad, op.pad, op.pad, op.pad] }));
        break;
      case 'add':
        values.push(act(g.node('Add', [values[op.inputs[0]], values[op.inputs[1]]]), op.activation));
        break;
    }
  }
  return program.outputs.map((v) => values[v]);
}

/** TensorFlow graph ops the exporter knows (what tfjs-converter writes for MobileNet-style CNNs). */
export const EXPORTABLE_GRAPH_OPS = ['Placeholder', 'Const', 'Identity', 'Mul', 'Sub', 'Add', 'AddV2', 'Relu', 'Relu6', '_FusedConv2D', 'FusedDepthwiseConv2dNative', 'Conv2D', 'DepthwiseConv2dNative'] as const;

const decode = (b64: unknown): string => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('utf8') : '');

interface GraphAttr {
  strides?: { list?: { i?: string[] } };
  dilations?: { list?: { i?: string[] } };
  padding?: { s?: string };
  fused_ops?: { list?: { s?: string[] } };
  data_format?: { s?: string };
}

/** A converted TensorFlow graph (tfjs graph model), node by node, from the placeholder to the level nodes. */
function addGraphModel(g: OnnxGraph, net: NonNullable<ReturnType<typeof graphModelOf>>, x: string, where: string): string[] {
  const byName = new Map(net.topology.map((n) => [n.name, n]));
  const values = new Map<string, string>();
  const weight = (name: string): { values: Float32Array; shape: number[] } => {
    const t = net.model.weights[name]?.[0];
    if (!t) throw new Error(`${where}: no weight for constant ${name}`);
    return { values: t.dataSync() as Float32Array, shape: t.shape };
  };
  const operand = (name: string): string => {
    const clean = name.replace(/^\^/, '').replace(/:0$/, '');
    const known = values.get(clean);
    if (known !== undefined) return known;
    const node = byName.get(clean);
    if (!node) throw new Error(`${where}: graph input ${name} not found`);
    const v = visit(node);
    values.set(clean, v);
    return v;
  };
  // NHWC attribute lists [1, h, w, 1] -> [h, w].
  const ints = (list: { list?: { i?: string[] } } | undefined, fallback: number[]): number[] => {
    const v = (list?.list?.i ?? []).map(Number);
    return v.length === 4 ? [v[1], v[2]] : fallback;
  };
  const conv = (node: GraphNodeJson, depthwise: boolean): string => {
    const attr = (node.attr ?? {}) as GraphAttr;
    if (decode(attr.data_format?.s) !== '' && decode(attr.data_format?.s) !== 'NHWC') throw new Error(`${where}: ${node.name}: only NHWC graphs are exported`);
    const [input, wName, ...rest] = node.input ?? [];
    const w = weight(wName.replace(/:0$/, ''));
    const [kh, kw, cin, cout] = w.shape;
    const padding = decode(attr.padding?.s);
    if (padding !== 'SAME' && padding !== 'VALID') throw new Error(`${where}: ${node.name}: padding ${padding} is not exported`);
    const inputs = [operand(input), depthwise ? g.constant('w', depthwiseKernel(w.values, w.shape), [cin * cout, 1, kh, kw]) : g.constant('w', convKernel(w.values, w.shape), [cout, cin, kh, kw])];
    const fused = (attr.fused_ops?.list?.s ?? []).map(decode);
    if (fused.includes('BiasAdd')) {
      const b = weight(rest[0].replace(/:0$/, ''));
      inputs.push(g.constant('b', b.values, [b.values.length]));
    }
    let y = g.node('Conv', inputs, {
      kernel_shape: [kh, kw],
      strides: ints(attr.strides, [1, 1]),
      dilations: ints(attr.dilations, [1, 1]),
      group: depthwise ? cin : 1,
      ...(padding === 'SAME' ? { auto_pad: 'SAME_UPPER' } : { pads: [0, 0, 0, 0] }),
    });
    for (const op of fused.filter((f) => f !== 'BiasAdd')) {
      if (op === 'Relu') y = g.node('Relu', [y]);
      else if (op === 'Relu6') y = g.node('Clip', [y, g.constant('zero', [0], []), g.constant('six', [6], [])]);
      else throw new Error(`${where}: ${node.name}: fused op ${op} is not exported`);
    }
    return y;
  };
  /** A constant operand of an elementwise op, laid out for NCHW (per-channel vectors become [C, 1, 1]). */
  const elementwiseConstant = (name: string): string => {
    const w = weight(name.replace(/:0$/, ''));
    return g.constant('k', w.values, w.shape.length === 1 && w.values.length > 1 ? [w.values.length, 1, 1] : w.shape.length === 0 ? [] : w.shape);
  };
  function visit(node: GraphNodeJson): string {
    const ins = node.input ?? [];
    const arg = (i: number): string => (byName.get(ins[i].replace(/:0$/, ''))?.op === 'Const' ? elementwiseConstant(ins[i]) : operand(ins[i]));
    switch (node.op) {
      case 'Placeholder':
        return x;
      case 'Identity':
        return operand(ins[0]);
      case 'Mul':
      case 'Sub':
      case 'Add':
      case 'AddV2':
        return g.node(node.op === 'AddV2' ? 'Add' : node.op, [arg(0), arg(1)]);
      case 'Relu':
        return g.node('Relu', [operand(ins[0])]);
      case 'Relu6':
        return g.node('Clip', [operand(ins[0]), g.constant('zero', [0], []), g.constant('six', [6], [])]);
      case '_FusedConv2D':
      case 'Conv2D':
        return conv(node, false);
      case 'FusedDepthwiseConv2dNative':
      case 'DepthwiseConv2dNative':
        return conv(node, true);
      default:
        throw new Error(`${where}: graph op ${node.op} (${node.name}) is not exported (known: ${EXPORTABLE_GRAPH_OPS.join(', ')})`);
    }
  }
  return net.nodes.map((n) => operand(n));
}

/**
 * Adds the backbone's network to `g`: `images` (NHWC, [0,1]) -> one NCHW map
 * per level, in level order. Throws, naming the layer, for what it cannot export.
 */
export function addBackbone(g: OnnxGraph, backbone: Backbone, images: string): string[] {
  const where = `ONNX export of backbone ${backbone.name}`;
  const program = convNetOf(backbone);
  if (program !== null) return addConvNet(g, program, normalisedInput(g, backbone, images));
  const graph = graphModelOf(backbone);
  if (graph !== null) return addGraphModel(g, graph, normalisedInput(g, backbone, images), where);
  const model = layersModelOf(backbone);
  if (model === null) throw new Error(`${where}: exported backbones are Keras layers models, tfjs graph models and the ConvNet programs (ResNets, resnet50_v2, mobilenetv2_imagenet); this one is none of them`);
  const values = new Map<string, string>();
  for (const input of model.inputLayers) values.set(input.name, normalisedInput(g, backbone, images));
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes[0];
    const ins = node.inboundLayers.map((l, i) => {
      if (node.tensorIndices[i] !== 0) throw new Error(`${where}: layer ${layer.name} reads output ${node.tensorIndices[i]} of ${l.name}; only single-output layers are exported`);
      const v = values.get(l.name);
      if (v === undefined) throw new Error(`${where}: layer ${layer.name} needs ${l.name}, which comes later (not a topologically ordered model)`);
      return v;
    });
    values.set(layer.name, addLayer(g, layer, ins, where));
  }
  return model.outputLayers.map((l) => values.get(l.name)!);
}

/** A stand-alone ONNX model of the backbone: input `images` [batch, H, W, 3], outputs `level0..` NHWC. */
export function exportBackboneGraph(backbone: Backbone): OnnxGraph {
  const g = new OnnxGraph(`resad backbone ${backbone.name}`);
  const images = g.input('images', ['batch', 'height', 'width', 3]);
  addBackbone(g, backbone, images).forEach((v, i) => {
    const nhwc = g.node('Transpose', [v], { perm: [0, 2, 3, 1] });
    g.output(nhwc, `level${i}`, ['batch', `height${i}`, `width${i}`, backbone.levels[i].channels]);
  });
  return g;
}
