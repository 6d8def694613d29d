/**
 * `--weights FILE` applied (its spec, WEIGHTS_OPTION_SPECS, is in common.ts).
 * Apart from common.ts because it loads the backbone registry, which command
 * declarations and help must not: only the commands' work modules import it.
 */
import * as fs from 'fs';
import { ParsedArgs, UsageError } from './args';
import { canonicalBackboneName, needsWeightsFile } from '../backbones/index';
import { overrideWeights } from '../backbones/weights/index';

/** Applies `--weights FILE` to the run's backbone (asked for only when the option is given); a backbone that takes no weights file is a usage error. */
export function applyWeightsOption(args: ParsedArgs, backboneOf: () => string): void {
  const file = args.options.get('weights')?.[0];
  if (file === undefined) return;
  const backbone = backboneOf();
  const name = canonicalBackboneName(backbone);
  if (name === null || !needsWeightsFile(name)) throw new UsageError(`--weights: backbone ${backbone} does not load its weights from a file (the ImageNet backbones do: resad weights list)`);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`--weights ${file}: no such file (give the .onnx or .safetensors file)`);
  overrideWeights(name, file);
}
