/**
 * ONNX export against the tfjs path: backbones layer by layer, and whole
 * ResAD models (features, residuals, ||r'||, log-likelihoods, maps, image
 * scores) for every exported option, on real images from ../shared/datasets
 * when present (procedural noise images otherwise). Needs onnxruntime-node
 * (an optional dependency, installed by npm ci); skips, saying so, without it.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index';
import { createBackbone, createResNet, encodeSafetensors, mobileNetV2WeightKeys, RESNET_ARCHS, resnetV2WeightKeys } from '../../src/backbones/index';
import { findWeights } from '../../src/backbones/weights/index';
import * as os from 'os';
import { formulaTensors, writeFormulaCheckpoint } from '../backbones/formula-weights';
import type { Backbone } from '../../src/backbones/index';
import { ResADModel } from '../../src/resad/model';
import { CPU_CONFIG, RESADPP_OPTIONS, ResADConfig } from '../../src/resad/config';
import { loadSample, PreprocessedImage } from '../../src/data/transforms';
import { createBaselineScorer } from '../../src/baselines/index';
import { decodeModel, exportPatchCoreOnnx, exportBackboneGraph, exportResADGraph, exportResADOnnx, mapOperator, OnnxGraph, OnnxResADRunner, OnnxSession, onnxRuntime, readOnnxModelInfo, resadScorerWith, onnxFloat as float } from '../../src/onnx/index';
import { gaussianBlur, resizeBilinear } from '../../src/scoring/anomaly-map';
import { Rng } from '../../src/util/rng';
import { SHARED_DATASETS } from '../helpers/shared-data';

const SIZE = 64;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Four real bottle images (2 references, a normal and an anomaly) or, without ../shared, seeded noise. */
async function testImages(size: number): Promise<PreprocessedImage[]> {
  if (SHARED_DATASETS !== null) {
    const dir = path.join(SHARED_DATASETS, 'mvtec_ad', 'bottle');
    const pick = (sub: string, i: number): string => {
      const folder = path.join(dir, sub);
      return path.join(folder, fs.readdirSync(folder).filter((f) => /\.(png|jpg)$/i.test(f)).sort()[i]);
    };
    const files = [pick('train/good', 0), pick('train/good', 1), pick('test/good', 0), pick('test/broken_large', 0)];
    return Promise.all(files.map(async (p) => (await loadSample({ imagePath: p, className: 'bottle', split: 'test', label: 0, defectType: 'good', maskPaths: [] }, { size, mode: 'resize-crop', normalize: false })).image));
  }
  const rng = new Rng(7);
  return [0, 1, 2, 3].map(() => ({ width: size, height: size, normalized: false, data: Float32Array.from({ length: size * size * 3 }, () => rng.uniform()) }));
}

function batch(images: readonly PreprocessedImage[]): { data: Float32Array; dims: number[] } {
  const per = images[0].data.length;
  const data = new Float32Array(per * images.length);
  images.forEach((im, i) => data.set(im.data, i * per));
  return { data, dims: [images.length, images[0].height, images[0].width, 3] };
}

/** The backbone exported alone gives its tfjs feature maps (max |diff| < 1e-4 relative) on real images at `size`. */
async function assertBackboneExportMatches(net: Backbone, size: number): Promise<void> {
  const s = await OnnxSession.create(exportBackboneGraph(net).toBytes());
  const x = batch(await testImages(size));
  const out = await s.run({ images: x });
  const ref = tf.tidy(() => net.extract(tf.tensor4d(x.data, x.dims as [number, number, number, number])));
  ref.forEach((r, l) => {
    const values = r.dataSync();
    assert.deepEqual(out[`level${l}`].dims, r.shape);
    assert.ok(maxAbs(values) > 0.1, 'features are not trivially small');
    const diff = maxAbsDiff(out[`level${l}`].data, values);
    assert.ok(diff < 1e-4 * Math.max(1, maxAbs(values)), `level ${l}: ${diff}`);
  });
  tf.dispose(ref);
  await s.release();
}

