/**
 * Runs a tslab notebook (.ipynb) without Jupyter, faithfully: tslab's own
 * converter (TypeScript 5.0.4, top-level await, cell-to-cell declarations)
 * and executor, wired the way tslab's `jupyter.js` wires them:
 *
 * - the working directory is the project root while cells run (tslab's
 *   converter takes its root from it; cells import `./src/index`);
 * - `jupyter.lastWriteDisplayData` is set for each cell, so `src/notebook`
 *   display helpers (and tslab's public `display`) send MIME bundles, which
 *   are recorded per cell;
 * - stdout / stderr written while a cell runs are recorded for that cell (and
 *   echoed with `echo: true`).
 *
 * Code cells run in order; the first failing one throws `NotebookCellError`
 * with the cell's index, a source excerpt and the error tslab printed.
 * Markdown cells are skipped. tslab is loaded lazily (it brings a TypeScript
 * compiler), so importing this file costs nothing until `runNotebook` runs.
 */
import * as fs from 'fs';
import * as path from 'path';

/** One output of a cell, in Jupyter's terms. */
export type NotebookOutput =
  | { type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { type: 'display'; data: Record<string, unknown>; displayId: string | null; update: boolean };

export interface CellRun {
  /** Index among all cells of the notebook (markdown included), as Jupyter shows them. */
  index: number;
  /** Index among code cells. */
  codeIndex: number;
  source: string;
  outputs: NotebookOutput[];
  seconds: number;
}

export interface NotebookRunResult {
  file: string;
  cells: CellRun[];
  seconds: number;
}

export interface RunNotebookOptions {
  /** Working directory while cells run (default: the project root holding node_modules/tslab). */
  cwd?: string;
  /** Environment variables set while the notebook runs (restored afterwards). */
  env?: Record<string, string | undefined>;
  /** Also write cell streams to the real stdout/stderr (default false). */
  echo?: boolean;
  /**
   * Keep tslab's compiler (a TypeScript language service holding every
   * imported file of src/) for the next notebook of this process (default
   * true): the first cell of the first notebook type-checks src/ (~15 s), later
   * notebooks reuse it. Call `closeNotebookCompilers()` when done.
   */
  reuseCompiler?: boolean;
  /** Called after each code cell. */
  onCell?: (cell: CellRun) => void;
  /** Values replacing the notebook's parameters (`const NAME = ...;` lines, see setNotebookParameters). */
  parameters?: Readonly<Record<string, unknown>>;
}

export class NotebookCellError extends Error {
  constructor(
    readonly file: string,
    readonly cell: CellRun,
    readonly errorText: string,
  ) {
    super(
      `${path.basename(file)}: cell ${cell.index} (code cell ${cell.codeIndex}) failed\n` +
        `--- source ---\n${excerpt(cell.source)}\n--- error ---\n${errorText.trim() || '(no error text; the cell returned false)'}`,
    );
    this.name = 'NotebookCellError';
  }
}

function excerpt(source: string, maxLines = 12): string {
  const lines = source.split('\n');
  return lines.length <= maxLines ? source : [...lines.slice(0, maxLines), `... (${lines.length - maxLines} more lines)`].join('\n');
}

interface Ipynb {
  cells: Array<{ cell_type: string; source: string | string[] }>;
}

/** The code cells of a notebook file, with their indices among all cells. */
export function readNotebookCells(file: string): Array<{ index: number; type: string; source: string }> {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as Ipynb;
  if (!nb || !Array.isArray(nb.cells)) throw new Error(`${file}: not a notebook (no "cells" array)`);
  return nb.cells.map((c, index) => ({ index, type: c.cell_type, source: Array.isArray(c.source) ? c.source.join('') : String(c.source ?? '') }));
}

/**
 * Papermill-style parameters for TypeScript cells: each `NAME` must be
 * declared on one line, `const NAME[: type] = value;` (or `let`), in some code
 * cell; the first such line gets `JSON.stringify(value)` as its value, keeping
 * the type and a trailing comment. A `const` cannot be redeclared in a later
 * cell, hence the rewrite instead of papermill's injected cell. Throws,
 * naming the parameter, when no cell declares it.
 */
export function setNotebookParameters<T extends { type: string; source: string }>(cells: readonly T[], parameters: Readonly<Record<string, unknown>>, file = 'notebook'): T[] {
  const out = cells.map((c) => ({ ...c }));
  for (const [name, value] of Object.entries(parameters)) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`${file}: parameter name "${name}" is not an identifier`);
    const line = new RegExp(`^(\\s*(?:const|let)\\s+${name.replace(/\$/g, '\\$')}\\s*(?::[^=\\n]*)?=\\s*).*?(;[ \\t]*(?://.*)?)$`, 'm');
    const cell = out.find((c) => c.type === 'code' && line.test(c.source));
    if (!cell) throw new Error(`${file}: no code cell declares parameter ${name} on one line (\`const ${name} = ...;\`)`);
    const json = JSON.stringify(value);
    if (json === undefined) throw new Error(`${file}: parameter ${name} has no JSON value`);
    cell.source = cell.source.replace(line, (_m, head: string, tail: string) => `${head}${json}${tail}`);
  }
  return out;
}

