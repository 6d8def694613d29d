/**
 * An offline HTML page for a results store (`resad report --results DIR`):
 * the tables (means, shot sweep with mean ± std, measured vs published, per
 * class), ROC curves from the per-image scores the runs recorded, shot-sweep
 * curves with ±1 std bands, and anomaly-map galleries from the overlay PNGs
 * the runs saved.
 *
 * Size: plotly.min.js alone is ~4.8 MB, so inlining it made a 2-run report
 * ~5 MB. `writeExperimentReport` writes it ONCE as a sibling file
 * (plotly-<version>.min.js next to the report, reused by later reports) and
 * loads it with a relative <script src>: the pair opens offline, and a page
 * separated from it says so instead of failing silently. `inlinePlotly`
 * gives the old single file for mailing. Gallery tiles are re-encoded as
 * JPEG when that is smaller (overlays are photos, not line art), and ROC
 * coordinates are rounded to 4 decimals. With one reference seed the page
 * says "one reference seed (no spread)" instead of a "mean ± std" it cannot
 * show, and AUROC axes stay within [0, 100] with a minimum span.
 *
 * ```ts
 * const { file } = await writeExperimentReport('runs/experiments');   // runs/experiments/report.html + plotly-x.y.z.min.js
 * const html = buildExperimentReport(store.latest(), { storeDir: 'runs/experiments' }).html;   // plotly inlined
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { rocCurve } from '../metrics/index';
import { writeFileAtomic } from '../util/atomic-write';
import { ResultsStore, RunRecord } from './store';
import { summarizeSweep, SweepPoint } from './sweeps';
import { meanTable, paperComparisonTable, perClassTable, sweepTable, Table, tableToHtml } from './tables';

export interface ReportOptions {
  title?: string;
  /** Output file (default STORE/report.html). */
  out?: string;
  /** Runs whose galleries are shown (default 6: the largest K, first seed, per method/variant). */
  maxGalleryRuns?: number;
  /** Points kept per ROC curve (default 200; curves are thinned evenly). */
  rocPoints?: number;
  /**
   * writeExperimentReport: inline plotly.min.js (~4.8 MB) into the page, one
   * file to mail, instead of the sibling plotly-<version>.min.js (default false).
   */
  inlinePlotly?: boolean;
}

export interface BuildReportOptions extends ReportOptions {
  /** Store folder: locates the example PNGs. */
  storeDir: string;
  /** Where the page gets plotly: inlined (default), or a <script src> relative to the page. */
  plotly?: { inline: true } | { src: string };
  /** Gallery image data URIs by the example's absolute PNG path (galleryThumbnails); others are inlined as PNG. */
  thumbnails?: ReadonlyMap<string, string>;
}

export interface BuiltReport {
  html: string;
  /** Number of plotly figures on the page. */
  figures: number;
  /** Gallery images inlined. */
  images: number;
}

/** Plain plotly figure spec: traces + layout, passed to Plotly.newPlot as JSON. */
interface Figure {
  title: string;
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** The minified plotly bundle, made safe to sit inside a <script> element. */
export function plotlyBundle(): string {
  const file = require.resolve('plotly.js-dist-min');
  // A literal "</script" inside the bundle would end the element early.
  return fs.readFileSync(file, 'utf8').replace(/<\/script/gi, '<\\/script');
}

/** File name of the sibling plotly asset: versioned, so reports of different plotly versions never share one. */
export function plotlyAssetName(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('plotly.js-dist-min')), 'package.json'), 'utf8')) as { version?: string };
  return `plotly-${pkg.version ?? 'unknown'}.min.js`;
}

/** Writes the plotly asset into `dir` (atomically) unless an identical one is there; returns its path. */
export async function writePlotlyAsset(dir: string): Promise<string> {
  const source = require.resolve('plotly.js-dist-min');
  const target = path.join(dir, plotlyAssetName());
  const size = fs.statSync(source).size;
  // Same versioned name and size: the file a previous report wrote; rewriting 4.8 MB per report is waste.
  if (fs.existsSync(target) && fs.statSync(target).size === size) return target;
  await writeFileAtomic(target, fs.readFileSync(source));
  return target;
}

