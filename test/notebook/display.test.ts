/**
 * Display helpers through the capture hook (tslab is not running under
 * mocha): plotly.min.js embedded once per session, one newPlot per figure,
 * tables from every input kind, image grids, live progress in one area,
 * and the console fallback.
 */
import { strict as assert } from 'assert';
import {
  captureDisplay,
  currentBackend,
  inTslab,
  liveProgress,
  resetPlotlyEmbedding,
  showImages,
  showPlot,
  showTable,
  withTitleObjects,
} from '../../src/notebook/index';
import type { EpochReport } from '../../src/resad/trainer';

const PLOTLY_MARK = 'plotly.js v';

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function epoch(e: number): EpochReport {
  return { epoch: e, stage: e === 0 ? 1 : 2, steps: 3, lr: 1e-3, occLoss: 1 / (e + 1), mlLoss: -e, bgsppLoss: 0.1 * e, boundaries: [null], seconds: 1.5 };
}

describe('notebook: display helpers', function () {
  this.timeout(30000);

  it('falls back to the console outside tslab', () => {
    assert.equal(inTslab(), false);
    assert.equal(currentBackend().name, 'console');
  });

  it('showPlot embeds plotly.min.js once and calls newPlot per figure', () => {
    resetPlotlyEmbedding();
    const cap = captureDisplay();
    try {
      showPlot({ data: [{ x: [1, 2], y: [3, 4], type: 'scatter' }], layout: { title: { text: 'first </script> <b>' } } });
      showPlot({ data: [{ x: [1], y: [2], type: 'bar' }] });
    } finally {
      cap.restore();
    }
    assert.equal(cap.outputs.length, 2);
    const html = cap.html();
    assert.equal(count(html, PLOTLY_MARK), 1, 'library embedded exactly once');
    assert.ok(cap.outputs[0].bundle['text/html'].toString().includes(PLOTLY_MARK));
    assert.equal(count(html, 'Plotly.newPlot('), 2);
    const ids = [...html.matchAll(/<div id="([^"]+)" class="resad-plot"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, 2, 'unique divs');
    // A title cannot close the script element early.
    assert.equal(count(html.slice(html.lastIndexOf('plotly.js v')), '</script>'), 3);
    const json = cap.outputs[1].bundle['application/vnd.plotly.v1+json'] as { data: unknown[] };
    assert.equal(json.data.length, 1);
    assert.match(String(cap.outputs[0].bundle['text/plain']), /first/);
  });

  it('string titles become { text } (plotly.js 3 draws no string title), in the HTML and the JSON bundle', () => {
    const layout = { title: 'T', xaxis: { title: 'x' }, yaxis2: { title: { text: 'y', font: { size: 9 } } }, annotations: [{ text: 'a', title: 'n' }], coloraxis: { colorbar: { title: 'c' } } };
    assert.deepEqual(withTitleObjects(layout), {
      title: { text: 'T' },
      xaxis: { title: { text: 'x' } },
      yaxis2: { title: { text: 'y', font: { size: 9 } } },
      annotations: [{ text: 'a', title: { text: 'n' } }],
      coloraxis: { colorbar: { title: { text: 'c' } } },
    });
    assert.equal(layout.title, 'T', 'input unchanged');
    resetPlotlyEmbedding();
    const cap = captureDisplay();
    try {
      showPlot({ data: [], layout: { title: 'Ablations', yaxis: { title: 'AUROC %' } } });
    } finally {
      cap.restore();
    }
    const html = String(cap.outputs[0].bundle['text/html']);
    assert.ok(html.includes('{"title":{"text":"Ablations"},"yaxis":{"title":{"text":"AUROC %"}}}'));
    assert.deepEqual((cap.outputs[0].bundle['application/vnd.plotly.v1+json'] as { layout: unknown }).layout, { title: { text: 'Ablations' }, yaxis: { title: { text: 'AUROC %' } } });
  });

  it('showTable renders rows, Table, DataFrame-like and Markdown as HTML tables', () => {
    const cap = captureDisplay();
    try {
      showTable([{ class: 'a<b', auroc: 0.912345 }, { class: 'c', auroc: 1, extra: null }], { caption: 'rows', digits: 3 });
      showTable({ title: 'mean', columns: ['k', 'v'], rows: [['x', 1.5]] });
      showTable({ columns: ['c1', 'c2'], values: [[1, 'two'], [3, 'four']] });
      showTable('## md\n| a | b |\n|---|--:|\n| 1 | x \\| y |');
    } finally {
      cap.restore();
    }
    const html = cap.outputs.map((o) => String(o.bundle['text/html']));
    assert.match(html[0], /<th>extra<\/th>/);
    assert.match(html[0], /a&lt;b/);
    assert.match(html[0], /0\.912/);
    assert.match(html[1], /<caption[^>]*>mean<\/caption>/);
    assert.equal(count(html[2], '<tr>'), 3);
    assert.match(html[3], /<td[^>]*>x \| y<\/td>/);
    assert.match(html[3], /<caption[^>]*>md<\/caption>/);
    assert.match(String(cap.outputs[0].bundle['text/plain']), /class\s+auroc\s+extra/);
    assert.throws(() => showTable('not a table'), /Markdown pipe table/);
  });

  it('showImages emits one HTML block of PNG data URIs with captions', async () => {
    const image = { width: 8, height: 8, data: new Float32Array(8 * 8 * 3).fill(0.5) };
    const map = { width: 8, height: 8, data: Float32Array.from({ length: 64 }, (_, i) => i) };
    const mask = { width: 8, height: 8, data: Uint8Array.from({ length: 64 }, (_, i) => (i > 40 ? 1 : 0)) };
    const cap = captureDisplay();
    try {
      await showImages([[{ image, caption: 'query' }, { image, map, mask, caption: 'overlay & gt' }]], { title: 'grid' });
    } finally {
      cap.restore();
    }
    assert.equal(cap.outputs.length, 1);
    const html = cap.html();
    assert.equal(count(html, 'src="data:image/png;base64,'), 2);
    assert.match(html, /overlay &amp; gt/);
  });

  it('liveProgress updates one output area per epoch', () => {
    const cap = captureDisplay();
    let progress;
    try {
      progress = liveProgress({ totalEpochs: 3, title: 'tiny' });
      const { onEpoch } = progress; // passed unbound, as trainResAD does
      [0, 1, 2].forEach((e) => onEpoch(epoch(e)));
      progress.finish('done in 4 s');
    } finally {
      cap.restore();
    }
    assert.equal(progress.reports.length, 3);
    assert.equal(cap.outputs.length, 4);
    assert.equal(new Set(cap.outputs.map((o) => o.displayId)).size, 1, 'one display id');
    assert.deepEqual(cap.outputs.map((o) => o.update), [false, true, true, true]);
    const last = String(cap.outputs[3].bundle['text/html']);
    assert.match(last, /epoch 3\/3/);
    assert.equal(count(last, '<svg'), 3);
    assert.equal(count(last, '<polyline'), 3);
    assert.match(last, /done in 4 s/);
  });

  it('console fallback prints text only (no 5 MB library on stdout)', () => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      showPlot({ data: [{ y: [1, 2] }], layout: { title: 'plain' } });
      showTable([{ a: 1 }]);
      liveProgress().onEpoch(epoch(0));
    } finally {
      console.log = log;
    }
    assert.equal(lines.length, 3);
    assert.match(lines[0], /plot "plain": 1 trace/);
    assert.ok(lines.every((l) => l.length < 500));
  });
});
