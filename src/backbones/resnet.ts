/**
 * torchvision ResNets (the paper's WideResNet50-2 above all) in plain tfjs ops,
 * loading standard pretrained weights from a safetensors file.
 *
 * Why: ResAD's published numbers use an ImageNet WideResNet50-2 (layer1/2/3 =
 * 256/512/1024 channels at strides 4/8/16). No npm package ships it, so the
 * network is written here (stem, bottleneck / basic blocks, torchvision v1.5
 * layout with the stride on the 3x3 conv) and the weights come from a file the
 * user obtains once: docs/BACKBONES.md (scripts/export_wrn50_safetensors.py,
 * or timm's `wide_resnet50_2.tv_in1k` model.safetensors from the Hugging Face
 * hub). Names are torchvision's (`conv1.weight`, `bn1.running_mean`,
 * `layer1.0.conv1.weight`, `layer1.0.downsample.0.weight`, ...), which timm uses
 * too for ResNets; a common prefix such as `model.` or `module.` is detected.
 *
 * Implementation notes:
 * - Frozen, eval mode: each BatchNorm is folded into the preceding conv
 *   (w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps),
 *   computed in float64), so a block is fused conv+bias(+ReLU) calls only.
 * - PyTorch OIHW kernels become tfjs HWIO; activations are NHWC.
 * - Padding is PyTorch's symmetric explicit padding (3 for the 7x7 stem, 1 for
 *   3x3 convs and the max-pool). TF's 'same' pads asymmetrically for stride 2
 *   and would shift every stride-2 layer by one pixel.
 * - Only the tensors of the requested layers are read from the file.
 * - Verified against torchvision (eval mode) on deterministic formula weights:
 *   test/backbones/resnet.test.ts and scripts/gen_wrn_fixture.py.
 *
 * ```ts
 * const wrn = createResNet('wide_resnet50_2', { weights: '/models/wide_resnet50_2.safetensors' });
 * // or RESAD_WRN50_WEIGHTS=/models/wide_resnet50_2.safetensors and createResNet('wide_resnet50_2')
 * const [l1, l2, l3] = wrn.extract(images);   // [N,56,56,256], [N,28,28,512], [N,14,14,1024] for 224x224
 * ```
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { BaseBackbone, IMAGENET_NORMALIZATION } from './common';
import { SafetensorsFile } from './safetensors';
import type { FeatureLevelInfo, InputNormalization } from './types';

/** Architecture of a torchvision ResNet. */
export interface ResNetArch {
  readonly name: string;
  readonly block: 'basic' | 'bottleneck';
  /** Blocks in layer1..layer4. */
  readonly depths: readonly [number, number, number, number];
  /** torchvision's width_per_group: 64 for ResNet, 128 for the "wide" ones (bottleneck width x2). */
  readonly widthPerGroup: number;
  /** Environment variable holding the default weights path. */
  readonly weightsEnv: string;
}

export const RESNET_ARCHS: Readonly<Record<string, ResNetArch>> = {
  resnet18: { name: 'resnet18', block: 'basic', depths: [2, 2, 2, 2], widthPerGroup: 64, weightsEnv: 'RESAD_RESNET18_WEIGHTS' },
  resnet34: { name: 'resnet34', block: 'basic', depths: [3, 4, 6, 3], widthPerGroup: 64, weightsEnv: 'RESAD_RESNET34_WEIGHTS' },
  resnet50: { name: 'resnet50', block: 'bottleneck', depths: [3, 4, 6, 3], widthPerGroup: 64, weightsEnv: 'RESAD_RESNET50_WEIGHTS' },
  wide_resnet50_2: { name: 'wide_resnet50_2', block: 'bottleneck', depths: [3, 4, 6, 3], widthPerGroup: 128, weightsEnv: 'RESAD_WRN50_WEIGHTS' },
  wide_resnet101_2: { name: 'wide_resnet101_2', block: 'bottleneck', depths: [3, 4, 23, 3], widthPerGroup: 128, weightsEnv: 'RESAD_WRN101_WEIGHTS' },
};

const LAYER_NAMES = ['layer1', 'layer2', 'layer3', 'layer4'] as const;
const BN_EPS = 1e-5;

