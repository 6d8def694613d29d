/**
 * Plotly figures in notebooks, offline: the first figure of a kernel session
 * embeds plotly.min.js (from `plotly.js-dist-min`, ~4.8 MB) in its HTML
 * output, every figure then calls `Plotly.newPlot` into its own div. No CDN,
 * so executed notebooks render without network (also in nbconvert HTML).
 *
 * Each output is a MIME bundle: text/html (classic Notebook, nbconvert),
 * `application/vnd.plotly.v1+json` (JupyterLab's Plotly renderer, when
 * installed) and text/plain (console fallback).
 *
 * Caveat: "once per session" is a module flag. Clearing or re-running the cell
 * that carried the library leaves later figures without it after a reload;
 * `resetPlotlyEmbedding()` makes the next figure embed it again.
 *
 * ```ts
 * showPlot({ data: [{ x: [1, 2, 3], y: [2, 1, 3], type: 'scatter' }], layout: { title: { text: 'demo' } } });
 * ```
 */
import * as fs from 'fs';
import { currentBackend, escapeHtml, MimeBundle } from './display';

/** A Plotly figure as plain JSON (traces and layout are passed through unchecked). */
export interface PlotlyFigure {
  data: Array<Record<string, unknown>>;
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

export interface ShowPlotOptions {
  /** Also offer the figure as application/vnd.plotly.v1+json. Default true. */
  mimeBundle?: boolean;
  /** CSS height of the div when the layout has none. Default 420px. */
  height?: number;
}

let plotlyEmbedded = false;
let plotlySource: string | null = null;
let figureCounter = 0;

function plotlyScript(): string {
  if (plotlySource === null) {
    const file = require.resolve('plotly.js-dist-min/plotly.min.js');
    plotlySource = fs.readFileSync(file, 'utf8');
    // Inline <script> ends at the first "</script"; the bundle has none today, keep it that way.
    if (/<\/script/i.test(plotlySource)) plotlySource = plotlySource.replace(/<\/script/gi, '<\\/script');
  }
  // `module` shadowed: the UMD header must take its browser branch (window.Plotly) even if a page defines `module`.
  return `<script type="text/javascript">(function (module) {\n${plotlySource}\n}).call(window, undefined);</script>`;
}

/** Makes the next showPlot embed plotly.min.js again (e.g. after clearing the cell that had it). */
export function resetPlotlyEmbedding(): void {
  plotlyEmbedded = false;
}

/** Whether this session already emitted plotly.min.js. */
export function isPlotlyEmbedded(): boolean {
  return plotlyEmbedded;
}

/** JSON safe inside <script>: no "</script>" or "<!--" can end it early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function plainSummary(figure: PlotlyFigure): string {
  const title = figure.layout?.title;
  const text = typeof title === 'string' ? title : title && typeof title === 'object' && 'text' in title ? String((title as { text: unknown }).text) : '';
  return `[plot${text ? ` "${text}"` : ''}: ${figure.data.length} trace(s); run inside tslab/Jupyter to see it]`;
}

/**
 * The layout with every string `title` (layout, axes, colorbars, legend...)
 * turned into `{ text }`: plotly.js 3 dropped string titles and draws none,
 * while most examples (and habits) still write `title: 'AUROC %'`.
 */
export function withTitleObjects<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withTitleObjects(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = k === 'title' && typeof v === 'string' ? { text: v } : withTitleObjects(v);
  return out as T;
}

/** The HTML of one figure; `withLibrary` prepends plotly.min.js. Exposed for reports and tests. */
export function plotHtml(figure: PlotlyFigure, options: { withLibrary: boolean; divId?: string; height?: number }): string {
  const id = options.divId ?? `resad-plot-${Date.now().toString(36)}-${++figureCounter}`;
  const height = typeof figure.layout?.height === 'number' ? figure.layout.height : options.height ?? 420;
  const config = { responsive: true, displaylogo: false, ...(figure.config ?? {}) };
  const call =
    `(function () { var el = document.getElementById(${scriptJson(id)});` +
    ` if (!window.Plotly) { el.textContent = 'Plotly is not loaded in this page: call resetPlotlyEmbedding() and re-run the plot cell.'; return; }` +
    ` window.Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(withTitleObjects(figure.layout ?? {}))}, ${scriptJson(config)}); })();`;
  return (
    (options.withLibrary ? plotlyScript() + '\n' : '') +
    `<div id="${escapeHtml(id)}" class="resad-plot" style="width:100%;height:${height}px"></div>\n` +
    `<script type="text/javascript">${call}</script>`
  );
}

/** Shows a Plotly figure in the current cell (console summary outside Jupyter). */
export function showPlot(figure: PlotlyFigure, options: ShowPlotOptions = {}): void {
  const backend = currentBackend();
  if (backend.name === 'console') {
    // Nothing to render into: do not mark the library as embedded.
    backend.show({ 'text/plain': plainSummary(figure) });
    return;
  }
  const withLibrary = !plotlyEmbedded;
  const bundle: MimeBundle = { 'text/plain': plainSummary(figure), 'text/html': plotHtml(figure, { withLibrary, height: options.height }) };
  if (options.mimeBundle !== false) bundle['application/vnd.plotly.v1+json'] = { data: figure.data, layout: withTitleObjects(figure.layout ?? {}), config: figure.config ?? {} };
  backend.show(bundle);
  plotlyEmbedded = true;
}
