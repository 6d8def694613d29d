/**
 * Live training progress in ONE output area: pass `liveProgress().onEpoch`
 * as the trainer's `onEpoch`; every epoch rewrites the same display (tslab
 * updatable display) with a loss table and small SVG line charts. SVG rather
 * than Plotly because an area that is overwritten must not be the one that
 * carries plotly.min.js (see plot.ts), and SVG needs no script (renders in
 * untrusted notebooks too). Outside tslab each epoch prints one line.
 *
 * ```ts
 * const progress = liveProgress({ totalEpochs: model.config.epochs });
 * await trainResAD(model, samples, { onEpoch: progress.onEpoch, quiet: true });
 * ```
 */
import type { EpochReport } from '../resad/trainer';
import { currentBackend, escapeHtml, OutputHandle } from './display';
import { tableData, tableHtml, tableText } from './table';

export interface LiveProgressOptions {
  title?: string;
  /** Shown as "epoch e/total". */
  totalEpochs?: number;
  /** Rows of the table (the most recent epochs). Default 8. */
  tableRows?: number;
}

export interface LiveProgress {
  /** Matches TrainOptions.onEpoch; safe to pass unbound. */
  readonly onEpoch: (report: EpochReport) => void;
  /** Every report received so far. */
  readonly reports: readonly EpochReport[];
  /** Redraws the area with a final note (e.g. "done in 42 s"). */
  finish(note?: string): void;
}

const SERIES: ReadonlyArray<{ key: 'occLoss' | 'mlLoss' | 'bgsppLoss'; label: string; color: string }> = [
  { key: 'occLoss', label: 'OCC loss', color: '#1f77b4' },
  { key: 'mlLoss', label: 'ML loss', color: '#ff7f0e' },
  { key: 'bgsppLoss', label: 'BG-SPP loss', color: '#2ca02c' },
];

/** One small auto-scaled line chart (losses differ in scale and sign, so one chart each). */
function sparkline(values: readonly number[], label: string, color: string): string {
  const w = 220;
  const h = 90;
  const pad = 18;
  const finite = values.filter(Number.isFinite);
  const lo = finite.length ? Math.min(...finite) : 0;
  const hi = finite.length ? Math.max(...finite) : 1;
  const span = hi > lo ? hi - lo : 1;
  const x = (i: number): number => pad + (values.length > 1 ? (i * (w - 2 * pad)) / (values.length - 1) : (w - 2 * pad) / 2);
  const y = (v: number): number => h - pad - ((v - lo) / span) * (h - 2 * pad);
  const pts = values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean);
  const last = values.length ? values[values.length - 1] : NaN;
  return (
    `<svg width="${w}" height="${h}" style="margin-right:8px;border:1px solid #ddd">` +
    `<text x="4" y="12" font-size="11">${escapeHtml(label)}: ${Number.isFinite(last) ? last.toFixed(4) : '-'}</text>` +
    `<text x="4" y="${h - 4}" font-size="9" fill="#888">${lo.toPrecision(3)} .. ${hi.toPrecision(3)}</text>` +
    (pts.length > 1 ? `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>` : '') +
    pts.map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2" fill="${color}"/>`).join('') +
    `</svg>`
  );
}

function epochLine(r: EpochReport, total?: number): string {
  return `epoch ${r.epoch + 1}${total ? `/${total}` : ''} (stage ${r.stage}) occ ${r.occLoss.toFixed(4)} ml ${r.mlLoss.toFixed(4)} bgspp ${r.bgsppLoss.toFixed(4)} lr ${r.lr.toExponential(1)} ${r.seconds.toFixed(1)} s`;
}

/** A progress sink for trainResAD that redraws one output area per epoch. */
export function liveProgress(options: LiveProgressOptions = {}): LiveProgress {
  const reports: EpochReport[] = [];
  const backend = currentBackend();
  const handle: OutputHandle = backend.newHandle();
  const console_ = backend.name === 'console';

  const render = (note?: string): void => {
    const last = reports[reports.length - 1];
    const text = last ? epochLine(last, options.totalEpochs) + (note ? ` — ${note}` : '') : note ?? 'waiting for the first epoch';
    if (console_) {
      handle.show({ 'text/plain': text });
      return;
    }
    const recent = reports.slice(-(options.tableRows ?? 8));
    const table = tableData(
      recent.map((r) => ({ epoch: r.epoch + 1, stage: r.stage, occ: r.occLoss, ml: r.mlLoss, bgspp: r.bgsppLoss, lr: r.lr.toExponential(1), 's': r.seconds })),
      { digits: 4 },
    );
    const charts = SERIES.map((s) => sparkline(reports.map((r) => r[s.key]), s.label, s.color)).join('');
    const head = `<div style="font-weight:bold">${escapeHtml(options.title ?? 'training')}: ${escapeHtml(text)}</div>`;
    handle.show({ 'text/plain': `${text}\n${tableText(table)}`, 'text/html': `<div class="resad-progress">${head}<div>${charts}</div>${tableHtml(table)}</div>` });
  };

  return {
    reports,
    onEpoch: (report: EpochReport): void => {
      reports.push(report);
      render();
    },
    finish: (note?: string): void => render(note ?? 'done'),
  };
}
