/**
 * Kernel spec generation (pure) and installation into a temporary prefix;
 * Jupyter itself is not needed.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_KERNEL_NAME, installKernelSpec, kernelsDir, kernelSpecFiles } from '../../src/notebook/kernel-spec';

const ROOT = path.resolve(__dirname, '..', '..');

describe('notebook: kernel spec', () => {
  it('kernelsDir follows --prefix, jupyter --data-dir and Jupyter default paths', () => {
    assert.equal(kernelsDir({ prefix: '/opt/x' }), '/opt/x/share/jupyter/kernels');
    assert.equal(kernelsDir({ dataDir: '/d' }), '/d/kernels');
    assert.equal(kernelsDir({ env: {}, platform: 'linux', home: '/h' }), '/h/.local/share/jupyter/kernels');
    assert.equal(kernelsDir({ env: { XDG_DATA_HOME: '/x' }, platform: 'linux', home: '/h' }), '/x/jupyter/kernels');
    assert.equal(kernelsDir({ env: { JUPYTER_DATA_DIR: '/j' }, platform: 'linux', home: '/h' }), '/j/kernels');
    assert.equal(kernelsDir({ env: {}, platform: 'darwin', home: '/h' }), '/h/Library/Jupyter/kernels');
  });

  it('kernel.json runs the launcher with the connection file; the launcher starts tslab from the root', () => {
    const spec = kernelSpecFiles({ projectRoot: ROOT, nodePath: '/usr/bin/node', kernelsDirectory: '/k' });
    assert.equal(spec.name, DEFAULT_KERNEL_NAME);
    assert.equal(spec.dir, '/k/resad-tslab');
    assert.deepEqual(spec.kernelJson.argv, ['/usr/bin/node', '/k/resad-tslab/launch-tslab.js', '--config-path', '{connection_file}']);
    assert.equal(spec.kernelJson.display_name, 'TypeScript (resad)');
    assert.equal(spec.kernelJson.language, 'typescript');
    assert.equal(spec.tslabBin, path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'));
    assert.ok(fs.existsSync(spec.tslabBin), 'tslab is installed');
    assert.ok(spec.launcherSource.includes(`const root = ${JSON.stringify(ROOT)};`) && spec.launcherSource.includes("process.chdir(root)"));
    assert.ok(spec.launcherSource.includes("'kernel'"));
    assert.ok(spec.launcherSource.includes('.sys.watchDirectory = () => ({ close() {} })'), 'directory watching off (tslab timer crash)');
    assert.throws(() => kernelSpecFiles({ projectRoot: ROOT, nodePath: 'node', kernelsDirectory: '/k', name: 'bad name' }), /kernel name/);
  });

  it('installs kernel.json and an executable launcher that parses', () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'resad-kernel-'));
    try {
      const spec = kernelSpecFiles({ projectRoot: ROOT, nodePath: process.execPath, kernelsDirectory: kernelsDir({ prefix }) });
      const files = installKernelSpec(spec);
      assert.deepEqual(files, [path.join(prefix, 'share/jupyter/kernels/resad-tslab/kernel.json'), path.join(prefix, 'share/jupyter/kernels/resad-tslab/launch-tslab.js')]);
      assert.deepEqual(JSON.parse(fs.readFileSync(files[0], 'utf8')), spec.kernelJson);
      assert.ok((fs.statSync(files[1]).mode & 0o111) !== 0, 'launcher is executable');
      const check = spawnSync(process.execPath, ['--check', files[1]], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
      installKernelSpec(spec); // idempotent
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });
});
