/**
 * Ablation and shot-sweep runners: lists of RunSpecs built from a protocol,
 * run through an ExperimentSession (each distinct model trained once, every
 * finished configuration skipped), and summaries as mean ± std over
 * reference seeds.
 *
 * Ablation variants (paper Table 2 and 6; `paperRow` links the published row):
 * - framework: full ResAD; w/o residual (`residual: 'none'`, initial features
 *   go to the constraintor); w/o constraintor (`constraintor: 'none'` and
 *   `occ: 'off'`: the flow sees the raw residuals and no OCC loss exists, the
 *   paper's "w/o feature constraintor (L_occ not used)"); an extra row
 *   "constraintor kept, L_occ off" (`occ: 'off'`: the constraintor's random
 *   initial weights stay fixed) separates the architecture from its loss;
 *   w/o abnormal-invariant term (`occ: 'paper-first-term'`);
 * - constraintor: the six architectures;
 * - residual: diff (paper) vs sqdiff (official code);
 * - bgspp: the BG-SPP weight lambda in 0.1, 0.5, 1, 2, 3, 5, 10;
 * - deviations: each of the cpu preset's named departures from the paper set
 *   back (or to the alternative) one at a time: Conv+BN constraintor, Eq. 2's
 *   ||r' - r|| anomaly term, BatchNorm gamma 1, no feature pooling, and the
 *   scoring modes (docs/QUALITY.md);
 * - resadpp: ResAD++, the official code's method (RESADPP_OPTIONS), and it
 *   without its codebook + EFDM, and scored by each of its two densities alone.
 * Variants that resolve to the same config (e.g. 'conv-bn' = full in the cpu preset) have
 * the same run key, so the store runs them once.
 *
 * ```ts
 * const p = resolveProtocol('visa->mvtec', { config: CPU_CONFIG });
 * await runAblation(session, p, { groups: ['framework'], shots: [4], seeds: [0] });
 * await runShotSweep(session, p, { shots: [1, 2, 4, 8], seeds: [0, 1, 2] });
 * summarizeSweep(session.store.latest());   // mean ± std per (protocol, method, variant, K)
 * ```
 */
import { RESADPP_OPTIONS, ResADConfig } from '../resad/config';
import { METRIC_KEYS, MetricKey } from '../metrics/index';
import type { Protocol } from './protocols';
import type { ExperimentSession, RunOutcome, RunSpec } from './runner';
import type { RunRecord } from './store';

export type AblationGroup = 'framework' | 'constraintor' | 'residual' | 'bgspp' | 'deviations' | 'resadpp';

export interface AblationVariant {
  name: string;
  group: AblationGroup;
  label: string;
  overrides: Partial<ResADConfig>;
  /** Row key in paper-results.ts (Table 2 / Table 6), when published. */
  paperRow?: string;
}

export const BGSPP_WEIGHTS: readonly number[] = [0.1, 0.5, 1, 2, 3, 5, 10];

