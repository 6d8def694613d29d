/**
 * The methods an experiment can run besides ResAD: the training-free few-shot
 * baselines of src/baselines (PatchCore, SPADE, PaDiM), plus any method a
 * user registers, all as FewShotScorers scoring a new class from the same
 * fixed references.
 *
 * ```ts
 * registerMethod('mine', async (o) => myScorer(o.imageSize));
 * const factory = getMethodFactory('patchcore');
 * const scorer = await factory({ backbone: 'mobilenetv2_imagenet', imageSize: 224, seed: 0, options: {} });
 * ```
 */
import type { Backbone } from '../backbones/index';
import { BASELINE_METHODS, BaselineMethod, createBaselineScorer } from '../baselines/index';
import type { FewShotScorer } from '../resad/evaluate';

export interface MethodOptions {
  /** Backbone registry name (the protocol's, so methods compare on the same features). */
  backbone: string;
  imageSize: number;
  seed: number;
  /** Method-specific options (recorded in the run and part of its key). */
  options: Readonly<Record<string, unknown>>;
  /** An already loaded backbone to share (tests, sweeps). */
  backboneInstance?: Backbone;
}

export type DisposableScorer = FewShotScorer & { dispose?(): void };
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
  if (isBaseline(name)) {
    // The run's options are the method's own (e.g. { coresetRatio: 0.1 } for patchcore); its seed drives their randomness.
    return (o) =>
      createBaselineScorer(name, { [name]: { seed: o.seed, ...o.options }, backbone: o.backbone, imageSize: o.imageSize, backboneInstance: o.backboneInstance });
  }
  throw new Error(`Unknown method "${name}" (known: ${availableMethods().join(', ')})`);
}

/** Methods available now: 'resad', the baselines and the registered ones. */
export function availableMethods(): string[] {
  return ['resad', ...BASELINE_METHODS, ...[...registered.keys()].filter((k) => !isBaseline(k))];
}
