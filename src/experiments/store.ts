/**
 * The results store of experiments: one folder that holds everything a set of
 * runs produced, reloadable by notebooks and `resad report`.
 *
 * ```
 * RESULTS/
 *   results.jsonl          one RunRecord per line, appended when a run finishes
 *   results.csv            one row per (run, class) + a 'mean' row per run; regenerated from the JSONL
 *   references/<dataset>-<root hash>_k<K>_s<S>.json   fixed reference lists, shared by every method
 *   models/<modelKey>/     trained ResAD models (+ checkpoint/ while training): one per (protocol data, config)
 *   examples/<runKey>/     anomaly-map overlay PNGs shown by the report
 *   claims/<runKey>.claim  exists while a process runs that configuration (see src/util/claim.ts)
 *   results.lock           exists while a process appends a record / rewrites the CSV
 * ```
 *
 * Why these rules:
 * - A run is keyed by a hash of everything that defines it (protocol data,
 *   method and its full config, K, reference seed): a configuration already in
 *   the store is skipped, and a changed knob is a new run, never a silent mix.
 * - No half records: a record is appended with ONE write of one line, only
 *   after the run finished (and after its example files exist). If the
 *   process dies mid-write, the torn last line has no newline or is not JSON;
 *   `load` ignores it and the next `append` cuts it off first.
 * - Several processes may share one store: `append` (cut torn tail, add the
 *   line, regenerate the CSV) runs under results.lock, so two appends never
 *   interleave and a line being written by one is never cut off as "torn" by
 *   the other; the runner claims each run key (claims/) so no configuration
 *   is computed twice at once.
 * - Reference files carry a hash of the dataset's resolved root besides its
 *   name: two datasets whose folders share a name never read each other's.
 *
 * ```ts
 * const store = new ResultsStore('runs/experiments');
 * store.has(key); store.append(record); store.load(); store.latest();
 * ```
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { METRIC_KEYS, MetricKey } from '../metrics/index';
import { writeFileAtomicSync } from '../util/atomic-write';
import { withLockSync } from '../util/claim';
import { referencesName } from '../data/references';

/** The store `resad experiment` writes and `resad report` reads when no --results is given. */
export const DEFAULT_RESULTS_DIR = 'runs/experiments';
export const RESULTS_JSONL = 'results.jsonl';
export const RESULTS_CSV = 'results.csv';
export const RESULTS_LOCK = 'results.lock';
export const RUN_RECORD_VERSION = 1;

export type MetricValues = Record<MetricKey, number | null>;

export interface ClassRecord extends MetricValues {
  dataset: string;
  class: string;
  images: number;
  msPerImage: number;
  /** Reference image paths, relative to the dataset root. */
  references: string[];
}

export interface ExampleRecord {
  class: string;
  /** Image path relative to its dataset root. */
  image: string;
  label: 0 | 1;
  score: number;
  /** PNG (input | overlay side by side), relative to the store folder. */
  png: string;
}

/** Everything one finished run recorded. */
export interface RunRecord {
  version: 1;
  key: string;
  protocol: string;
  method: string;
  /** Short label of the variant (ablation row, sweep value); '' for the protocol's default. */
  variant: string;
  shots: number;
  referenceSeed: number;
  /** ResAD: the full config; baselines: their options (backbone, imageSize, seed, ...). */
  config: Record<string, unknown>;
  /** Key of the trained model (ResAD only) under models/. */
  modelKey: string | null;
  paperSetting: string | null;
  train: Array<{ dataset: string; format: string; classes: string[] | null; root: string }>;
  test: Array<{ dataset: string; format: string; classes: string[] | null; root: string }>;
  trainImages: string;
  /** Reference files used, relative to the store folder. */
  referenceFiles: string[];
  engine: string;
  versions: Record<string, string>;
  startedAt: string;
  finishedAt: string;
  timings: {
    /** Seconds the model's training took (when it was trained, possibly by an earlier run). */
    trainSeconds: number | null;
    /** True when this run reused a model trained before (not timed again). */
    modelReused: boolean;
    evalSeconds: number;
    msPerImage: number;
    totalSeconds: number;
  };
  perClass: ClassRecord[];
  mean: MetricValues;
  /** Per-image scores and labels per "dataset/class", for ROC curves. */
  perImage: Record<string, { scores: number[]; labels: Array<0 | 1> }>;
  examples: ExampleRecord[];
  tags: Record<string, string>;
  /** ResAD runs asked for a learning curve (RunSpec.curve) whose model was trained by this run. */
  curve?: CurvePoint[];
  /** ResAD runs asked for the check of `resad predict`'s threshold (RunSpec.calibrationFloors). */
  calibration?: CalibrationCheck[];
}

