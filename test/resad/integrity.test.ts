/**
 * Model and checkpoint integrity (issue 10): weights are verified against the
 * sha256 in model.json on every read, older files by the hash prefix in their
 * name; a checkpoint of another config or other data, or a damaged one, is
 * never resumed, and the errors say how to start fresh.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initEngine } from '../../src/engine/index';
import { generateDataset } from '../../src/data/procedural/index';
import { readDataset } from '../../src/data/readers/index';
import type { Sample } from '../../src/data/sample';
import { inspectModelFolder, loadModel, readWeightsFolder, ResADModel, saveModel, trainResAD, trainingDataIdentity } from '../../src/resad/index';
import { TINY_CONFIG, tinyBackbone } from '../helpers/tiny-backbone';

/** Overwrites 4 KB in the middle of `file` with other bytes, keeping its size (the reproduction). */
function corrupt4k(file: string): void {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r+');
  try {
    const at = Math.max(0, Math.floor(size / 2) - 2048);
    const old = Buffer.alloc(4096);
    fs.readSync(fd, old, 0, 4096, at);
    fs.writeSync(fd, Buffer.from(old.map((b) => b ^ 0x5a)), 0, 4096, at);
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(fs.statSync(file).size, size);
}

describe('resad: weights integrity and training identity', function () {
  this.timeout(120000);
  let dir: string;
  let samples: Sample[];
  const known = (): Sample[] => samples.filter((s) => s.className !== 'marble');

  before(async () => {
    await initEngine({ quiet: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-integrity-'));
    await generateDataset({ root: path.join(dir, 'data'), classes: ['wood', 'hex_nut', 'marble'], size: 48, trainPerClass: 5, testGoodPerClass: 2, testDefectPerType: 1, quiet: true });
    samples = readDataset(path.join(dir, 'data'), { format: 'mvtec' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rejects a weights file with 4 KB overwritten (same size), naming it and how to recover', async () => {
    const model = await ResADModel.create(TINY_CONFIG, { backbone: tinyBackbone() });
    const out = path.join(dir, 'corrupt');
    const saved = saveModel(out, model);
    model.dispose();
    assert.match(saved.weightsSha256 ?? '', /^[0-9a-f]{64}$/, 'the full sha256 is recorded');
    assert.ok(saved.weightsFile.startsWith(`weights-${saved.weightsSha256!.slice(0, 16)}`));
    readWeightsFolder(out); // intact: reads
    const bin = path.join(out, saved.weightsFile);
    corrupt4k(bin);
    const check = (e: Error): boolean => e.message.includes(bin) && /checksum mismatch/.test(e.message) && /restore .* or retrain it .*--force/.test(e.message);
    assert.throws(() => readWeightsFolder(out), check);
    await assert.rejects(loadModel(out, { backbone: tinyBackbone() }), check);
  });

  it('verifies older model.json files without weightsSha256 by the hash prefix in the file name', async () => {
    const model = await ResADModel.create(TINY_CONFIG, { backbone: tinyBackbone() });
    const out = path.join(dir, 'legacy');
    const saved = saveModel(out, model);
    model.dispose();
    const jsonPath = path.join(out, 'model.json');
    const json = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as Record<string, unknown>;
    delete json.weightsSha256;
    fs.writeFileSync(jsonPath, JSON.stringify(json));
    const loaded = await loadModel(out, { backbone: tinyBackbone() });
    loaded.dispose();
    corrupt4k(path.join(out, saved.weightsFile));
    assert.throws(() => readWeightsFolder(out), /checksum mismatch/);
  });

  it('records the training data; a damaged or foreign checkpoint is refused with how to restart, restart: true starts fresh', async () => {
    const backbone = tinyBackbone();
    const outDir = path.join(dir, 'run');
    const crash = (e: { epoch: number }): void => {
      if (e.epoch === 1) throw new Error('simulated crash');
    };
    const first = await ResADModel.create(TINY_CONFIG, { backbone });
    await assert.rejects(trainResAD(first, known(), { outDir, quiet: true, onEpoch: crash }), /simulated crash/);
    first.dispose({ keepBackbone: true });
    const ckpt = path.join(outDir, 'checkpoint');
    assert.deepEqual(readWeightsFolder<{ data: unknown }>(ckpt).file.extra.data, trainingDataIdentity(known()));

    // Same config, other data: refused, not resumed.
    const other = await ResADModel.create(TINY_CONFIG, { backbone });
    await assert.rejects(trainResAD(other, samples, { outDir, quiet: true }), (e: Error) => e.message.includes(ckpt) && /data: \d+ -> \d+ images/.test(e.message) && /restart/.test(e.message));
    assert.equal(inspectModelFolder(outDir, TINY_CONFIG, samples).checkpoint.kind, 'different');
    assert.equal(inspectModelFolder(outDir, TINY_CONFIG, known()).checkpoint.kind, 'same');

    // Damaged checkpoint: refused naming its .bin, with the way out.
    const { file } = readWeightsFolder(ckpt);
    corrupt4k(path.join(ckpt, file.weightsFile));
    await assert.rejects(trainResAD(other, known(), { outDir, quiet: true }), (e: Error) => e.message.includes(path.join(ckpt, file.weightsFile)) && /restart/.test(e.message));
    const state = inspectModelFolder(outDir, TINY_CONFIG, known());
    assert.equal(state.checkpoint.kind, 'damaged');
    assert.equal(state.model.kind, 'absent');

    const report = await trainResAD(other, known(), { outDir, quiet: true, restart: true });
    assert.equal(report.resumedFromEpoch, null);
    assert.equal(report.epochs.length, TINY_CONFIG.epochs);
    other.dispose();
    const done = inspectModelFolder(outDir, TINY_CONFIG, known());
    assert.equal(done.model.kind, 'same');
    assert.equal(done.checkpoint.kind, 'absent');
    const changed = inspectModelFolder(outDir, { ...TINY_CONFIG, epochs: 3 }, known()).model;
    assert.deepEqual(changed.kind === 'different' ? changed.differences : changed, ['epochs: 2 -> 3']);
  });
});
