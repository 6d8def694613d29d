/**
 * Checks of output locations made before a command starts its work, so that an
 * unusable --json or --out fails in a second instead of after a long
 * evaluation or training, with the user's path and option in the message.
 *
 * Nothing is created: writability is tested with a probe file in the nearest
 * folder that exists (removed at once), which is where the missing folders
 * would be created later.
 *
 * ```ts
 * checkOutputFile('runs/x/results.json', '--json');
 * checkOutputDir('runs/m1', '--out');
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';

/** An output path that cannot be written; the message names the option and the path. */
export class OutputPathError extends Error {}

function label(option: string | undefined, target: string): string {
  return option ? `${option} ${target}` : target;
}

/** The deepest existing ancestor of `p` (p itself excluded), failing where a part of the path is a file. */
function nearestExistingFolder(p: string, describe: string): string {
  let dir = path.dirname(p);
  for (;;) {
    let stat: fs.Stats | null = null;
    try {
      stat = fs.statSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        // A file further up; keep climbing to name it.
      } else if (code !== 'ENOENT') {
        throw new OutputPathError(`${describe}: cannot use folder ${dir} (${code ?? (err as Error).message})`);
      }
    }
    if (stat) {
      if (!stat.isDirectory()) throw new OutputPathError(`${describe}: ${dir} is a file, not a folder; choose another location`);
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new OutputPathError(`${describe}: no existing folder above it`);
    dir = parent;
  }
}

/** Creates and removes a probe file in `dir`: the only reliable test (access() ignores read-only mounts and ACLs). */
function probeWritable(dir: string, describe: string): void {
  const probe = path.join(dir, `.resad-write-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    fs.closeSync(fs.openSync(probe, 'wx'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (code ?? (err as Error).message);
    throw new OutputPathError(`${describe}: cannot write in ${dir} (${why}); choose a writable location`);
  }
  fs.rmSync(probe, { force: true });
}

/** The path's stats, or null when it (or a folder on its way) does not exist. */
function statIfExists(target: string, describe: string): fs.Stats | null {
  try {
    return fs.statSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new OutputPathError(`${describe}: cannot use it (${code ?? (err as Error).message})`);
    return null;
  }
}

/**
 * Throws an OutputPathError unless `file` can be written as a file: not an
 * existing folder, no part of its path a file, its folder (or the nearest
 * existing one above it) writable. `option` (e.g. '--json') prefixes the message.
 */
export function checkOutputFile(file: string, option?: string): void {
  const target = path.resolve(file);
  const describe = label(option, file);
  const stat = statIfExists(target, describe);
  if (stat?.isDirectory()) throw new OutputPathError(`${describe}: is a folder; give a file path`);
  probeWritable(nearestExistingFolder(target, describe), describe);
}

/**
 * Throws an OutputPathError unless `dir` is a writable folder or can be
 * created as one (no part of its path a file, the nearest existing folder
 * above it writable).
 */
export function checkOutputDir(dir: string, option?: string): void {
  const target = path.resolve(dir);
  const describe = label(option, dir);
  const stat = statIfExists(target, describe);
  if (stat && !stat.isDirectory()) throw new OutputPathError(`${describe}: is a file, not a folder; give a folder path`);
  probeWritable(stat ? target : nearestExistingFolder(target, describe), describe);
}
