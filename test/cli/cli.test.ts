import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli as run } from '../helpers/run-cli';
import { generateDataset } from '../../src/data/procedural/index';

describe('cli: resad commands end to end', function () {
  this.timeout(600000);
  let dir: string;
  let data: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-cli-'));
    data = path.join(dir, 'data');
    await generateDataset({ root: data, classes: ['wood', 'hex_nut', 'washer'], size: 48, trainPerClass: 6, testGoodPerClass: 3, testDefectPerType: 1, quiet: true });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints help, and rejects unknown commands and options by name', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    for (const c of ['demo', 'train', 'eval', 'predict']) assert.match(help.out, new RegExp(`\\b${c}\\b`));
    assert.equal((await run(['bogus'])).code, 2);
    const bad = await run(['train', '--dta', data]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown option --dta/);
    const missing = await run(['eval', '--model', path.join(dir, 'none'), '--data', data, '--shots', '2', '--json', path.join(dir, 'x.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /model.json not found/);
  });

  it('datasets and references describe and fix the data', async () => {
    const ds = await run(['datasets', '--data', `${data}:wood,washer`]);
    assert.equal(ds.code, 0);
    assert.match(ds.out, /wood/);
    assert.doesNotMatch(ds.out, /hex_nut/);
    const refsFile = path.join(dir, 'refs.json');
    const r1 = await run(['references', '--data', data, '--shots', '2', '--seed', '1', '--out', refsFile]);
    assert.equal(r1.code, 0);
    assert.match(r1.out, /created/);
    const r2 = await run(['references', '--data', data, '--shots', '2', '--seed', '1', '--out', refsFile]);
    assert.match(r2.out, /loaded/);
  });

  it('train -> eval -> predict keeps the results contract', async () => {
    const model = path.join(dir, 'model');
    const train = await run([
      'train', '--data', `${data}:wood,hex_nut`, '--out', model, '--epochs', '2', '--image-size', '32',
      '--batch-size', '4', '--flow-blocks', '1', '--seed', '0',
    ]);
    assert.equal(train.code, 0, train.err);
    assert.ok(fs.existsSync(path.join(model, 'model.json')));

    const json = path.join(dir, 'results.json');
    const report = path.join(dir, 'report.html');
    const ev = await run(['eval', '--model', model, '--data', `${data}:washer`, '--shots', '2', '--seed', '0', '--json', json,
      '--references', path.join(dir, 'eval-refs.json'), '--report', report]);
    assert.equal(ev.code, 0, ev.err);
    const results = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.deepEqual(results.perClass.map((r: { class: string }) => r.class), ['washer']);
    for (const key of ['imageAUROC', 'pixelAUROC', 'imageAP', 'pixelAP', 'imageF1Max', 'pixelF1Max', 'pixelAUPRO']) {
      const v = results.perClass[0][key];
      assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${key} = ${v}`);
      assert.equal(results.mean[key], v);
    }
    assert.equal(results.config.shots, 2);
    assert.ok(ev.err.includes(`results: ${json}`) && ev.err.includes(`report: ${report}`), ev.err);
    assert.match(fs.readFileSync(report, 'utf8'), /<img src="data:image\/png;base64,/);

    const refs = ['000', '001'].map((n) => path.join(data, 'washer', 'train', 'good', `${n}.png`));
    const queries = fs.readdirSync(path.join(data, 'washer', 'test')).flatMap((d) => fs.readdirSync(path.join(data, 'washer', 'test', d)).slice(0, 1).map((f) => path.join(data, 'washer', 'test', d, f)));
    const out = path.join(dir, 'pred');
    const pred = await run(['predict', '--model', model, '--refs', ...refs, '--out', out, ...queries]);
    assert.equal(pred.code, 0, pred.err);
    const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8'));
    assert.equal(scores.results.length, queries.length);
    for (const r of scores.results) {
      assert.ok(Number.isFinite(r.score));
      assert.ok(fs.existsSync(r.overlay) && fs.existsSync(r.map));
    }
  });
});