/** The project root: the nearest folder (from this file up) with node_modules/tslab. */
export function findProjectRoot(start = __dirname): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules', 'tslab', 'dist', 'executor.js'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no node_modules/tslab above ${start}`);
  }
}

// Minimal shapes of tslab's internals that we use (tslab/dist/*.d.ts).
interface TslabConverter {
  close(): void;
}
interface TslabExecutor {
  execute(src: string): Promise<boolean>;
  close(): void;
}
interface TslabModules {
  converter: { createConverter(options?: { isJS?: boolean; isBrowser?: boolean }): TslabConverter };
  executor: { createExecutor(rootDir: string, convs: unknown, console: { log(...a: unknown[]): void; error(...a: unknown[]): void }): TslabExecutor };
  jupyter: { lastWriteDisplayData: ((content: { data: Record<string, unknown>; metadata: unknown; transient?: { display_id?: string } }, update: boolean) => void) | null };
}

/**
 * tslab's converter allows one pending TypeScript timer; a directory event
 * under the project (a cell writing a checkpoint) plus an edit of src/ each
 * schedule one, and the process dies with "Unexpected pending rebuildTimer"
 * (seen twice in real kernels while files were edited during long cells).
 * Directory watching only re-resolves imports that failed before, so it is
 * turned off; the kernel launcher (kernel-spec.ts) does the same.
 */
export function disableTslabDirectoryWatching(root: string): void {
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.join(root, 'node_modules', 'tslab')] })) as {
    sys: { watchDirectory?: (...args: unknown[]) => { close(): void } };
  };
  ts.sys.watchDirectory = () => ({ close: () => undefined });
}

function loadTslab(root: string): TslabModules {
  disableTslabDirectoryWatching(root);
  const dist = path.join(root, 'node_modules', 'tslab', 'dist');
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return {
    converter: require(path.join(dist, 'converter.js')),
    executor: require(path.join(dist, 'executor.js')),
    jupyter: require(path.join(dist, 'jupyter.js')),
  };
}

interface ConverterSet {
  readonly node: TslabConverter;
  readonly browser: TslabConverter;
  close(): void;
}

/** As tslab's ConverterSetImpl (main.js): converters created on first use. */
function newConverterSet(tslab: TslabModules): ConverterSet {
  let node: TslabConverter | undefined;
  let browser: TslabConverter | undefined;
  return {
    get node(): TslabConverter {
      return (node ??= tslab.converter.createConverter({ isJS: false, isBrowser: false }));
    },
    get browser(): TslabConverter {
      return (browser ??= tslab.converter.createConverter({ isJS: false, isBrowser: true }));
    },
    close(): void {
      node?.close();
      browser?.close();
      node = browser = undefined;
    },
  };
}

const sharedSets = new Map<string, ConverterSet>();

function sharedConverterSet(tslab: TslabModules, root: string): ConverterSet {
  let set = sharedSets.get(root);
  if (!set) {
    set = newConverterSet(tslab);
    sharedSets.set(root, set);
  }
  const shared = set;
  // The executor's close() must not close the shared compiler.
  return {
    get node() {
      return shared.node;
    },
    get browser() {
      return shared.browser;
    },
    close() {},
  };
}

/** Closes the compilers kept by `runNotebook` (lets the process exit). */
export function closeNotebookCompilers(): void {
  for (const set of sharedSets.values()) set.close();
  sharedSets.clear();
}

function formatArgs(args: unknown[]): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const util = require('util') as typeof import('util');
  return util.format(...(args as [unknown, ...unknown[]])) + '\n';
}

