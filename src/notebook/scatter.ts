/**
 * Plotly figures the notebooks build more than once: side-by-side 2-D
 * scatter panels coloured by a group label (feature views), and mean curves
 * with ±std bands (shot sweeps).
 */
import type { PlotlyFigure } from './plot';

/** Plotly's default ten colours: familiar, for up to ten series. */
const TAB10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
/** Kelly's colours of maximum contrast (white and black left out): 20 groups stay apart (e.g. 15 classes). */
const KELLY20 = ['#f3c300', '#875692', '#f38400', '#a1caf1', '#be0032', '#c2b280', '#848482', '#008856', '#e68fac', '#0067a5', '#f99379', '#604e97', '#f6a600', '#b3446c', '#dcd300', '#882d17', '#8db600', '#654522', '#e25822', '#2b3d26'];

/** Colour of series `index` out of `total` (ten or fewer: plotly's defaults; more: Kelly's 20). */
export function colorOf(index: number, total = TAB10.length): string {
  const palette = total <= TAB10.length ? TAB10 : KELLY20;
  return palette[index % palette.length];
}

export interface ScatterPanel {
  title: string;
  x: readonly number[];
  y: readonly number[];
  /** One group label per point (legend entry, colour). */
  groups: readonly string[];
}

export interface ScatterPanelsOptions {
  markerSize?: number;
  height?: number;
  /** Groups drawn last (on top) with markers twice as large, e.g. the few anomalous points among many normal ones. */
  emphasize?: (group: string) => boolean;
}

/** Panels in one row; the same group has the same colour (and one legend entry) in every panel. */
export function scatterPanelsFigure(panels: readonly ScatterPanel[], title: string, options: ScatterPanelsOptions = {}): PlotlyFigure {
  const emphasize = options.emphasize ?? (() => false);
  const groups = [...new Set(panels.flatMap((p) => p.groups))].sort((a, b) => Number(emphasize(a)) - Number(emphasize(b)) || a.localeCompare(b));
  const size = options.markerSize ?? 4;
  const data: Array<Record<string, unknown>> = [];
  const layout: Record<string, unknown> = {
    title: { text: title },
    height: options.height ?? 380,
    grid: { rows: 1, columns: panels.length, pattern: 'independent' },
    annotations: [] as unknown[],
    legend: { orientation: 'h' },
    margin: { t: 60, l: 30, r: 10, b: 30 },
  };
  panels.forEach((panel, p) => {
    const axis = p === 0 ? '' : String(p + 1);
    groups.forEach((g, gi) => {
      const idx = panel.groups.map((v, i) => (v === g ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0) return;
      data.push({
        type: 'scattergl',
        mode: 'markers',
        name: g,
        legendgroup: g,
        showlegend: p === 0,
        x: idx.map((i) => panel.x[i]),
        y: idx.map((i) => panel.y[i]),
        xaxis: `x${axis}`,
        yaxis: `y${axis}`,
        marker: { size: emphasize(g) ? 2 * size : size, color: colorOf(gi, groups.length), opacity: 0.75 },
      });
    });
    layout[`xaxis${axis}`] = { showticklabels: false, zeroline: false };
    layout[`yaxis${axis}`] = { showticklabels: false, zeroline: false };
    (layout.annotations as unknown[]).push({ text: panel.title, showarrow: false, xref: `x${axis} domain`, yref: `y${axis} domain`, x: 0.5, y: 1.08 });
  });
  return { data, layout };
}

export interface BandSeries {
  name: string;
  x: readonly number[];
  mean: ReadonlyArray<number | null>;
  std: ReadonlyArray<number | null>;
}

/** Lines of means with a shaded ±std band each. */
export function bandCurvesFigure(series: readonly BandSeries[], layout: Record<string, unknown> = {}): PlotlyFigure {
  const data: Array<Record<string, unknown>> = [];
  series.forEach((s, i) => {
    const color = colorOf(i);
    const upper = s.mean.map((m, k) => (m === null ? null : m + (s.std[k] ?? 0)));
    const lower = s.mean.map((m, k) => (m === null ? null : m - (s.std[k] ?? 0)));
    data.push({ type: 'scatter', mode: 'lines', x: [...s.x, ...[...s.x].reverse()], y: [...upper, ...[...lower].reverse()], fill: 'toself', fillcolor: color, opacity: 0.2, line: { width: 0 }, hoverinfo: 'skip', showlegend: false, legendgroup: s.name });
    data.push({ type: 'scatter', mode: 'lines+markers', name: s.name, legendgroup: s.name, x: [...s.x], y: [...s.mean], line: { color }, error_y: { type: 'data', array: s.std.map((v) => v ?? 0), visible: false } });
  });
  return { data, layout };
}