export const ABLATIONS: readonly AblationVariant[] = [
  { name: 'full', group: 'framework', label: 'Full ResAD', overrides: {}, paperRow: 'full' },
  { name: 'no-residual', group: 'framework', label: 'w/o residual feature learning', overrides: { residual: 'none' }, paperRow: 'no-residual' },
  { name: 'no-constraintor', group: 'framework', label: 'w/o feature constraintor (L_occ not used)', overrides: { constraintor: 'none', occ: 'off' }, paperRow: 'no-constraintor' },
  { name: 'occ-off', group: 'framework', label: 'constraintor kept, L_occ off', overrides: { occ: 'off' } },
  { name: 'no-abnormal-invariant', group: 'framework', label: 'w/o abnormal-invariant term (first term of Eq. 2)', overrides: { occ: 'paper-first-term' }, paperRow: 'no-abnormal-invariant' },
  { name: 'conv-bn-relu', group: 'constraintor', label: 'ConvBnRelu', overrides: { constraintor: 'conv-bn-relu' }, paperRow: 'conv-bn-relu' },
  { name: 'basic-block', group: 'constraintor', label: 'BasicBlock', overrides: { constraintor: 'basic-block' }, paperRow: 'basic-block' },
  { name: 'bottleneck', group: 'constraintor', label: 'BottleNeck', overrides: { constraintor: 'bottleneck' }, paperRow: 'bottleneck' },
  { name: 'multi-scale-fusion', group: 'constraintor', label: 'MultiScaleFusion', overrides: { constraintor: 'multi-scale-fusion' }, paperRow: 'multi-scale-fusion' },
  { name: 'msf+basic-block', group: 'constraintor', label: 'MultiScaleFusion + BasicBlock', overrides: { constraintor: 'msf+basic-block' }, paperRow: 'msf+basic-block' },
  { name: 'msf+bottleneck', group: 'constraintor', label: 'MultiScaleFusion + BottleNeck', overrides: { constraintor: 'msf+bottleneck' }, paperRow: 'msf+bottleneck' },
  { name: 'residual-diff', group: 'residual', label: 'residual x - x* (paper)', overrides: { residual: 'diff' } },
  { name: 'residual-sqdiff', group: 'residual', label: 'residual (x - x*)^2 (official code)', overrides: { residual: 'sqdiff' } },
  { name: 'conv-bn', group: 'deviations', label: 'Conv+BN constraintor (no ReLU: signed output)', overrides: { constraintor: 'conv-bn' } },
  { name: 'occ-eq2', group: 'deviations', label: "OCC anomaly term ||r' - r|| (Eq. 2 literal)", overrides: { occ: 'paper' } },
  { name: 'bn-gamma-one', group: 'deviations', label: 'BatchNorm gamma initialised to 1', overrides: { bnGammaInit: 'one' } },
  { name: 'no-feature-pooling', group: 'deviations', label: 'no 3x3 feature pooling', overrides: { featurePooling: 1 } },
  { name: 'scoring-paper', group: 'deviations', label: 'Eq. 7 scoring', overrides: { scoring: 'paper' } },
  { name: 'scoring-nll', group: 'deviations', label: 'standardised NLL scoring', overrides: { scoring: 'nll' } },
  { name: 'scoring-distance', group: 'deviations', label: "standardised ||r'|| scoring", overrides: { scoring: 'distance' } },
  { name: 'resad++', group: 'resadpp', label: 'ResAD++ (official code: codebook + EFDM, log-barrier losses, merged score)', overrides: RESADPP_OPTIONS },
  { name: 'resad++-no-efdm', group: 'resadpp', label: 'ResAD++ without its codebook and EFDM', overrides: { ...RESADPP_OPTIONS, vqCodes: 0, efdmAlpha: 1 } },
  { name: 'resad++-nll', group: 'resadpp', label: 'ResAD++ scored by the normal density only', overrides: { ...RESADPP_OPTIONS, scoring: 'nll' } },
  { name: 'resad++-abnormal', group: 'resadpp', label: 'ResAD++ scored by the abnormal density only', overrides: { ...RESADPP_OPTIONS, scoring: 'abnormal' } },
  ...BGSPP_WEIGHTS.map((w): AblationVariant => ({ name: `bgspp-${w}`, group: 'bgspp', label: `BG-SPP weight ${w}`, overrides: { bgsppWeight: w }, paperRow: `lambda-${w}` })),
];

export interface SweepOptions {
  shots?: readonly number[];
  seeds?: readonly number[];
}

export interface AblationOptions extends SweepOptions {
  groups?: readonly AblationGroup[];
  /** Variant names (default: every variant of the groups). */
  names?: readonly string[];
}

function sweepAxes(protocol: Protocol, options: SweepOptions): { shots: readonly number[]; seeds: readonly number[] } {
  return { shots: options.shots ?? protocol.shots, seeds: options.seeds ?? protocol.referenceSeeds };
}

/** The variants selected by groups/names (unknown names are an error listing the known ones). */
export function selectAblations(options: Pick<AblationOptions, 'groups' | 'names'> = {}): AblationVariant[] {
  if (options.names) {
    const unknown = options.names.filter((n) => !ABLATIONS.some((a) => a.name === n));
    if (unknown.length) throw new Error(`Unknown ablation variant(s) ${unknown.join(', ')}; known: ${ABLATIONS.map((a) => a.name).join(', ')}`);
  }
  return ABLATIONS.filter((a) => (!options.groups || options.groups.includes(a.group)) && (!options.names || options.names.includes(a.name)));
}

