/** Option handling shared by several commands. */
import { ParsedArgs, UsageError } from './args';
import { DATASET_FORMATS, DatasetFormat, Sample } from '../data/sample';
import { parseDataSpec, readDataset } from '../data/readers';

export type FormatOption = DatasetFormat | 'auto';

export function formatOption(args: ParsedArgs): FormatOption {
  const raw = args.options.get('format')?.[0] ?? 'auto';
  if (raw !== 'auto' && !(DATASET_FORMATS as readonly string[]).includes(raw)) {
    throw new UsageError(`option --format must be auto or one of ${DATASET_FORMATS.join(', ')}, got "${raw}"`);
  }
  return raw as FormatOption;
}

export interface DataSource {
  root: string;
  classes?: string[];
  samples: Sample[];
}

/** Reads every repeatable `--data ROOT[:class,class]` value. */
export function readDataOptions(args: ParsedArgs, required = true): DataSource[] {
  const specs = args.options.get('data') ?? [];
  if (specs.length === 0 && required) throw new UsageError('option --data is required (ROOT or ROOT:class,class)');
  const format = formatOption(args);
  return specs.map((spec) => {
    const { root, classes } = parseDataSpec(spec);
    return { root, classes, samples: readDataset(root, { format, classes }) };
  });
}

/** Comma-separated list option, e.g. --classes a,b. */
export function listOption(args: ParsedArgs, name: string): string[] | undefined {
  const raw = args.options.get(name)?.[0];
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`option --${name} is empty`);
  return items;
}
