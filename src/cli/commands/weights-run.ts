/** The work of `resad weights` (see weights.ts). */
import { ParsedArgs, UsageError } from '../args';
import * as w from '../../backbones/weights/index';

const SUBCOMMANDS = 'list, get NAME, add NAME FILE or verify [NAME]';

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function expectPositionals(sub: string, rest: string[], names: string[], optional = 0): void {
  const min = names.length - optional;
  if (rest.length < min) throw new UsageError(`weights ${sub} needs ${names.slice(rest.length, min).join(' and ')}`);
  if (rest.length > names.length) throw new UsageError(`unexpected argument "${rest[names.length]}"`);
}

function runList(): number {
  const rows = [['backbone', 'present', 'size', 'licence', 'path', 'source']];
  for (const l of w.listWeights()) {
    rows.push([
      l.backbone,
      l.location === 'shared' ? 'shared' : l.present ? 'yes' : 'no',
      l.bytes !== null ? w.formatBytes(l.bytes) : '?',
      l.licence,
      l.path === null ? 'not downloaded' : l.location === 'shared' ? `${l.path} (shared dev copy)` : l.path,
      l.url ?? '-',
    ]);
  }
  console.log(`weights folder: ${w.weightsDir()}`);
  console.log(table(rows));
  return 0;
}

async function runGet(name: string, force: boolean): Promise<number> {
  const r = await w.getWeights(name, { force });
  if (r.note) console.log(`note: ${r.note}`);
  const hash = `sha256 ${r.sha256}`;
  if (r.status === 'present') {
    console.log(`${r.backbone}: already downloaded and verified: ${r.path} (${w.formatBytes(r.bytes)}, ${hash}); --force downloads it again`);
  } else if (r.status === 'recorded') {
    console.log(`${r.backbone}: found ${r.path} in the weights folder; checked (${r.checked} tensors fit, ${hash}) and recorded`);
  } else {
    const resumed = r.resumedFrom > 0 ? `, resumed from ${w.formatBytes(r.resumedFrom)}` : '';
    console.log(`${r.backbone}: downloaded ${w.formatBytes(r.bytes)} from ${r.from}${resumed}`);
    console.log(`  -> ${r.path} (${hash}, ${r.checked} tensors fit)`);
  }
  return 0;
}

async function runAdd(name: string, file: string): Promise<number> {
  const r = await w.addWeights(name, file);
  const published = r.matchesPublished === true ? ', the published file' : r.matchesPublished === false ? ', not the published file' : '';
  console.log(`${r.backbone}: added ${file} as ${r.path} (${r.format}, ${w.formatBytes(r.bytes)}, ${r.checked} tensors fit${published}; sha256 ${r.sha256})`);
  return 0;
}

async function runVerify(name: string | undefined): Promise<number> {
  const statuses = await w.verifyWeights(name);
  const rows = [['backbone', 'status', 'file', 'details']];
  for (const s of statuses) {
    const where = s.path === null ? 'not downloaded' : s.location === 'shared' ? `${s.path} (shared dev copy)` : s.path;
    const details = s.status === 'problem' ? s.problems.join('; ') : s.notes.join('; ');
    rows.push([s.backbone, s.status === 'problem' ? 'PROBLEM' : s.status, where, details]);
  }
  console.log(table(rows));
  const bad = statuses.filter((s) => s.status === 'problem').length;
  if (bad > 0) console.error(`${bad} problem${bad === 1 ? '' : 's'}; files are left as they are (\`resad weights get NAME --force\` or \`add\` replaces one)`);
  return bad > 0 ? 1 : 0;
}

export async function run(args: ParsedArgs): Promise<number> {
  const [sub, ...rest] = args.positionals;
  if (sub === undefined) throw new UsageError(`give a subcommand: ${SUBCOMMANDS}`);
  if (!['list', 'get', 'add', 'verify'].includes(sub)) throw new UsageError(`unknown subcommand "${sub}" (${SUBCOMMANDS})`);
  if (args.flags.has('force') && sub !== 'get') throw new UsageError(`--force only applies to "weights get"`);
  switch (sub) {
    case 'list':
      expectPositionals(sub, rest, []);
      return runList();
    case 'get':
      expectPositionals(sub, rest, ['NAME']);
      return runGet(rest[0], args.flags.has('force'));
    case 'add':
      expectPositionals(sub, rest, ['NAME', 'FILE']);
      return runAdd(rest[0], rest[1]);
    default:
      expectPositionals(sub, rest, ['NAME'], 1);
      return runVerify(rest[0]);
  }
}
