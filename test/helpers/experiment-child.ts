/**
 * A real `resad experiment`-like process for the concurrency tests: runs a
 * tiny shot sweep (ResAD with the tiny backbone + a training-free method) on
 * one results store, after a start barrier so that two such processes really
 * overlap. Prints one JSON line on stdout: { pid, outcomes: [{ key, skipped, elsewhere }] }.
 *
 * Usage: node --require tsx/cjs test/helpers/experiment-child.ts STORE DATA GO_FILE
 */
import * as fs from 'fs';
import { initEngine } from '../../src/engine/index';
import { customProtocol, ExperimentSession, registerMethod, shotSweepSpecs } from '../../src/experiments/index';
import { TINY_CONFIG, tinyBackbone } from './tiny-backbone';
import { meanImageScorer } from './mean-image-scorer';

async function main(): Promise<void> {
  const [store, data, goFile] = process.argv.slice(2);
  await initEngine({ quiet: true });
  const backbone = tinyBackbone();
  registerMethod('mean-image', () => meanImageScorer());
  const protocol = customProtocol({
    name: 'tiny-concurrent',
    train: [`${data}:wood,hex_nut`],
    test: [`mvtec=${data}:marble,carpet`],
    config: { ...TINY_CONFIG, syntheticPerClass: 2 },
    shots: [1, 2],
    referenceSeeds: [0, 1],
  });
  process.stdout.write('ready\n');
  while (!fs.existsSync(goFile)) await new Promise((r) => setTimeout(r, 20));
  const lines: string[] = [];
  const session = new ExperimentSession({ store, backbone, keepExamples: 1, pollMs: 50, quiet: true, log: (l) => lines.push(l) });
  const outcomes = await session.runAll(shotSweepSpecs(protocol, { methods: ['resad', 'mean-image'] }));
  session.dispose();
  process.stdout.write(
    JSON.stringify({ pid: process.pid, log: lines, outcomes: outcomes.map((o) => ({ key: o.record.key, skipped: o.skipped, elsewhere: o.elsewhere ?? null })) }) + '\n',
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
