/**
 * Feature analysis for notebooks: 2-D projections (exact t-SNE, UMAP) with
 * stratified subsampling, and per-position initial / residual / constrained
 * feature collection from a trained ResAD model (paper Fig. 3).
 */
export * from './tsne';
export * from './project';
export * from './collect';
