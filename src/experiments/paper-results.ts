/**
 * The published numbers of ResAD (Yao et al., NeurIPS 2024, arXiv 2410.20047)
 * as data, so tables can put measured results next to them. Transcribed from
 * /work/shared/docs/PAPER_RESULTS.md (image-AUROC / pixel-AUROC in %,
 * averages over the classes of the test dataset, WideResNet50 backbone for
 * ResAD, 224 px). Every entry cites its table.
 *
 * Protocol names are those of protocols.ts: Table 1's "MVTecAD" row is
 * `visa->mvtec` (trained on VisA), the other rows `mvtec-><dataset>`.
 * Methods are lower-case keys: our methods ('resad', 'patchcore', 'spade',
 * 'padim') plus the paper's others ('rdad', 'uniad', 'regad', 'winclip',
 * 'inctrl', 'resad-ib'). InCTRL has no pixel scores (null). No 1- or 8-shot
 * numbers are published.
 *
 * ```ts
 * paperResultsFor({ protocol: 'mvtec->visa', method: 'resad', shots: 4 });   // [{ table: 'Table 1', imageAUROC: 86.2, ... }]
 * paperResultsFor({ protocol: 'visa->mvtec', method: 'resad', shots: 4, variant: 'no-residual' }); // Table 2
 * ```
 */

export interface PaperResult {
  /** 'Table 1', 'Table 2(a)', 'Table 2(b)', 'Table 3', 'Table 6', 'Table 8', 'README'. */
  table: string;
  protocol: string;
  /** The paper's name of the test set. */
  dataset: string;
  shots: number;
  method: string;
  /** Ablation variant name of sweeps.ts ('' for the default model). */
  variant: string;
  /** Row label as printed in the paper. */
  label: string;
  imageAUROC: number | null;
  pixelAUROC: number | null;
  imageStd?: number;
  pixelStd?: number;
}

const SOURCE = 'Yao et al., ResAD, NeurIPS 2024';
export const PAPER_SOURCE: string = SOURCE;

const TABLE1_METHODS = ['rdad', 'uniad', 'spade', 'padim', 'patchcore', 'regad', 'resad', 'winclip', 'inctrl', 'resad-ib'] as const;
const TABLE1_LABELS: Record<string, string> = {
  rdad: 'RDAD', uniad: 'UniAD', spade: 'SPADE', padim: 'PaDiM', patchcore: 'PatchCore', regad: 'RegAD', resad: 'ResAD', winclip: 'WinCLIP', inctrl: 'InCTRL', 'resad-ib': 'ResAD-IB',
};
const TABLE1_ROWS: Record<string, { dataset: string; protocol: string }> = {
  MVTecAD: { dataset: 'MVTec AD', protocol: 'visa->mvtec' },
  VisA: { dataset: 'VisA', protocol: 'mvtec->visa' },
  BTAD: { dataset: 'BTAD', protocol: 'mvtec->btad' },
  MVTec3D: { dataset: 'MVTec 3D-AD', protocol: 'mvtec->mvtec3d' },
  BraTS: { dataset: 'BraTS', protocol: 'mvtec->brats' },
  ShanghaiTech: { dataset: 'ShanghaiTech', protocol: 'mvtec->shanghaitech' },
};

