/**
 * Exports the main figures of notebooks 01-04 as PNG images for
 * notebooks/README.md, from the figures the notebooks themselves display:
 * each notebook runs through tslab's executor (src/notebook/run-notebook.ts,
 * full mode, its default parameters), every Plotly figure it shows
 * (`application/vnd.plotly.v1+json`) and every anomaly-map grid (HTML with
 * images) is rendered in headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core) and screenshotted.
 *
 * Models and results are cached under runs/notebooks (the notebooks' own
 * stores), so a run after the notebooks were executed only re-renders.
 *
 * ```sh
 * npx tsx scripts/notebook-figures.ts [--out notebooks/figures] [--only 02,04]
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import { runNotebook, closeNotebookCompilers } from '../src/notebook/run-notebook';
import { plotHtml, PlotlyFigure } from '../src/notebook/plot';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const NOTEBOOKS = ['01_quickstart', '02_ablations', '03_feature_views', '04_shot_sweep'];

interface Figure {
  file: string;
  html: string;
  width: number;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '..');
  const out = path.resolve(argValue('out') ?? path.join(root, 'notebooks', 'figures'));
  const only = argValue('only')?.split(',');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`);
  fs.mkdirSync(out, { recursive: true });
  const figures: Figure[] = [];
  for (const name of NOTEBOOKS.filter((n) => !only || only.some((o) => n.startsWith(o)))) {
    const t0 = Date.now();
    console.error(`running notebooks/${name}.ipynb ...`);
    const run = await runNotebook(path.join(root, 'notebooks', `${name}.ipynb`), { env: { RESAD_NOTEBOOK_SMOKE: undefined } });
    let count = 0;
    for (const cell of run.cells) {
      for (const o of cell.outputs) {
        if (o.type !== 'display') continue;
        const plot = o.data['application/vnd.plotly.v1+json'] as PlotlyFigure | undefined;
        const html = o.data['text/html'];
        if (plot) figures.push({ file: `${name}_${++count}.png`, html: plotHtml(plot, { withLibrary: true }), width: 1100 });
        else if (typeof html === 'string' && html.includes('<img')) figures.push({ file: `${name}_${++count}.png`, html, width: 1100 });
      }
    }
    console.error(`  ${count} figure(s), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  closeNotebookCompilers();
  const puppeteer = require('puppeteer-core') as typeof import('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    for (const f of figures) {
      await page.setViewport({ width: f.width, height: 600 });
      await page.setContent(`<!doctype html><html><body style="margin:8px;background:#fff;font-family:sans-serif">${f.html}</body></html>`, { waitUntil: 'load' });
      // Plotly draws asynchronously; images decode after load.
      await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete) && document.querySelectorAll('.resad-plot:empty').length === 0, { timeout: 20000 });
      await new Promise((r) => setTimeout(r, 300));
      const body = await page.$('body');
      await body!.screenshot({ path: path.join(out, f.file) as `${string}.png` });
      console.error(`wrote ${path.relative(root, path.join(out, f.file))}`);
    }
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
