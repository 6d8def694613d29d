/**
 * Constraintor forwards against PyTorch (torch 1.13) on fixed weights: the
 * official module structures rebuilt in test/fixtures/constraintor/
 * make_constraintor_fixture.py (ConvBnAct with and without its ReLU, timm BasicBlock / Bottleneck,
 * MultiScaleFusion with its grouped strided convs and align_corners
 * upsampling, MultiScaleFusion + Bottleneck). One train-mode forward (batch
 * statistics), the running statistics it leaves, then an eval-mode forward.
 * Tolerance: 2e-5 absolute + 2e-5 relative (float32 on both sides, different
 * summation orders; the fusion also projects before upsampling).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConstraintorKind, createConstraintor } from '../../src/constraintor/constraintor';
import { useCpu } from '../converter/helpers';

interface Arr {
  shape: number[];
  values: number[];
}
interface FixtureCase {
  kind: ConstraintorKind;
  channels: number[];
  weights: Array<{ name: string; shape: number[]; values: number[] }>;
  inputs: Arr[];
  trainOut: Arr[];
  runningAfter: Array<{ name: string; shape: number[]; values: number[] }>;
  evalOut: Arr[];
}

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'constraintor', 'constraintor_fixture.json');

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const tol = 2e-5 + 2e-5 * Math.abs(expected[i]);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs torch ${expected[i]}`);
  }
}

describe('constraintor vs PyTorch fixture', () => {
  before(useCpu);
  const fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { torch: string; cases: FixtureCase[] };

  it('covers every kind with parameters', () => {
    assert.deepEqual(
      fixture.cases.map((c) => c.kind),
      ['conv-bn-relu', 'basic-block', 'bottleneck', 'multi-scale-fusion', 'msf+bottleneck', 'conv-bn', 'msf+basic-block'],
    );
  });

  for (const fc of fixture.cases) {
    it(`${fc.kind}: train forward, running stats and eval forward match torch ${fixture.torch}`, () => {
      const before = tf.memory().numTensors;
      const c = createConstraintor(fc.kind, fc.channels, 0);
      c.setWeights(fc.weights.map((w) => ({ name: w.name, shape: w.shape, values: Float32Array.from(w.values) })));
      const x = fc.inputs.map((a) => tf.tensor4d(a.values, a.shape as [number, number, number, number]));
      const yTrain = c.apply(x, true);
      yTrain.forEach((y, l) => {
        assert.deepEqual(y.shape, fc.trainOut[l].shape);
        assertClose(y.dataSync(), fc.trainOut[l].values, `train level ${l}`);
      });
      const stats = new Map(c.getWeights().map((w) => [w.name, w.values]));
      for (const r of fc.runningAfter) assertClose(stats.get(r.name) ?? [], r.values, r.name);
      const yEval = c.apply(x, false);
      yEval.forEach((y, l) => assertClose(y.dataSync(), fc.evalOut[l].values, `eval level ${l}`));
      tf.dispose([...x, ...yTrain, ...yEval]);
      c.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }
});
