/**
 * The numbers a user reads, checked against values computed elsewhere: a
 * dataset whose test images carry their own anomaly map (red channel = map,
 * score = its maximum; test/fixtures/gen_evaluation.py writes the PNGs and
 * computes every metric with sklearn and the MVTec AUPRO logic from the files
 * as written). A stub scorer returns exactly those maps, so whatever the real
 * evaluation loop, the results file and the CLI report must equal the fixture:
 * a flipped label, a mask misaligned with its image or maps paired with the
 * wrong images change them.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import type { Sample } from '../../src/data/sample';
import { readDataset } from '../../src/data/readers/index';
import type { ReferenceSet } from '../../src/data/references';
import { METRIC_KEYS, MetricSet } from '../../src/metrics/index';
import { evaluateFewShot, EvaluationResult, FewShotScorer } from '../../src/evaluation/index';
import { toResultsFile } from '../../src/report/results-json';
import { onnxRuntime } from '../../src/engine/onnxruntime';
import { ONNX_METADATA_KEY, PatchCoreOnnxInfo } from '../../src/onnx/resad';
import { OnnxGraph } from '../../src/util/onnx-graph';
import { customProtocol, ExperimentSession, registerMethod, unregisterMethod } from '../../src/experiments/index';
import { runCli } from '../helpers/run-cli';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'evaluation');
const DATA = path.join(FIXTURE, 'data');
const SIZE = 32;

type Metrics = Partial<Record<keyof MetricSet, number | null>>;
interface ClassMetrics extends Metrics {
  class: string;
}
interface Expected {
  images: Record<string, string[]>;
  expected: { perClass: ClassMetrics[]; mean: Metrics };
  permutedLabels: Array<ClassMetrics & { permutation: number[] }>;
  mirroredMasks: { perClass: ClassMetrics[]; mean: Metrics };
}
const EXPECTED = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected;

/** The stub method: the map is the image's red channel, the score its maximum. */
const redChannelScorer: FewShotScorer = {
  imageSize: SIZE,
  // 'resize-whole' at the files' own size: preprocessing leaves the pixels as they are.
  preprocess: { size: SIZE, mode: 'resize-whole', normalize: false },
  prepareClass() {
    return {
      score(images) {
        const maps = images.map((im) => ({ width: im.width, height: im.height, data: Float32Array.from({ length: im.width * im.height }, (_, p) => im.data[3 * p]) }));
        return { maps, scores: maps.map((m) => m.data.reduce((a, b) => Math.max(a, b), -Infinity)) };
      },
      release: () => undefined,
    };
  },
};

/** Two references per class: the class's training images (their content does not matter to the stub). */
function referencesOf(samples: readonly Sample[]): ReferenceSet {
  const classes: Record<string, string[]> = {};
  for (const s of samples.filter((x) => x.split === 'train')) (classes[s.className] ??= []).push(s.imagePath);
  return { version: 1, shots: 2, seed: 0, classes };
}

/** Every metric equal to the fixture's within float32 rounding of the maps; a metric the fixture lacks must be absent (null in files). */
function assertMetrics(got: Metrics, want: Metrics, where: string): void {
  for (const k of METRIC_KEYS) {
    const w = want[k];
    const g = got[k];
    if (w === undefined || w === null) {
      assert.ok(g === undefined || g === null, `${where} ${k}: expected no value, got ${g}`);
    } else {
      assert.ok(typeof g === 'number' && Math.abs(g - w) < 1e-9, `${where} ${k}: got ${g}, sklearn/MVTec reference ${w}`);
    }
  }
}

function assertResult(result: Pick<EvaluationResult, 'perClass' | 'mean'> | ReturnType<typeof toResultsFile>, want: { perClass: ClassMetrics[]; mean: Metrics }, where: string): void {
  assert.deepEqual(result.perClass.map((c) => c.class), want.perClass.map((c) => c.class), `${where}: classes`);
  result.perClass.forEach((c, i) => assertMetrics(c, want.perClass[i], `${where} ${c.class}`));
  assertMetrics(result.mean, want.mean, `${where} mean`);
}

/** A stub ONNX "model" that computes the same thing as redChannelScorer, in resad's export format, for the CLI. */
function redChannelOnnx(): Uint8Array {
  const g = new OnnxGraph('red-channel-stub');
  const images = g.input('images', ['batch', SIZE, SIZE, 3]);
  g.input('pool0', ['m', 3]);
  g.output(g.node('Reshape', [images, g.ints('flat', [-1, 3])]), 'features0', ['n', 3]);
  const red = g.node('Slice', [images, g.ints('start', [0]), g.ints('end', [1]), g.ints('axis', [3])]);
  const map = g.output(g.node('Reshape', [red, g.ints('map_shape', [-1, SIZE, SIZE])]), 'anomaly_map', ['batch', SIZE, SIZE]);
  g.output(g.node('ReduceMax', [map], { axes: [1, 2], keepdims: 0 }), 'image_score', ['batch']);
  const info: PatchCoreOnnxInfo = {
    format: 'resad-onnx',
    version: 1,
    kind: 'patchcore',
    backbone: 'red-channel-stub',
    imageSize: SIZE,
    resizeMode: 'resize-whole',
    input: { layout: 'NHWC', range: [0, 1], normalization: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } },
    levels: [{ name: 'pixels', channels: 3, stride: 1, height: SIZE, width: SIZE }],
    scoreSigma: 0,
    method: { name: 'red-channel-stub' },
  };
  return g.toBytes({ metadata: { [ONNX_METADATA_KEY]: JSON.stringify(info) } });
}