/** One PyTorch conv (+ its BatchNorm) in the order the network needs it. */
export interface ConvSpec {
  /** Key of the conv weight, e.g. 'layer1.0.conv2.weight'. */
  conv: string;
  /** Key prefix of the BatchNorm, e.g. 'layer1.0.bn2' (then .weight/.bias/.running_mean/.running_var). */
  bn: string;
  /** PyTorch OIHW shape. */
  shape: [number, number, number, number];
  stride: number;
  pad: number;
}

interface BlockSpec {
  convs: ConvSpec[];
  downsample: ConvSpec | null;
}

/** The convs of stem..layerN in forward order, with PyTorch names and shapes (also used by tests to write weights). */
export function resnetLayout(arch: ResNetArch, lastLayer: number): { stem: ConvSpec; layers: BlockSpec[][]; channels: number[] } {
  const stem: ConvSpec = { conv: 'conv1.weight', bn: 'bn1', shape: [64, 3, 7, 7], stride: 2, pad: 3 };
  const expansion = arch.block === 'bottleneck' ? 4 : 1;
  let inplanes = 64;
  const layers: BlockSpec[][] = [];
  const channels: number[] = [];
  for (let l = 0; l < lastLayer; l++) {
    const planes = 64 * 2 ** l;
    const width = arch.block === 'bottleneck' ? Math.floor(planes * (arch.widthPerGroup / 64)) : planes;
    const out = planes * expansion;
    const blocks: BlockSpec[] = [];
    for (let b = 0; b < arch.depths[l]; b++) {
      const p = `layer${l + 1}.${b}`;
      const stride = b === 0 && l > 0 ? 2 : 1;
      const cin = b === 0 ? inplanes : out;
      const convs: ConvSpec[] =
        arch.block === 'bottleneck'
          ? [
              { conv: `${p}.conv1.weight`, bn: `${p}.bn1`, shape: [width, cin, 1, 1], stride: 1, pad: 0 },
              { conv: `${p}.conv2.weight`, bn: `${p}.bn2`, shape: [width, width, 3, 3], stride, pad: 1 },
              { conv: `${p}.conv3.weight`, bn: `${p}.bn3`, shape: [out, width, 1, 1], stride: 1, pad: 0 },
            ]
          : [
              { conv: `${p}.conv1.weight`, bn: `${p}.bn1`, shape: [planes, cin, 3, 3], stride, pad: 1 },
              { conv: `${p}.conv2.weight`, bn: `${p}.bn2`, shape: [planes, planes, 3, 3], stride: 1, pad: 1 },
            ];
      const downsample: ConvSpec | null =
        b === 0 && (stride !== 1 || cin !== out)
          ? { conv: `${p}.downsample.0.weight`, bn: `${p}.downsample.1`, shape: [out, cin, 1, 1], stride, pad: 0 }
          : null;
      blocks.push({ convs, downsample });
    }
    inplanes = out;
    layers.push(blocks);
    channels.push(out);
  }
  return { stem, layers, channels };
}

/** Every tensor key (without prefix) and PyTorch shape that stem..layerN reads. */
export function resnetWeightKeys(arch: ResNetArch, lastLayer: number): Array<{ key: string; shape: number[] }> {
  const { stem, layers } = resnetLayout(arch, lastLayer);
  const out: Array<{ key: string; shape: number[] }> = [];
  const add = (c: ConvSpec): void => {
    out.push({ key: c.conv, shape: [...c.shape] });
    for (const s of ['weight', 'bias', 'running_mean', 'running_var']) out.push({ key: `${c.bn}.${s}`, shape: [c.shape[0]] });
  };
  add(stem);
  for (const blocks of layers) for (const b of blocks) {
    b.convs.forEach(add);
    if (b.downsample) add(b.downsample);
  }
  return out;
}

/** A conv with its BatchNorm folded in (filter HWIO). */
export interface FoldedConv {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  stride: number;
  pad: number | 'valid';
}

/** Conv weight (OIHW) + BN stats -> HWIO filter and bias with the BN folded in (float64 arithmetic). */
export function foldConvBn(
  w: Float32Array,
  shape: readonly [number, number, number, number],
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps = BN_EPS,
): { hwio: Float32Array; bias: Float32Array } {
  const [O, I, KH, KW] = shape;
  const hwio = new Float32Array(O * I * KH * KW);
  const bias = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    const s = gamma[o] / Math.sqrt(variance[o] + eps);
    bias[o] = beta[o] - mean[o] * s;
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < KH; h++) {
        for (let k = 0; k < KW; k++) {
          hwio[((h * KW + k) * I + i) * O + o] = w[((o * I + i) * KH + h) * KW + k] * s;
        }
      }
    }
  }
  return { hwio, bias };
}

