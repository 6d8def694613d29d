import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { readOwnDataFolder } from '../../src/data/own-data';
import { bmpBytes, makeTempDir, removeDir } from '../helpers/fixture-tree';

describe('data: own-data folder (normal/ + test/)', () => {
  let root: string;
  const put = (rel: string): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), bmpBytes());
  };
  beforeEach(() => (root = makeTempDir('resad-own-')));
  afterEach(() => removeDir(root));

  it('takes the first K references in natural order and every test image, sub-folders included', () => {
    for (const f of ['normal/n10.bmp', 'normal/n2.bmp', 'normal/n1.bmp', 'normal/.hidden.bmp', 'normal/readme.txt', 'test/x.bmp', 'test/good/g.bmp', 'test/scratch/s2.bmp', 'test/scratch/deep/d.bmp']) put(f);
    const own = readOwnDataFolder(root, { maxReferences: 2 });
    assert.deepEqual(own.references.map((f) => path.relative(root, f)), ['normal/n1.bmp', 'normal/n2.bmp']);
    assert.deepEqual(own.tests.map((f) => path.relative(own.testRoot, f)), ['x.bmp', 'good/g.bmp', 'scratch/s2.bmp', 'scratch/deep/d.bmp']);
    assert.equal(readOwnDataFolder(root).references.length, 3);
  });

  it('names the folder and what is expected when something is missing', () => {
    assert.throws(() => readOwnDataFolder(path.join(root, 'nope')), /nope does not exist \(expected a folder with normal\/ and test\/ inside\)/);
    put('test/a.bmp');
    assert.throws(() => readOwnDataFolder(root), (e: Error) => e.message.includes(path.join(root, 'normal')) && /normal images/.test(e.message));
    put('normal/a.bmp');
    fs.rmSync(path.join(root, 'test'), { recursive: true });
    assert.throws(() => readOwnDataFolder(root), /test has no images/);
    put('test/a.bmp');
    assert.throws(() => readOwnDataFolder(root, { maxReferences: 0 }), /maxReferences must be an integer >= 1/);
  });
});
