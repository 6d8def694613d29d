/**
 * Plotly figures the notebooks build more than once: side-by-side 2-D
 * scatter panels coloured by a group label (feature views), and mean curves
 * with ±std bands (shot sweeps).
 */
import type { PlotlyFigure } from './plot';

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939', '#8c6d31', '#843c39', '#7b4173'];

export function colorOf(index: number): string {
  return PALETTE[index % PALETTE.length];
}

export interface ScatterPanel {
  title: string;
  x: readonly number[];
  y: readonly number[];
  /** One group label per point (legend entry, colour). */
  groups: readonly string[];
}

/** Panels in one row; the same group has the same colour (and one legend entry) in every panel. */
export function scatterPanelsFigure(panels: readonly ScatterPanel[], title: string, options: { markerSize?: number; height?: number } = {}): PlotlyFigure {
  const groups = [...new Set(panels.flatMap((p) => p.groups))].sort();
  const data: Array<Record<string, unknown>> = [];
  const layout: Record<string, unknown> = {
    title,
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
        marker: { size: options.markerSize ?? 4, color: colorOf(gi), opacity: 0.75 },
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