// Verbatim rows of PAPER_RESULTS.md, Table 1 (image/pixel AUROC per method, in TABLE1_METHODS order).
const TABLE1_4SHOT = `
MVTecAD | 65.9/71.9 | 67.4/81.1 | 75.5/64.0 | 82.5/94.9 | 80.6/90.2 | 84.8/94.5 | 90.5/95.7 | 94.6/94.2 | 94.5/- | 94.2/96.9
VisA | 56.4/79.9 | 52.1/81.8 | 75.0/65.4 | 75.3/93.3 | 71.7/87.1 | 78.0/93.5 | 86.2/97.4 | 84.1/95.2 | 87.7/- | 90.8/97.5
BTAD | 82.7/87.3 | 67.1/85.6 | 81.7/65.5 | 89.9/95.8 | 84.0/89.4 | 90.8/94.9 | 95.6/97.6 | 87.2/95.8 | 91.7/- | 91.5/96.8
MVTec3D | 58.7/90.4 | 51.7/89.4 | 62.3/78.6 | 62.8/94.5 | 61.5/87.1 | 62.3/96.7 | 70.9/97.3 | 76.0/97.0 | 69.1/- | 82.4/97.9
BraTS | 49.8/66.7 | 59.5/88.5 | 66.3/94.8 | 60.6/94.5 | 71.2/95.9 | 60.0/87.3 | 74.7/94.0 | 67.3/93.2 | 76.9/- | 84.6/96.1
ShanghaiTech | 56.2/77.6 | 55.9/79.4 | 77.1/87.4 | 74.3/85.9 | 77.8/88.2 | 76.4/87.7 | 79.8/89.5 | 79.6/88.6 | 69.2/- | 84.3/92.6`;
const TABLE1_2SHOT = `
MVTecAD | 65.9/71.9 | 67.4/81.1 | 74.6/64.0 | 79.5/93.8 | 74.7/85.2 | 80.4/93.3 | 85.6/94.1 | 93.1/93.8 | 94.0/- | 94.4/95.6
VisA | 56.4/79.9 | 52.1/81.8 | 71.7/65.4 | 68.7/91.5 | 65.0/80.4 | 70.6/93.3 | 79.9/96.4 | 81.9/94.9 | 85.8/- | 84.5/95.1
BTAD | 82.7/87.3 | 67.1/85.6 | 80.7/65.4 | 88.9/95.2 | 80.9/83.1 | 87.2/93.9 | 93.6/97.1 | 85.5/95.8 | 92.3/- | 91.1/96.4
MVTec3D | 58.7/90.4 | 51.7/89.4 | 62.5/78.6 | 59.6/94.3 | 58.8/83.4 | 59.5/96.4 | 64.5/95.4 | 74.1/96.8 | 68.9/- | 78.5/97.5
BraTS | 49.8/66.7 | 59.5/88.5 | 58.0/92.8 | 49.4/90.2 | 58.2/93.5 | 54.6/81.4 | 65.7/91.2 | 55.9/91.5 | 74.6/- | 67.9/94.3
ShanghaiTech | 56.2/77.6 | 55.9/79.4 | 73.8/87.0 | 70.4/85.6 | 71.8/87.8 | 72.7/87.3 | 78.4/88.5 | 78.5/88.1 | 68.7/- | 82.4/91.9`;

function pair(cell: string): [number | null, number | null] {
  const [i, p] = cell.trim().split('/');
  const num = (s: string): number | null => (s.trim() === '-' ? null : Number(s));
  return [num(i), num(p)];
}

function table1(text: string, shots: number): PaperResult[] {
  const out: PaperResult[] = [];
  for (const line of text.trim().split('\n')) {
    const [row, ...cells] = line.split('|').map((s) => s.trim());
    const where = TABLE1_ROWS[row];
    cells.forEach((cell, i) => {
      const method = TABLE1_METHODS[i];
      const [imageAUROC, pixelAUROC] = pair(cell);
      out.push({ table: 'Table 1', protocol: where.protocol, dataset: where.dataset, shots, method, variant: '', label: TABLE1_LABELS[method], imageAUROC, pixelAUROC });
    });
  }
  return out;
}

function visaMvtec(table: string, variant: string, label: string, i: number, p: number): PaperResult {
  return { table, protocol: 'visa->mvtec', dataset: 'MVTec AD', shots: 4, method: 'resad', variant, label, imageAUROC: i, pixelAUROC: p };
}

const LAMBDAS: Array<[number, number, number]> = [
  [0.1, 89.1, 94.9],
  [0.5, 90.0, 95.6],
  [1, 90.5, 95.7],
  [2, 90.6, 96.0],
  [3, 89.8, 95.3],
  [5, 89.3, 95.2],
  [10, 88.7, 94.9],
];

