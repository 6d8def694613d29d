/**
 * One self-contained, offline HTML page for a results store (`resad report
 * --results DIR`): the tables (means, shot sweep with mean ± std, measured vs
 * published, per class), ROC curves from the per-image scores the runs
 * recorded, shot-sweep curves with ±1 std bands, and anomaly-map galleries
 * from the overlay PNGs the runs saved. plotly.min.js (plotly.js-dist-min)
 * is inlined once; images are PNG data URIs: the file can be mailed or opened
 * without a network.
 *
 * ```ts
 * const { file } = await writeExperimentReport('runs/experiments');   // runs/experiments/report.html
 * const html = buildExperimentReport(store.latest(), { storeDir: 'runs/experiments' });
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
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
      series.forEach((name, si) => {
        const pts = mine.filter((p) => label(p) === name && p.mean[metric] !== null).sort((a, b) => a.shots - b.shots);
        if (pts.length === 0) return;
        const color = COLORS[si % COLORS.length];
        const x = pts.map((p) => p.shots);
        const y = pts.map((p) => 100 * (p.mean[metric] as number));
        const sd = pts.map((p) => 100 * (p.std[metric] ?? 0));
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
          type: 'scatter',
        });
      });
      if (data.length === 0) continue;
      figures.push({
        title: `${protocol}: ${metric} vs K`,
        data,
        layout: { title: { text: `${protocol}: ${metric} (%) vs shots K, mean ± std over reference seeds` }, xaxis: { title: { text: 'K (reference images)' }, type: 'log', tickvals: [...new Set(mine.map((p) => p.shots))] }, yaxis: { title: { text: `${metric} (%)` } }, height: 380, margin: { t: 50, l: 60, r: 20, b: 50 } },
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
        data.push({
          x: idx.map((i) => roc.fpr[i]),
          y: idx.map((i) => roc.tpr[i]),
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

/** Builds the report HTML from records; `storeDir` locates the example PNGs. */
export function buildExperimentReport(records: readonly RunRecord[], options: ReportOptions & { storeDir: string }): BuiltReport {
  const title = options.title ?? `ResAD experiments: ${path.basename(path.resolve(options.storeDir))}`;
  const points = summarizeSweep(records);
  const sweeps = sweepFigures(points);
  const figures = [...sweeps, ...rocFigures(records, options.rocPoints ?? 200)];
  const nSweep = sweeps.length;
  const comparison = paperComparisonTable(points);

  let images = 0;
  const galleries: string[] = [];
  for (const r of representativeRuns(records).slice(0, options.maxGalleryRuns ?? 6)) {
    const cells: string[] = [];
    for (const e of r.examples) {
      const file = path.join(options.storeDir, e.png);
      if (!fs.existsSync(file)) continue;
      images++;
      cells.push(
        `<figure><img src="data:image/png;base64,${fs.readFileSync(file).toString('base64')}" alt="${escapeHtml(e.image)}">` +
          `<figcaption>${escapeHtml(e.class)}: ${escapeHtml(e.image.split('/').slice(-2).join('/'))} — ${e.label ? 'anomalous' : 'normal'}, score ${e.score.toFixed(3)}</figcaption></figure>`,
      );
    }
    if (cells.length) galleries.push(`<h3>${escapeHtml(`${r.protocol} — ${label(r)}, K=${r.shots}, seed ${r.referenceSeed}`)}</h3><div class="gallery">${cells.join('')}</div>`);
  }

  const engines = [...new Set(records.map((r) => r.engine))];
  const figureDivs = figures.map((f, i) => `<div class="fig" id="fig-${i}" data-title="${escapeHtml(f.title)}"></div>`);
  const json = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');
  const plots = figures.map((f, i) => `Plotly.newPlot('fig-${i}', ${json(f.data)}, ${json(f.layout)}, {displaylogo: false, responsive: true});`).join('\n');

  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1400px}table{border-collapse:collapse;font-size:13px}
td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}td.num{text-align:right}.scroll{overflow-x:auto}
.note{color:#555;font-size:13px}.gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure img{width:320px;image-rendering:pixelated}
figcaption{font-size:12px;max-width:320px}.fig{margin:8px 0 24px}details summary{cursor:pointer;font-weight:bold;margin:1em 0}
</style><script>${plotlyBundle()}</script></head><body>
<h1>${escapeHtml(title)}</h1>
<p class="note">${records.length} run(s) from ${escapeHtml(path.resolve(options.storeDir))}; generated ${new Date().toISOString()}. Engine: ${escapeHtml(engines.join('; ') || '-')}.</p>
${section('Shot sweep: mean ± std over reference seeds (%)', sweepTable(points))}
${comparison.rows.length ? section('Measured vs published', comparison, 'Published numbers: WideResNet50, 224 px, the paper\'s full training; measured rows use the protocol\'s configuration (see the config column of each run).') : '<h2>Measured vs published</h2><p class="note">No run matches a published setting (same protocol, method, K and variant).</p>'}
${nSweep ? `<h2>Shot-sweep curves</h2>${figureDivs.slice(0, nSweep).join('')}` : ''}
${figures.length > nSweep ? `<h2>ROC curves</h2>${figureDivs.slice(nSweep).join('')}` : ''}
${section('Runs (mean over classes, %)', meanTable(records))}
${galleries.length ? `<h2>Anomaly maps</h2><p class="note">Each tile: input | anomaly map (jet, shared scale per class and run) with the ground truth outlined in white.</p>${galleries.join('')}` : ''}
<details><summary>Per-class results</summary>${tableToHtml(perClassTable(records))}</details>
<script>
${plots}
</script></body></html>`;
  return { html, figures: figures.length, images };
}

/** Writes STORE/report.html (or options.out) from the latest record of each run in the store. */
export async function writeExperimentReport(storeDir: string, options: ReportOptions = {}): Promise<{ file: string; runs: number } & Omit<BuiltReport, 'html'>> {
  const store = new ResultsStore(storeDir);
  const records = store.latest();
  if (records.length === 0) throw new Error(`${store.resultsFile}: no finished runs to report (run resad experiment first)`);
  const built = buildExperimentReport(records, { ...options, storeDir: store.dir });
  const file = path.resolve(options.out ?? path.join(store.dir, 'report.html'));
  await writeFileAtomic(file, built.html);
  return { file, runs: records.length, figures: built.figures, images: built.images };
}
