/**
 * Runs experiments and records them in a ResultsStore. A run is (protocol,
 * method, method config, K, reference seed):
 *
 * 1. data: the protocol's folders are read (the procedural dataset is
 *    generated on demand); training uses the known classes as the protocol
 *    says (`trainImages`);
 * 2. references: one fixed list per (test dataset, K, seed), saved in the
 *    store's references/ and reused by every method and every later run;
 * 3. model: ResAD is trained once per (protocol training data, config) into
 *    models/<modelKey>/ and reused by every K and seed; an interrupted
 *    training resumes from its checkpoint (trainResAD); baselines come from
 *    the method registry (methods.ts) and need no training;
 * 4. evaluation with the shared few-shot evaluator, per class;
 * 5. the record (config, seeds, engine, versions, timings, metrics, per-image
 *    scores, example overlays) is appended only when everything finished.
 *
 * Two measurements ride along with a ResAD run when its spec asks (they do not
 * change its key): `curve`, the model scored after every training epoch (only
 * when this run trains it), and `calibrationFloors`, how the reference-only
 * threshold of `resad predict` splits the test images (a stored record without
 * it is rerun).
 *
 * A configuration whose key is already in the store is skipped unless
 * `force` is set.
 *
 * Several processes may run on one store (and one models folder) at once:
 * - each run key is claimed (store claims/<key>.claim, see src/util/claim.ts)
 *   while it runs; a process that finds a live claim leaves that run to its
 *   owner ("running in another process (pid N); skipped for now"), goes on
 *   with the others, and at the end waits for the owner's record (or takes
 *   the run over when the owner died), so every configuration is computed
 *   once and every outcome has its record;
 * - a model is claimed (models/<key>/training.claim) while it trains; a
 *   process that needs a model another one is training waits for it and
 *   loads it, rather than training it a second time;
 * - records are appended under the store's lock (store.ts).
 * A claim of a dead process (same host) is taken over at once, one of
 * another host once it has not been refreshed for `claimStaleMs`.
 *
 * ```ts
 * const session = new ExperimentSession({ store: 'runs/experiments' });
 * const protocol = resolveProtocol('synthetic');
 * const { record } = await session.run({ protocol, shots: 4, referenceSeed: 0 });
 * await session.runAll(shotSweepSpecs(protocol, { shots: [1, 2, 4], seeds: [0, 1] }));
 * session.dispose();
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../backbones/index';
import type { Sample } from '../data/sample';
import { readDataset } from '../data/readers/index';
import { generateDataset } from '../data/procedural/index';
import { getOrCreateReferences, ReferenceSet } from '../data/references';
import { describeEngine, initEngine } from '../engine/index';
import { METRIC_KEYS, MetricSet, meanMetrics } from '../metrics/index';
import type { EpochReport, TrainOptions } from '../resad/trainer';
import { ResADConfig, scoringFields, weightsConfig } from '../resad/config';
import { ResADModel } from '../resad/model';
import { MODEL_FILE } from '../resad/checkpoint';
import { ModelPlan, obtainModel } from '../resad/obtain-model';
import { evaluateFewShot, EvaluationResult, FewShotScorer } from '../evaluation/index';
import { preprocess } from '../data/transforms';
import { calibrateFromReferences } from '../resad/calibration';
import type { ScoringOverride } from '../resad/model';
import type { ScoringMode } from '../scoring/anomaly-map';
import { resadScorerWith } from '../onnx/select';
import { mapRange, overlayAnomalyMap } from '../report/overlay';
import type { RgbImage } from '../data/image';
import { ClaimOwner, describeOwner, tryClaim, Claim, ClaimOptions } from '../util/claim';
import { DataPart, Protocol, testImagesOf, trainingImagesOf } from './protocols';
import { getMethodFactory, DisposableScorer } from './methods';
import { CalibrationCheck, ClassRecord, CurvePoint, ExampleRecord, hashConfig, MetricValues, ResultsStore, RUN_RECORD_VERSION, RunRecord } from './store';

export interface RunSpec {
  protocol: Protocol;
  /** 'resad' (default) or a registered/baseline method name. */
  method?: string;
  /** ResAD config fields replacing the protocol's. */
  config?: Partial<ResADConfig>;
  /** Options of a non-ResAD method. */
  methodOptions?: Readonly<Record<string, unknown>>;
  shots: number;
  referenceSeed: number;
  /** Label of the variant (ablation row, lambda value); not part of the key. */
  variant?: string;
  tags?: Readonly<Record<string, string>>;
  /** ResAD: score the model after every training epoch with these modes (RunRecord.curve), when this run trains it. */
  curve?: readonly ScoringMode[];
  /** ResAD: measure `resad predict`'s reference-only threshold with these spread floors (RunRecord.calibration). */
  calibrationFloors?: readonly number[];
}

