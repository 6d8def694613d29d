import * as path from 'path';

/** Where the demo and notebooks keep the generated dataset (git-ignored). */
export function defaultSyntheticRoot(cwd: string = process.cwd()): string {
  return path.join(cwd, 'datasets', 'generated', 'resad-synthetic');
}
