/**
 * Procedural anomaly-detection dataset: the embedded default data of the
 * offline demo and notebooks, generated in pure TypeScript (no download, no
 * canvas). 15 classes (8 textures, 7 objects), 3-4 realistic defect types
 * each, exact ground-truth masks, deterministic from a seed.
 *
 * ```ts
 * import { generateDataset, renderNormal, renderDefect, SYNTHETIC_CLASSES } from './data/procedural';
 * await generateDataset({ root: 'datasets/generated/resad-synthetic' }); // MVTec layout + manifest.json
 * const img = renderNormal('wood', new Rng(1));                          // in memory, 256 px
 * const { image, mask } = renderDefect('wood', 'scratch', new Rng(1));
 * ```
 * See docs/SYNTHETIC_DATASET.md.
 */
export {
  GENERATOR_VERSION,
  SYNTHETIC_CLASSES,
  SYNTHETIC_CLASS_NAMES,
  DEFECT_AREA_RANGE,
  getSyntheticClass,
  renderNormal,
  renderDefect,
} from './render';
export type { DefectRender } from './render';
export {
  generateDataset,
  expectedManifest,
  readManifest,
  isDatasetComplete,
  encodeRgbPng,
  encodeMaskPng,
  DEFAULT_GENERATE_OPTIONS,
  MANIFEST_FILE,
  GENERATOR_NAME,
  CLASS_MARKER_FILE,
} from './generate';
// Apart from generate.ts (which loads sharp) so that option parsing stays light.
export { defaultSyntheticRoot } from './paths';
export type { GenerateOptions, GenerateProgress, GeneratedDatasetInfo, GeneratedClassInfo, SyntheticManifest } from './generate';
export type { SyntheticClassInfo, SyntheticDefectInfo, SyntheticKind } from './types';