export interface SessionOptions {
  /** The store, or its folder. */
  store: ResultsStore | string;
  /**
   * Where trained models live (default: the store's models/). Sessions that
   * share one folder share trained models: same key = loaded, not retrained.
   */
  modelsDir?: string;
  /** Rerun configurations already in the store (their new record supersedes the old). */
  force?: boolean;
  /** Train every model this session needs anew, once (saved models and checkpoints are replaced); implies nothing about `force`. */
  retrain?: boolean;
  /** A loaded backbone shared by every model (tests use a tiny one); otherwise each config loads its own. */
  backbone?: Backbone;
  /** Anomaly-map overlays saved per class for the report (default 2; 0 saves none). */
  keepExamples?: number;
  /** ResAD inference engine: 'auto' (default: onnxruntime when installed and the model exports), 'onnx' or 'tfjs'. */
  inference?: string;
  /** Per-image scores kept for ROC curves (default true). */
  keepScores?: boolean;
  quiet?: boolean;
  /** Called after every training epoch (progress, tests that interrupt training). */
  onEpoch?: (report: EpochReport) => void;
  /** Progress lines (default: console.error unless quiet). */
  log?: (line: string) => void;
  /** Claims (runs, trainings) of another host not refreshed for this long are taken over (default 6 h; see src/util/claim.ts). */
  claimStaleMs?: number;
  /** How often to look again for a run or model another process is working on (default 2000 ms). */
  pollMs?: number;
}

export interface RunOutcome {
  record: RunRecord;
  /** True when nothing ran here: the key was in the store, or another process computed it meanwhile. */
  skipped: boolean;
  /** Set when another process was running this configuration and this session waited for its record. */
  elsewhere?: { pid: number; hostname: string };
}

function partIdentity(p: DataPart): Record<string, unknown> {
  // The root is left out on purpose: the same dataset moved to another disk is the same experiment.
  return { dataset: p.dataset, format: p.format, classes: p.classes ? [...p.classes] : null, ...(p.testSkipsExtraDefects ? { testSkipsExtraDefects: true } : {}) };
}

/**
 * What the baselines used before they followed the protocol's preprocessing
 * and smoothing: a config that differs is recorded (and keyed), one that does
 * not keeps the keys of earlier records.
 */
const BASELINE_PIXELS = { resizeMode: 'resize-crop', scoreSigma: 4 } as const;

/** The ResAD config a spec runs with. */
export function resolvedConfig(spec: RunSpec): ResADConfig {
  return { ...spec.protocol.config, ...(spec.config ?? {}) };
}

/** Recorded method config: ResAD's full config, or the baseline's options with the shared backbone/size/seed. */
export function methodConfig(spec: RunSpec): Record<string, unknown> {
  const cfg = resolvedConfig(spec);
  const method = spec.method ?? 'resad';
  if (method === 'resad') return { ...cfg };
  const follows: Record<string, unknown> = {};
  if (cfg.resizeMode !== BASELINE_PIXELS.resizeMode) follows.resizeMode = cfg.resizeMode;
  if (cfg.scoreSigma !== BASELINE_PIXELS.scoreSigma) follows.scoreSigma = cfg.scoreSigma;
  if (cfg.backboneLayers !== undefined) follows.backboneLayers = cfg.backboneLayers;
  return { backbone: cfg.backbone, imageSize: cfg.imageSize, seed: cfg.seed, ...follows, ...(spec.methodOptions ?? {}) };
}

