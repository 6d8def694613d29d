import { strict as assert } from 'assert';
import * as path from 'path';
import { ablationSpecs, ABLATIONS, availableMethods, BGSPP_WEIGHTS, getMethodFactory, paperResultsFor, resolveProtocol, runKeyOf, selectAblations } from '../../src/experiments/index';
import { parseOverrides } from '../../src/cli/commands/experiment-run';
import { UsageError } from '../../src/cli/args';
import { CPU_CONFIG, PAPER_CONFIG, validateConfig } from '../../src/resad/config';

describe('experiments/sweeps and methods', () => {
  const protocol = resolveProtocol('synthetic', { projectRoot: path.resolve('/tmp/none') });

  it('defines the ablations of Tables 2 and 6 with their overrides and paper rows', () => {
    const byName = new Map(ABLATIONS.map((a) => [a.name, a]));
    assert.deepEqual(byName.get('no-residual')!.overrides, { residual: 'none' });
    assert.deepEqual(byName.get('no-constraintor')!.overrides, { constraintor: 'none', occ: 'off' });
    assert.deepEqual(byName.get('occ-off')!.overrides, { occ: 'off' });
    assert.deepEqual(byName.get('no-abnormal-invariant')!.overrides, { occ: 'paper-first-term' });
    assert.equal(selectAblations({ groups: ['constraintor'] }).length, 6);
    assert.deepEqual(selectAblations({ groups: ['bgspp'] }).map((a) => a.overrides.bgsppWeight), BGSPP_WEIGHTS);
    assert.throws(() => selectAblations({ names: ['nope'] }), /Unknown ablation variant\(s\) nope; known: full/);
    // Every variant with a paper row finds its published number.
    for (const a of ABLATIONS.filter((v) => v.paperRow)) assert.equal(paperResultsFor({ protocol: 'visa->mvtec', method: 'resad', shots: 4, variant: a.name }).length > 0, true, a.name);
    // Every variant is a valid config on top of the presets it runs on.
    for (const a of ABLATIONS) for (const base of [CPU_CONFIG, PAPER_CONFIG]) validateConfig({ ...base, ...a.overrides });
    assert.deepEqual(selectAblations({ groups: ['resadpp'] }).map((a) => a.name), ['resad++', 'resad++-no-efdm', 'resad++-nll', 'resad++-abnormal']);
    assert.equal(byName.get('resad++')!.overrides.efdmAlpha, 0.4);
    // ResAD++ options are checked, naming the field.
    assert.throws(() => validateConfig({ ...CPU_CONFIG, efdmAlpha: 0.4 }), /efdmAlpha 0.4 matches residuals towards the codebook, so it needs vqCodes > 0/);
    assert.throws(() => validateConfig({ ...CPU_CONFIG, vqCodes: 2.5 }), /vqCodes must be absent or a non-negative integer/);
    assert.throws(() => validateConfig({ ...CPU_CONFIG, vqCodes: 8, efdmAlpha: 1.5 }), /efdmAlpha must be in \[0, 1\]/);
  });

  it('expands ablations over K x seeds; variants equal to the default share its run key', () => {
    const specs = ablationSpecs(protocol, { groups: ['framework'], shots: [2, 4], seeds: [0, 1] });
    assert.equal(specs.length, 5 * 2 * 2);
    const full = specs.find((s) => s.variant === 'full' && s.shots === 4 && s.referenceSeed === 0)!;
    // The synthetic protocol trains the cpu preset, whose constraintor is Conv+BN.
    const conv = ablationSpecs(protocol, { names: ['conv-bn'], shots: [4], seeds: [0] })[0];
    assert.equal(runKeyOf(full), runKeyOf(conv));
    assert.notEqual(runKeyOf(full), runKeyOf(specs.find((s) => s.variant === 'no-residual' && s.shots === 4 && s.referenceSeed === 0)!));
    assert.equal(runKeyOf(full), runKeyOf({ protocol, shots: 4, referenceSeed: 0, variant: 'other label' }));
  });

  it('parses --set overrides and finds baseline methods lazily', () => {
    assert.deepEqual(parseOverrides(['epochs=4', 'residual=sqdiff', 'lrMilestones=[3]']), { epochs: 4, residual: 'sqdiff', lrMilestones: [3] });
    assert.throws(() => parseOverrides(['nope=1']), UsageError);
    assert.ok(availableMethods().includes('resad'));
    assert.throws(() => getMethodFactory('no-such-method'), /no-such-method/);
  });
});
