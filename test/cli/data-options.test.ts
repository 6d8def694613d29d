import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { runCli as run } from '../helpers/run-cli';
import { buildFixture, makeTempDir, removeDir } from '../helpers/fixture-tree';

describe('cli: dataset options shared by the data commands', () => {
  let parent = '';
  before(() => {
    parent = makeTempDir('resad-data-options-');
  });
  after(() => removeDir(parent));

  it('--allow-missing-masks keeps a defect image without its mask; without it the error names the flag', async () => {
    const root = await buildFixture('mvtec', parent);
    const image = path.join(root, 'bottle', 'test', 'broken', '001.png');
    fs.rmSync(path.join(root, 'bottle', 'ground_truth', 'broken', '001_mask.png'));
    const strict = await run(['datasets', '--data', root]);
    assert.equal(strict.code, 1);
    assert.ok(strict.err.includes(`anomalous image ${image}`), strict.err);
    assert.match(strict.err, /--allow-missing-masks/);
    const allowed = await run(['datasets', '--data', `${root}:bottle`, '--allow-missing-masks']);
    assert.equal(allowed.code, 0, allowed.err);
    // bottle: 2 test anomalies, only one with a mask.
    assert.match(allowed.out, /bottle\s+3\s+0\s+1\s+2\s+1\s+broken/);
  });

  it('an explicit --format that does not fit the folder says what was expected and what is there', async () => {
    const mvtec = await buildFixture('mvtec', path.join(parent, 'm'));
    const asVisa = await run(['datasets', '--data', mvtec, '--format', 'visa']);
    assert.equal(asVisa.code, 1);
    assert.ok(asVisa.err.includes(`No visa classes found in ${mvtec}`), asVisa.err);
    assert.match(asVisa.err, /expected split_csv\/1cls\.csv/);
    assert.match(asVisa.err, /found the MVTec AD layout instead/);
    assert.match(asVisa.err, /--format mvtec\) or auto/);
    const visa = await buildFixture('visa', path.join(parent, 'v'));
    const asMvtec = await run(['datasets', '--data', visa, '--format', 'mvtec']);
    assert.equal(asMvtec.code, 1);
    assert.match(asMvtec.err, /No mvtec classes found .*matches the visa layout \(split_csv\/\*\.csv\): read it with format visa \(--format visa\) or auto/);
  });
});