/** Key of the trained model: training data + weights config (scoring fields, K and reference seed do not change the weights). */
export function modelKeyOf(protocol: Protocol, config: ResADConfig): string {
  return hashConfig({ train: protocol.train.map(partIdentity), trainImages: protocol.trainImages, config: weightsConfig(config) });
}

/** Stable key of a run (see store.ts). */
export function runKeyOf(spec: RunSpec): string {
  return hashConfig({
    version: RUN_RECORD_VERSION,
    protocol: spec.protocol.name,
    train: spec.protocol.train.map(partIdentity),
    test: spec.protocol.test.map(partIdentity),
    trainImages: spec.protocol.trainImages,
    method: spec.method ?? 'resad',
    config: methodConfig(spec),
    shots: spec.shots,
    referenceSeed: spec.referenceSeed,
  });
}

/** Versions of the packages a result depends on (the engine's package is added by the runner). */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version, tfjs: tf.version.tfjs };
  const read = (file: string): string | undefined => {
    try {
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version;
    } catch {
      return undefined;
    }
  };
  const own = read(path.join(__dirname, '..', '..', 'package.json'));
  if (own) out.resad = own;
  // Only packages always in use: an installed but unusable tfjs-node would mislead; the runner adds the engine's own.
  for (const pkg of ['sharp', 'danfojs-node']) {
    let v: string | undefined;
    try {
      v = read(path.join(path.dirname(require.resolve(pkg)), '..', 'package.json')) ?? read(path.join(path.dirname(require.resolve(pkg)), 'package.json'));
    } catch {
      v = undefined;
    }
    if (v) out[pkg] = v;
  }
  return out;
}

function metricValues(m: MetricSet): MetricValues {
  const out = {} as MetricValues;
  for (const k of METRIC_KEYS) out[k] = m[k] ?? null;
  return out;
}

function rel(root: string, p: string): string {
  return path.relative(root, p).split(path.sep).join('/');
}

function sideBySide(a: RgbImage, b: RgbImage): RgbImage {
  const w = a.width + b.width;
  const h = Math.max(a.height, b.height);
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    if (y < a.height) data.set(a.data.subarray(y * a.width * 3, (y + 1) * a.width * 3), y * w * 3);
    if (y < b.height) data.set(b.data.subarray(y * b.width * 3, (y + 1) * b.width * 3), (y * w + a.width) * 3);
  }
  return { width: w, height: h, data };
}

