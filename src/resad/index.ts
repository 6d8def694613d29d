/**
 * The ResAD model assembled from the pipeline stages, its training and its
 * few-shot evaluation. See docs/RESAD.md.
 *
 * ```ts
 * const model = await ResADModel.create(CPU_CONFIG);
 * await trainResAD(model, knownClassSamples, { outDir: 'runs/m1' });
 * const result = await evaluateResAD(model, newClassSamples, references);
 * ```
 */
export * from './config';
export * from './presets';
export * from './adam';
export * from './model';
export * from './checkpoint';
export * from './training-set';
export * from './trainer';
export * from './training-identity';
export * from './evaluate';
export * from './calibration';
export * from './obtain-model';
