/** `resad engine`: which tfjs backend runs here, what was patched, and what scores (onnxruntime or tfjs) and why. */
import { Command } from '../command';
import { INFERENCE_OPTION_SPECS } from '../common';

export const engineCommand: Command = {
  name: 'engine',
  summary: 'show the tfjs backend resad picks on this machine and what scores (onnxruntime or tfjs)',
  usage: 'Usage: resad engine [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu] [--inference auto|onnx|tfjs]',
  options: {
    backend: { value: 'NAME', description: 'force a tfjs backend (also env RESAD_BACKEND)' },
    inference: INFERENCE_OPTION_SPECS.inference,
  },
  load: () => require('./engine-run') as typeof import('./engine-run'),
};