/** Every published number the toolkit compares against. */
export const PAPER_RESULTS: readonly PaperResult[] = [
  ...table1(TABLE1_4SHOT, 4),
  ...table1(TABLE1_2SHOT, 2),
  // Table 2(a): framework ablation, VisA -> MVTec AD, 4-shot.
  visaMvtec('Table 2(a)', 'full', 'Full ResAD', 90.5, 95.7),
  visaMvtec('Table 2(a)', 'no-residual', 'w/o residual feature learning', 72.8, 82.9),
  visaMvtec('Table 2(a)', 'no-constraintor', 'w/o feature constraintor (L_occ not used)', 82.3, 93.5),
  visaMvtec('Table 2(a)', 'no-abnormal-invariant', 'w/o abnormal-invariant term', 84.9, 93.9),
  // Table 2(b): constraintor architectures.
  visaMvtec('Table 2(b)', 'conv-bn-relu', 'ConvBnRelu', 90.5, 95.7),
  visaMvtec('Table 2(b)', 'basic-block', 'BasicBlock', 87.6, 94.4),
  visaMvtec('Table 2(b)', 'bottleneck', 'BottleNeck', 86.0, 94.4),
  visaMvtec('Table 2(b)', 'multi-scale-fusion', 'MultiScaleFusion', 84.1, 92.9),
  visaMvtec('Table 2(b)', 'msf+basic-block', 'MultiScaleFusion + BasicBlock', 82.3, 92.9),
  visaMvtec('Table 2(b)', 'msf+bottleneck', 'MultiScaleFusion + BottleNeck', 81.0, 93.3),
  // Table 6: BG-SPP weight lambda.
  ...LAMBDAS.map(([w, i, p]) => visaMvtec('Table 6', `bgspp-${w}`, `lambda = ${w}`, i, p)),
  // Table 3: MVTec cross-class, 4-shot, tested on hazelnut, pill, tile, carpet, zipper.
  { table: 'Table 3', protocol: 'mvtec5->mvtec', dataset: 'MVTec AD (5 unseen classes)', shots: 4, method: 'resad', variant: '', label: 'trained on 5 MVTec classes', imageAUROC: 96.4, pixelAUROC: 97.6 },
  { table: 'Table 3', protocol: 'mvtec10->mvtec', dataset: 'MVTec AD (5 unseen classes)', shots: 4, method: 'resad', variant: '', label: 'trained on 10 MVTec classes', imageAUROC: 96.8, pixelAUROC: 97.9 },
  { table: 'Table 3', protocol: 'visa->mvtec5', dataset: 'MVTec AD (5 unseen classes)', shots: 4, method: 'resad', variant: '', label: 'trained on VisA', imageAUROC: 95.1, pixelAUROC: 97.2 },
  // Table 8: three reference groups, 4-shot, mean ± std.
  { table: 'Table 8', protocol: 'visa->mvtec', dataset: 'MVTec AD', shots: 4, method: 'resad', variant: '', label: '3 reference groups', imageAUROC: 90.7, pixelAUROC: 95.9, imageStd: 0.21, pixelStd: 0.12 },
  { table: 'Table 8', protocol: 'mvtec->visa', dataset: 'VisA', shots: 4, method: 'resad', variant: '', label: '3 reference groups', imageAUROC: 86.5, pixelAUROC: 97.5, imageStd: 0.31, pixelStd: 0.08 },
  { table: 'Table 8', protocol: 'mvtec->btad', dataset: 'BTAD', shots: 4, method: 'resad', variant: '', label: '3 reference groups', imageAUROC: 95.4, pixelAUROC: 97.6, imageStd: 0.12, pixelStd: 0.05 },
  { table: 'Table 8', protocol: 'mvtec->mvtec3d', dataset: 'MVTec 3D-AD', shots: 4, method: 'resad', variant: '', label: '3 reference groups', imageAUROC: 70.5, pixelAUROC: 97.2, imageStd: 0.29, pixelStd: 0.09 },
];

export interface PaperQuery {
  protocol: string;
  method: string;
  shots: number;
  /** Ablation variant ('' or 'full' for the default model). */
  variant?: string;
}

/**
 * The published numbers for a measured setting, best match first: for the
 * default model, Table 1 (then Table 3, Table 8); for an ablation variant,
 * Table 2 / Table 6 (the 'full' / 'conv-bn-relu' / 'bgspp-1' rows equal the
 * default model and also match Table 1).
 */
export function paperResultsFor(q: PaperQuery): PaperResult[] {
  const variant = q.variant ?? '';
  const defaultLike = variant === '' || variant === 'full' || variant === 'conv-bn-relu' || variant === 'bgspp-1' || variant === 'residual-diff';
  const order = ['Table 1', 'Table 3', 'Table 2(a)', 'Table 2(b)', 'Table 6', 'Table 8'];
  return PAPER_RESULTS.filter(
    (r) => r.protocol === q.protocol && r.method === q.method && r.shots === q.shots && (r.variant === variant || (defaultLike && r.variant === '')),
  ).sort((a, b) => order.indexOf(a.table) - order.indexOf(b.table));
}