/** Runs every code cell of `file` in order; throws NotebookCellError on the first failure. */
export async function runNotebook(file: string, options: RunNotebookOptions = {}): Promise<NotebookRunResult> {
  const t0 = Date.now();
  const absFile = path.resolve(file);
  const cells = setNotebookParameters(readNotebookCells(absFile), options.parameters ?? {}, path.basename(absFile));
  const root = options.cwd ? path.resolve(options.cwd) : findProjectRoot();
  const tslab = loadTslab(findProjectRoot());

  const savedCwd = process.cwd();
  const savedEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(options.env ?? {})) {
    savedEnv[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const savedWrite = { out: process.stdout.write, err: process.stderr.write };
  const savedDisplay = tslab.jupyter.lastWriteDisplayData;

  let current: NotebookOutput[] | null = null;
  const stream = (name: 'stdout' | 'stderr', text: string): void => {
    if (current) {
      const last = current[current.length - 1];
      if (last && last.type === 'stream' && last.name === name) last.text += text;
      else current.push({ type: 'stream', name, text });
    }
    if (options.echo || !current) (name === 'stdout' ? savedWrite.out : savedWrite.err).call(name === 'stdout' ? process.stdout : process.stderr, text);
  };
  const hookWrite = (name: 'stdout' | 'stderr') =>
    ((chunk: unknown, encoding?: unknown, cb?: unknown): boolean => {
      stream(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') (done as () => void)();
      return true;
    }) as typeof process.stdout.write;

  process.chdir(root);
  const convs = options.reuseCompiler === false ? newConverterSet(tslab) : sharedConverterSet(tslab, root);
  const executor = tslab.executor.createExecutor(root, convs, {
    log: (...a: unknown[]) => stream('stdout', formatArgs(a)),
    error: (...a: unknown[]) => stream('stderr', formatArgs(a)),
  });
  const runs: CellRun[] = [];
  try {
    let codeIndex = 0;
    for (const cell of cells) {
      if (cell.type !== 'code' || cell.source.trim() === '') continue;
      const outputs: NotebookOutput[] = [];
      const run: CellRun = { index: cell.index, codeIndex: codeIndex++, source: cell.source, outputs, seconds: 0 };
      const c0 = Date.now();
      current = outputs;
      process.stdout.write = hookWrite('stdout');
      process.stderr.write = hookWrite('stderr');
      tslab.jupyter.lastWriteDisplayData = (content, update) => {
        outputs.push({ type: 'display', data: content.data, displayId: content.transient?.display_id ?? null, update });
      };
      let ok = false;
      try {
        ok = await executor.execute(cell.source);
      } finally {
        process.stdout.write = savedWrite.out;
        process.stderr.write = savedWrite.err;
        tslab.jupyter.lastWriteDisplayData = savedDisplay;
        current = null;
      }
      run.seconds = (Date.now() - c0) / 1000;
      runs.push(run);
      if (!ok) {
        const errorText = outputs
          .filter((o): o is Extract<NotebookOutput, { type: 'stream' }> => o.type === 'stream' && o.name === 'stderr')
          .map((o) => o.text)
          .join('');
        throw new NotebookCellError(absFile, run, errorText);
      }
      options.onCell?.(run);
    }
  } finally {
    if (options.reuseCompiler === false) executor.close();
    process.chdir(savedCwd);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { file: absFile, cells: runs, seconds: (Date.now() - t0) / 1000 };
}

/** All text a run produced (streams and text/plain of displays), for assertions. */
export function notebookText(result: NotebookRunResult): string {
  return result.cells
    .flatMap((c) => c.outputs.map((o) => (o.type === 'stream' ? o.text : typeof o.data['text/plain'] === 'string' ? (o.data['text/plain'] as string) : '')))
    .join('\n');
}

/** Writes an .ipynb with every code cell's outputs and execution count cleared (what gets committed). */
export function clearNotebookOutputs(file: string): boolean {
  const text = fs.readFileSync(file, 'utf8');
  const nb = JSON.parse(text) as { cells: Array<Record<string, unknown>> };
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code') continue;
    cell.outputs = [];
    cell.execution_count = null;
  }
  const out = JSON.stringify(nb, null, 1) + '\n';
  if (out === text) return false;
  fs.writeFileSync(file, out);
  return true;
}
