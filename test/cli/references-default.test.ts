import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli as run } from '../helpers/run-cli';
import { generateDataset } from '../../src/data/procedural/index';

describe('cli: default reference files are keyed by the dataset root, not its folder name', function () {
  this.timeout(300000);
  let dir: string;
  let cwd: string;
  let previousCwd: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-refs-default-'));
    // Same last folder name, different parents and different classes.
    await generateDataset({ root: path.join(dir, 'a', 'shop'), classes: ['wood', 'marble'], size: 48, trainPerClass: 4, testGoodPerClass: 2, testDefectPerType: 1, quiet: true });
    await generateDataset({ root: path.join(dir, 'b', 'shop'), classes: ['carpet', 'hex_nut'], size: 48, trainPerClass: 4, testGoodPerClass: 2, testDefectPerType: 1, quiet: true });
    // The default lives under ./datasets/references of the current directory.
    cwd = path.join(dir, 'cwd');
    fs.mkdirSync(cwd);
    previousCwd = process.cwd();
    process.chdir(cwd);
  });
  after(() => {
    process.chdir(previousCwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two datasets named "shop" get different files, both evaluate, and every command prints the file', async () => {
    const files: string[] = [];
    for (const parent of ['a', 'b']) {
      const data = path.join(dir, parent, 'shop');
      const json = path.join(dir, `${parent}.json`);
      const r = await run(['baseline', '--method', 'padim', '--data', data, '--shots', '2', '--image-size', '32', '--dims', '8', '--json', json]);
      assert.equal(r.code, 0, r.err);
      const m = /references: (\S+) \(created\)/.exec(r.err);
      assert.ok(m, r.err);
      assert.match(path.basename(m[1]), /^shop-[0-9a-f]{8}_k2_s0\.json$/);
      assert.equal(path.dirname(m[1]), path.join(process.cwd(), 'datasets', 'references'));
      assert.ok(fs.existsSync(m[1]));
      files.push(m[1]);
      assert.equal(JSON.parse(fs.readFileSync(json, 'utf8')).config.references, m[1]);
    }
    assert.notEqual(files[0], files[1]);
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(files[1], 'utf8')).classes), ['carpet', 'hex_nut']);
    // The references command finds the same file again, and prints it.
    const again = await run(['references', '--data', path.join(dir, 'a', 'shop'), '--shots', '2']);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, new RegExp(`^${files[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(loaded\\)`, 'm'));
  });
});
