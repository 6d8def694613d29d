/**
 * `resad report --results DIR`: an offline HTML page for a results store
 * written by `resad experiment` (tables, ROC curves, shot-sweep curves with
 * error bands, anomaly-map galleries). plotly is written once as a sibling
 * file (the page stays small); --inline-plotly makes one ~5 MB file to mail.
 */
import { Command } from '../command';
import { DEFAULT_RESULTS_DIR } from '../../experiments/store';

export const reportCommand: Command = {
  name: 'report',
  summary: 'offline HTML report of an experiments store (tables, ROC, shot sweeps, anomaly maps)',
  usage: 'Usage: resad report [--results DIR] [--out FILE] [--title TEXT] [--galleries N] [--inline-plotly]',
  options: {
    results: { value: 'DIR', description: `results store (default ${DEFAULT_RESULTS_DIR})` },
    out: { value: 'FILE', description: 'output HTML (default DIR/report.html)' },
    title: { value: 'TEXT', description: 'page title' },
    galleries: { value: 'N', description: 'runs whose anomaly maps are shown (default 6)' },
    'inline-plotly': { flag: true, description: 'inline plotly.js (~4.8 MB) into the page instead of a sibling plotly-<version>.min.js' },
  },
  load: () => require('./report-run') as typeof import('./report-run'),
};