/** How the page describes the spread of sweep points. */
function spreadText(points: readonly SweepPoint[]): string {
  const counts = points.map((p) => p.seeds.length);
  if (counts.length === 0 || counts.every((n) => n <= 1)) return 'one reference seed (no spread)';
  if (counts.every((n) => n > 1)) {
    const n = new Set(counts).size === 1 ? `${counts[0]} ` : '';
    return `mean ± std over ${n}reference seeds`;
  }
  return 'mean ± std over reference seeds where a setting has several (settings with one seed show no spread)';
}

/**
 * y range of a percent axis: the data with some margin, at least `minSpan`
 * wide, never outside [0, 100] (plotly's autorange puts a flat 100 % line on
 * a 99-101 axis).
 */
export function percentAxisRange(values: readonly number[], minSpan = 10): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [0, 100];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  const pad = Math.max(1, 0.1 * (hi - lo));
  lo -= pad;
  hi += pad;
  if (hi - lo < minSpan) {
    const mid = (lo + hi) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  // Shift rather than cut, so the span stays at least minSpan.
  if (hi > 100) {
    lo -= hi - 100;
    hi = 100;
  }
  if (lo < 0) {
    hi = Math.min(100, hi - lo);
    lo = 0;
  }
  return [Math.round(lo * 100) / 100, Math.round(hi * 100) / 100];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function label(r: { method: string; variant: string }): string {
  return r.variant ? `${r.method} [${r.variant}]` : r.method;
}

function rgba(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

/** Shot-sweep curves (x = K) with a ±1 std band, one figure per protocol and metric. */
function sweepFigures(points: readonly SweepPoint[]): Figure[] {
  const figures: Figure[] = [];
  const protocols = [...new Set(points.map((p) => p.protocol))];
  for (const protocol of protocols) {
    const mine = points.filter((p) => p.protocol === protocol);
    if (new Set(mine.map((p) => p.shots)).size < 2) continue;
    for (const metric of ['imageAUROC', 'pixelAUROC'] as const) {
      const series = [...new Set(mine.map((p) => label(p)))];
      const data: Array<Record<string, unknown>> = [];
      const yValues: number[] = [];
      series.forEach((name, si) => {
        const pts = mine.filter((p) => label(p) === name && p.mean[metric] !== null).sort((a, b) => a.shots - b.shots);
        if (pts.length === 0) return;
        const color = COLORS[si % COLORS.length];
        const x = pts.map((p) => p.shots);
        const y = pts.map((p) => 100 * (p.mean[metric] as number));
        const sd = pts.map((p) => (p.seeds.length > 1 ? 100 * (p.std[metric] ?? 0) : 0));
        yValues.push(...y.map((v, i) => v + sd[i]), ...y.map((v, i) => v - sd[i]));
        if (pts.some((p) => p.seeds.length > 1)) {
          data.push({
            x: [...x, ...x.slice().reverse()],
            y: [...y.map((v, i) => v + sd[i]), ...y.map((v, i) => v - sd[i]).reverse()],
            fill: 'toself',
            mode: 'lines',
            fillcolor: rgba(color, 0.15),
            line: { width: 0 },
            hoverinfo: 'skip',
            showlegend: false,
            type: 'scatter',
          });
        }
        data.push({
          x,
          y,
          name: `${name} (${Math.max(...pts.map((p) => p.seeds.length))} seed${Math.max(...pts.map((p) => p.seeds.length)) > 1 ? 's' : ''})`,
          mode: 'lines+markers',
          line: { color },
          // A point at 100 % sits on the axis edge: draw it whole.
          cliponaxis: false,
          type: 'scatter',
        });
      });
      if (data.length === 0) continue;
      const spread = spreadText(mine.filter((p) => p.mean[metric] !== null));
      figures.push({
        title: `${protocol}: ${metric} vs K`,
        data,
        layout: {
          title: { text: `${protocol}: ${metric} (%) vs shots K, ${spread}` },
          xaxis: { title: { text: 'K (reference images)' }, type: 'log', tickvals: [...new Set(mine.map((p) => p.shots))] },
          yaxis: { title: { text: `${metric} (%)` }, range: percentAxisRange(yValues) },
          height: 380,
          margin: { t: 50, l: 60, r: 20, b: 50 },
        },
      });
    }
  }
  return figures;
}

/** The runs shown in ROC and galleries: per protocol and method/variant, the largest K and the smallest seed. */
function representativeRuns(records: readonly RunRecord[]): RunRecord[] {
  const best = new Map<string, RunRecord>();
  for (const r of records) {
    const k = `${r.protocol}|${label(r)}`;
    const cur = best.get(k);
    if (!cur || r.shots > cur.shots || (r.shots === cur.shots && r.referenceSeed < cur.referenceSeed)) best.set(k, r);
  }
  return [...best.values()];
}

function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (n - 1))]);
  return out;
}

