import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkOutputDir, checkOutputFile, OutputPathError } from '../../src/util/output-check';

describe('util/output-check', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-outcheck-'));
  });
  afterEach(() => {
    fs.chmodSync(dir, 0o755);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts new and existing files and folders without creating anything', () => {
    fs.writeFileSync(path.join(dir, 'old.json'), '{}');
    checkOutputFile(path.join(dir, 'old.json'), '--json');
    checkOutputFile(path.join(dir, 'a', 'b', 'new.json'), '--json');
    checkOutputDir(dir, '--out');
    checkOutputDir(path.join(dir, 'x', 'y'), '--out');
    assert.deepEqual(fs.readdirSync(dir), ['old.json'], 'no folder, probe or temp file left');
  });

  it('rejects a folder given as a file and a file given as a folder, naming option and path', () => {
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
    assert.throws(() => checkOutputFile(path.join(dir, 'sub'), '--json'), (e: Error) => e instanceof OutputPathError && e.message === `--json ${path.join(dir, 'sub')}: is a folder; give a file path`);
    assert.throws(() => checkOutputDir(path.join(dir, 'plain'), '--out'), (e: Error) => e.message.startsWith(`--out ${path.join(dir, 'plain')}: is a file, not a folder`));
  });

  it('rejects paths under a regular file (ENOTDIR), naming that file', () => {
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, 'x');
    for (const check of [() => checkOutputFile(path.join(plain, 'deeper', 'r.json'), '--json'), () => checkOutputDir(path.join(plain, 'm'), '--out')]) {
      assert.throws(check, (e: Error) => e instanceof OutputPathError && e.message.includes(`${plain} is a file, not a folder`) && /^--(json|out) /.test(e.message));
    }
  });

  it('rejects a folder without write permission, naming option, path and cause', function () {
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    fs.chmodSync(ro, 0o555);
    const file = path.join(ro, 'r.json');
    const folder = path.join(ro, 'm');
    // Root writes anywhere: as root, the checks run as the unprivileged user `nobody` (util-linux setpriv, in every Debian).
    const asRoot = process.getuid?.() === 0;
    if (asRoot) fs.chmodSync(dir, 0o755);
    const command = [process.execPath, '-r', require.resolve('tsx/cjs'), path.join(__dirname, '..', 'helpers', 'output-check-child.ts'), file, folder];
    const child = asRoot ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...command], { encoding: 'utf8' }) : spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
    assert.equal(child.error, undefined, `could not start the check: ${child.error?.message}`);
    assert.equal(child.status, 0, child.stderr);
    const got = JSON.parse(child.stdout) as { file: string; folder: string };
    assert.equal(got.file, `--json ${file}: cannot write in ${ro} (permission denied); choose a writable location`);
    assert.match(got.folder, new RegExp(`^--out ${folder}: .*permission denied`));
    fs.chmodSync(ro, 0o755);
  });
});