/** Moves BatchNorm statistics and affine away from their init, as training would. */
function perturbConstraintor(model: ResADModel, seed: number): void {
  const rng = new Rng(seed);
  model.constraintor.setWeights(
    model.constraintor.getWeights().map((w) => {
      const values = Float32Array.from(w.values);
      if (w.name.endsWith('running_var')) for (let i = 0; i < values.length; i++) values[i] = 0.5 + rng.uniform();
      else if (w.name.endsWith('running_mean') || w.name.endsWith('bn.bias')) for (let i = 0; i < values.length; i++) values[i] = 0.2 * (rng.uniform() - 0.5);
      return { ...w, values };
    }),
  );
}

describe('ONNX export (onnxruntime-node vs the tfjs path)', function () {
  this.timeout(300000);
  let backbone: Backbone;

  before(async function () {
    if (onnxRuntime() === null) {
      console.log('    (skipped: onnxruntime-node is not installed)');
      this.skip();
    }
    await initEngine({ quiet: true });
    backbone = await createBackbone('nsfw_mobilenetv2');
  });
  after(() => backbone?.dispose());

  it('writes graphs onnxruntime loads, with their metadata; rejects what it cannot encode', async () => {
    const g = new OnnxGraph('t');
    const x = g.input('x', ['batch', 3]);
    g.output(g.node('LeakyRelu', [g.node('MatMul', [x, g.constant('w', [1, 0, 0, 1, 1, 1], [3, 2])])], { alpha: float(0.5) }), 'y', ['batch', 2]);
    const bytes = g.toBytes({ metadata: { note: 'hello' } });
    assert.deepEqual(decodeModel(bytes).metadataProps, [{ key: 'note', value: 'hello' }]);
    const s = await OnnxSession.create(bytes);
    const out = await s.run({ x: { data: Float32Array.from([1, -2, 3, -1, -1, -1]), dims: [2, 3] } });
    assert.deepEqual(Array.from(out.y.data), [4, 1, -1, -1]);
    await s.release();
    assert.throws(() => g.node('Relu', [x], { alpha: 0.5 }), /attribute alpha: 0\.5 is not an integer \(use float\(0\.5\)\)/);
    assert.throws(() => g.input('x', [1]), /name "x" is used twice/);
    assert.throws(() => readOnnxModelInfo(bytes, 'other.onnx'), /other\.onnx: an ONNX model without resad's metadata/);
  });

  it('MobileNetV2 exported layer by layer gives the tfjs feature maps (max |diff| < 1e-4)', async () => {
    await assertBackboneExportMatches(backbone, 96);
  });

  it('the MobileNetV2 1.4 graph model (nsfw_mobilenetv2_mid) exported node by node gives the tfjs feature maps', async () => {
    const mid = await createBackbone('nsfw_mobilenetv2_mid');
    try {
      await assertBackboneExportMatches(mid, 96);
    } finally {
      mid.dispose();
    }
  });

  it('ResNet-18 (safetensors, BatchNorm folded) exported gives the tfjs feature maps', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-onnx-resnet-'));
    try {
      const net = createResNet('resnet18', { weights: writeFormulaCheckpoint(RESNET_ARCHS.resnet18, 3, dir).file });
      await assertBackboneExportMatches(net, 64);
      net.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [name, keys] of [['resnet50_v2', resnetV2WeightKeys], ['mobilenetv2_imagenet', mobileNetV2WeightKeys]] as const) {
    it(`${name} (ImageNet weights from ../shared/backbones, else formula weights) exported op by op gives the tfjs feature maps`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-onnx-imagenet-'));
      try {
        const shared = findWeights(name);
        let weights = shared?.path;
        if (!weights) {
          weights = path.join(dir, `${name}.safetensors`);
          fs.writeFileSync(weights, encodeSafetensors(formulaTensors(keys()).tensors));
        }
        const net = await createBackbone(name, { weights });
        await assertBackboneExportMatches(net, 64);
        net.dispose();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('the map operator is the scoring code\'s own upsampling + blur', () => {
    const rng = new Rng(3);
    const grid = { width: 5, height: 5, data: Float32Array.from({ length: 25 }, () => rng.normal()) };
    const expected = gaussianBlur(resizeBilinear(grid, 32, 32, true), 4).data;
    const a = mapOperator(5, 32, 4);
    const got = new Float32Array(32 * 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
      let acc = 0;
      for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) acc += a[y * 5 + i] * grid.data[i * 5 + j] * a[x * 5 + j];
      got[y * 32 + x] = acc;
    }
    assert.ok(maxAbsDiff(got, expected) < 1e-5);
  });

  const variants: Array<[string, Partial<ResADConfig>]> = [
    ['cpu preset (conv-bn, diff, l2, nll+distance)', {}],
    ['conv-bn-relu, sqdiff, cosine, nll, level weights [0,1,2]', { constraintor: 'conv-bn-relu', residual: 'sqdiff', matchMetric: 'cosine', scoring: 'nll', levelWeights: [0, 1, 2] }],
    ['no constraintor, paper scoring, no pooling, sigma 0', { constraintor: 'none', scoring: 'paper', featurePooling: 1, scoreSigma: 0 }],
    ['no residual, distance scoring', { residual: 'none', scoring: 'distance' }],
    ['ResAD++ (codebook + EFDM, log-barrier losses, nll+abnormal scoring)', { ...RESADPP_OPTIONS, vqCodes: 12 }],
  ];
  for (const [name, overrides] of variants) {
    it(`ResAD ${name}: features, residuals, ||r'||, logp, maps and scores match tfjs`, async () => {
      const model = await ResADModel.create({ ...CPU_CONFIG, imageSize: SIZE, flowBlocks: 2, ...overrides }, { backbone });
      perturbConstraintor(model, 5);
      model.scoreStats = model.flows.map((_, l) => ({ nll: { mean: 0.9 + 0.1 * l, std: 0.05 }, distance: { mean: 3 + l, std: 0.8 }, abnormal: { mean: 0.4, std: 0.05 } }));
      const images = await testImages(SIZE);
      const refs = images.slice(0, 2);
      const queries = images.slice(2);
      if (model.codebooks.length > 0) {
        // Codes taken from real residual rows, so that nearest codes are decided by clear margins, not by rounding.
        const refPool = model.buildPool(refs);
        const f = model.extract(queries);
        const r = model.residuals(f, refPool);
        model.codebooks.forEach((book, l) => {
          const v = r[l].dataSync();
          const codes = new Float32Array(book.size * book.dim);
          for (let j = 0; j < book.size; j++) codes.set(v.subarray(j * 7 * book.dim, (j * 7 + 1) * book.dim), j * book.dim);
          tf.tidy(() => book.codes.assign(tf.tensor2d(codes, [book.size, book.dim])));
        });
        tf.dispose([...f, ...r]);
        refPool.dispose();
      }
      const { graph, info } = exportResADGraph(model);
      assert.equal(info.imageSize, SIZE);
      assert.equal(info.levels.length, 3);
      const runner = await OnnxResADRunner.fromBytes(exportResADOnnx(model));
      const session = await OnnxSession.create(graph.toBytes());
      const pool = await runner.pool(refs);
      const tfPool = model.buildPool(refs);
      const feeds = Object.fromEntries(pool.map((p, l) => [`pool${l}`, p]));
      const out = await session.run({ images: batch(queries), ...feeds });
      // EFDM sorts values per channel: where two are almost equal, the engines' last-bit
      // differences can swap their ranks (measured: 1 of 32 positions, 0.002), so after it compare at 1e-2.
      const tol = model.codebooks.length > 0 ? 1e-2 : 1e-3;
      const mapTol = model.codebooks.length > 0 ? 1e-2 : 1e-4;
      // tfjs reference, level by level
      const features = model.extract(queries);
      const residuals = model.residuals(features, tfPool);
      const levels = model.levelOutputs(features, tfPool);
      features.forEach((f, l) => {
        assert.ok(maxAbsDiff(pool[l].data, tfPool.level(l).rows.dataSync()) < 1e-4, `pool ${l}`);
        assert.ok(maxAbsDiff(out[`features${l}`].data, f.dataSync()) < 1e-4, `features ${l}`);
        assert.ok(maxAbsDiff(out[`residual${l}`].data, residuals[l].dataSync()) < 1e-3 * Math.max(1, maxAbs(residuals[l].dataSync())), `residual ${l}`);
        assert.ok(maxAbsDiff(out[`distance${l}`].data, levels.distances[l]) < tol * Math.max(1, maxAbs(levels.distances[l])), `distance ${l}`);
        assert.ok(maxAbsDiff(out[`logp${l}`].data, levels.logps[l]) < tol * Math.max(1, maxAbs(levels.logps[l])), `logp ${l}`);
        assert.ok(maxAbsDiff(out[`abnormal${l}`].data, levels.abnormal[l]) < tol / 10, `abnormal ${l}`);
      });
      tf.dispose([...features, ...residuals]);
      const expected = model.predict(queries, tfPool);
      const scored = await runner.score(queries, pool);
      expected.maps.forEach((m, i) => {
        const scale = Math.max(1, maxAbs(m.data));
        assert.ok(maxAbsDiff(scored.maps[i].data, m.data) < mapTol * scale, `map ${i}: ${maxAbsDiff(scored.maps[i].data, m.data)}`);
        assert.ok(Math.abs(scored.scores[i] - expected.scores[i]) < mapTol * scale, `score ${i}`);
        assert.ok(maxAbsDiff(out.anomaly_map.data.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE), m.data) < mapTol * scale);
      });
      tfPool.dispose();
      await session.release();
      await runner.release();
      model.dispose({ keepBackbone: true });
    });
  }

  it('PatchCore exported (bank = pool input) gives the baseline\'s maps and image scores', async () => {
    const images = await testImages(SIZE);
    const scorer = await createBaselineScorer('patchcore', { imageSize: SIZE, backboneInstance: backbone });
    const prepared = await scorer.prepareClass(images.slice(0, 2));
    const expected = await prepared.score(images.slice(2));
    prepared.release();
    const runner = await OnnxResADRunner.fromBytes(exportPatchCoreOnnx(backbone, { imageSize: SIZE }));
    assert.equal(runner.info.kind, 'patchcore');
    const got = await runner.score(images.slice(2), await runner.pool(images.slice(0, 2)));
    expected.maps.forEach((m, i) => {
      const scale = Math.max(1, maxAbs(m.data));
      assert.ok(maxAbsDiff(got.maps[i].data, m.data) < 1e-4 * scale, `map ${i}: ${maxAbsDiff(got.maps[i].data, m.data)}`);
      assert.ok(Math.abs(got.scores[i] - expected.scores[i]) < 1e-4 * scale, `score ${i}: ${got.scores[i]} vs ${expected.scores[i]}`);
    });
    await runner.release();
    assert.throws(() => exportPatchCoreOnnx(backbone, { imageSize: SIZE, patchcore: { coresetRatio: 0.1 } }), /only the defaults are exported/);
  });

  it("a constraintor it cannot export: 'onnx' says so, 'auto' falls back to tfjs and says why", async () => {
    const model = await ResADModel.create({ ...CPU_CONFIG, imageSize: SIZE, flowBlocks: 1, constraintor: 'basic-block' }, { backbone });
    model.scoreStats = model.flows.map(() => ({ nll: { mean: 1, std: 1 }, distance: { mean: 1, std: 1 } }));
    await assert.rejects(resadScorerWith(model, {}, 'onnx'), /constraintor 'basic-block' is not exported yet/);
    const auto = await resadScorerWith(model, {}, 'auto');
    assert.equal(auto.engine, 'tfjs');
    assert.match(auto.description, /inference: tfjs \(this model does not run on onnxruntime: .*basic-block/);
    const forced = await resadScorerWith(model, {}, 'tfjs');
    assert.equal(forced.description, 'inference: tfjs (requested)');
    await assert.rejects(resadScorerWith(model, {}, 'gpu'), /--inference: 'gpu' is not an inference engine; use one of auto, onnx, tfjs/);
    model.dispose({ keepBackbone: true });
  });
});
