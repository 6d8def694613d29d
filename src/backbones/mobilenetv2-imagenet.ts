/**
 * MobileNetV2 1.0 with the ImageNet weights of the ONNX model zoo's
 * `mobilenetv2-7.onnx`, read by their initializer names (`conv_N_weight`,
 * `conv_N_bias`; BatchNorm already folded into every conv) from that file or
 * from a safetensors file holding the same tensors.
 *
 * Why: the packaged MobileNetV2 (nsfwjs) was fine-tuned for NSFW
 * classification; this is the same architecture with plain ImageNet features,
 * 3.5 M parameters, fast enough for a laptop.
 *
 * Structure (Sandler et al. 2018, expansion 6, ReLU6, symmetric padding 1 on
 * every 3x3 conv): stem 3x3 stride 2 (32); block 0 = depthwise 3x3 + linear
 * 1x1 to 16 (no expansion); blocks 1-16 = 1x1 expansion + ReLU6, depthwise
 * 3x3 (stride) + ReLU6, linear 1x1 projection, plus the input when the stride
 * is 1 and the width does not change. The zoo numbers `conv_N` by graph node
 * order, where every conv, ReLU6 and residual add takes one number; the names
 * are generated that way and every shape is checked.
 *
 * Levels: `block_N_expand_relu` (the expansion of block N after its ReLU6,
 * before the block's stride: what the packaged MobileNetV2 taps, Keras
 * naming) and `block_N` (the block's output), N = 1..16. Default: blocks
 * 3 / 6 / 13 expansions = 144 / 192 / 576 channels at strides 4 / 8 / 16, the
 * same taps as the packaged MobileNetV2.
 *
 * ```ts
 * const bb = createMobileNetV2ImageNet({ weights: '/models/mobilenetv2-7.onnx' });
 * ```
 */
import { IMAGENET_NORMALIZATION } from './common';
import type { BaseBackbone } from './common';
import { ConvNetBackbone, ConvNetBuilder } from './convnet';
import { openWeightsFile, readTensor } from './weights-file';

export const MOBILENETV2_IMAGENET = 'mobilenetv2_imagenet';

/** (expansion t, output channels c, repeats n, first stride s) of the standard MobileNetV2 1.0. */
const SETTINGS: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export const MOBILENETV2_IMAGENET_DEFAULT_LEVELS: readonly string[] = ['block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'];

interface ConvSlot {
  name: string;
  shape: [number, number, number, number];
  stride: number;
  depthwise: boolean;
  relu6: boolean;
}

interface BlockLayout {
  index: number;
  expand: ConvSlot | null;
  depthwise: ConvSlot;
  project: ConvSlot;
  residual: boolean;
  /** Stride of the block's input and output relative to the image. */
  inStride: number;
  outStride: number;
}

/** The stem and blocks 0-16 with the zoo's conv names, in forward order. */
function layout(): { stem: ConvSlot; blocks: BlockLayout[] } {
  let node = 0;
  const slot = (shape: [number, number, number, number], stride: number, relu6: boolean): ConvSlot => {
    const s: ConvSlot = { name: `conv_${node}`, shape, stride, depthwise: shape[1] === 1 && shape[2] === 3, relu6 };
    node += relu6 ? 2 : 1; // the ReLU6 (Clip) node takes a number too
    return s;
  };
  const stem = slot([32, 3, 3, 3], 2, true);
  let cin = 32;
  let stride = 2;
  const blocks: BlockLayout[] = [];
  for (const [t, c, n, s] of SETTINGS) {
    for (let r = 0; r < n; r++) {
      const st = r === 0 ? s : 1;
      const hidden = cin * t;
      const expand = t === 1 ? null : slot([hidden, cin, 1, 1], 1, true);
      const depthwise = slot([hidden, 1, 3, 3], st, true);
      const project = slot([c, hidden, 1, 1], 1, false);
      const residual = st === 1 && cin === c;
      if (residual) node += 1; // the Add node
      blocks.push({ index: blocks.length, expand, depthwise, project, residual, inStride: stride, outStride: stride * st });
      stride *= st;
      cin = c;
    }
  }
  return { stem, blocks };
}

