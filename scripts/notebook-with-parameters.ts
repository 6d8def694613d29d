/**
 * Writes a copy of a notebook with some parameters set (setNotebookParameters),
 * e.g. to execute it on real data through Jupyter without editing the
 * committed file:
 *
 *   npx tsx scripts/notebook-with-parameters.ts notebooks/01_quickstart.ipynb /tmp/01.ipynb 'DATA="/data/mvtec_ad"' 'SHOTS=2'
 *
 * Each NAME=VALUE takes a JSON value (strings in double quotes).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readNotebookCells, setNotebookParameters } from '../src/notebook/run-notebook';
import { writeFileAtomicSync } from '../src/util/atomic-write';

function main(argv: string[]): void {
  const [input, output, ...assignments] = argv;
  if (!input || !output) throw new Error('usage: notebook-with-parameters IN.ipynb OUT.ipynb NAME=JSON ...');
  const parameters: Record<string, unknown> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Error(`"${a}": expected NAME=JSON`);
    const name = a.slice(0, eq);
    try {
      parameters[name] = JSON.parse(a.slice(eq + 1));
    } catch {
      throw new Error(`parameter ${name}: "${a.slice(eq + 1)}" is not JSON (strings need double quotes: ${name}='"text"')`);
    }
  }
  const updated = setNotebookParameters(readNotebookCells(input), parameters, path.basename(input));
  const nb = JSON.parse(fs.readFileSync(input, 'utf8')) as { cells: Array<{ source: string | string[] }> };
  nb.cells.forEach((c, i) => (c.source = updated[i].source));
  writeFileAtomicSync(output, JSON.stringify(nb, null, 1) + '\n');
  console.log(`${output}: ${Object.keys(parameters).join(', ') || 'no parameters'} set`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  console.error(`notebook-with-parameters: ${(e as Error).message}`);
  process.exit(2);
}
