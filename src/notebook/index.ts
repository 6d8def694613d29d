/**
 * Notebook helpers (tslab): display routing with a console fallback and a
 * capture hook, offline Plotly figures, HTML tables, image/overlay grids,
 * live training progress, and the project kernel spec. Notebooks import this
 * file (`./src/notebook/index`), not the folder (tslab resolves files only).
 */
export * from './display';
export * from './plot';
export * from './table';
export * from './images';
export * from './progress';
export * from './kernel-spec';
export * from './setup';
export * from './scatter';
