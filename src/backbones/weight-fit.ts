/**
 * Does a weights file fit a backbone's architecture? The check behind
 * `resad weights add` and `resad weights verify`: every tensor the backbone
 * reads must be in the file with the right shape, and the first one that is
 * not is named.
 *
 * ```ts
 * checkWeightsFit('resnet50_v2', '/downloads/resnet50-v2-7.onnx');   // { checked: 249, format: 'onnx' }
 * checkWeightsFit('resnet50_v2', 'mobilenetv2-7.onnx');              // throws: ... has no tensor 'resnetv24_batchnorm0_gamma'
 * ```
 */
import { openWeightsFile, WeightsFile, WeightsFormat } from './weights-file';
import { RESNET_ARCHS, detectResNetPrefix, resnetWeightKeys } from './resnet';
import { MOBILENETV2_IMAGENET, mobileNetV2WeightKeys } from './mobilenetv2-imagenet';
import { RESNET50_V2, resnetV2WeightKeys } from './resnet-v2';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** Backbones whose weights come from a file (the ones the weights manager knows). */
export function fileWeightedBackbones(): string[] {
  return [RESNET50_V2, MOBILENETV2_IMAGENET, ...Object.keys(RESNET_ARCHS)];
}

/** Tensors (names as in the file, shapes in its OIHW layout) that `backbone` reads for its stride 4/8/16 levels. */
export function expectedTensors(backbone: string, file: WeightsFile): ExpectedTensor[] {
  if (backbone === RESNET50_V2) return resnetV2WeightKeys();
  if (backbone === MOBILENETV2_IMAGENET) return mobileNetV2WeightKeys();
  const arch = RESNET_ARCHS[backbone];
  if (!arch) throw new Error(`no weights file belongs to backbone '${backbone}'; file-weighted backbones: ${fileWeightedBackbones().join(', ')}`);
  const prefix = detectResNetPrefix(arch, file);
  return resnetWeightKeys(arch, 3).map(({ key, shape }) => ({ name: prefix + key, shape }));
}

/**
 * Throws, naming the file and the first tensor that is missing or has
 * another shape, unless every tensor `backbone` needs is there.
 */
export function checkWeightsFit(backbone: string, path: string): { checked: number; format: WeightsFormat } {
  const file = openWeightsFile(path);
  try {
    const expected = expectedTensors(backbone, file);
    for (const { name, shape } of expected) {
      if (!file.has(name)) throw new Error(`${path} does not fit ${backbone}: it has no tensor '${name}' (a file of another architecture?)`);
      const got = file.shape(name);
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
        throw new Error(`${path} does not fit ${backbone}: tensor '${name}' has shape [${got.join(', ')}], expected [${shape.join(', ')}]`);
      }
    }
    return { checked: expected.length, format: file.format };
  } finally {
    file.close();
  }
}
