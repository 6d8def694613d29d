/**
 * Issue 10 through the real CLI: reruns of `train` into an existing model
 * folder, damaged models and checkpoints, output locations checked before any
 * long work, and options validated before any file is written. Training uses
 * a tiny layers backbone (test/helpers/tiny-layers-model.ts): about a second.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli as run } from '../helpers/run-cli';
import { writeTinyLayersBackbone } from '../helpers/tiny-layers-model';
import { generateDataset } from '../../src/data/procedural/index';
import { initEngine } from '../../src/engine/index';
import { parseArgs } from '../../src/cli/args';
import { readDataOptions } from '../../src/cli/common';
import { trainCommand } from '../../src/cli/commands/train';
import { configFromArgs } from '../../src/cli/commands/resad-options';
import { ModelFile, readWeightsFolder, ResADModel, trainResAD } from '../../src/resad/index';

function corrupt4k(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(fs.statSync(file).size / 2));
  } finally {
    fs.closeSync(fd);
  }
}

describe('cli: reruns, damaged files and output checks (issue 10)', function () {
  this.timeout(180000);
  let dir: string;
  let data: string;
  let backbone: string;
  let plainFile: string;
  const trainArgs = (out: string, ...extra: string[]): string[] => [
    'train', '--data', `${data}:wood,hex_nut`, '--out', out, '--backbone', backbone, '--epochs', '2', '--image-size', '32',
    '--batch-size', '4', '--flow-blocks', '1', '--seed', '0', ...extra,
  ];
  const modelJson = (out: string): ModelFile => JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')) as ModelFile;

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-cli-safety-'));
    data = path.join(dir, 'data');
    await generateDataset({ root: data, classes: ['wood', 'hex_nut', 'washer'], size: 40, trainPerClass: 5, testGoodPerClass: 2, testDefectPerType: 1, quiet: true });
    backbone = await writeTinyLayersBackbone(path.join(dir, 'backbone'));
    plainFile = path.join(dir, 'plain.txt');
    fs.writeFileSync(plainFile, 'not a folder');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('train: an identical rerun is "already trained", a different one is refused unless --force', async () => {
    const out = path.join(dir, 'model');
    const first = await run(trainArgs(out));
    assert.equal(first.code, 0, first.err);
    const saved = modelJson(out);

    const again = await run(trainArgs(out));
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already trained: .*model .*use --force to retrain/);
    assert.doesNotMatch(again.err, /epoch 1\//, 'nothing was trained');
    assert.equal(modelJson(out).savedAt, saved.savedAt);

    const other = await run(trainArgs(out, '--lr', '0.001'));
    assert.equal(other.code, 1);
    assert.match(other.err, /already holds a model trained with a different config or data \(lr: 0.0002 -> 0.001\).*--force/);
    const otherData = await run([...trainArgs(out), '--data', `${data}:washer`]);
    assert.equal(otherData.code, 1);
    assert.match(otherData.err, /data: \d+ -> \d+ images; classes: hex_nut,wood -> hex_nut,washer,wood.*--force/);
    assert.equal(modelJson(out).savedAt, saved.savedAt, 'the refused runs left the model alone');

    const forced = await run(trainArgs(out, '--lr', '0.001', '--force'));
    assert.equal(forced.code, 0, forced.err);
    assert.equal(modelJson(out).config.lr, 0.001);
    assert.match((await run(trainArgs(out, '--lr', '0.001'))).out, /already trained/);
  });

  it('train: a damaged model or checkpoint says how to recover; --restart starts fresh', async () => {
    const out = path.join(dir, 'damaged');
    assert.equal((await run(trainArgs(out))).code, 0);
    const bin = path.join(out, modelJson(out).weightsFile);
    corrupt4k(bin);
    const ev = await run(['eval', '--model', out, '--data', `${data}:washer`, '--shots', '2', '--json', path.join(dir, 'damaged.json'), '--references', path.join(dir, 'damaged-refs.json')]);
    assert.equal(ev.code, 1);
    assert.ok(ev.err.includes(`${bin}: checksum mismatch`), ev.err);
    assert.match(ev.err, /restore .* or retrain it/);
    assert.ok(!fs.existsSync(path.join(dir, 'damaged-refs.json')), 'nothing written for a model that cannot be used');
    const rerun = await run(trainArgs(out));
    assert.equal(rerun.code, 1);
    assert.match(rerun.err, /checksum mismatch.*--force/);

    // A checkpoint left by an interrupted run of these very options, then damaged.
    const ckptOut = path.join(dir, 'interrupted');
    const args = parseArgs(trainArgs(ckptOut).slice(1), trainCommand.options);
    const model = await ResADModel.create(configFromArgs(args));
    const samples = readDataOptions(args).flatMap((s) => s.samples);
    await assert.rejects(
      trainResAD(model, samples, { outDir: ckptOut, quiet: true, onEpoch: (e) => { if (e.epoch === 1) throw new Error('simulated crash'); } }),
      /simulated crash/,
    );
    model.dispose();
    const ckpt = path.join(ckptOut, 'checkpoint');
    const ckptBin = path.join(ckpt, readWeightsFolder(ckpt).file.weightsFile);
    const changed = await run(trainArgs(ckptOut, '--lr', '0.001'));
    assert.equal(changed.code, 1);
    assert.match(changed.err, /checkpoint is an unfinished training with a different config or data \(lr: .*--restart/);
    corrupt4k(ckptBin);
    const broken = await run(trainArgs(ckptOut));
    assert.equal(broken.code, 1);
    assert.ok(broken.err.includes(`${ckptBin}: checksum mismatch`), broken.err);
    assert.match(broken.err, /rerun with --restart to discard it/);
    const restarted = await run(trainArgs(ckptOut, '--restart'));
    assert.equal(restarted.code, 0, restarted.err);
    assert.match(restarted.err, /discarding .*checkpoint \(--restart\)/);
    assert.doesNotMatch(restarted.err, /resuming/);
    assert.ok(!fs.existsSync(ckpt));
  });

  it('eval, baseline, train and demo check their outputs before any work, naming the path', async () => {
    const folder = path.join(dir, 'a-folder');
    fs.mkdirSync(folder);
    const refs = path.join(dir, 'never-refs.json');
    const evalArgs = (...extra: string[]): string[] => ['eval', '--model', path.join(dir, 'model'), '--data', `${data}:washer`, '--shots', '2', '--references', refs, ...extra];
    const cases: Array<{ argv: string[]; message: string }> = [
      { argv: evalArgs('--json', folder), message: `--json ${folder}: is a folder` },
      { argv: evalArgs('--json', path.join(plainFile, 'r.json')), message: `--json ${path.join(plainFile, 'r.json')}: ${plainFile} is a file, not a folder` },
      { argv: evalArgs('--json', path.join(dir, 'ok.json'), '--report', folder), message: `--report ${folder}: is a folder` },
      { argv: ['baseline', '--method', 'patchcore', '--data', `${data}:washer`, '--shots', '2', '--references', refs, '--json', folder], message: `--json ${folder}: is a folder` },
      { argv: trainArgs(path.join(plainFile, 'model')), message: `--out ${path.join(plainFile, 'model')}: ${plainFile} is a file, not a folder` },
      { argv: trainArgs(plainFile), message: `--out ${plainFile}: is a file, not a folder` },
      { argv: ['demo', '--out', plainFile], message: `--out ${plainFile}: is a file, not a folder` },
    ];
    for (const c of cases) {
      const r = await run(c.argv);
      assert.equal(r.code, 1, c.argv.join(' '));
      assert.ok(r.err.includes(c.message), `${c.argv.join(' ')}\n${r.err}`);
      assert.doesNotMatch(r.err, /\.tmp|EISDIR|ENOTDIR|tfjs|training set|extracting/, 'failed before loading anything');
    }
    assert.ok(!fs.existsSync(refs), 'no references file was written');
    assert.deepEqual(fs.readdirSync(folder), []);
  });

  it('baseline and train validate the backbone name before writing anything', async () => {
    const refs = path.join(dir, 'bad-backbone-refs.json');
    const json = path.join(dir, 'bad-backbone.json');
    const r = await run(['baseline', '--method', 'patchcore', '--data', `${data}:washer`, '--shots', '2', '--references', refs, '--json', json, '--backbone', 'resnet999']);
    assert.equal(r.code, 1);
    assert.match(r.err, /unknown backbone 'resnet999'/);
    assert.ok(!fs.existsSync(refs) && !fs.existsSync(json), 'no references or results file');
    const missing = await run(['baseline', '--method', 'spade', '--data', `${data}:washer`, '--shots', '2', '--references', refs, '--json', json, '--backbone', `layers:${path.join(dir, 'none', 'model.json')}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /none\/model\.json does not exist/);
    assert.ok(!fs.existsSync(refs));
    const out = path.join(dir, 'bad-backbone-model');
    const t = await run([...trainArgs(out).filter((a) => a !== backbone && a !== '--backbone'), '--backbone', 'resnet999']);
    assert.equal(t.code, 1);
    assert.match(t.err, /unknown backbone 'resnet999'/);
    assert.ok(!fs.existsSync(out));
  });
});