/** Image-level ROC per test class, one trace per method/variant (largest K, first seed). */
function rocFigures(records: readonly RunRecord[], points: number): Figure[] {
  const figures: Figure[] = [];
  const reps = representativeRuns(records).filter((r) => Object.keys(r.perImage).length > 0);
  const protocols = [...new Set(reps.map((r) => r.protocol))];
  for (const protocol of protocols) {
    const runs = reps.filter((r) => r.protocol === protocol);
    const classes = [...new Set(runs.flatMap((r) => Object.keys(r.perImage)))];
    const cols = Math.min(classes.length, 5);
    const rows = Math.ceil(classes.length / cols);
    const data: Array<Record<string, unknown>> = [];
    const layout: Record<string, unknown> = {
      title: { text: `${protocol}: image-level ROC per class (largest K, first seed)` },
      grid: { rows, columns: cols, pattern: 'independent' },
      height: 260 * rows + 80,
      margin: { t: 60, l: 40, r: 20, b: 40 },
      annotations: [] as Array<Record<string, unknown>>,
    };
    classes.forEach((cls, ci) => {
      const axis = ci === 0 ? '' : String(ci + 1);
      (layout.annotations as Array<Record<string, unknown>>).push({ text: cls, xref: `x${axis} domain`, yref: `y${axis} domain`, x: 0.5, y: 1.08, showarrow: false, font: { size: 12 } });
      layout[`xaxis${axis}`] = { range: [0, 1], title: ci >= (rows - 1) * cols ? { text: 'FPR' } : undefined };
      layout[`yaxis${axis}`] = { range: [0, 1.02], title: ci % cols === 0 ? { text: 'TPR' } : undefined };
      data.push({ x: [0, 1], y: [0, 1], mode: 'lines', line: { dash: 'dot', color: '#bbb', width: 1 }, hoverinfo: 'skip', showlegend: false, xaxis: `x${axis}`, yaxis: `y${axis}`, type: 'scatter' });
      runs.forEach((r, ri) => {
        const s = r.perImage[cls];
        if (!s || !s.labels.includes(0) || !s.labels.includes(1)) return;
        const roc = rocCurve(s.scores, s.labels);
        const idx = thin(Array.from({ length: roc.fpr.length }, (_, i) => i), points);
        const auc = r.perClass.find((c) => `${c.dataset}/${c.class}` === cls)?.imageAUROC;
        // 4 decimals are finer than a pixel of these panels, and a fraction of the JSON.
        const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
        data.push({
          x: idx.map((i) => r4(roc.fpr[i])),
          y: idx.map((i) => r4(roc.tpr[i])),
          mode: 'lines',
          name: `${label(r)} K=${r.shots}`,
          legendgroup: label(r),
          showlegend: ci === 0,
          line: { color: COLORS[ri % COLORS.length], width: 1.5 },
          hovertemplate: `${escapeHtml(label(r))} ${cls}: AUROC ${auc != null ? (100 * auc).toFixed(1) : '-'}<extra></extra>`,
          xaxis: `x${axis}`,
          yaxis: `y${axis}`,
          type: 'scatter',
        });
      });
    });
    figures.push({ title: `${protocol}: ROC`, data, layout });
  }
  return figures;
}

