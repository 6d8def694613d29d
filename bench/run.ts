/**
 * Benchmark dispatcher. Every bench/<name>.ts (not starting with '_') is a
 * benchmark module exporting `main(args)` (or `run(args)`) returning
 * `Promise<{ failed?: number } | void>`, and optionally `description`; new
 * benchmarks (data loading, ResAD, ...) are added by dropping in a file,
 * nothing to register. A module should only run on import when it is the main
 * module (`if (require.main === module) ...`) so it can also be run directly.
 *
 * ```sh
 * npm run bench                      # all benchmarks
 * npx tsx bench/run.ts engine        # one (extra flags go to it: --quick)
 * npx tsx bench/run.ts --list
 * ```
 * Exit code 1 when a benchmark reports failed checks or throws.
 */
import * as fs from 'fs';
import * as path from 'path';

type BenchMain = (args: string[]) => Promise<{ failed?: number } | void>;

interface BenchModule {
  description?: string;
  main: BenchMain;
  /** Run only when named (e.g. the hour-long quality benchmark, which has its own npm script). */
  standalone: boolean;
}

function available(): string[] {
  return fs.readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts' && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function load(name: string): BenchModule {
  const mod = require(path.join(__dirname, name)) as { description?: unknown; main?: unknown; run?: unknown; standalone?: unknown };
  const entry = typeof mod.main === 'function' ? mod.main : mod.run;
  if (typeof entry !== 'function') throw new Error(`bench/${name}.ts exports neither main(args) nor run(args)`);
  return { description: typeof mod.description === 'string' ? mod.description : undefined, main: entry as BenchMain, standalone: mod.standalone === true };
}

async function run(argv: string[]): Promise<number> {
  const names = argv.filter((a) => !a.startsWith('--'));
  const flags = argv.filter((a) => a.startsWith('--'));
  const all = available();
  if (flags.includes('--list')) {
    for (const n of all) console.log(`${n.padEnd(12)} ${load(n).description ?? ''}`);
    return 0;
  }
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
    return 2;
  }
  let status = 0;
  const chosen = names.length > 0 ? names : all.filter((n) => !load(n).standalone);
  for (const name of chosen) {
    const t0 = Date.now();
    console.log(`\n=== bench ${name} ===`);
    try {
      const res = await load(name).main(flags);
      if (res && res.failed) status = 1;
    } catch (err) {
      // Print the message only: the wasm backend re-throws uncaught errors with its whole minified source.
      const e = err as Error;
      console.error(`bench ${name} failed: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 6).join('\n')}`);
      status = 1;
    }
    console.log(`=== ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s ===`);
  }
  return status;
}

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