export function ablationSpecs(protocol: Protocol, options: AblationOptions = {}): RunSpec[] {
  const { shots, seeds } = sweepAxes(protocol, options);
  const specs: RunSpec[] = [];
  for (const v of selectAblations(options)) {
    for (const k of shots) for (const s of seeds) {
      specs.push({ protocol, method: 'resad', config: v.overrides, shots: k, referenceSeed: s, variant: v.name, tags: { ablation: v.group } });
    }
  }
  return specs;
}

export interface ShotSweepOptions extends SweepOptions {
  /** Methods to sweep (default ['resad']). */
  methods?: readonly string[];
  config?: Partial<ResADConfig>;
  methodOptions?: Readonly<Record<string, unknown>>;
  variant?: string;
}

export function shotSweepSpecs(protocol: Protocol, options: ShotSweepOptions = {}): RunSpec[] {
  const { shots, seeds } = sweepAxes(protocol, options);
  const specs: RunSpec[] = [];
  for (const method of options.methods ?? ['resad']) {
    for (const k of shots) for (const s of seeds) {
      specs.push({ protocol, method, config: options.config, methodOptions: options.methodOptions, shots: k, referenceSeed: s, variant: options.variant, tags: { sweep: 'shots' } });
    }
  }
  return specs;
}

export async function runAblation(session: ExperimentSession, protocol: Protocol, options: AblationOptions = {}): Promise<RunOutcome[]> {
  return session.runAll(ablationSpecs(protocol, options));
}

export async function runShotSweep(session: ExperimentSession, protocol: Protocol, options: ShotSweepOptions = {}): Promise<RunOutcome[]> {
  return session.runAll(shotSweepSpecs(protocol, options));
}

/** Mean and standard deviation (sample, unless asked otherwise) over reference seeds of one (protocol, method, variant, K). */
export interface SweepPoint {
  protocol: string;
  method: string;
  variant: string;
  shots: number;
  seeds: number[];
  mean: Record<MetricKey, number | null>;
  std: Record<MetricKey, number | null>;
  trainSeconds: number | null;
  msPerImage: number;
}

export interface SummarizeOptions {
  /**
   * Spread over seeds: 'sample' (n - 1, default) or 'population' (n; the
   * quality benchmark's, docs/QUALITY.md).
   */
  spread?: 'sample' | 'population';
}

function meanStd(values: number[], spread: 'sample' | 'population'): [number | null, number | null] {
  if (values.length === 0) return [null, null];
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return [m, 0];
  const v = values.reduce((a, b) => a + (b - m) ** 2, 0) / (spread === 'population' ? values.length : values.length - 1);
  return [m, Math.sqrt(v)];
}

/**
 * Groups records by (protocol, method, variant, K) and averages their mean
 * metrics over seeds, in seed order (so the sums, to the last bit, do not
 * depend on the order runs finished in).
 */
export function summarizeSweep(records: readonly RunRecord[], options: SummarizeOptions = {}): SweepPoint[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of [...records].sort((a, b) => a.referenceSeed - b.referenceSeed)) {
    const k = JSON.stringify([r.protocol, r.method, r.variant, r.shots]);
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  const out: SweepPoint[] = [];
  for (const list of groups.values()) {
    const r0 = list[0];
    const mean = {} as Record<MetricKey, number | null>;
    const std = {} as Record<MetricKey, number | null>;
    for (const key of METRIC_KEYS) {
      const vals = list.map((r) => r.mean[key]).filter((v): v is number => v !== null && Number.isFinite(v));
      [mean[key], std[key]] = meanStd(vals, options.spread ?? 'sample');
    }
    const trained = list.map((r) => r.timings.trainSeconds).filter((v): v is number => v !== null);
    out.push({
      protocol: r0.protocol,
      method: r0.method,
      variant: r0.variant,
      shots: r0.shots,
      seeds: list.map((r) => r.referenceSeed),
      mean,
      std,
      trainSeconds: trained.length ? trained[0] : null,
      msPerImage: list.reduce((a, r) => a + r.timings.msPerImage, 0) / list.length,
    });
  }
  return out.sort((a, b) => (a.protocol + a.method + a.variant < b.protocol + b.method + b.variant ? -1 : a.protocol + a.method + a.variant > b.protocol + b.method + b.variant ? 1 : a.shots - b.shots));
}