function section(title: string, table: Table, note = ''): string {
  if (table.rows.length === 0) return '';
  return `<h2>${escapeHtml(title)}</h2>${note ? `<p class="note">${escapeHtml(note)}</p>` : ''}<div class="scroll">${tableToHtml(table)}</div>`;
}

/** The runs whose anomaly maps the page shows. */
function galleryRuns(records: readonly RunRecord[], maxGalleryRuns: number | undefined): RunRecord[] {
  return representativeRuns(records).slice(0, maxGalleryRuns ?? 6);
}

/** Widest gallery tile kept (px): tiles are shown 320 px wide, twice that covers high-DPI screens. */
const MAX_TILE_WIDTH = 640;

/**
 * Data URIs of the gallery images: each overlay PNG re-encoded as JPEG (and
 * narrowed to 640 px) when that is smaller, else the PNG as is.
 */
export async function galleryThumbnails(records: readonly RunRecord[], storeDir: string, maxGalleryRuns?: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const r of galleryRuns(records, maxGalleryRuns)) {
    for (const e of r.examples) {
      const file = path.join(storeDir, e.png);
      if (out.has(file) || !fs.existsSync(file)) continue;
      const png = fs.readFileSync(file);
      let best = `data:image/png;base64,${png.toString('base64')}`;
      try {
        const meta = await sharp(png).metadata();
        let img = sharp(png);
        if ((meta.width ?? 0) > MAX_TILE_WIDTH) img = img.resize({ width: MAX_TILE_WIDTH });
        const jpeg = await img.jpeg({ quality: 82, mozjpeg: true }).toBuffer();
        if (jpeg.length < png.length) best = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
      } catch {
        // An overlay sharp cannot read is still shown as the PNG it is.
      }
      out.set(file, best);
    }
  }
  return out;
}

/** Builds the report HTML from records; `storeDir` locates the example PNGs. */
export function buildExperimentReport(records: readonly RunRecord[], options: BuildReportOptions): BuiltReport {
  const title = options.title ?? `ResAD experiments: ${path.basename(path.resolve(options.storeDir))}`;
  const points = summarizeSweep(records);
  const sweeps = sweepFigures(points);
  const figures = [...sweeps, ...rocFigures(records, options.rocPoints ?? 200)];
  const nSweep = sweeps.length;
  const comparison = paperComparisonTable(points);

  let images = 0;
  const galleries: string[] = [];
  for (const r of galleryRuns(records, options.maxGalleryRuns)) {
    const cells: string[] = [];
    for (const e of r.examples) {
      const file = path.join(options.storeDir, e.png);
      const src = options.thumbnails?.get(file) ?? (fs.existsSync(file) ? `data:image/png;base64,${fs.readFileSync(file).toString('base64')}` : null);
      if (src === null) continue;
      images++;
      cells.push(
        `<figure><img src="${src}" alt="${escapeHtml(e.image)}">` +
          `<figcaption>${escapeHtml(e.class)}: ${escapeHtml(e.image.split('/').slice(-2).join('/'))} — ${e.label ? 'anomalous' : 'normal'}, score ${e.score.toFixed(3)}</figcaption></figure>`,
      );
    }
    if (cells.length) galleries.push(`<h3>${escapeHtml(`${r.protocol} — ${label(r)}, K=${r.shots}, seed ${r.referenceSeed}`)}</h3><div class="gallery">${cells.join('')}</div>`);
  }

  const engines = [...new Set(records.map((r) => r.engine))];
  const figureDivs = figures.map((f, i) => `<div class="fig" id="fig-${i}" data-title="${escapeHtml(f.title)}"></div>`);
  const json = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');
  const plots = figures.map((f, i) => `Plotly.newPlot('fig-${i}', ${json(f.data)}, ${json(f.layout)}, {displaylogo: false, responsive: true});`).join('\n');
  const plotly = options.plotly ?? { inline: true };
  const plotlyTag = 'src' in plotly ? `<script src="${escapeHtml(plotly.src)}"></script>` : `<script>${plotlyBundle()}</script>`;
  // A page separated from its sibling plotly file says so, and still shows tables and galleries.
  const missingPlotly =
    'src' in plotly
      ? `document.getElementById('plotly-missing').style.display='block';`
      : '';
  const spread = spreadText(points);

  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}td.num{text-align:right}.scroll{overflow-x:auto}
