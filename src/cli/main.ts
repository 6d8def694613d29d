/**
 * `resad` command line: dispatches to one module per command. Errors print one
 * line that names the bad option or file and exit non-zero; no stack traces
 * unless RESAD_DEBUG=1.
 */
import { formatHelp, parseArgs, UsageError } from './args';
import { Command } from './command';
import { baselineCommand } from './commands/baseline';
import { datasetsCommand } from './commands/datasets';
import { demoCommand } from './commands/demo';
import { engineCommand } from './commands/engine';
import { generateCommand } from './commands/generate';
import { evalCommand } from './commands/eval';
import { experimentCommand } from './commands/experiment';
import { exportCommand } from './commands/export';
import { predictCommand } from './commands/predict';
import { referencesCommand } from './commands/references';
import { reportCommand } from './commands/report';
import { trainCommand } from './commands/train';
import { weightsCommand } from './commands/weights';

export const COMMANDS: readonly Command[] = [
  demoCommand,
  trainCommand,
  evalCommand,
  experimentCommand,
  reportCommand,
  baselineCommand,
  predictCommand,
  exportCommand,
  generateCommand,
  datasetsCommand,
  referencesCommand,
  engineCommand,
  weightsCommand,
];

function topLevelHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`);
  return ['Usage: resad <command> [options]   (resad <command> --help for its options)', '', 'Commands:', ...rows].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(topLevelHelp());
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`resad: unknown command "${name}"\n\n${topLevelHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(formatHelp(command.usage, command.options));
    return 0;
  }
  try {
    const args = parseArgs(rest, command.options);
    return await command.load().run(args);
  } catch (err) {
    // Library errors may already carry a "resad <command>:" prefix; say it once.
    const message = (err instanceof Error ? err.message : String(err)).replace(new RegExp(`^resad ${name}: `), '');
    if (err instanceof UsageError) {
      console.error(`resad ${name}: ${message}\n\n${formatHelp(command.usage, command.options)}`);
      return 2;
    }
    console.error(`resad ${name}: ${message}`);
    if (process.env.RESAD_DEBUG === '1' && err instanceof Error) console.error(err.stack);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
