/**
 * The constraintor and its OCC loss on a toy problem, judged by what the paper
 * wants from them: after training, anomalous residuals must stand out from
 * normal ones at least as much as before the constraintor (normals pulled
 * into the sphere, anomalies left outside). Run for the default (cpu) preset,
 * and for a negative control that trains the same loss with the labels
 * swapped (anomalies pulled into the sphere), which must fail it.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng';
import { createConstraintor } from '../../src/constraintor/constraintor';
import { occLossLevels } from '../../src/constraintor/occ-loss';
import { residualFrom } from '../../src/converter/residual';
import { Adam } from '../../src/resad/adam';
import { CPU_CONFIG, ResADConfig } from '../../src/resad/config';
import { randnValues, useCpu } from '../converter/helpers';

const C = 16;
const SIZE = 8;
const BATCH = 8;

/** Features x and matches x*: normals differ by small noise, a 3x3 block of every other image by a large structured offset. */
function toyBatch(rng: Rng, direction: Float32Array): { x: tf.Tensor4D; matched: tf.Tensor4D; mask: number[] } {
  const n = BATCH * SIZE * SIZE;
  const matched = randnValues(rng, n * C, 1);
  const x = new Float32Array(n * C);
  const mask: number[] = [];
  for (let b = 0; b < BATCH; b++) {
    const top = rng.int(SIZE - 3);
    const left = rng.int(SIZE - 3);
    for (let i = 0; i < SIZE; i++) {
      for (let j = 0; j < SIZE; j++) {
        const p = (b * SIZE + i) * SIZE + j;
        const anomalous = b % 2 === 1 && i >= top && i < top + 3 && j >= left && j < left + 3;
        mask.push(anomalous ? 1 : 0);
        const strength = anomalous ? 2 + rng.uniform() : 0;
        for (let c = 0; c < C; c++) x[p * C + c] = matched[p * C + c] + 0.3 * rng.normal() + strength * direction[c];
      }
    }
  }
  return { x: tf.tensor4d(x, [BATCH, SIZE, SIZE, C]), matched: tf.tensor4d(matched, [BATCH, SIZE, SIZE, C]), mask };
}

/** mean ||v|| over anomalous positions / mean ||v|| over normal ones. */
function normRatio(v: tf.Tensor4D, mask: number[]): number {
  const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(v), 3)).dataSync());
  let a = 0;
  let na = 0;
  let n = 0;
  let nn = 0;
  mask.forEach((m, i) => {
    if (m) {
      a += norms[i];
      na++;
    } else {
      n += norms[i];
      nn++;
    }
  });
  return a / na / (n / nn);
}

/** Trains the config's constraintor with its OCC loss on fresh toy batches; returns the ratio before and after on a held-out batch. */
function trainToy(config: ResADConfig, steps: number, flipLabels = false): { before: number; after: number } {
  const rng = new Rng(5);
  const direction = randnValues(rng, C, 1);
  const norm = Math.hypot(...direction);
  direction.forEach((v, i) => (direction[i] = v / norm));
  const constraintor = createConstraintor(config.constraintor, [C], config.seed, { bnGammaInit: config.bnGammaInit });
  const opt = new Adam(constraintor.trainableVariables, { lr: 3e-3, weightDecay: config.weightDecay });
  const variant = config.occ === 'off' ? 'paper' : config.occ;
  for (let s = 0; s < steps; s++) {
    const { x, matched, mask } = toyBatch(rng, direction);
    const r = residualFrom(x, matched, config.residual);
    const { value, grads } = tf.variableGrads(
      () => occLossLevels(constraintor.apply([r], true), [r], [flipLabels ? mask.map((m) => 1 - m) : mask], { variant, pushMargin: config.occPushMargin }).loss,
      constraintor.trainableVariables,
    );
    opt.step(grads);
    tf.dispose([x, matched, r, value, grads]);
  }
  const { x, matched, mask } = toyBatch(rng, direction);
  const r = residualFrom(x, matched, config.residual);
  const [constrained] = constraintor.apply([r], false);
  const result = { before: normRatio(r, mask), after: normRatio(constrained, mask) };
  tf.dispose([x, matched, r, constrained]);
  opt.dispose();
  constraintor.dispose();
  return result;
}

describe('constraintor + OCC on a toy problem: anomalies stay outside', function () {
  // Pure-JS cpu backend: about 10 s each on an idle machine, but up to 2 minutes when the suite shares the cores with other work.
  this.timeout(300000);
  before(useCpu);

  it('the default preset keeps (or raises) the anomalous/normal norm ratio', () => {
    const { before, after } = trainToy(CPU_CONFIG, 60);
    assert.ok(before > 2, `toy anomalies stand out before the constraintor: ${before}`);
    assert.ok(after >= before, `ratio after the constraintor ${after.toFixed(3)} < before ${before.toFixed(3)}`);
  });

  it('a negative control (labels swapped: anomalies pulled into the sphere) lowers it, so the check can fail', () => {
    const { before, after } = trainToy(CPU_CONFIG, 60, true);
    assert.ok(after < before, `expected a lower ratio with swapped labels, got ${after.toFixed(3)} vs ${before.toFixed(3)}`);
  });
});
