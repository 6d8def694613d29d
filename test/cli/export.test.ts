/**
 * `resad export` and the inference engines of `resad eval` through the real CLI: the
 * exported file scores the same as the model folder on tfjs, eval runs on the
 * file alone, and bad requests fail naming the option. A tiny layers backbone
 * keeps training to a second or two.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli as run } from '../helpers/run-cli';
import { writeTinyLayersBackbone } from '../helpers/tiny-layers-model';
import { generateDataset } from '../../src/data/procedural/index';
import { initEngine } from '../../src/engine/index';
import { onnxRuntime, readOnnxModelInfo } from '../../src/onnx/index';

interface EvalJson {
  perClass: Array<{ class: string; images: number; imageAUROC: number; pixelAUROC: number | null; pixelAUPRO: number | null }>;
  config: { engine: string };
}

describe('cli: resad export and eval --inference', function () {
  this.timeout(180000);
  let dir: string;
  let data: string;
  let model: string;

  before(async function () {
    if (onnxRuntime() === null) {
      console.log('    (skipped: onnxruntime-node is not installed)');
      this.skip();
    }
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-cli-export-'));
    data = path.join(dir, 'data');
    await generateDataset({ root: data, classes: ['wood', 'hex_nut', 'washer'], size: 40, trainPerClass: 5, testGoodPerClass: 3, testDefectPerType: 1, quiet: true });
    const backbone = await writeTinyLayersBackbone(path.join(dir, 'backbone'));
    model = path.join(dir, 'model');
    const trained = await run(['train', '--data', `${data}:wood,hex_nut`, '--out', model, '--backbone', backbone, '--epochs', '1', '--image-size', '32', '--batch-size', '4', '--flow-blocks', '1', '--seed', '0']);
    assert.equal(trained.code, 0, trained.err);
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  const evalArgs = (modelPath: string, json: string, ...extra: string[]): string[] => [
    'eval', '--model', modelPath, '--data', `${data}:washer`, '--shots', '2', '--references', path.join(dir, 'refs.json'), '--json', json, ...extra,
  ];
  const read = (file: string): EvalJson => JSON.parse(fs.readFileSync(file, 'utf8')) as EvalJson;

  it('exports a model and scores with the file exactly as tfjs scores with the folder', async () => {
    const file = path.join(dir, 'model.onnx');
    const exported = await run(['export', '--model', model, '--out', file]);
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /wrote .*model\.onnx \(resad, \d+\.\d MiB, \d+ nodes/);
    assert.match(exported.out, /inputs: images \[batch, 32, 32, 3\]/);
    const info = readOnnxModelInfo(new Uint8Array(fs.readFileSync(file)), file);
    assert.equal(info.imageSize, 32);
    assert.equal(info.levels.length, 2);
    assert.ok(info.kind === 'resad' && info.scoreStats !== null && info.scoreStats.length === 2, 'the score statistics travel in the file');

    const tfjs = await run(evalArgs(model, path.join(dir, 'tfjs.json'), '--inference', 'tfjs'));
    assert.equal(tfjs.code, 0, tfjs.err);
    assert.match(tfjs.err, /inference: tfjs \(requested\)/);
    assert.doesNotMatch(tfjs.err, /note:/);
    const onFile = await run(evalArgs(file, path.join(dir, 'file.json')));
    assert.equal(onFile.code, 0, onFile.err);
    assert.match(onFile.err, /inference: onnxruntime-node \d+\.\d+\.\d+, 1 thread, on .*model\.onnx/);
    const auto = await run(evalArgs(model, path.join(dir, 'auto.json')));
    assert.equal(auto.code, 0, auto.err);
    assert.match(auto.err, /inference: onnxruntime-node/);
    const [a, b, c] = ['tfjs.json', 'file.json', 'auto.json'].map((f) => read(path.join(dir, f)));
    assert.ok(a.perClass[0].images >= 4);
    for (const other of [b, c]) {
      for (const key of ['imageAUROC', 'pixelAUROC', 'pixelAUPRO'] as const) {
        assert.ok(typeof a.perClass[0][key] === 'number', key);
        assert.ok(Math.abs((a.perClass[0][key] as number) - (other.perClass[0][key] as number)) < 1e-3, `${key}: tfjs ${a.perClass[0][key]} vs onnx ${other.perClass[0][key]}`);
      }
    }
    assert.match(a.config.engine, /wasm|cpu/);
    assert.match(b.config.engine, /onnxruntime-node/);
  });

  it('exports the PatchCore baseline, which eval scores like `resad baseline --method patchcore`', async () => {
    const file = path.join(dir, 'pc.onnx');
    const backbone = `layers:${path.join(dir, 'backbone', 'model.json')}#r1,r2`;
    const exported = await run(['export', '--baseline', 'patchcore', '--backbone', backbone, '--image-size', '32', '--out', file]);
    assert.equal(exported.code, 0, exported.err);
    assert.match(exported.out, /wrote .*pc\.onnx \(patchcore,/);
    const onFile = await run(evalArgs(file, path.join(dir, 'pc-onnx.json')));
    assert.equal(onFile.code, 0, onFile.err);
    const direct = await run(['baseline', '--method', 'patchcore', '--backbone', backbone, '--image-size', '32', '--data', `${data}:washer`, '--shots', '2', '--references', path.join(dir, 'refs.json'), '--json', path.join(dir, 'pc-tfjs.json')]);
    assert.equal(direct.code, 0, direct.err);
    const viaBaseline = await run(['baseline', '--method', 'patchcore', '--onnx', file, '--data', `${data}:washer`, '--shots', '2', '--references', path.join(dir, 'refs.json'), '--json', path.join(dir, 'pc-baseline-onnx.json')]);
    assert.equal(viaBaseline.code, 0, viaBaseline.err);
    assert.match(viaBaseline.err, /inference: onnxruntime-node .* on .*pc\.onnx/);
    const [a, b, c] = ['pc-tfjs.json', 'pc-onnx.json', 'pc-baseline-onnx.json'].map((f) => read(path.join(dir, f)));
    for (const other of [b, c]) {
      for (const key of ['imageAUROC', 'pixelAUROC', 'pixelAUPRO'] as const) {
        assert.ok(Math.abs((a.perClass[0][key] as number) - (other.perClass[0][key] as number)) < 1e-3, `${key}: ${a.perClass[0][key]} vs ${other.perClass[0][key]}`);
      }
    }
    const wrongKind = await run(['baseline', '--method', 'patchcore', '--onnx', path.join(dir, 'model.onnx'), '--data', `${data}:washer`, '--shots', '2', '--references', path.join(dir, 'refs.json'), '--json', path.join(dir, 'wrong.json')]);
    assert.equal(wrongKind.code, 2);
    assert.match(wrongKind.err, /a resad export; score it with resad eval/);
    const both = await run(['export', '--baseline', 'patchcore', '--model', model, '--out', file]);
    assert.equal(both.code, 2);
    assert.match(both.err, /either --model MODEL_DIR or --baseline patchcore/);
  });

  it('takes the old spelling --engine for --inference, with one note', async () => {
    const old = await run(evalArgs(model, path.join(dir, 'old.json'), '--engine', 'tfjs'));
    assert.equal(old.code, 0, old.err);
    assert.equal(old.err.split('note: --engine is now --inference').length - 1, 1, old.err);
    assert.match(old.err, /inference: tfjs \(requested\)/);
    const both = await run(evalArgs(model, path.join(dir, 'both.json'), '--engine', 'tfjs', '--inference', 'onnx'));
    assert.equal(both.code, 2);
    assert.match(both.err, /option --inference given more than once/);
  });

  it('refuses an output that is not .onnx, an ONNX file with --inference tfjs, and an unknown engine', async () => {
    const bad = await run(['export', '--model', model, '--out', path.join(dir, 'model.bin')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--out .*model\.bin: give a file name ending in \.onnx/);
    const file = path.join(dir, 'model.onnx');
    const tfjsOnFile = await run(evalArgs(file, path.join(dir, 'x.json'), '--inference', 'tfjs'));
    assert.notEqual(tfjsOnFile.code, 0);
    assert.match(tfjsOnFile.err, /is an ONNX file: it runs on onnxruntime only/);
    const unknown = await run(evalArgs(model, path.join(dir, 'y.json'), '--inference', 'gpu'));
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /option --inference must be one of auto, onnx, tfjs, got "gpu"/);
    assert.ok(!fs.existsSync(path.join(dir, 'y.json')));
  });
});