async function writePng(file: string, image: RgbImage): Promise<void> {
  const bytes = Buffer.alloc(image.width * image.height * 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(255 * Math.max(0, Math.min(1, image.data[i])));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(bytes, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(file);
}

interface HeldModel {
  key: string;
  model: ResADModel;
  trainSeconds: number | null;
}

/** Runs experiments against one store, keeping the current model and read datasets between runs. */
export class ExperimentSession {
  readonly store: ResultsStore;
  private readonly options: SessionOptions;
  private held: HeldModel | null = null;
  private readonly sampleCache = new Map<string, Sample[]>();
  private readonly generated = new Set<string>();
  /** Claims this session holds now, refreshed at natural points (training epochs, test datasets). */
  private readonly claims = new Set<Claim>();
  /** With `force`, records finished after this time are this session's reruns (possibly by another process). */
  private readonly startedAt = Date.now();
  /** With `retrain`, the models this session has trained anew. */
  private readonly retrained = new Set<string>();

  constructor(options: SessionOptions) {
    this.options = options;
    this.store = typeof options.store === 'string' ? new ResultsStore(options.store) : options.store;
  }

  private claimOptions(purpose: string): ClaimOptions {
    return { staleMs: this.options.claimStaleMs, purpose };
  }

  /** Keeps this session's claims fresh; called between synchronous stretches of work that starve the heartbeat timer. */
  private heartbeat(): void {
    for (const c of this.claims) c.refresh();
  }

  private hold(claim: Claim): Claim {
    this.claims.add(claim);
    return claim;
  }

  private releaseClaim(claim: Claim): void {
    this.claims.delete(claim);
    claim.release();
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.options.pollMs ?? 2000));
  }

  private log(line: string): void {
    if (this.options.log) this.options.log(line);
    else if (!this.options.quiet) console.error(`[experiment] ${line}`);
  }

  private async samplesOf(part: DataPart): Promise<Sample[]> {
    if (part.generated && !this.generated.has(part.root)) {
      const info = await generateDataset({ root: part.root, quiet: this.options.quiet });
      if (!info.skipped) this.log(`generated the procedural dataset in ${part.root} (${info.seconds.toFixed(1)} s)`);
      this.generated.add(part.root);
    }
    const cacheKey = JSON.stringify([part.root, part.format, part.classes ?? null]);
    let samples = this.sampleCache.get(cacheKey);
    if (!samples) {
      samples = readDataset(part.root, { format: part.format, classes: part.classes });
      this.sampleCache.set(cacheKey, samples);
    }
    return samples;
  }

  private async trainingSamples(protocol: Protocol): Promise<Sample[]> {
    const out: Sample[] = [];
    for (const part of protocol.train) out.push(...trainingImagesOf(protocol.trainImages, await this.samplesOf(part)));
    return out;
  }

  /**
   * The trained model of (protocol, config): held, saved in the store, or
   * trained now (resuming a checkpoint); `afterEpoch` runs after each epoch
   * of a training done here.
   */
  async model(protocol: Protocol, config: ResADConfig, afterEpoch?: TrainOptions['afterEpoch']): Promise<{ model: ResADModel; trainSeconds: number | null; reused: boolean; modelKey: string }> {
    const key = modelKeyOf(protocol, config);
    const retrain = this.options.retrain === true && !this.retrained.has(key);
    if (this.held?.key === key && !retrain) return { model: this.held.model, trainSeconds: this.held.trainSeconds, reused: true, modelKey: key };
    this.releaseModel();
    const dir = this.options.modelsDir ? path.join(path.resolve(this.options.modelsDir), key) : this.store.modelDir(key);
    const backbone = this.options.backbone;
    let model: ResADModel;
    let trainSeconds: number | null;
    let reused: boolean;
    const trained = (): boolean => fs.existsSync(path.join(dir, MODEL_FILE));
    // Two processes must not train one model at once: the trainer claims it, the other waits and loads it.
    let claim: Claim | null = null;
    let waitingFor: ClaimOwner | null = null;
    while (retrain || !trained()) {
      const got = tryClaim(path.join(dir, 'training.claim'), this.claimOptions(`training model ${key}`));
      if (got.status === 'claimed') {
        claim = this.hold(got.claim);
        if (got.tookOver) this.log(`model ${key}: taking over its training (${got.tookOver.reason}); resuming from its checkpoint if there is one`);
        break;
      }
      if (waitingFor?.token !== got.holder.token) this.log(`model ${key}: being trained by another process (${describeOwner(got.holder)}); waiting for it (claim ${got.file})`);
      waitingFor = got.holder;
      await this.sleep();
    }
    try {
      const samples = await this.trainingSamples(protocol);
      const onPlan = (plan: ModelPlan): void => {
        if (plan.kind === 'load') return;
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'protocol.json'), JSON.stringify({ protocol: protocol.name, train: protocol.train, trainImages: protocol.trainImages, config }, null, 2) + '\n');
        if (protocol.configNote) this.log(protocol.configNote);
        if (plan.note) this.log(`model ${key}: ${plan.note}`);
        this.log(`model ${key}: training on ${samples.length} images of ${protocol.train.map((p) => p.dataset).join(' + ')} (${config.backbone}, ${config.imageSize} px, ${config.epochs} epochs)`);
      };
      const onEpoch = (e: EpochReport): void => {
        this.heartbeat();
        this.options.onEpoch?.(e);
      };
      const got = await obtainModel(dir, config, samples, {
        ifDifferent: 'retrain',
        force: retrain,
        restart: retrain,
        backbone,
        quiet: this.options.quiet,
        inference: this.options.inference,
        onPlan,
        onEpoch,
        afterEpoch,
      });
      if (retrain) this.retrained.add(key);
      model = got.model;
      trainSeconds = got.trainSeconds;
      reused = !got.trained;
      if (reused) this.log(`model ${key}: loaded from ${dir}${waitingFor ? ' (trained by another process)' : ''}`);
      if (got.resumedFromEpoch !== null) this.log(`model ${key}: resumed after epoch ${got.resumedFromEpoch + 1}`);
    } finally {
      if (claim) this.releaseClaim(claim);
    }
    this.held = { key, model, trainSeconds };
    return { model, trainSeconds, reused, modelKey: key };
  }

  private releaseModel(): void {
    if (this.held) this.held.model.dispose({ keepBackbone: this.options.backbone !== undefined });
    this.held = null;
  }

  /** Fixed references of one test part for (K, seed), from the store's references/ folder. */
  async references(part: DataPart, shots: number, seed: number): Promise<{ set: ReferenceSet; file: string }> {
    const samples = await this.samplesOf(part);
    const file = this.store.referencesFile(part.dataset, shots, seed, part.root);
    // Under the store lock: two processes extending one file with different classes would drop one's classes.
    const got = this.store.withLock(() => getOrCreateReferences(samples, { root: part.root, shots, seed, file, classes: part.classes ? [...part.classes] : undefined }));
    if (got.status !== 'loaded') this.log(`references: ${got.file} (${got.status})`);
    return { set: got.set, file: got.file };
  }

  /**
   * The stored record that makes running `spec` unnecessary: any (not
   * forced), or one finished since this session began (forced); one without
   * the threshold check the spec asks for does not count.
   */
  private done(key: string, spec: RunSpec): RunRecord | undefined {
    const existing = this.store.get(key);
    if (!existing) return undefined;
    if (this.options.force && Date.parse(existing.finishedAt) < this.startedAt) return undefined;
    const floors = spec.calibrationFloors ?? [];
    if (floors.length > 0 && existing.calibration?.map((c) => c.spreadFloor).join(',') !== floors.join(',')) return undefined;
    return existing;
  }

  /** One attempt: the stored record, a new run under this session's claim, or the live owner of the claim. */
  private async attempt(spec: RunSpec, key: string): Promise<RunOutcome | { busy: ClaimOwner; file: string }> {
    const existing = this.done(key, spec);
    if (existing) return { record: existing, skipped: true };
    const got = tryClaim(this.store.claimFile(key), this.claimOptions(`run ${describeSpec(spec)}`));
    if (got.status === 'busy') return { busy: got.holder, file: got.file };
    const claim = this.hold(got.claim);
    try {
      // Another process may have appended it between the check above and the claim.
      const finished = this.done(key, spec);
      if (finished) return { record: finished, skipped: true };
      if (got.tookOver) this.log(`${describeSpec(spec)}: taking over from another process (${got.tookOver.reason})`);
      return { record: await this.execute(spec, key), skipped: false };
    } finally {
      this.releaseClaim(claim);
    }
  }

  /**
   * Runs one spec (or returns its stored record when already done and not
   * forced). When another process is running it, waits for that process's
   * record, or takes the run over if that process dies.
   */
  async run(spec: RunSpec): Promise<RunOutcome> {
    const key = runKeyOf(spec);
    let waitingFor: ClaimOwner | null = null;
    for (;;) {
      const got = await this.attempt(spec, key);
      if ('record' in got) {
        return waitingFor && got.skipped ? { ...got, elsewhere: { pid: waitingFor.pid, hostname: waitingFor.hostname } } : got;
      }
      if (waitingFor?.token !== got.busy.token) this.log(`${describeSpec(spec)}: running in another process (${describeOwner(got.busy)}); waiting for its record (claim ${got.file})`);
      waitingFor = got.busy;
      await this.sleep();
    }
  }

  private async execute(spec: RunSpec, key: string): Promise<RunRecord> {
    const engine = await initEngine({ quiet: true });
    const started = new Date();
    const t0 = Date.now();
    const method = spec.method ?? 'resad';
    const config = resolvedConfig(spec);
    let scorer: FewShotScorer;
    let disposeScorer: () => void = () => undefined;
    let engineLine = describeEngine(engine);
    let modelKey: string | null = null;
    let trainSeconds: number | null = null;
    let modelReused = false;
    const curve: CurvePoint[] = [];
    let calibration: CalibrationCounter | null = null;
    if (method === 'resad') {
      const wantsCurve = (spec.curve ?? []).length > 0;
      const m = await this.model(spec.protocol, config, wantsCurve ? this.curveRecorder(spec, curve) : undefined);
      if (wantsCurve && m.reused) {
        // The curve belongs to the model: a rerun on the same model keeps the one its earlier record measured.
        const earlier = this.store.get(key);
        if (earlier?.modelKey === m.modelKey && earlier.curve) curve.push(...earlier.curve);
        else this.log(`${describeSpec(spec)}: model ${m.modelKey} was trained before: no learning curve (retrain it to measure one)`);
      }
      // Models are keyed by their weights config: a held or saved model scores with this run's scoring fields.
      const scoring = scoringFields(config);
      const choice = await resadScorerWith(m.model, scoring, this.options.inference);
      scorer = choice.scorer;
      disposeScorer = () => void choice.release();
      engineLine = `${engineLine}; ${choice.description}`;
      modelKey = m.modelKey;
      trainSeconds = m.trainSeconds;
      modelReused = m.reused;
      if ((spec.calibrationFloors ?? []).length > 0) calibration = new CalibrationCounter(m.model, scoring, spec.calibrationFloors ?? []);
    } else {
      const factory = getMethodFactory(method);
      const made: DisposableScorer = await factory({
        backbone: config.backbone,
        backboneLayers: config.backboneLayers,
        imageSize: config.imageSize,
        resizeMode: config.resizeMode,
        sigma: config.scoreSigma,
        seed: config.seed,
        options: spec.methodOptions ?? {},
        backboneInstance: this.options.backbone,
        inference: this.options.inference,
      });
      scorer = made;
      disposeScorer = () => made.dispose?.();
      if (made.description) engineLine = `${engineLine}; ${made.description}`;
    }

    const keepExamples = this.options.keepExamples ?? 2;
    const evalStart = Date.now();
    const perClass: ClassRecord[] = [];
    const perImage: RunRecord['perImage'] = {};
    const examples: ExampleRecord[] = [];
    const referenceFiles: string[] = [];
    const exampleDir = this.store.examplesDir(key);
    try {
      for (const part of spec.protocol.test) {
        this.heartbeat();
        const samples = await this.samplesOf(part);
        const refs = await this.references(part, spec.shots, spec.referenceSeed);
        referenceFiles.push(rel(this.store.dir, refs.file));
        this.log(`${spec.protocol.name} ${method}${spec.variant ? ` [${spec.variant}]` : ''} K=${spec.shots} seed=${spec.referenceSeed}: evaluating ${part.dataset}`);
        const result: EvaluationResult = await evaluateFewShot(scorer, testImagesOf(part, samples), refs.set, { keepExamples, quiet: this.options.quiet });
        if (calibration) await calibration.count(result, refs.set);
        for (const c of result.perClass) {
          perClass.push({ dataset: part.dataset, class: c.class, ...metricValues(c), images: c.images, msPerImage: c.msPerImage, references: c.references.map((p) => rel(part.root, p)) });
        }
        if (this.options.keepScores !== false) {
          for (const [cls, imgs] of Object.entries(result.perImage)) {
            perImage[`${part.dataset}/${cls}`] = { scores: imgs.map((i) => Number(i.score.toPrecision(6))), labels: imgs.map((i) => i.label) };
          }
        }
        for (const [cls, exs] of Object.entries(result.examples)) {
          if (exs.length === 0) continue;
          const range = mapRange(exs.map((e) => e.map));
          for (let i = 0; i < exs.length; i++) {
            const e = exs[i];
            const png = path.join(exampleDir, `${part.dataset}-${cls}-${i}.png`.replace(/[^A-Za-z0-9._-]/g, '_'));
            await writePng(png, sideBySide(e.image, overlayAnomalyMap(e.image, e.map, { range, mask: e.mask })));
            examples.push({ class: `${part.dataset}/${cls}`, image: rel(part.root, e.path), label: e.label, score: e.score, png: rel(this.store.dir, png) });
          }
        }
      }
    } finally {
      disposeScorer();
    }
    const evalSeconds = (Date.now() - evalStart) / 1000;
    const images = perClass.reduce((a, c) => a + c.images, 0);
    const mean = meanMetrics(perClass.map((c) => {
      const m: MetricSet = { imageAUROC: c.imageAUROC ?? NaN, imageAP: c.imageAP ?? NaN, imageF1Max: c.imageF1Max ?? NaN };
      for (const k of ['pixelAUROC', 'pixelAP', 'pixelF1Max', 'pixelAUPRO'] as const) if (c[k] !== null) m[k] = c[k] as number;
      return m;
    }));
    const record: RunRecord = {
      version: RUN_RECORD_VERSION,
      key,
      protocol: spec.protocol.name,
      method,
      variant: spec.variant ?? '',
      shots: spec.shots,
      referenceSeed: spec.referenceSeed,
      config: methodConfig(spec),
      modelKey,
      paperSetting: spec.protocol.paperSetting ?? null,
      train: spec.protocol.train.map((p) => ({ dataset: p.dataset, format: p.format, classes: p.classes ? [...p.classes] : null, root: p.root })),
      test: spec.protocol.test.map((p) => ({ dataset: p.dataset, format: p.format, classes: p.classes ? [...p.classes] : null, root: p.root })),
      trainImages: spec.protocol.trainImages,
      referenceFiles,
      engine: engineLine,
      versions: { ...packageVersions(), [engine.package]: engine.packageVersion },
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      timings: {
        trainSeconds,
        modelReused,
        evalSeconds,
        msPerImage: images > 0 ? perClass.reduce((a, c) => a + c.msPerImage * c.images, 0) / images : 0,
        totalSeconds: (Date.now() - t0) / 1000,
      },
      perClass,
      mean: metricValues(mean),
      perImage,
      examples,
      tags: { ...(spec.tags ?? {}) },
      ...(curve.length > 0 ? { curve } : {}),
      ...(calibration ? { calibration: calibration.rates() } : {}),
    };
    this.store.append(record);
    return record;
  }

  /** An afterEpoch hook: the model in training scored with each of the spec's curve modes, on the spec's K and references. */
  private curveRecorder(spec: RunSpec, points: CurvePoint[]): NonNullable<TrainOptions['afterEpoch']> {
    return async (epoch, seconds, model) => {
      for (const scoring of spec.curve ?? []) {
        const choice = await resadScorerWith(model, { scoring }, this.options.inference);
        const perClass: MetricSet[] = [];
        try {
          for (const part of spec.protocol.test) {
            this.heartbeat();
            const refs = await this.references(part, spec.shots, spec.referenceSeed);
            perClass.push(...(await evaluateFewShot(choice.scorer, testImagesOf(part, await this.samplesOf(part)), refs.set, { quiet: true })).perClass);
          }
        } finally {
          await choice.release();
        }
        const mean = meanMetrics(perClass);
        points.push({ epoch: epoch + 1, scoring, seconds, imageAUROC: mean.imageAUROC, pixelAUROC: mean.pixelAUROC ?? null });
        this.log(`${describeSpec(spec)}: after epoch ${epoch + 1} (${seconds.toFixed(0)} s) [${scoring}] image AUROC ${fmtPct(mean.imageAUROC)}, pixel ${fmtPct(mean.pixelAUROC ?? null)}`);
      }
    };
  }

  /**
   * Runs specs in an order that trains each model once (grouped by model),
   * skipping finished ones; returns the records in the order of `specs`.
   */
  async runAll(specs: readonly RunSpec[]): Promise<RunOutcome[]> {
    const order = specs
      .map((spec, i) => ({ spec, i, group: (spec.method ?? 'resad') === 'resad' ? modelKeyOf(spec.protocol, resolvedConfig(spec)) : `~${spec.method}` }))
      .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.i - b.i));
    const out: RunOutcome[] = new Array(specs.length);
    const report = (i: number): void => {
      const o = out[i];
      if (o.elsewhere) this.log(`finished by another process (pid ${o.elsewhere.pid}): ${describeSpec(specs[i])}`);
      else if (o.skipped) this.log(`skipped (already in the store): ${describeSpec(specs[i])}`);
      else this.log(`done: mean image AUROC ${fmtPct(o.record.mean.imageAUROC)}, pixel AUROC ${fmtPct(o.record.mean.pixelAUROC)} (${o.record.timings.totalSeconds.toFixed(0)} s)`);
    };
    // Runs another process holds are left to it for now; the rest go first, then their records are awaited.
    const deferred: Array<{ i: number; owner: ClaimOwner }> = [];
    for (const { spec, i } of order) {
      const key = runKeyOf(spec);
      const got = await this.attempt(spec, key);
      if ('busy' in got) {
        this.log(`${describeSpec(spec)}: running in another process (${describeOwner(got.busy)}); skipped for now`);
        deferred.push({ i, owner: got.busy });
        continue;
      }
      out[i] = got;
      report(i);
    }
    if (deferred.length > 0) {
      const pids = [...new Set(deferred.map((d) => d.owner.pid))];
      this.log(`waiting for ${deferred.length} run(s) running in other process(es) (pid ${pids.join(', ')})`);
    }
    for (const { i, owner } of deferred) {
      const o = await this.run(specs[i]);
      out[i] = o.skipped && !o.elsewhere ? { ...o, elsewhere: { pid: owner.pid, hostname: owner.hostname } } : o;
      report(i);
    }
    return out;
  }

  /** Frees the held model (and keeps a shared backbone alive). */
  dispose(): void {
    for (const c of [...this.claims]) this.releaseClaim(c);
    this.releaseModel();
    this.sampleCache.clear();
  }
}

