/** The work of `resad engine` (see engine.ts): the tfjs backend, then what scores and why. */
import { optionChoice, ParsedArgs } from '../args';
import { inferenceOption } from '../common';
import { BACKEND_REQUESTS, BackendRequest, describeEngine, initEngine } from '../../engine/index';
import { explainInference } from '../../engine/onnxruntime';

export async function run(args: ParsedArgs): Promise<number> {
  const backend = args.options.has('backend') ? optionChoice<BackendRequest>(args, 'backend', BACKEND_REQUESTS, 'auto') : undefined;
  const inference = explainInference(inferenceOption(args));
  const info = await initEngine({ backend, quiet: true });
  console.log(describeEngine(info));
  console.log(inference);
  return 0;
}
