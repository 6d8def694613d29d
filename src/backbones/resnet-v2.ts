/**
 * ResNet50-v2 (pre-activation, He et al. 2016 "Identity Mappings") with the
 * ImageNet weights of the ONNX model zoo's `resnet50-v2-7.onnx` (converted
 * there from MXNet Gluon's `resnet50_v2`), read by their initializer names
 * from that `.onnx` file or from a safetensors file holding the same tensors.
 *
 * Why this network: it is a genuine ImageNet ResNet50 whose weights anyone can
 * download as one Apache-2.0 file, and whose stages 1-3 give the paper's
 * 256 / 512 / 1024 channels at strides 4 / 8 / 16.
 *
 * Layer order (names `resnetv24_...`): a fixed BatchNorm on the normalised
 * input (`batchnorm0`), `conv0` 7x7 stride 2 pad 3, `batchnorm1`, ReLU, 3x3
 * max-pool stride 2 pad 1; stages 1-3 of 3 / 4 / 6 bottleneck units. A unit
 * is BN -> ReLU (= y), 1x1 conv, BN, ReLU, 3x3 conv (the stage's stride in its
 * first unit), BN, ReLU, 1x1 conv, plus a shortcut: the unit's input, or in a
 * stage's first unit a 1x1 conv (stride) of y. Inside `stageS_`, BatchNorms
 * and convs are numbered in creation order (unit u: batchnorm 3u..3u+2; convs
 * 0-2 and the shortcut 3 in unit 0, 3u+1..3u+3 after). BatchNorm eps 1e-5.
 *
 * Levels: a pre-activation stage ends in a raw sum that no BatchNorm has seen;
 * the network itself only ever reads it through the next unit's BN + ReLU.
 * Both are offered: `stage1..3` (the raw sums) and `stage1_act..stage3_act`
 * (the next stage's `batchnorm0` + ReLU of it, what the following layers see).
 * The default was chosen by measurement (docs/BACKBONES.md).
 *
 * ```ts
 * const bb = createResNetV2({ weights: '/models/resnet50-v2-7.onnx' });
 * bb.levels;   // stage1_act 256 @4, stage2_act 512 @8, stage3_act 1024 @16
 * ```
 */
import { IMAGENET_NORMALIZATION } from './common';
import { BatchNormStats, ConvNetBackbone, ConvNetBuilder } from './convnet';
import { openWeightsFile, readTensor, WeightsFile } from './weights-file';
import type { BaseBackbone } from './common';

export const RESNET50_V2 = 'resnet50_v2';

const UNITS = [3, 4, 6] as const;
const BN_EPS = 1e-5;
const ROOT = 'resnetv24_';

/** Level names: the raw stage sums and their activated forms. */
export const RESNET_V2_LEVELS = ['stage1', 'stage2', 'stage3', 'stage1_act', 'stage2_act', 'stage3_act'] as const;
/** Chosen by measurement on the leave-one-class-out benchmark (docs/BACKBONES.md). */
export const RESNET_V2_DEFAULT_LEVELS: readonly string[] = ['stage1_act', 'stage2_act', 'stage3_act'];

interface ConvKey {
  name: string;
  shape: [number, number, number, number];
}

interface UnitLayout {
  bns: [string, string, string];
  convs: [ConvKey, ConvKey, ConvKey];
  shortcut: ConvKey | null;
  stride: number;
  inChannels: number;
}

function stageLayout(stage: number): { units: UnitLayout[]; outChannels: number } {
  const planes = 64 * 2 ** (stage - 1);
  const out = planes * 4;
  const p = `${ROOT}stage${stage}_`;
  const units: UnitLayout[] = [];
  for (let u = 0; u < UNITS[stage - 1]; u++) {
    const cin = u === 0 ? (stage === 1 ? 64 : out / 2) : out;
    const c = u === 0 ? 0 : 3 * u + 1;
    const stride = u === 0 && stage > 1 ? 2 : 1;
    units.push({
      bns: [`${p}batchnorm${3 * u}`, `${p}batchnorm${3 * u + 1}`, `${p}batchnorm${3 * u + 2}`],
      convs: [
        { name: `${p}conv${c}_weight`, shape: [planes, cin, 1, 1] },
        { name: `${p}conv${c + 1}_weight`, shape: [planes, planes, 3, 3] },
        { name: `${p}conv${c + 2}_weight`, shape: [out, planes, 1, 1] },
      ],
      shortcut: u === 0 ? { name: `${p}conv3_weight`, shape: [out, cin, 1, 1] } : null,
      stride,
      inChannels: cin,
    });
  }
  return { units, outChannels: out };
}

const BN_FIELDS = ['gamma', 'beta', 'running_mean', 'running_var'] as const;

