/**
 * `resad report --results DIR`: an offline HTML page for a results store
 * written by `resad experiment` (tables, ROC curves, shot-sweep curves with
 * error bands, anomaly-map galleries). plotly is written once as a sibling
 * file (the page stays small); --inline-plotly makes one ~5 MB file to mail.
 */
import { Command } from '../command';
import { optionInt, optionString } from '../args';
import type { writeExperimentReport } from '../../experiments/report';
import { DEFAULT_RESULTS_DIR } from './experiment';

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
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { writeExperimentReport } = require('../../experiments/report') as typeof import('../../experiments/report');
    const dir = optionString(args, 'results', DEFAULT_RESULTS_DIR);
    const out = await writeExperimentReport(dir, {
      out: optionString(args, 'out'),
      title: optionString(args, 'title'),
      maxGalleryRuns: optionInt(args, 'galleries', 6, 0),
      inlinePlotly: args.flags.has('inline-plotly'),
    });
    console.log(`wrote ${out.file} (${(out.bytes / 1024).toFixed(0)} KB): ${out.runs} run(s), ${out.figures} figure(s), ${out.images} anomaly-map image(s)`);
    if (out.plotlyFile) console.log(`figures load ${out.plotlyFile}: keep it next to the page (or use --inline-plotly for one file)`);
    return 0;
  },
};
