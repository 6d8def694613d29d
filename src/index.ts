/**
 * resad — ResAD (Yao et al., NeurIPS 2024) class-generalizable few-shot
 * anomaly detection in TypeScript. The public API, in pipeline order:
 *
 * engine -> data -> backbones -> converter (residuals) -> constraintor ->
 * flow (distribution estimator) -> scoring -> metrics -> evaluation (any
 * few-shot scorer), with the assembled model (resad), its peers (baselines)
 * and reports on top.
 *
 * ```ts
 * import { initEngine, readDataset, drawReferences, ResADModel, availablePreset, trainResAD, evaluateResAD } from 'resad';
 * await initEngine();
 * const samples = readDataset('datasets/generated/resad-synthetic');
 * const model = await ResADModel.create(availablePreset('cpu').config); // ImageNet MobileNetV2, or the packaged fallback offline
 * await trainResAD(model, samples.filter((s) => s.className !== 'marble'));
 * const test = samples.filter((s) => s.className === 'marble');
 * const result = await evaluateResAD(model, test, drawReferences(test, { shots: 4, seed: 0 }));
 * ```
 */
export * from './engine/index';

export * from './data/sample';
export * from './data/image';
export * from './data/image-io';
export * from './data/transforms';
export * from './data/readers/index';
export * from './data/references';
export * from './data/synthetic-anomalies';
export * from './data/perlin';
export * from './data/procedural/index';
export * from './data/own-data';

export * from './backbones/index';
export * from './converter/index';
export * from './constraintor/index';
export * from './flow/index';
export * from './scoring/anomaly-map';
export * from './metrics/index';
export * from './evaluation/index';
export * from './resad/index';
export * from './baselines/index';
export * from './onnx/index';
export * from './experiments/index';
export * from './feature-views/index';
export * from './notebook/index';

export * from './report/overlay';
export * from './report/results-json';
export * from './report/demo-report';

export { Rng, hashString } from './util/rng';
export { Progress } from './util/progress';
export type { ProgressOptions } from './util/progress';
export { writeFileAtomic, writeFileAtomicSync, writeJsonAtomicSync } from './util/atomic-write';
export { checkOutputDir, checkOutputFile, OutputPathError } from './util/output-check';
