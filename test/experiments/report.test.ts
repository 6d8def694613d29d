import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateDataset } from '../../src/data/procedural/index';
import { initEngine } from '../../src/engine/index';
import {
  buildExperimentReport,
  customProtocol,
  ExperimentSession,
  percentAxisRange,
  plotlyAssetName,
  registerMethod,
  RunRecord,
  unregisterMethod,
  writeExperimentReport,
} from '../../src/experiments/index';
import { TINY_CONFIG } from '../helpers/tiny-backbone';
import { meanImageScorer } from '../helpers/mean-image-scorer';

/** A record without a model behind it: only what the report reads. */
function record(key: string, shots: number, seed: number, auroc: number): RunRecord {
  const m = { imageAUROC: auroc, imageAP: 0.8, imageF1Max: 0.7, pixelAUROC: 0.95, pixelAP: 0.3, pixelF1Max: 0.35, pixelAUPRO: null };
  return {
    version: 1, key, protocol: 'p', method: 'resad', variant: '', shots, referenceSeed: seed, config: {}, modelKey: null, paperSetting: null,
    train: [], test: [{ dataset: 'd', format: 'mvtec', classes: null, root: '/x' }], trainImages: 'all', referenceFiles: [], engine: 'test', versions: {},
    startedAt: '', finishedAt: '2024-01-01T00:00:00Z', timings: { trainSeconds: 1, modelReused: false, evalSeconds: 1, msPerImage: 1, totalSeconds: 2 },
    perClass: [{ dataset: 'd', class: 'c', ...m, images: 4, msPerImage: 1, references: [] }], mean: m, perImage: {}, examples: [], tags: {},
  };
}

/** The plotly layout of the first figure whose title starts with `prefix`. */
function layoutOf(html: string, prefix: string): { title: { text: string }; yaxis: { range: [number, number] } } {
  for (const m of html.matchAll(/Plotly\.newPlot\('fig-\d+', (.*?), (\{"title".*?\}), \{displaylogo/g)) {
    const layout = JSON.parse(m[2]) as { title: { text: string }; yaxis: { range: [number, number] } };
    if (layout.title.text.startsWith(prefix)) return layout;
  }
  throw new Error(`no figure titled ${prefix}`);
}

describe('experiments/report: text, axes and size', function () {
  this.timeout(120000);

  it('with one reference seed says "one reference seed (no spread)" and prints no ± 0', () => {
    const html = buildExperimentReport([record('a', 1, 0, 0.8), record('b', 2, 0, 0.9)], { storeDir: os.tmpdir() }).html;
    assert.ok(html.includes('Shot sweep: one reference seed (no spread) (%)'));
    assert.ok(!html.includes('mean ± std'), 'no mean ± std claim with one seed');
    assert.ok(!/± 0\.00/.test(html));
    assert.match(layoutOf(html, 'p: imageAUROC').title.text, /one reference seed \(no spread\)$/);
    const two = buildExperimentReport([record('a', 1, 0, 0.8), record('b', 1, 1, 0.7), record('c', 2, 0, 0.9), record('d', 2, 1, 0.95)], { storeDir: os.tmpdir() }).html;
    assert.ok(two.includes('Shot sweep: mean ± std over 2 reference seeds (%)'));
  });

  it('keeps AUROC axes inside [0, 100] with a minimum span (a flat 100 % is not drawn on 99-101)', () => {
    assert.deepEqual(percentAxisRange([100, 100]), [90, 100]);
    assert.deepEqual(percentAxisRange([0, 0]), [0, 10]);
    assert.deepEqual(percentAxisRange([50, 52]), [46, 56]);
    assert.deepEqual(percentAxisRange([10, 90]), [2, 98]);
    const html = buildExperimentReport([record('a', 1, 0, 1), record('b', 2, 0, 1)], { storeDir: os.tmpdir() }).html;
    const [lo, hi] = layoutOf(html, 'p: imageAUROC').yaxis.range;
    assert.ok(lo >= 0 && hi <= 100 && hi - lo >= 10, `range ${lo}-${hi}`);
  });

  describe('a 2-run store with 128 px anomaly maps', () => {
    let dir: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-report-size-'));
      const data = path.join(dir, 'data');
      await generateDataset({ root: data, classes: ['wood', 'marble', 'carpet', 'capsule', 'washer', 'pcb'], size: 128, trainPerClass: 3, testGoodPerClass: 2, testDefectPerType: 1, quiet: true });
      await initEngine({ quiet: true });
      registerMethod('mean-image-128', () => meanImageScorer(128));
      const protocol = customProtocol({ name: 'size', train: [`${data}:wood`], test: [`mvtec=${data}:marble,carpet,capsule,washer,pcb`], config: { ...TINY_CONFIG, imageSize: 128 }, shots: [1], referenceSeeds: [0] });
      const session = new ExperimentSession({ store: path.join(dir, 'store'), quiet: true });
      for (const variant of ['a', 'b']) await session.run({ protocol, method: 'mean-image-128', methodOptions: { variant }, variant, shots: 1, referenceSeed: 0 });
      session.dispose();
    });
    after(() => {
      unregisterMethod('mean-image-128');
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('is well under 1 MB (it was ~6.8 MB: plotly and PNG tiles inlined), writes plotly once beside it', async () => {
      const store = path.join(dir, 'store');
      const out = await writeExperimentReport(store);
      assert.equal(out.images, 20);
      const bytes = fs.statSync(out.file).size;
      assert.equal(bytes, out.bytes);
      assert.ok(bytes < 1024 * 1024, `report ${bytes} bytes`);
      // Tiles are smaller than the PNGs they come from.
      const pngBytes = fs.readdirSync(path.join(store, 'examples')).flatMap((d) => fs.readdirSync(path.join(store, 'examples', d)).map((f) => fs.statSync(path.join(store, 'examples', d, f)).size)).reduce((a, b) => a + b, 0);
      assert.ok(bytes < pngBytes / 2, `report ${bytes} bytes vs ${pngBytes} bytes of PNG overlays`);
      // The asset is reused, not rewritten, by the next report.
      const asset = path.join(store, plotlyAssetName());
      const before = fs.statSync(asset).mtimeMs;
      await new Promise((r) => setTimeout(r, 20));
      await writeExperimentReport(store);
      assert.equal(fs.statSync(asset).mtimeMs, before);
    });
  });
});
