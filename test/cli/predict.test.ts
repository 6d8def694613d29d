import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { runCli as run } from '../helpers/run-cli';
import { initEngine } from '../../src/engine/index';
import { onnxRuntime } from '../../src/onnx/index';
import { readImage } from '../../src/data/image-io';
import { CPU_CONFIG, ResADModel, saveModel } from '../../src/resad/index';

async function greyPng(file: string, width: number, height: number, grey = 128): Promise<string> {
  await sharp({ create: { width, height, channels: 3, background: { r: grey, g: grey, b: grey } } }).png().toFile(file);
  return file;
}

async function noisePng(file: string, size: number, seed: number): Promise<string> {
  let s = seed;
  const px = Buffer.from(Array.from({ length: size * size * 3 }, () => ((s = (s * 1103515245 + 12345) % 2147483648), s % 256)));
  await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
  return file;
}

interface Scores {
  calibration: { threshold: number; looScores: number[]; description: string } | null;
  colourScale: { range: [number, number] };
  results: Array<{
    image: string; score: number; normalizedScore: number | null; decision: string | null; overlay: string; map: string;
    width: number; height: number; outputWidth: number; outputHeight: number; scoredRegion: { left: number; top: number; width: number; height: number };
  }>;
  failures: Array<{ image: string; error: string }>;
}

