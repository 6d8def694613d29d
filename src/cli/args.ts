/**
 * A small typed command-line parser: `--name value`, `--name=value`, repeatable
 * options, boolean flags and positionals. Unknown options are errors that name
 * the option, so a typo never silently falls back to a default.
 */

export interface OptionSpec {
  /** Takes no value. */
  flag?: boolean;
  /** May be given several times; values accumulate in order. */
  repeatable?: boolean;
  /** Takes every following argument up to the next option (`--refs a.png b.png`); implies repeatable. */
  multi?: boolean;
  description: string;
  /** Shown in help as the value's name, e.g. DIR. */
  value?: string;
  /**
   * An old spelling kept working: its values go to the option named here, a
   * note on stderr gives the new name, and help and error messages list only
   * the new one. Its other fields are ignored.
   */
  renamedTo?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  options: Map<string, string[]>;
  flags: Set<string>;
  positionals: string[];
}

export class UsageError extends Error {}

/** The options' names without the old spellings (`renamedTo`). */
function currentNames(specs: OptionSpecs): string[] {
  return Object.keys(specs).filter((name) => specs[name].renamedTo === undefined);
}

export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  const renamed = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let spec = specs[name];
    if (spec?.renamedTo !== undefined) {
      if (!renamed.has(name)) console.error(`note: --${name} is now --${spec.renamedTo} (the old name still works for now)`);
      renamed.add(name);
      name = spec.renamedTo;
      spec = specs[name];
    }
    if (!spec) {
      const known = currentNames(specs).map((k) => `--${k}`).join(', ');
      throw new UsageError(`unknown option --${name} (known: ${known || 'none'})`);
    }
    if (spec.flag) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      flags.add(name);
      continue;
    }
    const values: string[] = [];
    if (eq >= 0) values.push(arg.slice(eq + 1));
    else if (spec.multi) {
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) values.push(argv[++i]);
      if (values.length === 0) throw new UsageError(`option --${name} needs at least one value (${spec.value ?? 'VALUE'})`);
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`option --${name} needs a value (${spec.value ?? 'VALUE'})`);
      values.push(argv[++i]);
    }
    const list = options.get(name) ?? [];
    if (list.length > 0 && !spec.repeatable && !spec.multi) throw new UsageError(`option --${name} given more than once`);
    list.push(...values);
    options.set(name, list);
  }
  return { options, flags, positionals };
}

/** Throws a UsageError naming the first of `names` that was not given. */
export function requireOptions(args: ParsedArgs, ...names: string[]): void {
  const missing = names.find((n) => !args.options.has(n));
  if (missing) throw new UsageError(`option --${missing} is required`);
}

/** A value that must be given, e.g. --model; a UsageError names it otherwise. */
export function requiredString(args: ParsedArgs, name: string): string {
  const value = args.options.get(name)?.[0];
  if (value === undefined) throw new UsageError(`option --${name} is required`);
  return value;
}

export function optionString(args: ParsedArgs, name: string): string | undefined;
export function optionString(args: ParsedArgs, name: string, fallback: string): string;
export function optionString(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  return args.options.get(name)?.[0] ?? fallback;
}

export function optionNumber(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.options.get(name)?.[0];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`option --${name} must be a number, got "${raw}"`);
  return value;
}

/** A value from a fixed set, e.g. --residual diff|sqdiff|none. */
export function optionChoice<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const raw = args.options.get(name)?.[0];
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`option --${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}

export function optionInt(args: ParsedArgs, name: string, fallback: number, min = -Infinity): number {
  const raw = args.options.get(name)?.[0];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`option --${name} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got "${raw}"`);
  }
  return value;
}

export function formatHelp(usage: string, specs: OptionSpecs): string {
  const rows = currentNames(specs).map((name) => {
    const spec = specs[name];
    const left = `  --${name}${spec.flag ? '' : ` ${spec.value ?? 'VALUE'}${spec.multi ? '...' : ''}`}${spec.repeatable ? ' (repeatable)' : ''}`;
    return `${left.padEnd(34)} ${spec.description}`;
  });
  return [usage, '', ...rows].join('\n');
}
