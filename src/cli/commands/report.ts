/**
 * `resad report --results DIR`: one self-contained offline HTML page for a
 * results store written by `resad experiment` (tables, ROC curves, shot-sweep
 * curves with error bands, anomaly-map galleries; plotly inlined once).
 */
import { Command } from '../command';
import { optionInt, optionString } from '../args';
import { writeExperimentReport } from '../../experiments/report';
import { DEFAULT_RESULTS_DIR } from './experiment';

export const reportCommand: Command = {
  name: 'report',
  summary: 'offline HTML report of an experiments store (tables, ROC, shot sweeps, anomaly maps)',
  usage: 'Usage: resad report [--results DIR] [--out FILE] [--title TEXT] [--galleries N]',
  options: {
    results: { value: 'DIR', description: `results store (default ${DEFAULT_RESULTS_DIR})` },
    out: { value: 'FILE', description: 'output HTML (default DIR/report.html)' },
    title: { value: 'TEXT', description: 'page title' },
    galleries: { value: 'N', description: 'runs whose anomaly maps are shown (default 6)' },
  },
  async run(args) {
    const dir = optionString(args, 'results', DEFAULT_RESULTS_DIR);
    const out = await writeExperimentReport(dir, {
      out: optionString(args, 'out'),
      title: optionString(args, 'title'),
      maxGalleryRuns: optionInt(args, 'galleries', 6, 0),
    });
    console.log(`wrote ${out.file}: ${out.runs} run(s), ${out.figures} figure(s), ${out.images} anomaly-map image(s)`);
    return 0;
  },
};