describe('cli: resad predict on one\'s own images', function () {
  this.timeout(300000);
  let dir: string;
  let model: string;
  let refs: string[];

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-predict-'));
    // An untrained model with fixed score statistics scores like a trained one; predict needs nothing more.
    const m = await ResADModel.create({ ...CPU_CONFIG, imageSize: 32, flowBlocks: 1, posEncodingDim: 8 });
    m.scoreStats = m.backbone.levels.map(() => ({ nll: { mean: 1, std: 2 }, distance: { mean: 0.5, std: 0.25 } }));
    model = path.join(dir, 'model');
    saveModel(model, m);
    m.dispose();
    refs = await Promise.all([0, 1, 2].map((i) => greyPng(path.join(dir, `ref${i}.png`), 40, 40)));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('onnxruntime, tfjs and the exported file give the same scores, threshold and decision', async function () {
    if (onnxRuntime() === null) this.skip();
    const query = await noisePng(path.join(dir, 'engine-query.png'), 48, 3);
    const refsMixed = [refs[0], refs[1], await noisePng(path.join(dir, 'engine-ref.png'), 40, 5)];
    const file = path.join(dir, 'model.onnx');
    const exported = await run(['export', '--model', model, '--out', file]);
    assert.equal(exported.code, 0, exported.err);
    const cases: Array<[string, string[]]> = [['onnx', ['--model', model, '--inference', 'onnx']], ['tfjs', ['--model', model, '--inference', 'tfjs']], ['file', ['--model', file]]];
    const scores: Scores[] = [];
    for (const [name, opts] of cases) {
      const out = path.join(dir, `pred-${name}`);
      const r = await run(['predict', ...opts, '--refs', ...refsMixed, '--out', out, query]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, name === 'tfjs' ? /inference: tfjs \(requested\)/ : /inference: onnxruntime-node/);
      scores.push(JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8')) as Scores);
    }
    const close = (x: number, y: number): boolean => Math.abs(x - y) <= 1e-3 * Math.max(1, Math.abs(y));
    const [b, ...others] = [scores[1], scores[0], scores[2]];
    for (const a of others) {
      assert.ok(close(a.results[0].score, b.results[0].score), `${a.results[0].score} vs ${b.results[0].score}`);
      assert.ok(a.calibration !== null && b.calibration !== null);
      assert.ok(close(a.calibration.threshold, b.calibration.threshold));
      a.calibration.looScores.forEach((v, i) => assert.ok(close(v, b.calibration!.looScores[i])));
      assert.equal(a.results[0].decision, b.results[0].decision);
    }
  });

  it('scores every readable query, lists the unreadable one, writes full-resolution maps on a fixed colour scale', async () => {
    const wide = await greyPng(path.join(dir, 'wide.png'), 96, 64);
    const textured = await noisePng(path.join(dir, 'textured.png'), 48, 7);
    const broken = path.join(dir, 'broken.png');
    fs.writeFileSync(broken, 'not an image');
    const out = path.join(dir, 'pred');
    const r = await run(['predict', '--model', model, '--refs', ...refs, '--out', out, wide, broken, textured]);
    assert.equal(r.code, 1, 'a failed query makes the exit code 1');
    assert.match(r.err, /1 of 3 images failed/);
    assert.ok(r.err.includes(`${broken}: readImage: unsupported image format`), r.err);

    const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8')) as Scores;
    assert.deepEqual(scores.results.map((x) => path.basename(x.image)), ['wide.png', 'textured.png']);
    assert.deepEqual(scores.failures.map((f) => path.basename(f.image)), ['broken.png']);
    assert.ok(scores.calibration !== null);
    assert.equal(scores.calibration.looScores.length, 3);
    for (const x of scores.results) {
      assert.ok(Number.isFinite(x.score) && Number.isFinite(x.normalizedScore));
      for (const file of [x.overlay, x.map]) assert.ok(r.out.includes(file), `stdout names ${file}`);
    }
    assert.ok(r.out.includes(path.join(out, 'scores.json')));
    assert.match(r.out, /threshold: raw .* = normalised 1\.00/);

    // The uniform grey image is as normal as the (uniform grey) references.
    const [w, t] = scores.results;
    assert.equal(w.decision, 'normal');
    assert.ok(w.normalizedScore! <= 1e-6);
    assert.ok(t.score > w.score);

    // Maps and overlays at the input's resolution; 'resize-crop' scored the centre 64x64 only.
    assert.deepEqual([w.width, w.height, w.outputWidth, w.outputHeight], [96, 64, 96, 64]);
    assert.deepEqual(w.scoredRegion, { left: 16, top: 0, width: 64, height: 64 });
    const overlay = await readImage(w.overlay);
    const map = await readImage(w.map);
    assert.deepEqual([overlay.width, overlay.height, map.width, map.height], [96, 64, 96, 64]);
    const px = (img: typeof overlay, x: number, y: number): number[] => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];
    assert.deepEqual(px(overlay, 2, 30).map((v) => Math.round(v * 255)), [64, 64, 64], 'outside the scored region: the image dimmed');
    assert.deepEqual(px(map, 2, 30), [0, 0, 0]);
    // Fixed scale: no orange-red anywhere on the uniform image (a per-image stretch put its corners at red).
    let hot = 0;
    for (let i = 0; i < 96 * 64; i++) if (overlay.data[3 * i] - overlay.data[3 * i + 2] > 0.3) hot++;
    assert.equal(hot, 0);
  });

  it('--fail-fast stops at the first failure; --max-size caps the written size', async () => {
    const broken = path.join(dir, 'first-broken.png');
    fs.writeFileSync(broken, Buffer.alloc(10));
    const big = await greyPng(path.join(dir, 'big.png'), 120, 60);
    const out = path.join(dir, 'fast');
    const r = await run(['predict', '--model', model, '--refs', ...refs, '--out', out, '--fail-fast', broken, big]);
    assert.equal(r.code, 1);
    assert.match(r.err, /--fail-fast: 1 not tried/);
    const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8')) as Scores;
    assert.equal(scores.results.length, 0);
    assert.equal(scores.failures.length, 1);

    const capped = await run(['predict', '--model', model, '--refs', ...refs, '--out', out, '--max-size', '48', big]);
    assert.equal(capped.code, 0, capped.err);
    const s2 = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8')) as Scores;
    assert.deepEqual([s2.results[0].outputWidth, s2.results[0].outputHeight], [48, 24]);
    const img = await readImage(s2.results[0].overlay);
    assert.deepEqual([img.width, img.height], [48, 24]);
  });

  it('an unreadable reference stops at once naming it; one reference gives raw scores without a decision', async () => {
    const badRef = path.join(dir, 'bad-ref.png');
    fs.writeFileSync(badRef, 'x');
    const q = await greyPng(path.join(dir, 'q.png'), 40, 40);
    const out = path.join(dir, 'badref');
    const r = await run(['predict', '--model', model, '--refs', refs[0], badRef, '--out', out, q]);
    assert.equal(r.code, 1);
    assert.ok(r.err.includes(`--refs ${badRef}:`), r.err);
    assert.match(r.err, /fix or remove it/);
    assert.ok(!fs.existsSync(path.join(out, 'scores.json')), 'nothing written');
    const twice = await run(['predict', '--model', model, '--refs', refs[0], refs[1], refs[0], '--out', out, q]);
    assert.equal(twice.code, 2);
    assert.ok(twice.err.includes(`--refs names ${refs[0]} more than once`), twice.err);

    const one = await run(['predict', '--model', model, '--refs', refs[0], '--out', out, q]);
    assert.equal(one.code, 0, one.err);
    assert.match(one.err, /no threshold can be derived/);
    const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8')) as Scores;
    assert.equal(scores.calibration, null);
    assert.equal(scores.results[0].decision, null);
    assert.equal(scores.results[0].normalizedScore, null);
    assert.ok(Number.isFinite(scores.results[0].score));
  });

  it('names outputs of same-named queries after their folders', async () => {
    const a = path.join(dir, 'good');
    const b = path.join(dir, 'broken');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    const out = path.join(dir, 'names');
    const r = await run(['predict', '--model', model, '--refs', ...refs, '--out', out,
      await greyPng(path.join(a, '000.png'), 32, 32), await noisePng(path.join(b, '000.png'), 32, 3)]);
    assert.equal(r.code, 0, r.err);
    for (const f of ['good_000_overlay.png', 'good_000_map.png', 'broken_000_overlay.png', 'broken_000_map.png']) assert.ok(fs.existsSync(path.join(out, f)), f);
  });
});
