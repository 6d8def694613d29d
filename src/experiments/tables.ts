/**
 * Result tables from store records: per class, per run (means), shot sweeps
 * (mean ± std over reference seeds) and the comparison with the published
 * numbers, each as a plain `Table` that renders to Markdown, CSV, HTML or a
 * danfojs DataFrame (for notebooks).
 *
 * Metrics are shown in percent with one decimal, as the paper prints them.
 * Convention: a column named `<c>_std` next to `<c>` is the standard
 * deviation of `<c>`; Markdown and HTML merge the two into "mean ± std",
 * CSV and DataFrames keep them as separate numeric columns.
 *
 * ```ts
 * const records = new ResultsStore('runs/experiments').latest();
 * console.log(tableToMarkdown(meanTable(records)));
 * console.log(tableToMarkdown(paperComparisonTable(summarizeSweep(records))));
 * const df = await tableToDataFrame(perClassTable(records));   // danfojs-node, loaded on first use
 * ```
 */
import type { DataFrame } from 'danfojs-node';
import { METRIC_KEYS, MetricKey } from '../metrics/index';
import { paperResultsFor, PAPER_SOURCE } from './paper-results';
import type { RunRecord } from './store';
import type { SweepPoint } from './sweeps';

export type Cell = string | number | null;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
}

const pct = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : Math.round(1000 * v) / 10);
const round = (v: number | null | undefined, digits = 1): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : Number(v.toFixed(digits)));

export interface TableOptions {
  /** Metrics shown (default all seven). */
  metrics?: readonly MetricKey[];
}

/** One row per (run, class). */
export function perClassTable(records: readonly RunRecord[], options: TableOptions = {}): Table {
  const metrics = options.metrics ?? METRIC_KEYS;
  const rows: Cell[][] = [];
  for (const r of records) {
    for (const c of r.perClass) rows.push([r.protocol, r.method, r.variant, r.shots, r.referenceSeed, c.dataset, c.class, ...metrics.map((m) => pct(c[m])), c.images]);
  }
  return { title: 'Per-class results (%)', columns: ['protocol', 'method', 'variant', 'K', 'seed', 'dataset', 'class', ...metrics, 'images'], rows };
}

/** One row per run: the class means, training time and inference speed. */
export function meanTable(records: readonly RunRecord[], options: TableOptions = {}): Table {
  const metrics = options.metrics ?? METRIC_KEYS;
  return {
    title: 'Mean over classes (%)',
    columns: ['protocol', 'method', 'variant', 'K', 'seed', ...metrics, 'train_s', 'ms_per_image'],
    rows: records.map((r) => [r.protocol, r.method, r.variant, r.shots, r.referenceSeed, ...metrics.map((m) => pct(r.mean[m])), round(r.timings.trainSeconds, 0), round(r.timings.msPerImage, 1)]),
  };
}

/** Shot sweep: mean ± std over reference seeds per (protocol, method, variant, K). */
export function sweepTable(points: readonly SweepPoint[], options: TableOptions = {}): Table {
  const metrics = options.metrics ?? (['imageAUROC', 'pixelAUROC', 'imageAP', 'pixelAUPRO'] as const);
  return {
    title: 'Mean ± std over reference seeds (%)',
    columns: ['protocol', 'method', 'variant', 'K', 'seeds', ...metrics.flatMap((m) => [m, `${m}_std`]), 'train_s', 'ms_per_image'],
    rows: points.map((p) => [
      p.protocol,
      p.method,
      p.variant,
      p.shots,
      p.seeds.length,
      ...metrics.flatMap((m) => [pct(p.mean[m]), p.seeds.length > 1 ? round((p.std[m] ?? NaN) * 100, 2) : null]),
      round(p.trainSeconds, 0),
      round(p.msPerImage, 1),
    ]),
  };
}

/**
 * Measured (mean ± std over seeds) next to the published image/pixel AUROC
 * wherever the paper has the setting (same protocol, method, K, variant).
 * With `onlyMatched: false` unmatched settings are listed with empty paper cells.
 */
