/**
 * A fixed random 2-level CNN implementing the Backbone contract: lets the
 * ResAD model, trainer and checkpoint tests run in seconds without a real
 * pretrained network.
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone, FeatureLevelInfo } from '../../src/backbones/index';
import { IDENTITY_NORMALIZATION } from '../../src/backbones/index';
import { Rng } from '../../src/util/rng';
import { CPU_CONFIG, ResADConfig } from '../../src/resad/config';

/** A ResAD config sized for tinyBackbone() and 32 px images: trains in about a second. */
export const TINY_CONFIG: ResADConfig = {
  ...CPU_CONFIG,
  backbone: 'tiny-test-cnn',
  imageSize: 32,
  flowBlocks: 2,
  posEncodingDim: 8,
  flowBatch: 256,
  batchSize: 4,
  epochs: 2,
  firstStageEpochs: 1,
  lrMilestones: [],
  lr: 1e-3,
  trainShots: 2,
  syntheticPerClass: 4,
  seed: 3,
  // Both score terms, so tests of scoring and calibration exercise each, whatever the preset's choice.
  scoring: 'nll+distance',
};

export function tinyBackbone(seed = 1): Backbone {
  const rng = new Rng(seed);
  const w = (shape: number[]): tf.Tensor4D => {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape[0] * shape[1] * shape[2];
    return tf.tensor4d(Float32Array.from({ length: n }, () => rng.normal(0, Math.sqrt(2 / fanIn))), shape as [number, number, number, number]);
  };
  const k1 = w([3, 3, 3, 8]);
  const k2 = w([3, 3, 8, 12]);
  const levels: FeatureLevelInfo[] = [
    { name: 'c1', channels: 8, stride: 2 },
    { name: 'c2', channels: 12, stride: 4 },
  ];
  return {
    name: 'tiny-test-cnn',
    levels,
    inputNormalization: IDENTITY_NORMALIZATION,
    extract(images: tf.Tensor4D): tf.Tensor4D[] {
      return tf.tidy(() => {
        const a = tf.relu(tf.conv2d(images, k1, 2, 'same'));
        const b = tf.relu(tf.conv2d(a, k2, 2, 'same'));
        return [a, b];
      });
    },
    featureSizes(height: number, width: number): Array<[number, number]> {
      return [
        [Math.ceil(height / 2), Math.ceil(width / 2)],
        [Math.ceil(height / 4), Math.ceil(width / 4)],
      ];
    },
    dispose(): void {
      tf.dispose([k1, k2]);
    },
  };
}
