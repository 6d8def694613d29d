/**
 * The methods an experiment can run besides ResAD: the training-free few-shot
 * baselines of src/baselines (PatchCore, SPADE, PaDiM), plus any method a
 * user registers, all as FewShotScorers scoring a new class from the same
 * fixed references. The runner hands them the protocol's backbone, pixels
 * and smoothing, so that they see what ResAD sees; PatchCore with its
 * defaults scores on onnxruntime when ResAD would (its exported graph).
 *
 * ```ts
 * registerMethod('mine', async (o) => myScorer(o.imageSize));
 * const factory = getMethodFactory('patchcore');
 * const scorer = await factory({ backbone: 'mobilenetv2_imagenet', imageSize: 224, seed: 0, options: {} });
 * ```
 */
import type { Backbone } from '../backbones/index';
import { createBackbone } from '../backbones/index';
import { BASELINE_METHODS, BaselineMethod, createBaselineScorer } from '../baselines/index';
import type { FewShotScorer } from '../evaluation/index';
import { patchcoreScorerWith } from '../onnx/select';
import { CPU_CONFIG } from '../resad/config';

export interface MethodOptions {
  /** Backbone registry name (the protocol's, so methods compare on the same features). */
  backbone: string;
  imageSize: number;
  seed: number;
  /** Method-specific options (recorded in the run and part of its key). */
  options: Readonly<Record<string, unknown>>;
  /** An already loaded backbone to share (tests, sweeps). */
  backboneInstance?: Backbone;
  /** The protocol's backbone levels, when its config names them (as ResAD's). */
  backboneLayers?: readonly string[];
  /** The protocol's preprocessing and map smoothing (ResAD's), so methods see the same pixels and maps. */
  resizeMode?: 'resize-crop' | 'resize-whole';
  sigma?: number;
  /** Inference request ('auto' | 'onnx' | 'tfjs', as ResAD's); methods without an ONNX path score on tfjs. */
  inference?: string;
}

export type DisposableScorer = FewShotScorer & {
  dispose?(): void;
  /** What scores (e.g. "inference: onnxruntime-node 1.x"), for the run record's engine line. */
  description?: string;
};
export type MethodFactory = (options: MethodOptions) => DisposableScorer | Promise<DisposableScorer>;

const registered = new Map<string, MethodFactory>();

/** Registers (or replaces) a method under `name`. */
export function registerMethod(name: string, factory: MethodFactory): void {
  if (name === 'resad') throw new Error("registerMethod: 'resad' is built in");
  registered.set(name, factory);
}

/** Removes a registered method (tests). */
export function unregisterMethod(name: string): void {
  registered.delete(name);
}

function isBaseline(name: string): name is BaselineMethod {
  return (BASELINE_METHODS as readonly string[]).includes(name);
}

/** The factory of a non-ResAD method; throws naming the known ones. */
export function getMethodFactory(name: string): MethodFactory {
  const own = registered.get(name);
  if (own) return own;
  if (isBaseline(name)) return (o) => baselineFactory(name, o);
  throw new Error(`Unknown method "${name}" (known: ${availableMethods().join(', ')})`);
}

async function baselineFactory(name: BaselineMethod, o: MethodOptions): Promise<DisposableScorer> {
  // A backbone made here for the protocol's levels is this scorer's to free.
  const own = o.backboneInstance === undefined && o.backboneLayers !== undefined ? await createBackbone(o.backbone, { layers: [...o.backboneLayers] }) : undefined;
  const backboneInstance = o.backboneInstance ?? own;
  const pixels = { imageSize: o.imageSize, ...(o.resizeMode !== undefined ? { resizeMode: o.resizeMode } : {}), ...(o.sigma !== undefined ? { sigma: o.sigma } : {}) };
  if (name === 'patchcore' && Object.keys(o.options).length === 0) {
    // PatchCore's defaults are what the ONNX export computes (the whole bank): onnxruntime when asked or available, as ResAD.
    const backbone = backboneInstance ?? (await createBackbone(o.backbone));
    const choice = await patchcoreScorerWith(backbone, { resizeMode: CPU_CONFIG.resizeMode, sigma: 4, ...pixels }, o.inference);
    return {
      imageSize: choice.scorer.imageSize,
      preprocess: choice.scorer.preprocess,
      prepareClass: (references) => choice.scorer.prepareClass(references),
      description: choice.description,
      dispose: () => {
        void choice.release().finally(() => {
          if (backbone !== o.backboneInstance) backbone.dispose();
        });
      },
    };
  }
  // The run's options are the method's own (e.g. { coresetRatio: 0.1 } for patchcore); its seed drives their randomness.
  const scorer = await createBaselineScorer(name, { [name]: { seed: o.seed, ...o.options }, backbone: o.backbone, ...pixels, backboneInstance });
  // createBaselineScorer leaves a backbone it was given alone: the one made here goes with the scorer.
  return own ? Object.assign(scorer, { dispose: () => own.dispose() }) : scorer;
}

/** Methods available now: 'resad', the baselines and the registered ones. */
export function availableMethods(): string[] {
  return ['resad', ...BASELINE_METHODS, ...[...registered.keys()].filter((k) => !isBaseline(k))];
}