/** The model during its training, scored after an epoch on the run's references. */
export interface CurvePoint {
  /** 1-based. */
  epoch: number;
  scoring: string;
  /** Training seconds so far (features included, evaluation excluded). */
  seconds: number;
  /** Means over the test classes. */
  imageAUROC: number;
  pixelAUROC: number | null;
}

/**
 * The reference-only threshold (src/resad/calibration.ts, what `resad predict`
 * decides with) measured on the run's test images, pooled over its test
 * classes: test labels only measure it, they never set it.
 */
export interface CalibrationCheck {
  spreadFloor: number;
  /** Normal test images above the threshold / normal test images. */
  falseAlarmRate: number;
  /** Anomalous test images above the threshold / anomalous test images. */
  detectionRate: number;
}

/** JSON with object keys sorted, so equal configs hash equally whatever their key order. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
    .join(',')}}`;
}

/** 16 hex characters of SHA-256 over the stable JSON. */
export function hashConfig(value: unknown): string {
  return crypto.createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? String(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_COLUMNS = ['key', 'protocol', 'method', 'variant', 'shots', 'referenceSeed', 'dataset', 'class', ...METRIC_KEYS, 'images', 'msPerImage', 'trainSeconds', 'modelReused', 'finishedAt'] as const;

/** The CSV of a list of records: per class, then a 'mean' row per run. */
export function recordsToCsv(records: readonly RunRecord[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of records) {
    const base = { key: r.key, protocol: r.protocol, method: r.method, variant: r.variant, shots: r.shots, referenceSeed: r.referenceSeed };
    const tail = { trainSeconds: r.timings.trainSeconds, modelReused: r.timings.modelReused, finishedAt: r.finishedAt };
    const rows: Array<Record<string, unknown>> = [
      ...r.perClass.map((c) => ({ ...base, ...c, ...tail })),
      { ...base, dataset: r.test.map((t) => t.dataset).join('+'), class: 'mean', ...r.mean, images: r.perClass.reduce((a, c) => a + c.images, 0), msPerImage: r.timings.msPerImage, ...tail },
    ];
    for (const row of rows) lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  }
  return lines.join('\n') + '\n';
}

export interface LoadResult {
  records: RunRecord[];
  /** Bytes of a torn last line that were ignored (0 when the file is clean). */
  tornBytes: number;
}

export class ResultsStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  get resultsFile(): string {
    return path.join(this.dir, RESULTS_JSONL);
  }
  get csvFile(): string {
    return path.join(this.dir, RESULTS_CSV);
  }
  modelDir(modelKey: string): string {
    return path.join(this.dir, 'models', modelKey);
  }
  get lockFile(): string {
    return path.join(this.dir, RESULTS_LOCK);
  }
  /** Claim file of a run key: exists while some process runs that configuration. */
  claimFile(runKey: string): string {
    return path.join(this.dir, 'claims', `${runKey}.claim`);
  }
  /**
   * Reference file of (dataset, K, seed). With `root`, the name carries a hash
   * of the resolved root, so two datasets of one name in different folders get
   * different files.
   */
  referencesFile(dataset: string, shots: number, seed: number, root?: string): string {
    const name = root === undefined ? dataset.replace(/[^A-Za-z0-9._-]/g, '_') : referencesName(root, dataset);
    return path.join(this.dir, 'references', `${name}_k${shots}_s${seed}.json`);
  }
  examplesDir(runKey: string): string {
    return path.join(this.dir, 'examples', runKey);
  }

  /** Every complete record, in append order (a torn last line is ignored). */
  loadWithStatus(): LoadResult {
    if (!fs.existsSync(this.resultsFile)) return { records: [], tornBytes: 0 };
    const text = fs.readFileSync(this.resultsFile, 'utf8');
    const records: RunRecord[] = [];
    let pos = 0;
    let tornBytes = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      const line = nl < 0 ? text.slice(pos) : text.slice(pos, nl);
      const complete = nl >= 0;
      let parsed: RunRecord | null = null;
      if (line.trim() !== '') {
        try {
          parsed = JSON.parse(line) as RunRecord;
        } catch {
          parsed = null;
        }
        if (!complete || parsed === null) {
          if (complete && nl + 1 < text.length) throw new Error(`${this.resultsFile}: line at byte ${pos} is not JSON (only the last line may be torn)`);
          tornBytes = Buffer.byteLength(text.slice(pos));
          break;
        }
        records.push(parsed);
      }
      pos = complete ? nl + 1 : text.length;
    }
    return { records, tornBytes };
  }

  load(): RunRecord[] {
    return this.loadWithStatus().records;
  }

  /** The last record of each key (a forced rerun supersedes the earlier one). */
  latest(): RunRecord[] {
    const byKey = new Map<string, RunRecord>();
    for (const r of this.load()) {
      byKey.delete(r.key);
      byKey.set(r.key, r);
    }
    return [...byKey.values()];
  }

  has(key: string): boolean {
    return this.load().some((r) => r.key === key);
  }

  get(key: string): RunRecord | undefined {
    return this.latest().find((r) => r.key === key);
  }

  /**
   * Runs `fn` holding results.lock (short, synchronous work only: other
   * processes wait for it). Throws, naming the lock file, after 2 minutes.
   */
  withLock<T>(fn: () => T): T {
    fs.mkdirSync(this.dir, { recursive: true });
    return withLockSync(this.lockFile, fn, { what: `the results store ${this.dir}` });
  }

  /** Appends one finished run (one write of one line), then regenerates results.csv; under results.lock. */
  append(record: RunRecord): void {
    this.withLock(() => this.appendLocked(record));
  }

  private appendLocked(record: RunRecord): void {
    const { tornBytes } = this.loadWithStatus();
    if (tornBytes > 0) {
      // Cut the torn tail of an interrupted append before adding a complete line.
      const size = fs.statSync(this.resultsFile).size;
      fs.truncateSync(this.resultsFile, size - tornBytes);
    }
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    const fd = fs.openSync(this.resultsFile, 'a');
    try {
      fs.writeSync(fd, line, 0, line.length);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.writeCsvLocked();
  }

  /** Rewrites results.csv from the latest record of each key (under results.lock). */
  writeCsv(): void {
    this.withLock(() => this.writeCsvLocked());
  }

  private writeCsvLocked(): void {
    writeFileAtomicSync(this.csvFile, recordsToCsv(this.latest()));
  }
}

/**
 * Copies into `target` the records of `sources` it lacks (or holds an older
 * record of), with the reference files and example overlays they name, so
 * that parts run into separate stores read as one. Trained models are not
 * copied. Returns how many records were added.
 */
export function mergeStores(target: ResultsStore, sources: readonly ResultsStore[]): number {
  let added = 0;
  for (const source of sources) {
    if (path.resolve(source.dir) === target.dir) continue;
    for (const record of source.latest()) {
      const held = target.get(record.key);
      if (held && Date.parse(held.finishedAt) >= Date.parse(record.finishedAt)) continue;
      // Relative paths (store.ts layout) keep working once the files sit at the same place under the target.
      for (const rel of [...record.referenceFiles, ...record.examples.map((e) => e.png)]) {
        const from = path.join(source.dir, rel);
        const to = path.join(target.dir, rel);
        if (fs.existsSync(from) && !fs.existsSync(to)) {
          fs.mkdirSync(path.dirname(to), { recursive: true });
          fs.copyFileSync(from, to);
        }
      }
      target.append(record);
      added++;
    }
  }
  return added;
}