describe('evaluation: metrics a user reads equal independently computed values', function () {
  this.timeout(60000);
  let tmp: string;
  // gamma's anomalies have no masks on purpose: they count for image metrics only.
  const read = (root: string): Sample[] => readDataset(root, { format: 'mvtec', allowMissingMasks: true });
  const samples = read(DATA);
  const references = referencesOf(samples);
  const evaluate = (s: readonly Sample[]) => evaluateFewShot(redChannelScorer, s, references, { quiet: true, batchSize: 3 });

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-metric-truth-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads the fixture as generated (labels and masks from the folders)', () => {
    for (const [cls, rels] of Object.entries(EXPECTED.images)) {
      const test = samples.filter((s) => s.className === cls && s.split === 'test');
      assert.deepEqual(test.map((s) => path.relative(DATA, s.imagePath)).sort(), [...rels].sort());
      for (const s of test) assert.equal(s.label, s.defectType === 'good' ? 0 : 1);
      assert.equal(test.some((s) => s.maskPaths.length > 0), cls !== 'gamma');
    }
  });

  it('evaluateFewShot and its results file give sklearn / MVTec AUPRO values, per class and mean', async () => {
    const result = await evaluate(samples);
    assertResult(result, EXPECTED.expected, 'evaluateFewShot');
    assertResult(toResultsFile(result, {}), EXPECTED.expected, 'results file');
    // Per-image records keep each image's own score (the maximum of its red channel).
    const one = result.perImage.alpha.find((r) => r.path.endsWith(path.join('test', 'good', '000.png')))!;
    const { data } = await sharp(one.path).raw().toBuffer({ resolveWithObject: true });
    let max = 0;
    for (let p = 0; p < data.length; p += 3) max = Math.max(max, data[p]);
    assert.ok(Math.abs(one.score - max / 255) < 1e-6, `${one.score} vs ${max / 255}`);
  });

  it('flipped labels turn each image AUROC into 1 - AUROC; a fixed label permutation gives the reference values', async () => {
    const flipped = await evaluate(samples.map((s) => (s.split === 'test' ? { ...s, label: (1 - s.label) as 0 | 1, maskPaths: [] } : s)));
    flipped.perClass.forEach((c, i) => assert.ok(Math.abs(c.imageAUROC - (1 - (EXPECTED.expected.perClass[i].imageAUROC as number))) < 1e-9, `${c.class}: ${c.imageAUROC}`));
    // The permutation is over the fixture's image list; moved labels carry no masks, so only image metrics remain.
    const labelOf = new Map(samples.map((s) => [path.relative(DATA, s.imagePath), s.label]));
    const permutedLabel = new Map<string, 0 | 1>();
    for (const p of EXPECTED.permutedLabels) {
      const rels = EXPECTED.images[p.class];
      rels.forEach((rel, i) => permutedLabel.set(rel, labelOf.get(rels[p.permutation[i]])!));
    }
    const permuted = await evaluate(samples.map((s) => (s.split === 'test' ? { ...s, label: permutedLabel.get(path.relative(DATA, s.imagePath))!, maskPaths: [] } : s)));
    permuted.perClass.forEach((c, i) => assertMetrics(c, EXPECTED.permutedLabels[i], `permuted ${c.class}`));
  });

  it('masks mirrored left-right move the pixel metrics to the reference values for mirrored masks', async () => {
    const root = path.join(tmp, 'mirrored');
    fs.cpSync(DATA, root, { recursive: true });
    const mirrored = read(root);
    for (const s of mirrored) for (const m of s.maskPaths) fs.writeFileSync(m, await sharp(fs.readFileSync(m)).flop().png().toBuffer());
    const result = await evaluateFewShot(redChannelScorer, mirrored, referencesOf(mirrored), { quiet: true });
    assertResult(result, EXPECTED.mirroredMasks, 'mirrored masks');
  });

  it('resad eval on a stub ONNX model writes the same numbers into its results JSON', async function () {
    if (onnxRuntime() === null) this.skip();
    const model = path.join(tmp, 'red-channel.onnx');
    fs.writeFileSync(model, redChannelOnnx());
    const json = path.join(tmp, 'results.json');
    const refs = path.join(tmp, 'references.json');
    const { code, err } = await runCli(['eval', '--model', model, '--data', DATA, '--allow-missing-masks', '--shots', '2', '--references', refs, '--json', json]);
    assert.equal(code, 0, err);
    const file = JSON.parse(fs.readFileSync(json, 'utf8')) as ReturnType<typeof toResultsFile>;
    assertResult(file, EXPECTED.expected, 'CLI results JSON');
    assert.deepEqual(file.perClass.map((c) => c.images), [9, 7, 6]);
  });

  it('the experiments runner stores the same numbers in its run record', async () => {
    registerMethod('red-channel', () => ({ ...redChannelScorer, dispose: () => undefined }));
    try {
      // The runner reads with masks required, so the classes with masks only.
      const protocol = customProtocol({ name: 'metric-truth', train: [`${DATA}:alpha`], test: [`mvtec=${DATA}:alpha,beta`], shots: [2], referenceSeeds: [0] });
      const session = new ExperimentSession({ store: path.join(tmp, 'store'), quiet: true });
      const { record } = await session.run({ protocol, method: 'red-channel', shots: 2, referenceSeed: 0 });
      const want = EXPECTED.expected.perClass.slice(0, 2);
      const mean = Object.fromEntries(METRIC_KEYS.map((k) => [k, ((want[0][k] as number) + (want[1][k] as number)) / 2]));
      assertResult(record, { perClass: want, mean }, 'runner record');
    } finally {
      unregisterMethod('red-channel');
    }
  });
});
