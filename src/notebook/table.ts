/**
 * Tables in notebooks: row objects, a resad `Table` (src/experiments/tables),
 * a danfojs DataFrame (anything with `columns` and 2-D `values`, so danfojs is
 * never loaded here) or a Markdown pipe table, all shown as one HTML table,
 * with a plain-text rendering for the console.
 *
 * ```ts
 * showTable([{ class: 'marble', imageAUROC: 0.93 }], { caption: 'unseen classes', digits: 3 });
 * showTable(await tableToDataFrame(meanTable(records)));
 * ```
 */
import { currentBackend, escapeHtml } from './display';

export type TableCell = string | number | boolean | null | undefined;

/** Structural view of a danfojs DataFrame (columns + row-major values). */
export interface DataFrameLike {
  readonly columns: readonly string[];
  readonly values: ReadonlyArray<ReadonlyArray<unknown>> | ReadonlyArray<unknown>;
}

/** Same shape as `Table` in src/experiments/tables. */
export interface TitledTable {
  readonly title?: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<TableCell>>;
}

export type TableInput = ReadonlyArray<Readonly<Record<string, unknown>>> | DataFrameLike | TitledTable | string;

export interface ShowTableOptions {
  caption?: string;
  /** Decimals for non-integer numbers. Default 4. */
  digits?: number;
}

/** Normalised table: header + cells as strings. */
export interface TableData {
  caption?: string;
  columns: string[];
  rows: string[][];
}

function cellText(v: unknown, digits: number): string {
  if (v === null || v === undefined) return '';
  // Round to `digits` decimals without padding, so 53.3 and 60 line up as people write them.
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : String(Number(v.toFixed(digits)));
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Markdown pipe table -> cells ("| a | b |\n|---|---|\n| 1 | 2 |"). */
function parseMarkdownTable(md: string): TableData {
  const lines = md.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('|'));
  const split = (l: string): string[] => l.replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
  const isRule = (l: string): boolean => /^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$/.test(l);
  if (lines.length < 2 || !isRule(lines[1])) throw new Error('showTable: a string must be a Markdown pipe table (header, |---| rule, rows)');
  const caption = md.split(/\r?\n/).find((l) => l.trim() && !l.trim().startsWith('|'));
  return { caption: caption?.replace(/^#+\s*/, '').trim(), columns: split(lines[0]), rows: lines.slice(2).map(split) };
}

/** Any accepted input -> header and string cells. */
export function tableData(input: TableInput, options: ShowTableOptions = {}): TableData {
  const digits = options.digits ?? 4;
  let out: TableData;
  if (typeof input === 'string') {
    out = parseMarkdownTable(input);
  } else if (Array.isArray(input)) {
    const rows = input as ReadonlyArray<Readonly<Record<string, unknown>>>;
    const columns: string[] = [];
    for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
    out = { columns, rows: rows.map((r) => columns.map((c) => cellText(r[c], digits))) };
  } else if ('rows' in input) {
    const t = input as TitledTable;
    out = { caption: t.title, columns: [...t.columns], rows: t.rows.map((r) => r.map((v) => cellText(v, digits))) };
  } else {
    const df = input as DataFrameLike;
    const values = df.values as ReadonlyArray<unknown>;
    // A one-column DataFrame may come back 1-D; treat every entry as a row then.
    const rows = values.map((r) => (Array.isArray(r) ? r : [r]));
    out = { columns: [...df.columns].map(String), rows: rows.map((r) => r.map((v) => cellText(v, digits))) };
  }
  if (options.caption !== undefined) out.caption = options.caption;
  return out;
}

export function tableHtml(t: TableData): string {
  const th = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const numeric = (s: string): boolean => s !== '' && Number.isFinite(Number(s));
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td${numeric(c) ? ' style="text-align:right"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  const caption = t.caption ? `<caption style="caption-side:top;text-align:left;font-weight:bold;white-space:nowrap">${escapeHtml(t.caption)}</caption>` : '';
  return `<table class="resad-table">${caption}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/** Fixed-width text table for the console. */
export function tableText(t: TableData): string {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [...(t.caption ? [t.caption] : []), line(t.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

/** Shows rows / a Table / a DataFrame / a Markdown table as one HTML table. */
export function showTable(input: TableInput, options: ShowTableOptions = {}): void {
  const t = tableData(input, options);
  currentBackend().show({ 'text/plain': tableText(t), 'text/html': tableHtml(t) });
}
