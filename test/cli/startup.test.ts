/**
 * The CLI's start-up: help must not load tfjs, sharp or danfojs (they take
 * seconds), and error messages name the command once.
 */
import { strict as assert } from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

describe('cli start-up', () => {
  it('`resad --help` and every `resad <command> --help` load no heavy package', () => {
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'test', 'helpers', 'help-probe.ts')], { cwd: ROOT, encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { commands: string[]; heavy: string[] };
    assert.ok(result.commands.length >= 10, `commands probed: ${result.commands.join(', ')}`);
    assert.deepEqual(result.heavy, [], `help loaded ${result.heavy.join(', ')}`);
  });

  it('a bad --backend is a usage error that says "resad engine:" once', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'resad.js'), 'engine', '--backend', 'quantum'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^resad engine: option --backend must be one of auto, .*got "quantum"/);
    assert.equal(run.stderr.split('resad engine:').length - 1, 1, run.stderr);
  });

  it('a library error that already names the command is not prefixed twice', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'resad.js'), 'engine'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RESAD_BACKEND: 'quantum' } });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /RESAD_BACKEND 'quantum' is not a backend/);
    assert.equal(run.stderr.split('resad engine:').length - 1, 1, run.stderr);
  });
});
