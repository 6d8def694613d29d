/** `resad engine`: which tfjs backend runs here and what was patched. */
import { Command } from '../command';
import { optionChoice } from '../args';
import type { BackendRequest } from '../../engine/index';

export const engineCommand: Command = {
  name: 'engine',
  summary: 'show the compute backend resad picks on this machine',
  usage: 'Usage: resad engine [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu]',
  options: {
    backend: { value: 'NAME', description: 'force a backend (also env RESAD_BACKEND)' },
  },
  async run(args) {
    // Heavy modules (tfjs, sharp) load only when the command runs, so help stays fast; require, not import(), which tsx's CommonJS hook does not serve.
    const { BACKEND_REQUESTS, describeEngine, initEngine } = require('../../engine/index') as typeof import('../../engine/index');
    const backend = args.options.has('backend') ? optionChoice<BackendRequest>(args, 'backend', BACKEND_REQUESTS, 'auto') : undefined;
    const info = await initEngine({ backend, quiet: true });
    console.log(describeEngine(info));
    return 0;
  },
};