/** Every tensor (zoo name, OIHW shape) that stages 1-3 and their `_act` levels read. */
export function resnetV2WeightKeys(): Array<{ name: string; shape: number[] }> {
  const out: Array<{ name: string; shape: number[] }> = [];
  const bn = (prefix: string, n: number): void => BN_FIELDS.forEach((f) => out.push({ name: `${prefix}_${f}`, shape: [n] }));
  bn(`${ROOT}batchnorm0`, 3);
  out.push({ name: `${ROOT}conv0_weight`, shape: [64, 3, 7, 7] });
  bn(`${ROOT}batchnorm1`, 64);
  for (let s = 1; s <= 3; s++) {
    const { units, outChannels } = stageLayout(s);
    for (const u of units) {
      u.bns.forEach((b, i) => bn(b, i === 0 ? u.inChannels : u.convs[i - 1].shape[0]));
      u.convs.forEach((c) => out.push({ name: c.name, shape: [...c.shape] }));
      if (u.shortcut) out.push({ name: u.shortcut.name, shape: [...u.shortcut.shape] });
    }
    // The `_act` level of stage s is the next stage's first BatchNorm.
    bn(`${ROOT}stage${s + 1}_batchnorm0`, outChannels);
  }
  return out;
}

function readBn(file: WeightsFile, prefix: string, n: number): BatchNormStats {
  const get = (f: (typeof BN_FIELDS)[number]): Float32Array => readTensor(file, `${prefix}_${f}`, [n], RESNET50_V2);
  return { gamma: get('gamma'), beta: get('beta'), mean: get('running_mean'), variance: get('running_var'), eps: BN_EPS };
}

export interface ResNetV2Options {
  /** The model zoo's resnet50-v2-7.onnx, or a safetensors file with its initializer names. */
  weights: string;
  /** Levels, an increasing-stride subset of RESNET_V2_LEVELS (default RESNET_V2_DEFAULT_LEVELS). */
  layers?: readonly string[];
}

function parseLevels(layers: readonly string[]): Array<{ name: string; stage: number; act: boolean }> {
  const parsed = layers.map((name) => {
    if (!(RESNET_V2_LEVELS as readonly string[]).includes(name)) {
      throw new Error(`${RESNET50_V2}: unknown level '${name}'; choose from ${RESNET_V2_LEVELS.join(', ')}`);
    }
    return { name, stage: Number(name[5]), act: name.endsWith('_act') };
  });
  if (parsed.length === 0 || parsed.some((l, i) => i > 0 && l.stage <= parsed[i - 1].stage)) {
    throw new Error(`${RESNET50_V2}: levels must be non-empty with increasing stages (e.g. stage1_act,stage2_act,stage3_act), got ${JSON.stringify(layers)}`);
  }
  return parsed;
}

/** Builds ResNet50-v2 stages 1..3 from the model zoo's weights. Errors name the file and tensor. */
export function createResNetV2(options: ResNetV2Options): BaseBackbone {
  const levels = parseLevels(options.layers ?? RESNET_V2_DEFAULT_LEVELS);
  const lastStage = levels[levels.length - 1].stage;
  const file = openWeightsFile(options.weights);
  const b = new ConvNetBuilder();
  try {
    const conv = (input: number, c: ConvKey, stride: number, pad: number, bn?: BatchNormStats): number =>
      b.conv(input, { values: readTensor(file, c.name, c.shape, RESNET50_V2), shape: c.shape }, { stride, pad, bn, activation: bn ? 'relu' : 'linear' });
    const data = b.batchNorm(0, readBn(file, `${ROOT}batchnorm0`, 3));
    let x = b.maxPool(conv(data, { name: `${ROOT}conv0_weight`, shape: [64, 3, 7, 7] }, 2, 3, readBn(file, `${ROOT}batchnorm1`, 64)), 3, 2, 1);
    const taps: number[] = [];
    for (let s = 1; s <= lastStage; s++) {
      const { units, outChannels } = stageLayout(s);
      for (const u of units) {
        const y = b.batchNorm(x, readBn(file, u.bns[0], u.inChannels), 'relu');
        // The 1x1 and 3x3 convs are followed by BN + ReLU (folded); the last 1x1 is linear.
        const h1 = conv(y, u.convs[0], 1, 0, readBn(file, u.bns[1], u.convs[0].shape[0]));
        const h2 = conv(h1, u.convs[1], u.stride, 1, readBn(file, u.bns[2], u.convs[1].shape[0]));
        const h3 = conv(h2, u.convs[2], 1, 0);
        x = b.add(h3, u.shortcut ? conv(y, u.shortcut, u.stride, 0) : x);
      }
      const level = levels.find((l) => l.stage === s);
      if (level) taps.push(level.act ? b.batchNorm(x, readBn(file, `${ROOT}stage${s + 1}_batchnorm0`, outChannels), 'relu') : x);
    }
    const info = levels.map((l) => Object.freeze({ name: l.name, channels: 256 * 2 ** (l.stage - 1), stride: 4 * 2 ** (l.stage - 1) }));
    return new ConvNetBackbone(RESNET50_V2, Object.freeze(info), IMAGENET_NORMALIZATION, { ops: b.ops, outputs: taps });
  } catch (err) {
    b.dispose();
    throw err;
  } finally {
    file.close();
  }
}
