/** The work of `resad report` (see report.ts). */
import { optionInt, optionString, ParsedArgs } from '../args';
import { writeExperimentReport } from '../../experiments/report';
import { DEFAULT_RESULTS_DIR } from '../../experiments/store';

export async function run(args: ParsedArgs): Promise<number> {
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
}