/** Per spread floor, how `resad predict`'s reference-only threshold splits the scored test images (pooled over classes). */
class CalibrationCounter {
  private readonly counts: Array<{ normals: number; falseAlarms: number; anomalies: number; detected: number }>;

  constructor(
    private readonly model: ResADModel,
    private readonly scoring: ScoringOverride,
    private readonly floors: readonly number[],
  ) {
    this.counts = floors.map(() => ({ normals: 0, falseAlarms: 0, anomalies: 0, detected: 0 }));
  }

  async count(result: EvaluationResult, refs: ReferenceSet): Promise<void> {
    for (const [cls, images] of Object.entries(result.perImage)) {
      const refImages = await Promise.all(refs.classes[cls].map((p) => preprocess(p, this.model.preprocess)));
      this.floors.forEach((spreadFloor, i) => {
        const { threshold } = calibrateFromReferences(this.model, refImages, { scoring: this.scoring, spreadFloor });
        const c = this.counts[i];
        for (const im of images) {
          if (im.label === 0) {
            c.normals++;
            if (im.score > threshold) c.falseAlarms++;
          } else {
            c.anomalies++;
            if (im.score > threshold) c.detected++;
          }
        }
      });
    }
  }

  rates(): CalibrationCheck[] {
    return this.floors.map((spreadFloor, i) => ({
      spreadFloor,
      falseAlarmRate: this.counts[i].falseAlarms / Math.max(1, this.counts[i].normals),
      detectionRate: this.counts[i].detected / Math.max(1, this.counts[i].anomalies),
    }));
  }
}

function describeSpec(spec: RunSpec): string {
  return `${spec.protocol.name} ${spec.method ?? 'resad'}${spec.variant ? ` [${spec.variant}]` : ''} K=${spec.shots} seed=${spec.referenceSeed}`;
}

function fmtPct(v: number | null): string {
  return v === null ? '-' : (100 * v).toFixed(1);
}
