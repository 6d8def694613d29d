/** The work of `resad experiment` (see experiment.ts). */
import { optionChoice, optionString, ParsedArgs, UsageError } from '../args';
import { listOption } from '../common';
import { CONFIG_PRESETS, ResADConfig } from '../../resad/config';
import { DATASET_FORMATS, DatasetFormat } from '../../data/sample';
import { customProtocol, PROTOCOL_NAMES, PROTOCOL_PRESETS, Protocol, resolveProtocol, SYNTHETIC_CONFIG } from '../../experiments/protocols';
import { ExperimentSession } from '../../experiments/runner';
import { DEFAULT_RESULTS_DIR } from '../../experiments/store';
import { AblationGroup, ablationSpecs, ABLATIONS, shotSweepSpecs, summarizeSweep } from '../../experiments/sweeps';
import { sweepTable, tableToMarkdown } from '../../experiments/tables';
import { availableMethods } from '../../experiments/methods';

function intList(args: ParsedArgs, name: string): number[] | undefined {
  const items = listOption(args, name);
  if (!items) return undefined;
  return items.map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`option --${name}: "${s}" is not a non-negative integer`);
    return n;
  });
}

/** `--set key=value` pairs as ResAD config overrides (values parsed as JSON when they parse, else strings). */
export function parseOverrides(values: readonly string[]): Partial<ResADConfig> {
  const known = Object.keys(SYNTHETIC_CONFIG);
  const out: Record<string, unknown> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`option --set "${v}": expected KEY=VALUE`);
    const key = v.slice(0, eq);
    if (!known.includes(key)) throw new UsageError(`option --set: unknown ResAD config key "${key}" (known: ${known.join(', ')})`);
    const raw = v.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out[key] = value;
  }
  return out as Partial<ResADConfig>;
}

export async function run(args: ParsedArgs): Promise<number> {
  if (args.flags.has('list')) {
    for (const name of PROTOCOL_NAMES) console.log(`${name.padEnd(20)} ${PROTOCOL_PRESETS[name].description}`);
    console.log(`\nmethods: ${availableMethods().join(', ')}`);
    console.log(`ablation variants: ${ABLATIONS.map((a) => `${a.name} (${a.group})`).join(', ')}`);
    return 0;
  }
  const presetName = optionString(args, 'preset');
  const overrides: Partial<ResADConfig> = {};
  if (presetName !== undefined) {
    const preset = CONFIG_PRESETS[presetName];
    if (!preset) throw new UsageError(`option --preset must be one of ${Object.keys(CONFIG_PRESETS).join(', ')}`);
    Object.assign(overrides, preset);
  }
  Object.assign(overrides, parseOverrides(args.options.get('set') ?? []));
  const shots = intList(args, 'shots');
  const seeds = intList(args, 'seeds');
  let protocol: Protocol;
  const name = optionString(args, 'protocol');
  if (name !== undefined) {
    if (args.options.has('train') || args.options.has('test')) throw new UsageError('give either --protocol or --train/--test, not both');
    protocol = resolveProtocol(name, { config: overrides, shots, referenceSeeds: seeds });
  } else {
    const train = args.options.get('train');
    const test = args.options.get('test');
    if (!train || !test) throw new UsageError('give --protocol NAME, or --train and --test folders for a custom protocol');
    const format = optionChoice<DatasetFormat | 'auto'>(args, 'format', ['auto', ...DATASET_FORMATS], 'auto');
    const base = customProtocol({ train, test, format, shots, referenceSeeds: seeds });
    protocol = { ...base, config: { ...base.config, ...overrides } };
  }
  const methods = listOption(args, 'method') ?? ['resad'];
  const ablation = listOption(args, 'ablation');
  const groups = ['framework', 'constraintor', 'residual', 'bgspp', 'deviations', 'resadpp'];
  const specs = ablation
    ? ablationSpecs(protocol, {
        groups: ablation.includes('all') ? undefined : (ablation.filter((a) => groups.includes(a)) as AblationGroup[]).length ? (ablation.filter((a) => groups.includes(a)) as AblationGroup[]) : undefined,
        names: ablation.filter((a) => a !== 'all' && !groups.includes(a)).length ? ablation.filter((a) => a !== 'all' && !groups.includes(a)) : undefined,
      })
    : shotSweepSpecs(protocol, { methods });
  if (ablation && ablation.some((a) => groups.includes(a)) && ablation.some((a) => a !== 'all' && !groups.includes(a))) {
    throw new UsageError('option --ablation: give groups or variant names, not both');
  }
  const store = optionString(args, 'results', DEFAULT_RESULTS_DIR);
  console.log(`protocol ${protocol.name}: ${protocol.description}`);
  console.log(`${specs.length} run(s) -> ${store}`);
  const session = new ExperimentSession({ store, force: args.flags.has('force') });
  try {
    const outcomes = await session.runAll(specs);
    const keys = new Set(outcomes.map((o) => o.record.key));
    const records = session.store.latest().filter((r) => keys.has(r.key));
    console.log('\n' + tableToMarkdown(sweepTable(summarizeSweep(records))));
    const elsewhere = outcomes.filter((o) => o.elsewhere);
    const pids = [...new Set(elsewhere.map((o) => o.elsewhere?.pid))];
    console.log(
      `\n${outcomes.filter((o) => !o.skipped).length} run(s) done, ${outcomes.filter((o) => o.skipped && !o.elsewhere).length} skipped (already in the store)` +
        `${elsewhere.length ? `, ${elsewhere.length} run by another process (pid ${pids.join(', ')}) and awaited` : ''}; resad report --results ${store}`,
    );
  } finally {
    session.dispose();
  }
  return 0;
}