export function paperComparisonTable(points: readonly SweepPoint[], options: { onlyMatched?: boolean } = {}): Table {
  const rows: Cell[][] = [];
  for (const p of points) {
    const paper = paperResultsFor({ protocol: p.protocol, method: p.method, shots: p.shots, variant: p.variant })[0];
    if (!paper && options.onlyMatched !== false) continue;
    rows.push([
      p.protocol,
      p.method,
      p.variant,
      p.shots,
      p.seeds.length,
      pct(p.mean.imageAUROC),
      p.seeds.length > 1 ? round((p.std.imageAUROC ?? NaN) * 100, 2) : null,
      pct(p.mean.pixelAUROC),
      p.seeds.length > 1 ? round((p.std.pixelAUROC ?? NaN) * 100, 2) : null,
      paper ? paper.imageAUROC : null,
      paper ? paper.pixelAUROC : null,
      paper ? `${paper.table}: ${paper.label}` : '',
    ]);
  }
  return {
    title: `Measured vs published (image/pixel AUROC %, published: ${PAPER_SOURCE})`,
    columns: ['protocol', 'method', 'variant', 'K', 'seeds', 'imageAUROC', 'imageAUROC_std', 'pixelAUROC', 'pixelAUROC_std', 'paper_imageAUROC', 'paper_pixelAUROC', 'paper_source'],
    rows,
  };
}

const PERCENT_COLUMNS = new Set<string>([...METRIC_KEYS, 'paper_imageAUROC', 'paper_pixelAUROC']);

/** Percent columns with one decimal as the paper prints them, std with two, everything else as is. */
function fmt(v: Cell, column: string): string {
  if (v === null) return '-';
  if (typeof v !== 'number') return v;
  if (column.endsWith('_std')) return v.toFixed(2);
  if (PERCENT_COLUMNS.has(column)) return v.toFixed(1);
  return String(v);
}

/** Display columns: `<c>_std` merged into `<c>` as "mean ± std". */
function displayColumns(table: Table): Array<{ name: string; cell: (row: Cell[]) => string; numeric: boolean }> {
  const out: Array<{ name: string; cell: (row: Cell[]) => string; numeric: boolean }> = [];
  table.columns.forEach((name, i) => {
    if (name.endsWith('_std') && table.columns.includes(name.slice(0, -4))) return;
    const s = table.columns.indexOf(`${name}_std`);
    const numeric = table.rows.some((r) => typeof r[i] === 'number');
    out.push({ name, numeric, cell: (row) => (s >= 0 && row[s] !== null && row[i] !== null ? `${fmt(row[i], name)} ± ${fmt(row[s], table.columns[s])}` : fmt(row[i], name)) });
  });
  return out;
}

export function tableToMarkdown(table: Table): string {
  const cols = displayColumns(table);
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = [`| ${cols.map((c) => esc(c.name)).join(' | ')} |`, `|${cols.map((c) => (c.numeric ? '---:' : '---')).join('|')}|`];
  for (const row of table.rows) lines.push(`| ${cols.map((c) => esc(c.cell(row))).join(' | ')} |`);
  return lines.join('\n');
}

export function tableToCsv(table: Table): string {
  const cell = (v: Cell): string => {
    const s = v === null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [table.columns.map(cell).join(','), ...table.rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

export function tableToHtml(table: Table): string {
  const cols = displayColumns(table);
  const head = `<tr>${cols.map((c) => `<th>${escapeHtml(c.name)}</th>`).join('')}</tr>`;
  const body = table.rows.map((row) => `<tr>${cols.map((c) => `<td${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.cell(row))}</td>`).join('')}</tr>`).join('');
  return `<table>${head}${body}</table>`;
}

/**
 * The table as a danfojs DataFrame (null -> NaN so numeric columns stay
 * numeric). danfojs-node is loaded on first use: it is heavy and only
 * notebooks need it.
 */
export async function tableToDataFrame(table: Table): Promise<DataFrame> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dfd = require('danfojs-node') as typeof import('danfojs-node');
  const numeric = table.columns.map((_, i) => table.rows.some((r) => typeof r[i] === 'number'));
  const data = table.rows.map((r) => r.map((v, i) => (v === null ? (numeric[i] ? NaN : '') : v)));
  return new dfd.DataFrame(data, { columns: table.columns });
}
