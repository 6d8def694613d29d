import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { customProtocol, datasetEnvVar, DatasetNotConfiguredError, parseCustomPart, protocolAvailability, PROTOCOL_NAMES, resolveDatasetRoot, resolveProtocol, SYNTHETIC_TEST_CLASSES, TABLE3_TEST_CLASSES } from '../../src/experiments/index';
import { DEMO_CONFIG, DEMO_TEST_CLASSES, DEMO_TRAIN_CLASSES } from '../../src/cli/commands/demo-run';
import { SYNTHETIC_CONFIG, SYNTHETIC_TRAIN_CLASSES } from '../../src/experiments/protocols';
import { PAPER_CONFIG } from '../../src/resad/config';

describe('experiments/protocols', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-protocols-'));
    for (const d of ['mvtec_ad', 'visa', 'mine/a', 'mine/b']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const noConfig = (): { env: Record<string, string>; projectRoot: string } => ({ env: {}, projectRoot: dir });

  it('has the paper settings, Table 3, synthetic and shared-real presets', () => {
    for (const n of ['mvtec->visa', 'mvtec->btad', 'mvtec->mvtec3d', 'mvtec->brats', 'mvtec->shanghaitech', 'mvtec->mpdd', 'mvtec->loco', 'visa->mvtec', 'mvtec5->mvtec', 'mvtec10->mvtec', 'synthetic', 'shared-real']) {
      assert.ok(PROTOCOL_NAMES.includes(n), n);
    }
  });

  it('resolves a paper preset from env vars and from resad.datasets.json (relative to the file)', () => {
    const p = resolveProtocol('mvtec->visa', { env: { RESAD_DATA_MVTEC: path.join(dir, 'mvtec_ad'), RESAD_DATA_VISA: path.join(dir, 'visa') }, projectRoot: dir });
    assert.equal(p.train[0].root, path.join(dir, 'mvtec_ad'));
    assert.equal(p.test[0].dataset, 'visa');
    assert.equal(p.test[0].classes?.length, 12);
    assert.equal(p.train[0].classes?.length, 15);
    assert.deepEqual(p.shots, [1, 2, 4, 8]);
    assert.equal(p.config.backbone, PAPER_CONFIG.backbone);
    assert.equal(p.paperSetting, 'table1:visa');
    fs.writeFileSync(path.join(dir, 'resad.datasets.json'), JSON.stringify({ $comment: 'paths', mvtec: 'mvtec_ad' }));
    const t3 = resolveProtocol('mvtec5->mvtec', { env: {}, projectRoot: dir, config: { epochs: 3 }, shots: [4], referenceSeeds: [7] });
    assert.equal(t3.train[0].root, path.join(dir, 'mvtec_ad'));
    assert.deepEqual(t3.test[0].classes, TABLE3_TEST_CLASSES);
    assert.equal(t3.train[0].classes?.length, 5);
    assert.equal(t3.config.epochs, 3);
    assert.deepEqual([t3.shots, t3.referenceSeeds], [[4], [7]]);
    // The env var wins over the file.
    assert.equal(resolveDatasetRoot('mvtec', { env: { RESAD_DATA_MVTEC: path.join(dir, 'visa') }, projectRoot: dir }).via, 'env');
    fs.rmSync(path.join(dir, 'resad.datasets.json'));
  });

  it('says what to download and where to put it when a dataset is missing', () => {
    assert.throws(
      () => resolveProtocol('mvtec->visa', { ...noConfig(), env: { RESAD_DATA_MVTEC: path.join(dir, 'mvtec_ad') } }),
      (err: Error) => {
        assert.ok(err instanceof DatasetNotConfiguredError);
        for (const s of ['"visa" is not configured', 'protocol mvtec->visa (test data)', 'VisA_20220922.tar', 'RESAD_DATA_VISA=', 'resad.datasets.json', 'datasets/README.md', 'VisA — --format visa']) {
          assert.ok(err.message.includes(s), `${s} not in: ${err.message}`);
        }
        return true;
      },
    );
    assert.throws(() => resolveDatasetRoot('btad', { env: { RESAD_DATA_BTAD: path.join(dir, 'nope') }, projectRoot: dir }), /RESAD_DATA_BTAD points to .*nope, which is not a folder.*btad\.zip/);
    assert.equal(datasetEnvVar('mvtec3d'), 'RESAD_DATA_MVTEC3D');
    assert.throws(() => resolveProtocol('nope'), /Unknown protocol "nope"; presets: mvtec->visa/);
  });

  it('protocolAvailability: runnable protocols, and each missing dataset once with every protocol it blocks', () => {
    const a = protocolAvailability(['mvtec->visa', 'mvtec->btad', 'visa->mvtec', 'mvtec->mvtec3d', 'nope'], { ...noConfig(), env: { RESAD_DATA_VISA: path.join(dir, 'visa') } });
    assert.deepEqual(a.runnable, []);
    assert.deepEqual(a.missing.map((m) => [m.dataset, m.protocols]), [['mvtec', ['mvtec->visa', 'mvtec->btad', 'visa->mvtec', 'mvtec->mvtec3d']], [null, ['nope']]]);
    assert.ok(a.missing[0].reason.startsWith('Dataset "mvtec" is not configured. MVTec AD: download it from'), a.missing[0].reason);
    assert.ok(!a.missing[0].reason.includes('needed by'), 'one text for every protocol');
    const b = protocolAvailability(['mvtec->visa', 'mvtec->btad'], { ...noConfig(), env: { RESAD_DATA_VISA: path.join(dir, 'visa'), RESAD_DATA_MVTEC: path.join(dir, 'mvtec_ad') } });
    assert.deepEqual(b.runnable, ['mvtec->visa']);
    assert.deepEqual(b.missing.map((m) => [m.dataset, m.protocols]), [['btad', ['mvtec->btad']]]);
  });

  it('synthetic preset = the demo split and model; shared-real points at ../shared/datasets', () => {
    const s = resolveProtocol('synthetic', { projectRoot: dir });
    assert.deepEqual(s.train[0].classes, DEMO_TRAIN_CLASSES);
    assert.deepEqual(s.test[0].classes, DEMO_TEST_CLASSES);
    assert.deepEqual([...SYNTHETIC_TRAIN_CLASSES, ...SYNTHETIC_TEST_CLASSES], [...DEMO_TRAIN_CLASSES, ...DEMO_TEST_CLASSES]);
    assert.deepEqual(SYNTHETIC_CONFIG, DEMO_CONFIG);
    assert.equal(s.train[0].root, path.join(dir, 'datasets', 'generated', 'resad-synthetic'));
    assert.equal(s.trainImages, 'train+anomalies');
    assert.throws(() => resolveProtocol('shared-real', { env: { RESAD_SHARED_DATASETS: path.join(dir, 'none') } }), /shared datasets: .*none.*mvtec_ad does not exist/);
  });

  it('builds custom protocols from ROOT:classes and FORMAT=ROOT specs', () => {
    const part = parseCustomPart(`mpdd=${path.join(dir, 'mine')}:a,b`);
    assert.deepEqual(part, { dataset: 'mine', format: 'mpdd', root: path.join(dir, 'mine'), classes: ['a', 'b'] });
    const c = customProtocol({ train: [`${path.join(dir, 'mine')}:a`], test: [path.join(dir, 'visa')], shots: [2], referenceSeeds: [0] });
    assert.equal(c.name, 'custom:mine->visa');
    assert.equal(c.test[0].format, 'auto');
    assert.equal(c.test[0].classes, undefined);
    assert.equal(c.configPreset, 'cpu');
    assert.throws(() => customProtocol({ train: [path.join(dir, 'absent')], test: [path.join(dir, 'visa')] }), /absent.*does not exist/);
    assert.throws(() => customProtocol({ train: [], test: [path.join(dir, 'visa')] }), /at least one training folder/);
  });
});
