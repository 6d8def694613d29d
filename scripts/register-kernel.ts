/**
 * `npm run notebook:kernel [-- --prefix DIR | --user] [--name N] [--display-name D] [--dry-run]`
 *
 * Registers the "TypeScript (resad)" Jupyter kernel: a tslab kernel started
 * from this project's root, so notebooks in notebooks/ can import
 * './src/index'. Default target: the user's Jupyter data dir
 * (`jupyter --data-dir`, else Jupyter's default path rules).
 */
import * as path from 'path';
import { DEFAULT_DISPLAY_NAME, DEFAULT_KERNEL_NAME, installKernelSpec, jupyterDataDir, kernelsDir, kernelSpecFiles } from '../src/notebook/kernel-spec';

function main(argv: string[]): number {
  let prefix: string | undefined;
  let name = DEFAULT_KERNEL_NAME;
  let displayName = DEFAULT_DISPLAY_NAME;
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--prefix') prefix = value();
    else if (a.startsWith('--prefix=')) prefix = a.slice('--prefix='.length);
    else if (a === '--user') prefix = undefined;
    else if (a === '--name') name = value();
    else if (a === '--display-name') displayName = value();
    else if (a === '--dry-run') dryRun = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run notebook:kernel -- [--user | --prefix DIR] [--name resad-tslab] [--display-name "TypeScript (resad)"] [--dry-run]');
      return 0;
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  const dataDir = prefix ? null : jupyterDataDir();
  const kernelsDirectory = kernelsDir({ prefix, dataDir });
  const spec = kernelSpecFiles({ projectRoot: path.resolve(__dirname, '..'), nodePath: process.execPath, kernelsDirectory, name, displayName });
  if (!prefix && !dataDir) console.log(`(jupyter not found on PATH: using Jupyter's default user data dir)`);
  if (dryRun) {
    console.log(`would write ${spec.kernelFile}:\n${JSON.stringify(spec.kernelJson, null, 2)}\nand ${spec.launcherPath}`);
    return 0;
  }
  const files = installKernelSpec(spec);
  console.log(`Installed kernel "${spec.kernelJson.display_name}" (${spec.name}):`);
  for (const f of files) console.log(`  ${f}`);
  console.log(`kernel.json argv: ${JSON.stringify(spec.kernelJson.argv)}`);
  console.log(`Cells run in ${path.resolve(__dirname, '..')}: import from './src/index'.`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  console.error(`register-kernel: ${(e as Error).message}`);
  process.exitCode = 1;
}
