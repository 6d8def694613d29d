/**
 * Writes that never leave a half-written file: data goes to a temporary file
 * in the same folder, then is renamed over the target (rename is atomic on
 * one file system). An interrupted run keeps the previous version intact.
 */
import * as fs from 'fs';
import * as path from 'path';

function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

/** Node error codes of failed writes in words a user can act on. */
const WRITE_FAILURES: Readonly<Record<string, string>> = {
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of its path is a file, not a folder',
  EEXIST: 'a part of its path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

/**
 * The raw errors name the temporary file (or a parent folder); users only know
 * the target they asked for, so that is what the message names. `code` stays
 * for callers that branch on it.
 */
function writeError(target: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reason = (code && WRITE_FAILURES[code]) ?? (code ? `${code}` : err instanceof Error ? err.message : String(err));
  const wrapped = new Error(`cannot write ${target}: ${reason}`, { cause: err }) as NodeJS.ErrnoException;
  if (code) wrapped.code = code;
  return wrapped;
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(target);
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // No temp file could have been made where its folder is unusable.
    }
    throw writeError(target, err);
  }
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(target, err);
  }
}

export function writeJsonAtomicSync(target: string, value: unknown): void {
  writeFileAtomicSync(target, JSON.stringify(value, null, 2) + '\n');
}
