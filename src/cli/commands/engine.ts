/** `resad engine`: which tfjs backend runs here and what was patched. */
import { Command } from '../command';
import { optionString } from '../args';
import { describeEngine, initEngine } from '../../engine/index';
import type { BackendRequest } from '../../engine/index';

export const engineCommand: Command = {
  name: 'engine',
  summary: 'show the compute backend resad picks on this machine',
  usage: 'Usage: resad engine [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu]',
  options: {
    backend: { value: 'NAME', description: 'force a backend (also env RESAD_BACKEND)' },
  },
  async run(args) {
    const info = await initEngine({ backend: optionString(args, 'backend') as BackendRequest | undefined, quiet: true });
    console.log(describeEngine(info));
    return 0;
  },
};
