/** `resad eval`: few-shot evaluation of a trained model on (new) classes. */
import * as path from 'path';
import { Command } from '../command';
import { DATA_OPTION_SPECS, readDataOptions, referencesForSource } from '../common';
import { optionInt, optionString, requiredString, requireOptions } from '../args';
import { describeEngine, initEngine } from '../../engine/index';
import { evaluateResAD, formatResultsTable, loadModel } from '../../resad/index';
import { writeResultsFile } from '../../report/results-json';
import { writeEvaluationReport } from '../../report/demo-report';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a trained model K-shot on the test images of some classes',
  usage: 'Usage: resad eval --model MODEL_DIR --data ROOT[:classes] [--format F] --shots K [--seed S] --json FILE [--report FILE.html]',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train' },
    ...DATA_OPTION_SPECS,
    shots: { value: 'K', description: 'normal reference images per class' },
    seed: { value: 'S', description: 'seed of the reference draw (default 0)' },
    references: { value: 'FILE', description: 'reference list JSON (default datasets/references/<root>_k<K>_s<S>.json, created once)' },
    json: { value: 'FILE', description: 'results JSON' },
    report: { value: 'FILE', description: 'optional HTML report with anomaly-map overlays' },
  },
  async run(args) {
    const modelDir = requiredString(args, 'model');
    const json = requiredString(args, 'json');
    requireOptions(args, 'shots');
    const shots = optionInt(args, 'shots', 4, 1);
    const seed = optionInt(args, 'seed', 0);
    const [source] = readDataOptions(args, { single: true });
    const engine = await initEngine({ quiet: true });
    console.error(describeEngine(engine));
    const refs = referencesForSource(source, shots, seed, optionString(args, 'references'));
    console.error(`references: ${refs.file} (${refs.status})`);
    const model = await loadModel(modelDir);
    try {
      const reportFile = optionString(args, 'report');
      const result = await evaluateResAD(model, source.samples, refs.set, { keepExamples: reportFile ? 4 : 0 });
      console.log(formatResultsTable(result));
      writeResultsFile(json, result, { model: path.resolve(modelDir), data: source.root, shots, seed, references: refs.file, engine: describeEngine(engine), resad: model.config });
      if (reportFile) {
        await writeEvaluationReport(reportFile, result, { title: `ResAD ${shots}-shot evaluation`, description: [`model ${modelDir}`, `data ${source.root}`] });
      }
      console.error(`results: ${json}`);
    } finally {
      model.dispose();
    }
    return 0;
  },
};