export interface ResNetOptions {
  /** Safetensors file; default: the arch's environment variable (RESAD_WRN50_WEIGHTS for wide_resnet50_2). */
  weights?: string;
  /** Levels to output, a subset of 'layer1'..'layer4' in order (default layer1..layer3). */
  layers?: readonly string[];
}

/** The message users see when no weights file is configured or it does not exist. */
export function missingWeightsMessage(arch: ResNetArch, detail: string): string {
  return (
    `${arch.name}: ${detail}. The pretrained ImageNet weights are not shipped with resad (about ` +
    `${arch.name === 'wide_resnet50_2' ? '270 MB' : 'tens of MB'}). Obtain them once, on a machine with internet:\n` +
    `  /usr/bin/python3 scripts/export_wrn50_safetensors.py --arch ${arch.name} --out ~/.cache/resad/${arch.name}.safetensors\n` +
    `(torchvision's pretrained weights), or download timm's \`${arch.name}.tv_in1k\` model.safetensors from the Hugging Face hub ` +
    `(https://huggingface.co/timm/${arch.name}.tv_in1k). Then set ${arch.weightsEnv}=/path/to/file.safetensors ` +
    `or pass { weights: '/path/to/file.safetensors' }. See docs/BACKBONES.md.`
  );
}

function resolveWeightsPath(arch: ResNetArch, explicit: string | undefined): string {
  const fromEnv = process.env[arch.weightsEnv];
  const file = explicit ?? (fromEnv && fromEnv.trim() !== '' ? fromEnv.trim() : undefined);
  if (file === undefined) throw new Error(missingWeightsMessage(arch, `no weights file given (option 'weights' or ${arch.weightsEnv})`));
  if (!fs.existsSync(file)) {
    const via = explicit !== undefined ? "option 'weights'" : arch.weightsEnv;
    throw new Error(missingWeightsMessage(arch, `weights file ${file} (from ${via}) does not exist`));
  }
  return file;
}

/** Finds the prefix put before torchvision names (e.g. 'model.', 'module.', 'backbone.'), by the stem conv. */
function detectPrefix(st: SafetensorsFile): string {
  const stems = st.names().filter((n) => n.endsWith('conv1.weight') && !/layer\d/.test(n) && st.info(n).shape.length === 4);
  const exact = stems.find((n) => n === 'conv1.weight');
  if (exact) return '';
  if (stems.length === 1) return stems[0].slice(0, -'conv1.weight'.length);
  const sample = st.names().slice(0, 8).join(', ');
  throw new Error(
    `safetensors: ${st.path} does not look like a torchvision/timm ResNet checkpoint: ` +
    (stems.length ? `several stem convs (${stems.join(', ')})` : `no stem tensor 'conv1.weight'`) +
    ` (first keys: ${sample})`,
  );
}

class ResNetBackbone extends BaseBackbone {
  readonly name: string;
  readonly levels: readonly FeatureLevelInfo[];
  readonly inputNormalization: InputNormalization = IMAGENET_NORMALIZATION;

  constructor(
    arch: ResNetArch,
    readonly stem: FoldedConv,
    readonly layers: Array<Array<{ convs: FoldedConv[]; downsample: FoldedConv | null }>>,
    readonly outputs: readonly number[],
    channels: readonly number[],
  ) {
    super();
    this.name = arch.name;
    this.levels = Object.freeze(outputs.map((l) => Object.freeze({ name: LAYER_NAMES[l], channels: channels[l], stride: 4 * 2 ** l })));
  }

