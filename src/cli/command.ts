/** The shape every `resad <command>` module has; main.ts only dispatches. */
import { OptionSpecs, ParsedArgs } from './args';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpecs;
  run(args: ParsedArgs): Promise<number>;
}
