/**
 * The shape every `resad <command>` module has; main.ts only dispatches.
 *
 * A command file declares the command (name, help, options) and imports only
 * what its help needs. Its work lives in a module that `load()` returns, and
 * main.ts calls `load()` once, after the options parse: the heavy packages
 * (tfjs, sharp, onnxruntime, danfojs; seconds to load) are imported there, so
 * `resad --help` and `resad <command> --help` never load them
 * (test/cli/startup.test.ts checks this). A command whose work needs nothing
 * heavy returns its own `run`. The work module never imports its declaration
 * (no cycle): what both need lives in a third module.
 */
import { OptionSpecs, ParsedArgs } from './args';

/** What runs a command: its exit code, or a thrown error (a UsageError prints the help). */
export interface CommandModule {
  run(args: ParsedArgs): Promise<number>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpecs;
  /**
   * The command's work, loaded when it runs, e.g.
   * `load: () => require('./eval-run') as typeof import('./eval-run')`:
   * require, not import(), which tsx's CommonJS hook (bin/resad.js) does not serve.
   */
  load(): CommandModule;
}
