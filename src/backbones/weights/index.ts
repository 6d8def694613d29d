/**
 * Backbone weights: the download catalogue, the per-user cache, a resumable
 * verified downloader and the manager behind `resad weights` (docs/WEIGHTS.md).
 */
export { WEIGHT_SOURCES, WEIGHTS_BASE_URL_ENV, downloadUrl, findWeightSource, normalizeBackboneName, weightSource } from './sources';
export type { WeightSource, WeightsFileFormat } from './sources';
export {
  WEIGHTS_MANIFEST_FILE,
  RESAD_HOME_ENV,
  SHARED_BACKBONES_ENV,
  manifestPath,
  packageRoot,
  readWeightsManifest,
  sharedBackbonesDir,
  userCacheDir,
  weightsDir,
} from './cache';
export type { CacheDirOptions, ManifestEntry, WeightsManifest, WeightsVia } from './cache';
export { DownloadError, downloadFile, formatBytes, sha256File } from './download';
export type { DownloadOptions, DownloadResult } from './download';
export { addWeights, findWeights, getWeights, listWeights, missingWeightsError, overriddenWeights, overrideWeights, resolveWeights, setWeightsChecker, verifyWeights } from './manager';
export type {
  AddWeightsResult,
  CheckerOption,
  FoundWeights,
  GetWeightsOptions,
  GetWeightsResult,
  MissingWeightsOptions,
  WeightsChecker,
  WeightsListing,
  WeightsLocation,
  WeightsStatus,
} from './manager';
