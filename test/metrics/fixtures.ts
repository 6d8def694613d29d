/**
 * Typed loaders for the reference values written by test/fixtures/gen_metrics.py
 * (sklearn / numpy / scipy), so the metric tests compare against Python
 * without running it.
 */
import * as fs from 'fs';
import * as path from 'path';

const DIR = path.resolve(__dirname, '..', 'fixtures', 'metrics');

export interface BinaryFixture {
  name: string;
  scores: number[];
  labels: number[];
  roc: { fpr: number[]; tpr: number[]; thresholds_tail: number[] };
  roc_drop: { fpr: number[]; tpr: number[]; thresholds_tail: number[] };
  pr: { precision: number[]; recall: number[]; thresholds: number[] };
  auroc: number;
  ap: number;
  f1max: number;
  f1max_threshold: number;
}

export interface ProConnectivityFixture {
  n_regions: number;
  labels: number[][];
  aupro: Record<string, number>;
  curve?: { fpr: number[]; pro: number[]; thresholds_tail: number[] };
}

export interface ProFixture {
  name: string;
  width: number;
  height: number;
  maps: number[][];
  masks: number[][];
  pixel_auroc: number;
  pixel_ap: number;
  pixel_f1max: number;
  conn8: ProConnectivityFixture;
  conn4: ProConnectivityFixture;
}

function load<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as T;
}

export function binaryFixtures(): BinaryFixture[] {
  return load<{ cases: BinaryFixture[] }>('binary.json').cases;
}

export function proFixtures(): ProFixture[] {
  return load<{ cases: ProFixture[] }>('pro.json').cases;
}

/** Largest |a[i] - b[i]|; throws on length mismatch so a wrong curve length cannot pass. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] === b[i] ? 0 : Math.abs(a[i] - b[i]);
    m = Math.max(m, Number.isNaN(d) ? Infinity : d);
  }
  return m;
}
