/**
 * One default backbone: the baselines run what ResAD's `cpu` preset runs on
 * this machine, with or without the ImageNet weights, and both come from
 * backbones/defaults.ts.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_BACKBONE, DEFAULT_BACKBONE_IMAGE_SIZE, OFFLINE_BACKBONE, OFFLINE_BACKBONE_IMAGE_SIZE } from '../../src/backbones/index';
import { overrideWeights } from '../../src/backbones/weights/index';
import { defaultBaselineSettings } from '../../src/baselines/index';
import { availablePreset } from '../../src/resad/presets';

describe('baselines: default backbone', () => {
  const keys = ['RESAD_HOME', 'RESAD_SHARED_BACKBONES'] as const;
  const saved = keys.map((k) => process.env[k]);
  let home: string;
  before(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-defaults-'));
    process.env.RESAD_HOME = home;
    process.env.RESAD_SHARED_BACKBONES = path.join(home, 'no-shared-copy');
  });
  after(() => {
    overrideWeights(DEFAULT_BACKBONE, null);
    keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
    fs.rmSync(home, { recursive: true, force: true });
  });

  const cpu = (): { backbone: string; imageSize: number; note: string | null } => {
    const { config, note } = availablePreset('cpu');
    return { backbone: config.backbone, imageSize: config.imageSize, note };
  };

  it('without the ImageNet weights: the packaged fallback, with the same note as the cpu preset', () => {
    const got = defaultBaselineSettings();
    assert.deepEqual(got, cpu());
    assert.equal(got.backbone, OFFLINE_BACKBONE);
    assert.equal(got.imageSize, OFFLINE_BACKBONE_IMAGE_SIZE);
    assert.match(got.note ?? '', new RegExp(`no ImageNet weights for ${DEFAULT_BACKBONE}.*${OFFLINE_BACKBONE} at ${OFFLINE_BACKBONE_IMAGE_SIZE} px`));
    // A weights file given for the run is the ImageNet backbone's: no fallback.
    assert.deepEqual(defaultBaselineSettings({ weightsFileGiven: true }), { backbone: DEFAULT_BACKBONE, imageSize: DEFAULT_BACKBONE_IMAGE_SIZE, note: null });
  });

  it('with the ImageNet weights: the default backbone, as the cpu preset', () => {
    const file = path.join(home, 'weights.onnx');
    fs.writeFileSync(file, 'stand-in: only its existence is looked at here');
    overrideWeights(DEFAULT_BACKBONE, file);
    const got = defaultBaselineSettings();
    assert.deepEqual(got, cpu());
    assert.deepEqual(got, { backbone: DEFAULT_BACKBONE, imageSize: DEFAULT_BACKBONE_IMAGE_SIZE, note: null });
  });
});
