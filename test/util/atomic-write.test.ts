import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomicSync, writeJsonAtomicSync, writeFileAtomic } from '../../src/util/atomic-write';

describe('util/atomic-write', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates parent folders and leaves no temp files', async () => {
    const target = path.join(dir, 'a', 'b', 'x.json');
    writeJsonAtomicSync(target, { k: 1 });
    assert.deepEqual(JSON.parse(fs.readFileSync(target, 'utf8')), { k: 1 });
    await writeFileAtomic(path.join(dir, 'a', 'y.txt'), 'hello');
    assert.equal(fs.readFileSync(path.join(dir, 'a', 'y.txt'), 'utf8'), 'hello');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'a')).sort(), ['b', 'y.txt']);
  });

  it('keeps the previous file when the write fails', () => {
    const target = path.join(dir, 'keep.txt');
    fs.writeFileSync(target, 'old');
    // A directory where the temp file's rename target is cannot be replaced by a file.
    const blocked = path.join(dir, 'sub');
    fs.mkdirSync(blocked);
    assert.throws(() => writeFileAtomicSync(blocked, 'new'));
    assert.equal(fs.readFileSync(target, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['keep.txt', 'sub']);
  });

  it('names the target, not the temp file, when a write fails', async () => {
    const folder = path.join(dir, 'sub');
    fs.mkdirSync(folder);
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, 'x');
    const noTemp = (target: string, reason: RegExp) => (e: Error): boolean => e.message.startsWith(`cannot write ${target}: `) && reason.test(e.message) && !/\.tmp/.test(e.message);
    assert.throws(() => writeFileAtomicSync(folder, 'new'), noTemp(folder, /is a folder/));
    assert.throws(() => writeJsonAtomicSync(path.join(plain, 'x.json'), {}), noTemp(path.join(plain, 'x.json'), /not a folder/));
    await assert.rejects(writeFileAtomic(folder, 'new'), noTemp(folder, /is a folder/));
    await assert.rejects(writeFileAtomic(path.join(plain, 'y', 'x.json'), 'new'), noTemp(path.join(plain, 'y', 'x.json'), /not a folder/));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['plain', 'sub']);
  });
});
