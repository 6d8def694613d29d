/** Papermill-style parameters for TypeScript notebooks (setNotebookParameters). */
import { strict as assert } from 'assert';
import * as path from 'path';
import { readNotebookCells, setNotebookParameters } from '../../src/notebook/run-notebook';

const cell = (source: string) => ({ type: 'code', source });

describe('notebook: parameters', () => {
  it('replaces the value of a one-line const/let, keeping its type and trailing comment', () => {
    const cells = [
      { type: 'markdown', source: 'const DATA = 1;' },
      cell("const DATA = '';   // '' = procedural\nconst K: number | undefined = undefined;\nlet SEEDS = [0];\nconst DATA2 = 'x';"),
    ];
    const out = setNotebookParameters(cells, { DATA: '/d/my "data"', K: 4, SEEDS: [0, 1] });
    assert.equal(out[0].source, 'const DATA = 1;', 'markdown cells are not parameters');
    assert.equal(out[1].source, "const DATA = \"/d/my \\\"data\\\"\";   // '' = procedural\nconst K: number | undefined = 4;\nlet SEEDS = [0,1];\nconst DATA2 = 'x';");
    assert.equal(cells[1].source.startsWith("const DATA = '';"), true, 'the input is not modified');
  });

  it('names the parameter when no cell declares it on one line, or when it has no JSON value', () => {
    assert.throws(() => setNotebookParameters([cell('const DATA = 1;')], { DAT: 2 }, 'x.ipynb'), /x\.ipynb: no code cell declares parameter DAT/);
    assert.throws(() => setNotebookParameters([cell('const DATA = [\n 1];')], { DATA: 2 }), /parameter DATA/);
    assert.throws(() => setNotebookParameters([cell('const DATA = 1;')], { DATA: undefined }), /DATA has no JSON value/);
    assert.throws(() => setNotebookParameters([cell('const DATA = 1;')], { 'a b': 1 }), /not an identifier/);
  });

  it('every notebook declares its documented parameters on one line', () => {
    const dir = path.resolve(__dirname, '..', '..', 'notebooks');
    const expected: Record<string, Record<string, unknown>> = {
      '01_quickstart': { DATA: '/x', TRAIN_CLASSES: ['a'], TEST_CLASSES: ['b'], SHOTS: 2, SEED: 1 },
      '02_ablations': { DATA: '/x', VARIANTS: ['full'], SEEDS: [0] },
      '03_feature_views': { DATA: '/x' },
      '04_shot_sweep': { DATA: '/x', METHODS: ['resad'], SEEDS: [0] },
      '05_paper_tables': { DATASETS: { mvtec: '/x' }, PRESET: 'paper', PROTOCOLS: ['mvtec->visa'] },
      '06_own_data': { OWN_DATA: '/x', MODEL_DIR: '/m', SHOTS: 2 },
    };
    for (const [name, params] of Object.entries(expected)) {
      const cells = readNotebookCells(path.join(dir, `${name}.ipynb`));
      const out = setNotebookParameters(cells, params, name);
      for (const [k, v] of Object.entries(params)) assert.ok(out.some((c) => c.source.includes(`${k}`) && c.source.includes(JSON.stringify(v))), `${name}: ${k}`);
    }
  });
});
