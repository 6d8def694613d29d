/**
 * `resad engine` names both choices: the tfjs backend (--backend,
 * RESAD_BACKEND) and what scores (--inference, RESAD_INFERENCE), each with
 * where the choice came from.
 */
import { strict as assert } from 'assert';
import { runCli as run } from '../helpers/run-cli';
import { onnxRuntime } from '../../src/engine/onnxruntime';

describe('cli: resad engine', function () {
  this.timeout(60000);
  const saved = process.env.RESAD_INFERENCE;
  afterEach(() => {
    if (saved === undefined) delete process.env.RESAD_INFERENCE;
    else process.env.RESAD_INFERENCE = saved;
  });

  it('prints the tfjs backend, then what scores and why', async () => {
    delete process.env.RESAD_INFERENCE;
    const r = await run(['engine']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines.length, 2, r.out);
    assert.match(lines[0], /^tfjs \d+\.\d+\.\d+ on \S+ \(/);
    if (onnxRuntime() !== null) assert.match(lines[1], /^inference: onnxruntime-node \d+\.\d+\.\d+ \(auto, the default: onnxruntime-node loads; a model that does not export to ONNX scores on tfjs/);
    else assert.match(lines[1], /^inference: tfjs \(auto, the default: onnxruntime-node could not be loaded/);
  });

  it('names the source of a forced choice: --inference over RESAD_INFERENCE', async () => {
    process.env.RESAD_INFERENCE = 'tfjs';
    const env = await run(['engine']);
    assert.equal(env.code, 0, env.err);
    assert.equal(env.out.split('\n')[1], 'inference: tfjs (RESAD_INFERENCE=tfjs)');
    const option = await run(['engine', '--inference', onnxRuntime() !== null ? 'onnx' : 'tfjs']);
    assert.equal(option.code, 0, option.err);
    assert.match(option.out.split('\n')[1], onnxRuntime() !== null ? /^inference: onnxruntime-node \S+ \(--inference onnx\)$/ : /^inference: tfjs \(--inference tfjs\)$/);
    const bad = await run(['engine', '--inference', 'gpu']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /option --inference must be one of auto, onnx, tfjs, got "gpu"/);
  });
});
