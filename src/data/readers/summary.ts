/**
 * Counting helpers over a Sample list: how many images per class, split,
 * label and defect type, and how many anomalies carry masks. The CLI and the
 * notebooks print these to show what a `--data` option actually selected.
 *
 * ```ts
 * const samples = readDataset('/data/mvtec_ad');
 * console.log(formatClassSummary(summarizeByClass(samples)));
 * // class   train good  train anom  test good  test anom  masks  defect types
 * // bottle         209           0         20         63     63  broken_large, ...
 * ```
 */
import type { Label, Sample, Split } from '../sample';
import { naturalCompare } from './common';

/** Count of one (class, split, label, defectType) group. */
export interface SummaryRow {
  className: string;
  split: Split;
  label: Label;
  defectType: string;
  /** Number of images in the group. */
  images: number;
  /** Images of the group with at least one mask. */
  withMasks: number;
}

/** Totals of one class. */
export interface ClassSummary {
  className: string;
  trainNormal: number;
  trainAnomalous: number;
  testNormal: number;
  testAnomalous: number;
  /** Anomalous images (any split) with at least one mask. */
  anomaliesWithMasks: number;
  /** Defect types of the anomalous images, natural order. */
  defectTypes: string[];
}

const SPLIT_RANK: Record<Split, number> = { train: 0, test: 1 };

/** One row per (class, split, label, defectType), sorted in that order. */
export function summarizeSamples(samples: readonly Sample[]): SummaryRow[] {
  const groups = new Map<string, SummaryRow>();
  for (const s of samples) {
    const key = JSON.stringify([s.className, s.split, s.label, s.defectType]);
    let row = groups.get(key);
    if (row === undefined) {
      row = { className: s.className, split: s.split, label: s.label, defectType: s.defectType, images: 0, withMasks: 0 };
      groups.set(key, row);
    }
    row.images++;
    if (s.maskPaths.length > 0) row.withMasks++;
  }
  return [...groups.values()].sort(
    (a, b) =>
      naturalCompare(a.className, b.className) ||
      SPLIT_RANK[a.split] - SPLIT_RANK[b.split] ||
      a.label - b.label ||
      naturalCompare(a.defectType, b.defectType),
  );
}

/** One row per class, natural order of class names. */
export function summarizeByClass(samples: readonly Sample[]): ClassSummary[] {
  const byClass = new Map<string, ClassSummary & { types: Set<string> }>();
  for (const s of samples) {
    let c = byClass.get(s.className);
    if (c === undefined) {
      c = {
        className: s.className,
        trainNormal: 0,
        trainAnomalous: 0,
        testNormal: 0,
        testAnomalous: 0,
        anomaliesWithMasks: 0,
        defectTypes: [],
        types: new Set<string>(),
      };
      byClass.set(s.className, c);
    }
    if (s.split === 'train') {
      if (s.label === 0) c.trainNormal++;
      else c.trainAnomalous++;
    } else if (s.label === 0) c.testNormal++;
    else c.testAnomalous++;
    if (s.label === 1) {
      c.types.add(s.defectType);
      if (s.maskPaths.length > 0) c.anomaliesWithMasks++;
    }
  }
  return [...byClass.values()]
    .sort((a, b) => naturalCompare(a.className, b.className))
    .map(({ types, ...rest }) => ({ ...rest, defectTypes: [...types].sort(naturalCompare) }));
}

/** Plain-text table of `summarizeByClass` rows with a total line, for terminals and logs. */
export function formatClassSummary(rows: readonly ClassSummary[]): string {
  const header = ['class', 'train good', 'train anom', 'test good', 'test anom', 'masks', 'defect types'];
  const total = rows.reduce(
    (t, r) => ({
      trainNormal: t.trainNormal + r.trainNormal,
      trainAnomalous: t.trainAnomalous + r.trainAnomalous,
      testNormal: t.testNormal + r.testNormal,
      testAnomalous: t.testAnomalous + r.testAnomalous,
      anomaliesWithMasks: t.anomaliesWithMasks + r.anomaliesWithMasks,
    }),
    { trainNormal: 0, trainAnomalous: 0, testNormal: 0, testAnomalous: 0, anomaliesWithMasks: 0 },
  );
  const line = (name: string, r: typeof total, types: string): string[] => [
    name,
    String(r.trainNormal),
    String(r.trainAnomalous),
    String(r.testNormal),
    String(r.testAnomalous),
    String(r.anomaliesWithMasks),
    types,
  ];
  const body = rows.map((r) => line(r.className, r, r.defectTypes.join(', ')));
  const table = [header, ...body, line('total', total, '')];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  // Names left-aligned, counts right-aligned, the free-text last column unpadded.
  return table
    .map((row) =>
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : i === row.length - 1 ? cell : cell.padStart(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