/** Level name -> the block it belongs to and what it taps. */
function parseLevel(name: string, blocks: readonly BlockLayout[]): { block: number; tap: 'expand' | 'output'; channels: number; stride: number } {
  const m = /^block_(\d+)(_expand_relu)?$/.exec(name);
  const block = m ? Number(m[1]) : -1;
  if (!m || block < 1 || block >= blocks.length) {
    throw new Error(`${MOBILENETV2_IMAGENET}: unknown level '${name}'; use block_N_expand_relu or block_N with N = 1..${blocks.length - 1}`);
  }
  const b = blocks[block];
  return m[2] ? { block, tap: 'expand', channels: b.expand!.shape[0], stride: b.inStride } : { block, tap: 'output', channels: b.project.shape[0], stride: b.outStride };
}

/** Every tensor (zoo name, OIHW shape) of the stem and blocks 0-16. */
export function mobileNetV2WeightKeys(): Array<{ name: string; shape: number[] }> {
  const { stem, blocks } = layout();
  const convs = [stem, ...blocks.flatMap((b) => [b.expand, b.depthwise, b.project].filter((c): c is ConvSlot => c !== null))];
  return convs.flatMap((c) => [
    { name: `${c.name}_weight`, shape: [...c.shape] },
    { name: `${c.name}_bias`, shape: [c.shape[0]] },
  ]);
}

export interface MobileNetV2ImageNetOptions {
  /** The model zoo's mobilenetv2-7.onnx, or a safetensors file with its initializer names. */
  weights: string;
  /** Levels (default MOBILENETV2_IMAGENET_DEFAULT_LEVELS), in forward order. */
  layers?: readonly string[];
}

/** Builds the ImageNet MobileNetV2 up to its last requested level. Errors name the file and tensor. */
export function createMobileNetV2ImageNet(options: MobileNetV2ImageNetOptions): BaseBackbone {
  const { stem, blocks } = layout();
  const names = options.layers ?? MOBILENETV2_IMAGENET_DEFAULT_LEVELS;
  const levels = names.map((n) => ({ name: n, ...parseLevel(n, blocks) }));
  const order = (l: (typeof levels)[number]): number => 2 * l.block + (l.tap === 'output' ? 1 : 0);
  if (levels.length === 0 || levels.some((l, i) => i > 0 && order(l) <= order(levels[i - 1]))) {
    throw new Error(`${MOBILENETV2_IMAGENET}: levels must be non-empty and in forward order, got ${JSON.stringify(names)}`);
  }
  const file = openWeightsFile(options.weights);
  const b = new ConvNetBuilder();
  try {
    const conv = (input: number, c: ConvSlot): number =>
      b.conv(input, { values: readTensor(file, `${c.name}_weight`, c.shape, MOBILENETV2_IMAGENET), shape: c.shape }, {
        stride: c.stride,
        pad: c.shape[2] === 3 ? 1 : 0,
        depthwise: c.depthwise,
        bias: readTensor(file, `${c.name}_bias`, [c.shape[0]], MOBILENETV2_IMAGENET),
        activation: c.relu6 ? 'relu6' : 'linear',
      });
    let x = conv(0, stem);
    const taps: number[] = [];
    const last = levels[levels.length - 1].block;
    for (const block of blocks.slice(0, last + 1)) {
      const expanded = block.expand ? conv(x, block.expand) : x;
      if (levels.some((l) => l.block === block.index && l.tap === 'expand')) taps.push(expanded);
      if (block.index === last && levels[levels.length - 1].tap === 'expand') break;
      const y = conv(conv(expanded, block.depthwise), block.project);
      x = block.residual ? b.add(y, x) : y;
      if (levels.some((l) => l.block === block.index && l.tap === 'output')) taps.push(x);
    }
    const info = levels.map((l) => Object.freeze({ name: l.name, channels: l.channels, stride: l.stride }));
    return new ConvNetBackbone(MOBILENETV2_IMAGENET, Object.freeze(info), IMAGENET_NORMALIZATION, { ops: b.ops, outputs: taps });
  } catch (err) {
    b.dispose();
    throw err;
  } finally {
    file.close();
  }
}
