/**
 * Runs the output checks on the paths given and prints what each says, as JSON:
 * test/util/output-check.test.ts starts it as an unprivileged user when the
 * suite runs as root (root writes anywhere, so permission errors need another user).
 */
import { checkOutputDir, checkOutputFile } from '../../src/util/output-check';

const [file, folder] = process.argv.slice(2);
const outcome = (check: () => void): string => {
  try {
    check();
    return 'accepted';
  } catch (err) {
    return (err as Error).message;
  }
};
console.log(JSON.stringify({ file: outcome(() => checkOutputFile(file, '--json')), folder: outcome(() => checkOutputDir(folder, '--out')) }));
