/**
 * torchvision ResNets (the paper's WideResNet50-2 above all), loading standard
 * pretrained weights from a file.
 *
 * Why: ResAD's published numbers use an ImageNet WideResNet50-2 (layer1/2/3 =
 * 256/512/1024 channels at strides 4/8/16). No npm package ships it, so the
 * network is written here (stem, bottleneck / basic blocks, torchvision v1.5
 * layout with the stride on the 3x3 conv) and the weights come from a file the
 * user obtains once (`resad weights get wide_resnet50_2`: timm's
 * `wide_resnet50_2.tv_in1k` safetensors; docs/WEIGHTS.md). Names are
 * torchvision's (`conv1.weight`, `bn1.running_mean`, `layer1.0.conv1.weight`,
 * `layer1.0.downsample.0.weight`, ...), which timm uses too for ResNets; a
 * common prefix such as `model.` or `module.` is detected.
 *
 * Implementation notes:
 * - Written as a ConvNetProgram (convnet.ts): each eval-mode BatchNorm is
 *   folded into the preceding conv in float64, so a block is fused
 *   conv+bias(+ReLU) calls only, and the ONNX exporter reads the same program.
 * - Padding is PyTorch's symmetric explicit padding (3 for the 7x7 stem, 1 for
 *   3x3 convs and the max-pool). TF's 'same' pads asymmetrically for stride 2
 *   and would shift every stride-2 layer by one pixel.
 * - Only the tensors of the requested layers are read from the file.
 * - Verified against torchvision (eval mode) on deterministic formula weights:
 *   test/backbones/resnet.test.ts and scripts/gen_wrn_fixture.py.
 *
 * ```ts
 * const wrn = createResNet('wide_resnet50_2', { weights: '/models/wide_resnet50_2.safetensors' });
 * const [l1, l2, l3] = wrn.extract(images);   // [N,56,56,256], [N,28,28,512], [N,14,14,1024] for 224x224
 * ```
 */
import { BaseBackbone, IMAGENET_NORMALIZATION } from './common';
import { ConvNetBackbone, ConvNetBuilder } from './convnet';
import { openWeightsFile, readTensor, WeightsFile } from './weights-file';

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

export interface ResNetOptions {
  /** Weights file: torchvision/timm names, safetensors or ONNX (the registry finds it: --weights, the environment, the weights cache). */
  weights: string;
  /** Levels to output, a subset of 'layer1'..'layer4' in order (default layer1..layer3). */
  layers?: readonly string[];
}

/** The prefix put before torchvision names in `file` (e.g. 'model.', 'module.'), found by the stem conv. */
export function detectResNetPrefix(arch: ResNetArch, file: WeightsFile): string {
  const stems = file.names().filter((n) => n.endsWith('conv1.weight') && !/layer\d/.test(n) && file.shape(n).length === 4);
  if (stems.includes('conv1.weight')) return '';
  if (stems.length === 1) return stems[0].slice(0, -'conv1.weight'.length);
  const sample = file.names().slice(0, 8).join(', ');
  throw new Error(
    `${arch.name}: ${file.path} does not look like a torchvision/timm ResNet checkpoint: ` +
      (stems.length ? `several stem convs (${stems.join(', ')})` : `no stem tensor 'conv1.weight'`) +
      ` (first keys: ${sample})`,
  );
}

/** Creates a ResNet backbone from a torchvision/timm checkpoint (safetensors, or ONNX initializers with torchvision names). */
export function createResNet(archName: string, options: ResNetOptions): BaseBackbone {
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
  const file = openWeightsFile(options.weights);
  const b = new ConvNetBuilder();
  try {
    const prefix = detectResNetPrefix(arch, file);
    const layout = resnetLayout(arch, outputs[outputs.length - 1] + 1);
    const read = (key: string, shape: readonly number[]): Float32Array => readTensor(file, prefix + key, shape, arch.name);
    const conv = (input: number, c: ConvSpec, activation: 'relu' | 'linear'): number => {
      const o = c.shape[0];
      return b.conv(input, { values: read(c.conv, c.shape), shape: c.shape }, {
        stride: c.stride,
        pad: c.pad,
        activation,
        bn: { gamma: read(`${c.bn}.weight`, [o]), beta: read(`${c.bn}.bias`, [o]), mean: read(`${c.bn}.running_mean`, [o]), variance: read(`${c.bn}.running_var`, [o]), eps: BN_EPS },
      });
    };
    let x = b.maxPool(conv(0, layout.stem, 'relu'), 3, 2, 1);
    const taps: number[] = [];
    layout.layers.forEach((blocks, l) => {
      for (const block of blocks) {
        let y = x;
        block.convs.forEach((c, i) => (y = conv(y, c, i < block.convs.length - 1 ? 'relu' : 'linear')));
        x = b.add(y, block.downsample ? conv(x, block.downsample, 'linear') : x, 'relu');
      }
      if (outputs.includes(l)) taps.push(x);
    });
    const levels = outputs.map((l) => Object.freeze({ name: LAYER_NAMES[l], channels: layout.channels[l], stride: 4 * 2 ** l }));
    return new ConvNetBackbone(arch.name, Object.freeze(levels), IMAGENET_NORMALIZATION, { ops: b.ops, outputs: taps });
  } catch (err) {
    b.dispose();
    throw err;
  } finally {
    file.close();
  }
}
