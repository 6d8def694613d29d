import { strict as assert } from 'assert';
import { formatHelp, parseArgs, optionInt, optionString, UsageError, OptionSpecs } from '../../src/cli/args';
import { configFromArgs, MODEL_OPTION_SPECS } from '../../src/cli/commands/resad-options';
import { CPU_CONFIG } from '../../src/resad/config';

const specs: OptionSpecs = {
  data: { repeatable: true, description: 'dataset', value: 'ROOT' },
  out: { description: 'output', value: 'DIR' },
  shots: { description: 'K', value: 'K' },
  force: { flag: true, description: 'force' },
  refs: { multi: true, description: 'reference images', value: 'IMG' },
};

describe('cli/args', () => {
  it('parses values, repeats, flags and positionals', () => {
    const a = parseArgs(['--data', 'a:x,y', '--data=b', '--out', 'o', '--force', 'img1', '--', '--not-an-option'], specs);
    assert.deepEqual(a.options.get('data'), ['a:x,y', 'b']);
    assert.equal(optionString(a, 'out'), 'o');
    assert.equal(optionString(a, 'shots', '4'), '4');
    assert.ok(a.flags.has('force'));
    assert.deepEqual(a.positionals, ['img1', '--not-an-option']);
  });

  it('collects multi-value options up to the next option', () => {
    const a = parseArgs(['--refs', 'r1.png', 'r2.png', '--out', 'o', 'q1.png', 'q2.png'], specs);
    assert.deepEqual(a.options.get('refs'), ['r1.png', 'r2.png']);
    assert.deepEqual(a.positionals, ['q1.png', 'q2.png']);
    assert.throws(() => parseArgs(['--refs', '--out', 'o'], specs), /--refs needs at least one value/);
  });

  it('rejects unknown, missing, repeated and malformed options by name', () => {
    assert.throws(() => parseArgs(['--dta', 'x'], specs), (e: Error) => e instanceof UsageError && /--dta/.test(e.message));
    assert.throws(() => parseArgs(['--out'], specs), /--out needs a value/);
    assert.throws(() => parseArgs(['--out', 'a', '--out', 'b'], specs), /more than once/);
    assert.throws(() => parseArgs(['--force=1'], specs), /takes no value/);
    assert.throws(() => optionInt(parseArgs(['--shots', '2.5'], specs), 'shots', 4, 1), /--shots must be an integer >= 1/);
    assert.equal(optionInt(parseArgs(['--shots', '8'], specs), 'shots', 4, 1), 8);
  });

  it('takes an old spelling (renamedTo) as the new option, notes it once, and shows only the new name', () => {
    const renamed: OptionSpecs = { ...specs, inference: { value: 'NAME', description: 'what scores' }, engine: { renamedTo: 'inference', description: 'old name' } };
    const notes: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => void notes.push(a.join(' '));
    try {
      const a = parseArgs(['--engine', 'tfjs', '--out', 'o'], renamed);
      assert.equal(optionString(a, 'inference'), 'tfjs');
      assert.ok(!a.options.has('engine'));
      assert.deepEqual(notes, ['note: --engine is now --inference (the old name still works for now)']);
      assert.throws(() => parseArgs(['--engine=onnx', '--inference', 'tfjs'], renamed), /--inference given more than once/);
      notes.length = 0;
      assert.equal(optionString(parseArgs(['--inference', 'onnx'], renamed), 'inference'), 'onnx');
      assert.deepEqual(notes, []);
    } finally {
      console.error = error;
    }
    assert.doesNotMatch(formatHelp('Usage: x', renamed), /--engine/);
    assert.throws(() => parseArgs(['--bogus'], renamed), (e: Error) => /--inference/.test(e.message) && !/--engine/.test(e.message));
  });
});

describe('cli/resad-options: config from the command line', () => {
  it('maps the quality options onto the config and names bad values', () => {
    const cfg = configFromArgs(parseArgs(['--occ', 'paper', '--occ-push', '0.5', '--bn-gamma', 'one', '--feature-pooling', '1', '--scoring', 'distance', '--level-weights', '0,1,1'], MODEL_OPTION_SPECS));
    assert.equal(cfg.occ, 'paper');
    assert.equal(cfg.occPushMargin, 0.5);
    assert.equal(cfg.bnGammaInit, 'one');
    assert.equal(cfg.featurePooling, 1);
    assert.equal(cfg.scoring, 'distance');
    assert.deepEqual(cfg.levelWeights, [0, 1, 1]);
    const defaults = configFromArgs(parseArgs([], MODEL_OPTION_SPECS));
    assert.equal(defaults.scoring, CPU_CONFIG.scoring);
    assert.equal(defaults.levelWeights, null);
    assert.throws(() => configFromArgs(parseArgs(['--scoring', 'max'], MODEL_OPTION_SPECS)), /scoring/);
    assert.throws(() => configFromArgs(parseArgs(['--level-weights', '1,x'], MODEL_OPTION_SPECS)), /--level-weights/);
    assert.throws(() => configFromArgs(parseArgs(['--level-weights', '0,0'], MODEL_OPTION_SPECS)), /at least one > 0/);
  });
});