  protected forward(input: tf.Tensor4D): tf.Tensor4D[] {
    const conv = (x: tf.Tensor4D, c: FoldedConv, relu: boolean): tf.Tensor4D =>
      tf.fused.conv2d({ x, filter: c.filter, strides: c.stride, pad: c.pad, bias: c.bias, activation: relu ? 'relu' : 'linear' });
    let x = conv(input, this.stem, true);
    // Pads with -inf semantics; inputs are post-ReLU anyway.
    x = tf.maxPool(x, 3, 2, 1);
    const outs: tf.Tensor4D[] = [];
    for (let l = 0; l < this.layers.length; l++) {
      for (const block of this.layers[l]) {
        let y: tf.Tensor4D = x;
        for (let i = 0; i < block.convs.length; i++) y = conv(y, block.convs[i], i < block.convs.length - 1);
        const identity = block.downsample ? conv(x, block.downsample, false) : x;
        x = tf.relu(tf.add(y, identity)) as tf.Tensor4D;
      }
      if (this.outputs.includes(l)) outs.push(x);
    }
    return outs;
  }

  protected release(): void {
    const all: FoldedConv[] = [this.stem];
    for (const blocks of this.layers) for (const b of blocks) {
      all.push(...b.convs);
      if (b.downsample) all.push(b.downsample);
    }
    for (const c of all) {
      c.filter.dispose();
      c.bias.dispose();
    }
  }
}

/** The folded network of a ResNet backbone (stem, blocks, output layer indices), else null. For exporters. */
export function resnetStructureOf(backbone: object): Pick<ResNetBackbone, 'stem' | 'layers' | 'outputs'> | null {
  return backbone instanceof ResNetBackbone ? backbone : null;
}

/** Creates a ResNet backbone from a torchvision/timm safetensors checkpoint. Errors name the file and tensor. */
export function createResNet(archName: string, options: ResNetOptions = {}): BaseBackbone {
  const arch = RESNET_ARCHS[archName];
  if (!arch) throw new Error(`createResNet: unknown architecture '${archName}'; known: ${Object.keys(RESNET_ARCHS).join(', ')}`);
  const wanted = options.layers ?? ['layer1', 'layer2', 'layer3'];
  const outputs = wanted.map((n) => {
    const i = (LAYER_NAMES as readonly string[]).indexOf(n);
    if (i < 0) throw new Error(`${arch.name}: unknown layer '${n}'; choose from ${LAYER_NAMES.join(', ')}`);
    return i;
  });
  if (outputs.length === 0 || outputs.some((v, i) => i > 0 && v <= outputs[i - 1])) {
    throw new Error(`${arch.name}: layers must be a non-empty, increasing subset of ${LAYER_NAMES.join(', ')}, got ${JSON.stringify(wanted)}`);
  }
  const file = resolveWeightsPath(arch, options.weights);
  const st = SafetensorsFile.open(file);
  const created: tf.Tensor[] = [];
  try {
    const prefix = detectPrefix(st);
    const layout = resnetLayout(arch, outputs[outputs.length - 1] + 1);
    const read = (key: string, shape: readonly number[]): Float32Array => {
      const full = prefix + key;
      if (!st.has(full)) {
        throw new Error(`${arch.name}: ${file} has no tensor '${full}' (is it a ${arch.name} checkpoint in torchvision/timm naming?)`);
      }
      const got = st.info(full).shape;
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
        throw new Error(
          `${arch.name}: ${file}: tensor '${full}' has shape [${got.join(', ')}], expected [${shape.join(', ')}] (a checkpoint of another architecture?)`,
        );
      }
      return st.readFloat32(full);
    };
    const load = (c: ConvSpec): FoldedConv => {
      const o = c.shape[0];
      const { hwio, bias } = foldConvBn(
        read(c.conv, c.shape),
        c.shape,
        read(`${c.bn}.weight`, [o]),
        read(`${c.bn}.bias`, [o]),
        read(`${c.bn}.running_mean`, [o]),
        read(`${c.bn}.running_var`, [o]),
      );
      const filter = tf.tensor4d(hwio, [c.shape[2], c.shape[3], c.shape[1], o]);
      const b = tf.tensor1d(bias);
      created.push(filter, b);
      return { filter, bias: b, stride: c.stride, pad: c.pad === 0 ? 'valid' : c.pad };
    };
    const stem = load(layout.stem);
    const layers = layout.layers.map((blocks) => blocks.map((b) => ({ convs: b.convs.map(load), downsample: b.downsample ? load(b.downsample) : null })));
    return new ResNetBackbone(arch, stem, layers, outputs, layout.channels);
  } catch (err) {
    tf.dispose(created);
    throw err;
  } finally {
    st.close();
  }
}
