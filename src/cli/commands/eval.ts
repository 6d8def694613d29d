/** `resad eval`: few-shot evaluation of a trained model on (new) classes. */
import * as path from 'path';
import { Command } from '../command';
import { DATA_OPTION_SPECS, readDataOptions, referencesForSource } from '../common';
import { optionInt, optionString, requiredString, requireOptions } from '../args';
import type { describeEngine, initEngine } from '../../engine/index';
import type { evaluateResAD, formatResultsTable, loadModel } from '../../resad/index';
import type { writeResultsFile } from '../../report/results-json';
import type { writeEvaluationReport } from '../../report/demo-report';
import { checkOutputFile } from '../../util/output-check';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a trained model K-shot on the test images of some classes',
  usage: 'Usage: resad eval --model MODEL_DIR --data ROOT[:classes] [--format F] --shots K [--seed S] --json FILE [--report FILE.html]',
  options: {
    model: { value: 'MODEL_DIR', description: 'folder written by resad train' },
    ...DATA_OPTION_SPECS,
    shots: { value: 'K', description: 'normal reference images per class' },
    seed: { value: 'S', description: 'seed of the reference draw (default 0)' },
    references: { value: 'FILE', description: 'reference list JSON (default datasets/references/<root name>-<root hash>_k<K>_s<S>.json, created once)' },
    json: { value: 'FILE', description: 'results JSON' },
    report: { value: 'FILE', description: 'optional HTML report with anomaly-map overlays' },
  },
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { describeEngine, initEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const { evaluateResAD, formatResultsTable, loadModel } = require('../../resad/index') as typeof import('../../resad/index');
    const { writeResultsFile } = require('../../report/results-json') as typeof import('../../report/results-json');
    const { writeEvaluationReport } = require('../../report/demo-report') as typeof import('../../report/demo-report');
    const modelDir = requiredString(args, 'model');
    const json = requiredString(args, 'json');
    requireOptions(args, 'shots');
    const shots = optionInt(args, 'shots', 4, 1);
    const seed = optionInt(args, 'seed', 0);
    const reportFile = optionString(args, 'report');
    // Outputs are only written after the evaluation: check them before it starts.
    checkOutputFile(json, '--json');
    if (reportFile !== undefined) checkOutputFile(reportFile, '--report');
    const [source] = readDataOptions(args, { single: true });
    const engine = await initEngine({ quiet: true });
    console.error(describeEngine(engine));
    // The model first: a missing or damaged one must fail before a references file is written.
    const model = await loadModel(modelDir);
    try {
      const refs = referencesForSource(source, shots, seed, optionString(args, 'references'));
      console.error(`references: ${refs.file} (${refs.status})`);
      const result = await evaluateResAD(model, source.samples, refs.set, { keepExamples: reportFile ? 4 : 0 });
      console.log(formatResultsTable(result));
      writeResultsFile(json, result, { model: path.resolve(modelDir), data: source.root, shots, seed, references: refs.file, engine: describeEngine(engine), resad: model.config });
      console.error(`results: ${json}`);
      if (reportFile) {
        await writeEvaluationReport(reportFile, result, { title: `ResAD ${shots}-shot evaluation`, description: [`model ${modelDir}`, `data ${source.root}`] });
        console.error(`report: ${reportFile}`);
      }
    } finally {
      model.dispose();
    }
    return 0;
  },
};
