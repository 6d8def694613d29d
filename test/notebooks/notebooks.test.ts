/**
 * Executes every notebook in notebooks/ top to bottom in SMOKE mode through
 * tslab's own converter + executor (src/notebook/run-notebook.ts), and checks
 * that committed notebooks carry no outputs.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { closeNotebookCompilers, findProjectRoot, NotebookRunResult, runNotebook } from '../../src/notebook/run-notebook';

const ROOT = findProjectRoot(__dirname);
const DIR = path.join(ROOT, 'notebooks');
const NOTEBOOKS = ['01_quickstart', '02_ablations', '03_feature_views', '04_shot_sweep', '05_paper_tables', '06_own_data'];
const ONLY = process.env.RESAD_NOTEBOOK_ONLY ? process.env.RESAD_NOTEBOOK_ONLY.split(',') : null;

function displays(r: NotebookRunResult): Array<Record<string, unknown>> {
  return r.cells.flatMap((c) => c.outputs.flatMap((o) => (o.type === 'display' ? [o.data] : [])));
}
function html(r: NotebookRunResult): string {
  return displays(r).map((d) => (typeof d['text/html'] === 'string' ? d['text/html'] : typeof d['text/markdown'] === 'string' ? d['text/markdown'] : '')).join('\n');
}

describe('notebooks (tslab, SMOKE mode)', function () {
  this.timeout(240_000);
  before(() => {
    // Fresh smoke runs each time: models/results of an earlier test run are not reused across runs.
    fs.rmSync(path.join(ROOT, 'runs', 'notebooks-smoke'), { recursive: true, force: true });
  });
  after(() => closeNotebookCompilers());

  it('has the six notebooks, committed without outputs, on the resad kernel', () => {
    for (const name of NOTEBOOKS) {
      const nb = JSON.parse(fs.readFileSync(path.join(DIR, `${name}.ipynb`), 'utf8'));
      assert.equal(nb.metadata.kernelspec.name, 'resad-tslab', name);
      for (const cell of nb.cells) {
        if (cell.cell_type !== 'code') continue;
        assert.deepEqual(cell.outputs, [], `${name}: a code cell has outputs`);
        assert.equal(cell.execution_count, null, `${name}: a code cell has an execution count`);
      }
    }
  });

  const checks: Record<string, (r: NotebookRunResult) => void> = {
    '01_quickstart': (r) => {
      const h = html(r);
      assert.match(h, /image AUROC/);
      assert.match(h, /<img/, 'anomaly maps shown');
      assert.match(h, /SMOKE mode/);
    },
    '02_ablations': (r) => {
      const h = html(r);
      assert.match(h, /no-residual/);
      assert.match(h, /Plotly\.newPlot/);
      assert.match(h, /Table 2/);
    },
    '03_feature_views': (r) => {
      const h = html(r);
      assert.match(h, /t-SNE/);
      assert.match(h, /UMAP/);
      assert.match(h, /Plotly\.newPlot/);
      assert.match(h, /anomalous/);
    },
    '04_shot_sweep': (r) => {
      const h = html(r);
      assert.match(h, /patchcore/);
      assert.match(h, /Plotly\.newPlot/);
    },
    '05_paper_tables': (r) => {
      const h = html(r);
      assert.match(h, /Table 1/);
      assert.match(h, /Table 2/);
    },
    '06_own_data': (r) => {
      const h = html(r);
      assert.match(h, /<img/);
      assert.match(h, /score/);
    },
  };

  for (const name of NOTEBOOKS) {
    if (ONLY && !ONLY.includes(name)) continue;
    it(`runs ${name}.ipynb top to bottom`, async () => {
      const r = await runNotebook(path.join(DIR, `${name}.ipynb`), { env: { RESAD_NOTEBOOK_SMOKE: '1' }, echo: process.env.RESAD_NOTEBOOK_ECHO === '1' });
      console.log(`      ${name}: ${r.cells.length} code cells in ${r.seconds.toFixed(1)} s (slowest: ${Math.max(...r.cells.map((c) => c.seconds)).toFixed(1)} s)`);
      checks[name](r);
    });
  }
});