.note{color:#555;font-size:13px}.gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure img{width:320px;image-rendering:pixelated}
figcaption{font-size:12px;max-width:320px}.fig{margin:8px 0 24px}details summary{cursor:pointer;font-weight:bold;margin:1em 0}
</style>${plotlyTag}</head><body>
<h1>${escapeHtml(title)}</h1>
${'src' in plotly ? `<p class="note" id="plotly-missing" style="display:none;color:#b00">The figures need ${escapeHtml(plotly.src)} next to this file (written with it by resad report); it was not found, so only tables and images are shown. Keep the two files together, or rerun resad report --inline-plotly for a single file.</p>` : ''}
<p class="note">${records.length} run(s) from ${escapeHtml(path.resolve(options.storeDir))}; generated ${new Date().toISOString()}. Engine: ${escapeHtml(engines.join('; ') || '-')}.</p>
${section(`Shot sweep: ${spread} (%)`, sweepTable(points))}
${comparison.rows.length ? section('Measured vs published', comparison, 'Published numbers: WideResNet50, 224 px, the paper\'s full training; measured rows use the protocol\'s configuration (see the config column of each run).') : '<h2>Measured vs published</h2><p class="note">No run matches a published setting (same protocol, method, K and variant).</p>'}
${nSweep ? `<h2>Shot-sweep curves</h2>${figureDivs.slice(0, nSweep).join('')}` : ''}
${figures.length > nSweep ? `<h2>ROC curves</h2>${figureDivs.slice(nSweep).join('')}` : ''}
${section('Runs (mean over classes, %)', meanTable(records))}
${galleries.length ? `<h2>Anomaly maps</h2><p class="note">Each tile: input | anomaly map (jet, shared scale per class and run) with the ground truth outlined in white.</p>${galleries.join('')}` : ''}
<details><summary>Per-class results</summary>${tableToHtml(perClassTable(records))}</details>
<script>
if (typeof Plotly === 'undefined') { ${missingPlotly} } else {
${plots}
}
</script></body></html>`;
  return { html, figures: figures.length, images };
}

/** Writes STORE/report.html (or options.out) from the latest record of each run in the store. */
export async function writeExperimentReport(
  storeDir: string,
  options: ReportOptions = {},
): Promise<{ file: string; runs: number; /** Size of the page. */ bytes: number; /** The sibling plotly file, or null when inlined. */ plotlyFile: string | null } & Omit<BuiltReport, 'html'>> {
  const store = new ResultsStore(storeDir);
  const records = store.latest();
  if (records.length === 0) throw new Error(`${store.resultsFile}: no finished runs to report (run resad experiment first)`);
  const file = path.resolve(options.out ?? path.join(store.dir, 'report.html'));
  let plotly: BuildReportOptions['plotly'] = { inline: true };
  let asset: string | null = null;
  if (!options.inlinePlotly) {
    // The asset first: a page must never point at a file not written yet.
    asset = await writePlotlyAsset(path.dirname(file));
    plotly = { src: path.basename(asset) };
  }
  const thumbnails = await galleryThumbnails(records, store.dir, options.maxGalleryRuns);
  const built = buildExperimentReport(records, { ...options, storeDir: store.dir, plotly, thumbnails });
  await writeFileAtomic(file, built.html);
  return { file, runs: records.length, figures: built.figures, images: built.images, bytes: Buffer.byteLength(built.html), plotlyFile: asset };
}
